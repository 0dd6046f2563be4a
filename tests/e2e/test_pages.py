"""The self-service pages through Django's test client: every page, every form error,
every permission case."""

import re

import pytest
from django.test import Client

from loadbalancers.models import LoadBalancer
from tests.factories import LoadBalancerRowFactory, ServerFactory

pytestmark = pytest.mark.django_db

PAGES = ["/load-balancers/", "/load-balancers/new/", "/servers/"]


@pytest.fixture
def alice_web(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def staff_web(staff):
    client = Client()
    client.force_login(staff)
    return client


def create(web, servers, follow=False, **fields):
    data = {
        "name": "shop",
        "listener_protocol": "HTTP",
        "listener_port": "80",
        "algorithm": "ROUND_ROBIN",
        "description": "",
        "servers": [s.pk for s in servers],
        **fields,
    }
    return web.post("/load-balancers/new/", data, follow=follow)


def errors_of(response):
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


@pytest.mark.parametrize("path", [*PAGES, "/load-balancers/00000000-0000-0000-0000-000000000000/"])
def test_every_page_but_sign_in_requires_it(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_sign_in_and_out(client, alice):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.content.decode()

    signed_in = client.post("/accounts/login/", {"username": "alice", "password": "secret-password"})
    assert signed_in["Location"] == "/load-balancers/"
    assert client.get("/load-balancers/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/load-balancers/").status_code == 302


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_user(alice_web, path):
    assert alice_web.get(path).status_code == 200


class TestList:
    def test_users_see_their_teams_and_staff_everyone_with_teams(self, alice_web, staff_web, alice, bob):
        LoadBalancerRowFactory(name="alices", created_by=alice)
        LoadBalancerRowFactory(name="bobs", created_by=bob)

        mine = alice_web.get("/load-balancers/").content.decode()
        assert "alices" in mine
        assert "bobs" not in mine
        assert ">Team<" in mine
        everyone = staff_web.get("/load-balancers/").content.decode()
        assert "alices" in everyone
        assert "bobs" in everyone
        assert '<td data-label="Team">bob</td>' in everyone

    def test_search_filter_sort_and_page(self, alice_web, alice):
        for i in range(30):
            LoadBalancerRowFactory(
                name=f"lb-{i:02d}", created_by=alice, operating_status="DEGRADED" if i < 3 else "ONLINE"
            )

        page = alice_web.get("/load-balancers/?sort_by=name&sort_direction=desc")
        names = [lb.name for lb in page.context["page"].items]
        assert names[:2] == ["lb-29", "lb-28"]
        assert len(names) == 25
        assert "26\u201330 of 30" in alice_web.get("/load-balancers/?offset=25").content.decode()
        degraded = alice_web.get("/load-balancers/?operating_status=DEGRADED")
        assert degraded.context["page"].total == 3
        assert '<option value="DEGRADED" selected>' in degraded.content.decode()  # the filter shows what is chosen
        assert alice_web.get("/load-balancers/?search=lb-1").context["page"].total == 10

    def test_bad_filters_say_so_instead_of_failing(self, alice_web):
        response = alice_web.get("/load-balancers/?sort_by=secret&limit=abc")
        assert response.status_code == 200
        assert "Some filters are not valid" in response.content.decode()

    @pytest.mark.parametrize("path", ["/load-balancers/", "/servers/"])
    def test_an_empty_sort_as_a_blank_form_field_sends_it_means_the_default_order(self, alice_web, alice, path):
        for i in range(3):
            ServerFactory(name=f"web-{2 - i}")
            LoadBalancerRowFactory(name=f"lb-{i}", created_by=alice)

        def shown(query):
            response = alice_web.get(f"{path}?{query}")
            assert response.status_code == 200
            assert "Some filters are not valid" not in response.content.decode()
            return [item.name for item in response.context["page"].items]

        assert shown("sort_by=") == shown("sort_by=&sort_direction=") == shown("") != []
        assert shown("sort_by=&sort_direction=asc") == shown("sort_direction=asc")

    @pytest.mark.parametrize(
        ("path", "name"),
        [
            ("/load-balancers/", "search"),
            ("/load-balancers/", "provisioning_status"),
            ("/load-balancers/", "operating_status"),
            ("/load-balancers/", "sort_by"),
            ("/servers/", "search"),
            ("/servers/", "status"),
            ("/servers/", "sort_by"),
        ],
    )
    def test_a_nul_in_a_filter_is_named_instead_of_failing(self, alice_web, path, name):
        response = alice_web.get(f"{path}?{name}=a%00")
        assert response.status_code == 200
        assert f"Some filters are not valid: {name}" in response.content.decode()


class TestCreate:
    def test_the_picker_offers_only_ok_servers_and_says_why_not(self, alice_web):
        ok = ServerFactory(name="good")
        down = ServerFactory(name="gone", status="DOWN")
        maintenance = ServerFactory(name="resting", status="MAINTENANCE")

        html = alice_web.get("/load-balancers/new/").content.decode()

        assert f'id="server-{ok.pk}"\n' in html or f'id="server-{ok.pk}"' in html
        for server, why in ((down, "No: it is DOWN"), (maintenance, "No: it is MAINTENANCE")):
            row = html[html.index(f'id="server-{server.pk}"') :]
            assert row[: row.index(">")].rstrip().endswith(f'disabled aria-describedby="why-{server.pk}"')
            assert why in row[: row.index("</tr>")]

    def test_all_mistakes_are_shown_at_once_and_what_was_typed_is_kept(self, alice_web):
        down = ServerFactory(status="DOWN")

        response = create(alice_web, [down], name="Bad Name", listener_port="0", description="kept text")

        assert response.status_code == 200
        assert set(errors_of(response)) == {"name", "listener_port", "servers"}
        html = response.content.decode()
        assert 'value="Bad Name"' in html
        assert "kept text" in html
        assert LoadBalancer.objects.count() == 0

    def test_every_mistake_at_once_even_when_a_field_cannot_be_read(self, alice_web):
        response = create(alice_web, [], name="BAD NAME", listener_port="")
        assert set(errors_of(response)) == {"name", "listener_port", "servers"}
        assert errors_of(response)["listener_port"] == ["must be a whole number"]  # under its label
        response = create(alice_web, [], listener_port="eighty")
        assert set(errors_of(response)) == {"listener_port", "servers"}

    def test_a_name_with_spaces_around_it_is_refused_not_trimmed(self, alice_web):
        response = create(alice_web, [ServerFactory()], name="  shop  ")
        assert set(errors_of(response)) == {"name"}
        assert LoadBalancer.objects.count() == 0

    @pytest.mark.parametrize("odd", ["\u00b2", "9" * 5000, "-1", "1.5", ""])
    def test_odd_server_values_are_refused_with_a_message_never_a_crash(self, alice_web, odd):
        response = alice_web.post("/load-balancers/new/", {"name": "shop", "servers": [odd]})
        assert response.status_code == 200
        assert "servers" in errors_of(response)
        assert LoadBalancer.objects.count() == 0

    def test_a_taken_name_is_shown_on_the_name(self, alice_web, bob):
        LoadBalancerRowFactory(name="shop", created_by=bob)
        response = create(alice_web, [ServerFactory()])
        assert errors_of(response) == {"name": ["'shop' is taken by a live load balancer"]}

    def test_success_goes_to_the_new_load_balancer_with_a_message(self, alice_web):
        response = create(alice_web, ServerFactory.create_batch(2), follow=True)

        lb = LoadBalancer.objects.get()
        assert response.redirect_chain == [(f"/load-balancers/{lb.pk}/", 302)]
        assert "Load balancer shop is being created." in response.content.decode()
        assert lb.provisioning_status == "PENDING_CREATE"


class TestDetail:
    def test_shows_members_status_and_error_reason(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="ERROR", error_reason="no capacity")
        server = ServerFactory(name="web-x", status="DOWN")
        lb.members.create(server=server)

        html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()

        assert "no capacity" in html
        assert "web-x" in html
        assert 'data-pending="false"' in html

    def test_someone_elses_is_a_404_page(self, alice_web, bob):
        lb = LoadBalancerRowFactory(created_by=bob)
        for path in ("", "edit/", "delete/"):
            response = alice_web.get(f"/load-balancers/{lb.pk}/{path}")
            assert response.status_code == 404
            assert "not yours to see" in response.content.decode()
        assert alice_web.post(f"/load-balancers/{lb.pk}/delete/").status_code == 404
        assert LoadBalancer.objects.get().provisioning_status == "ACTIVE"


class TestEdit:
    def test_changes_members_algorithm_and_description(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice)
        new = ServerFactory()

        response = alice_web.post(
            f"/load-balancers/{lb.pk}/edit/",
            {"servers": [new.pk], "algorithm": "SOURCE_IP", "description": "now", "version": lb.version},
        )

        assert response.status_code == 302
        lb.refresh_from_db()
        assert (lb.provisioning_status, lb.algorithm, lb.description) == ("PENDING_UPDATE", "SOURCE_IP", "now")
        assert list(lb.members.values_list("server_id", flat=True)) == [new.pk]

    @pytest.mark.parametrize("status", ["PENDING_CREATE", "PENDING_UPDATE", "ERROR", "DELETED"])
    def test_says_why_it_cannot_be_edited_now(self, alice_web, alice, status):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status=status, error_reason="boom")

        response = alice_web.get(f"/load-balancers/{lb.pk}/edit/")

        assert response.status_code == 409
        assert "cannot be edited now" in response.content.decode()

    def test_a_load_balancer_whose_provider_is_no_longer_enabled_says_so_and_offers_no_change(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provider="retired")

        detail = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()
        assert "which this portal no longer has enabled" in detail
        assert f"/load-balancers/{lb.pk}/edit/" not in detail
        assert f"/load-balancers/{lb.pk}/delete/" not in detail
        for response in (
            alice_web.get(f"/load-balancers/{lb.pk}/edit/"),
            alice_web.post(f"/load-balancers/{lb.pk}/edit/", {"algorithm": "SOURCE_IP", "version": lb.version}),
            alice_web.get(f"/load-balancers/{lb.pk}/delete/"),
            alice_web.post(f"/load-balancers/{lb.pk}/delete/"),
        ):
            assert response.status_code == 409
            assert "cannot be changed now" in response.content.decode()
            assert "Ask operations to enable that provider again" in response.content.decode()
        lb.refresh_from_db()
        assert (lb.provisioning_status, lb.algorithm) == ("ACTIVE", "ROUND_ROBIN")

        lb.provisioning_status = "DELETED"
        lb.save()
        gone = alice_web.get(f"/load-balancers/{lb.pk}/delete/").content.decode()
        assert "It has been deleted." in gone
        assert "no longer has enabled" not in gone

    def test_bad_changes_show_errors_and_change_nothing(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice)
        response = alice_web.post(
            f"/load-balancers/{lb.pk}/edit/", {"servers": [], "algorithm": "ROUND_ROBIN", "version": lb.version}
        )
        assert errors_of(response) == {"servers": ["at least one server is required"]}
        lb.refresh_from_db()
        assert lb.provisioning_status == "ACTIVE"

    def test_a_change_made_meanwhile_is_not_overwritten_and_the_edits_are_kept(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, version=4)
        server = ServerFactory()
        edits = {"servers": [server.pk], "algorithm": "SOURCE_IP", "description": "my edit", "version": 3}

        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", edits)

        html = response.content.decode()
        assert "was changed by someone else meanwhile" in html
        assert "my edit" in html
        assert response.context["form"].data["version"] == "4"
        lb.refresh_from_db()
        assert (lb.provisioning_status, lb.version) == ("ACTIVE", 4)
        saved = alice_web.post(f"/load-balancers/{lb.pk}/edit/", {**edits, "version": 4})
        assert saved.status_code == 302

    @pytest.mark.parametrize("version", ["abc", "9" * 5000])
    def test_a_tampered_version_is_treated_as_out_of_date(self, alice_web, alice, version):
        lb = LoadBalancerRowFactory(created_by=alice)
        data = {"servers": [ServerFactory().pk], "algorithm": "ROUND_ROBIN", "version": version}
        response = alice_web.post(f"/load-balancers/{lb.pk}/edit/", data)
        assert "was changed by someone else meanwhile" in response.content.decode()
        lb.refresh_from_db()
        assert lb.provisioning_status == "ACTIVE"

    def test_members_beyond_the_first_page_of_the_inventory_stay_picked(self, alice_web, alice, monkeypatch):
        monkeypatch.setattr("loadbalancers.views.PICKER_PAGE_SIZE", 2)
        ServerFactory(name="aaa-1")
        ServerFactory(name="aaa-2")
        member = ServerFactory(name="zzz-member")
        lb = LoadBalancerRowFactory(created_by=alice)
        lb.members.create(server=member)

        html = alice_web.get(f"/load-balancers/{lb.pk}/edit/").content.decode()

        checkbox = re.search(rf'<input[^>]*id="server-{member.pk}"[^>]*>', html, re.S).group(0)
        assert "checked" in checkbox


class TestDelete:
    @pytest.mark.parametrize("status", ["ACTIVE", "ERROR"])
    def test_confirm_then_delete(self, alice_web, alice, status):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status=status)
        assert "cannot be undone" in alice_web.get(f"/load-balancers/{lb.pk}/delete/").content.decode()

        response = alice_web.post(f"/load-balancers/{lb.pk}/delete/", follow=True)

        assert f"Load balancer {lb.name} is being deleted." in response.content.decode()
        lb.refresh_from_db()
        assert lb.provisioning_status == "PENDING_DELETE"

    def test_while_pending_says_why_and_changes_nothing(self, alice_web, alice):
        lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="PENDING_UPDATE")
        response = alice_web.post(f"/load-balancers/{lb.pk}/delete/", follow=True)
        assert "wait until it is ACTIVE or ERROR" in response.content.decode()
        lb.refresh_from_db()
        assert lb.provisioning_status == "PENDING_UPDATE"


def test_the_servers_page_filters_and_searches(alice_web):
    ServerFactory(name="web-1", address="10.0.0.1")
    ServerFactory(name="db-1", address="10.0.9.1", status="DOWN")

    assert [s.name for s in alice_web.get("/servers/?status=DOWN").context["page"].items] == ["db-1"]
    assert [s.name for s in alice_web.get("/servers/?search=web").context["page"].items] == ["web-1"]
    assert "Some filters are not valid" not in alice_web.get("/servers/?status=").content.decode()


def test_forms_are_protected_against_cross_site_requests(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/load-balancers/new/", {"name": "x"}).status_code == 403
    assert LoadBalancer.objects.count() == 0


def test_a_deleted_load_balancer_no_longer_shows_its_old_error(alice_web, alice):
    lb = LoadBalancerRowFactory(created_by=alice, provisioning_status="DELETED", error_reason="no capacity")
    html = alice_web.get(f"/load-balancers/{lb.pk}/").content.decode()
    assert re.search(r'<div class="error-box" data-field="error_reason"\s+hidden>', html)


def test_a_page_past_the_end_offers_the_way_back(alice_web, alice):
    LoadBalancerRowFactory(created_by=alice)
    html = alice_web.get("/load-balancers/?offset=1000").content.decode()
    assert "Nothing on this page: there are 1." in html
    assert "Back to the first page" in html


def test_reading_pages_take_no_posts_and_forms_answer_head(alice_web):
    assert alice_web.post("/load-balancers/").status_code == 405
    assert alice_web.post("/servers/").status_code == 405
    assert alice_web.head("/load-balancers/new/").status_code == 200


def test_signing_out_says_so(alice_web):
    response = alice_web.post("/accounts/logout/", follow=True)
    assert "You are signed out." in response.content.decode()


def test_ipv6_addresses_are_shown_with_brackets(alice_web):
    ServerFactory(name="v6", address="2001:db8::1", port=80)
    assert "[2001:db8::1]:80" in alice_web.get("/servers/").content.decode()


class TestSignInThrottle:
    @pytest.fixture(autouse=True)
    def _three_tries(self, settings):
        settings.LOGIN_FAILURE_LIMIT = 3

    def fail(self, client, path, username="alice", times=3):
        for _ in range(times):
            client.post(path, {"username": username, "password": "wrong"})

    def test_after_the_limit_even_the_right_password_is_refused_saying_why(self, client, alice, bob):
        self.fail(client, "/accounts/login/")

        refused = client.post("/accounts/login/", {"username": "alice", "password": "secret-password"})

        assert refused.status_code == 200
        assert "Too many failed sign-ins for this account from here" in refused.content.decode()
        other = client.post("/accounts/login/", {"username": "bob", "password": "secret-password"})
        assert other.status_code == 302  # someone else is not locked out

    def test_a_success_before_the_limit_starts_the_count_again(self, client, alice):
        self.fail(client, "/accounts/login/", times=2)
        assert client.post("/accounts/login/", {"username": "alice", "password": "secret-password"}).status_code == 302
        client.post("/accounts/logout/")
        self.fail(client, "/accounts/login/", times=2)
        assert client.post("/accounts/login/", {"username": "alice", "password": "secret-password"}).status_code == 302

    def test_the_admin_and_the_token_endpoint_share_the_limit(self, client, staff):
        self.fail(client, "/admin/login/", username="ops")

        admin = client.post("/admin/login/", {"username": "ops", "password": "secret-password"})
        assert "Too many failed sign-ins" in admin.content.decode()
        token = client.post(
            "/api/v1/auth/token/", {"username": "ops", "password": "secret-password"}, content_type="application/json"
        )
        assert token.status_code == 429
        assert token.json() == {
            "error": "Throttled",
            "message": "Too many failed sign-ins for this account from here. Try again in 15 minutes.",
            "details": {"retry_after": 900},
        }
        assert token["Retry-After"] == "900"

    def test_the_browsable_api_sign_in_says_why_it_refuses(self, client, alice, bob):
        assert client.get("/api-auth/login/").status_code == 200
        self.fail(client, "/api-auth/login/")

        refused = client.post("/api-auth/login/", {"username": "alice", "password": "secret-password"})

        assert refused.status_code == 200
        html = refused.content.decode()
        assert "Too many failed sign-ins for this account from here. Try again in 15 minutes." in html
        assert "Please enter a correct username and password" not in html
        assert "_auth_user_id" not in client.session
        assert 'action="/api-auth/login/"' in html  # still DRF's own sign-in page
        other = client.post("/api-auth/login/", {"username": "bob", "password": "secret-password", "next": "/api/v1/"})
        assert other["Location"] == "/api/v1/"

    @pytest.mark.parametrize(("window", "said"), [(60, "1 minute."), (61, "2 minutes."), (3600, "60 minutes.")])
    def test_the_wait_is_said_in_whole_minutes_rounded_up(self, client, alice, settings, window, said):
        settings.LOGIN_FAILURE_WINDOW = window
        self.fail(client, "/accounts/login/")

        refused = client.post("/accounts/login/", {"username": "alice", "password": "secret-password"})

        assert f"Try again in {said}" in refused.content.decode()
        token = client.post(
            "/api/v1/auth/token/", {"username": "alice", "password": "secret-password"}, content_type="application/json"
        )
        assert token.json()["message"].endswith(f"Try again in {said}")
        assert token["Retry-After"] == str(window)

    def test_a_forged_forwarded_for_header_does_not_reset_the_count(self, client, alice):
        for i in range(3):
            client.post(
                "/accounts/login/", {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"
            )

        refused = client.post(
            "/accounts/login/",
            {"username": "alice", "password": "secret-password"},
            HTTP_X_FORWARDED_FOR="203.0.113.99",
        )
        assert "Too many failed sign-ins" in refused.content.decode()

    def test_behind_a_trusted_proxy_each_client_address_counts_apart(self, client, alice, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        guesser, colleague = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.8"}
        for _ in range(3):
            client.post("/accounts/login/", {"username": "alice", "password": "wrong"}, **guesser)

        blocked = client.post("/accounts/login/", {"username": "alice", "password": "secret-password"}, **guesser)
        assert "Too many failed sign-ins" in blocked.content.decode()
        allowed = client.post("/accounts/login/", {"username": "alice", "password": "secret-password"}, **colleague)
        assert allowed.status_code == 302
