"""The server picker of the create and edit pages, through Django's test client: it
searches the whole inventory on the server (by GET without script, through a small
JSON view with it), says honestly how much of what matches it shows, and keeps what
is picked listed whatever the search."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loadbalancers.models import LoadBalancer
from loadbalancers.views import PICKER_PAGE_SIZE
from servers.models import Server
from tests.factories import LoadBalancerRowFactory, ServerFactory

pytestmark = pytest.mark.django_db

CHOICES = "/load-balancers/server-choices/"


@pytest.fixture
def alice_web(alice):
    client = Client()
    client.force_login(alice)
    return client


def add_servers(first: int, last: int) -> None:
    Server.objects.bulk_create(
        Server(name=f"web-{i:04d}", address=f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}", port=9090)
        for i in range(first, last + 1)
    )


@pytest.fixture
def inventory(db) -> dict[str, int]:
    """2,006 servers, web-0001 to web-2006: the inventory that showed the picker stopping at 1,000."""
    add_servers(1, 2006)
    return dict(Server.objects.values_list("name", "pk"))


def offered(html: str) -> list[int]:
    """The servers the page offers to pick, in page order."""
    return [int(pk) for pk in re.findall(r'<input type="checkbox" name="servers" value="(\d+)"', html)]


def checkbox(html: str, pk: int) -> str:
    return re.search(rf'<input[^>]*id="server-{pk}"[^>]*>', html).group(0)


def create(web: Client, servers: list[int], url: str = "/load-balancers/new/", **fields: str):
    data = {"name": "shop", "listener_protocol": "HTTP", "listener_port": "80", "algorithm": "ROUND_ROBIN"}
    return web.post(url, {**data, "servers": servers, **fields})


class TestPage:
    def test_shows_the_first_page_by_name_and_says_how_many_there_are(self, alice_web, inventory):
        html = alice_web.get("/load-balancers/new/").content.decode()

        assert "Showing 50 of 2,006 servers; search to narrow them down." in html
        assert offered(html) == [inventory[f"web-{i:04d}"] for i in range(1, PICKER_PAGE_SIZE + 1)]
        assert "None selected yet." in html

    def test_a_server_beyond_the_first_page_is_found_by_a_search_and_chosen(self, alice_web, inventory):
        last = inventory["web-2006"]

        html = alice_web.get("/load-balancers/new/?server_search=web-2006").content.decode()

        assert "Showing the only server matching \u201cweb-2006\u201d." in html
        assert offered(html) == [last]
        # The load balancer's form posts to the same address, the search included.
        response = create(alice_web, [last], url="/load-balancers/new/?server_search=web-2006")
        assert response.status_code == 302
        assert list(LoadBalancer.objects.get().members.values_list("server_id", flat=True)) == [last]

    def test_a_search_counts_every_match_not_only_those_shown(self, alice_web, inventory):
        html = alice_web.get("/load-balancers/new/?server_search=web-1").content.decode()

        # web-1000 to web-1999, and web-0001 does not match.
        assert "Showing 50 of 1,000 servers matching \u201cweb-1\u201d; search to narrow them down." in html
        assert offered(html)[0] == inventory["web-1000"]

    def test_the_status_narrows_the_search_and_unusable_servers_say_why(self, alice_web, inventory):
        down = ServerFactory(name="db-down", status="DOWN")
        ServerFactory(name="db-resting", status="MAINTENANCE")

        html = alice_web.get("/load-balancers/new/?server_search=db&server_status=DOWN").content.decode()

        assert "Showing the only server in DOWN status matching \u201cdb\u201d." in html
        assert offered(html) == [down.pk]
        assert checkbox(html, down.pk).endswith(f'disabled aria-describedby="why-{down.pk}">')
        assert "No: it is DOWN (not answering)" in html

    def test_picked_servers_stay_listed_whatever_the_search_and_are_summed_up(self, alice_web, inventory):
        first, last = inventory["web-0001"], inventory["web-2006"]

        response = create(alice_web, [first, last], url="/load-balancers/new/?server_search=web-2006", name="Bad Name")

        assert response.status_code == 200
        html = response.content.decode()
        assert "Selected (2): web-0001, web-2006." in html
        # Picked ones come first, each once, ticked; the search matched only one of them.
        assert offered(html) == [first, last]
        assert "checked" in checkbox(html, first)
        assert "checked" in checkbox(html, last)
        assert LoadBalancer.objects.count() == 0

    def test_finding_nothing_says_so(self, alice_web, inventory):
        html = alice_web.get("/load-balancers/new/?server_search=nothing-like-this").content.decode()
        assert html.count("No servers matching \u201cnothing-like-this\u201d.") == 2  # the count, and the table
        assert offered(html) == []

    def test_an_empty_inventory_says_whom_to_ask(self, alice_web):
        html = alice_web.get("/load-balancers/new/").content.decode()
        assert "The inventory has no servers yet; ask operations to add some." in html

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ("server_search=" + "x" * 201, "at most 200 characters"),
            ("server_search=web%00", "Null characters are not allowed."),
            ("server_status=BROKEN", "Select a valid choice."),
        ],
    )
    def test_a_search_it_cannot_run_is_shown_as_a_mistake_never_a_crash(self, alice_web, inventory, query, error):
        response = alice_web.get(f"/load-balancers/new/?{query}")

        assert response.status_code == 200
        html = response.content.decode()
        assert error in html
        assert "Showing 50 of 2,006 servers" in html  # the rest of the page still works
        assert len(offered(html)) == PICKER_PAGE_SIZE

    def test_costs_the_same_however_large_the_inventory(self, alice_web, inventory):
        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert alice_web.get("/load-balancers/new/?server_search=web").status_code == 200
            return len(captured)

        before = queries()
        add_servers(2007, 4000)
        assert queries() == before


class TestEditPage:
    def test_members_are_picked_beyond_the_first_page_and_whatever_the_search(self, alice_web, alice, inventory):
        member = Server.objects.get(name="web-2006")
        resting = ServerFactory(name="zz-resting", status="MAINTENANCE")
        lb = LoadBalancerRowFactory(created_by=alice)
        lb.members.create(server=member, position=0)
        lb.members.create(server=resting, position=1)

        for url in (f"/load-balancers/{lb.pk}/edit/", f"/load-balancers/{lb.pk}/edit/?server_search=web-0001"):
            html = alice_web.get(url).content.decode()
            assert offered(html)[:2] == [member.pk, resting.pk], url
            assert "checked" in checkbox(html, member.pk)
            # A member that is no longer OK can be kept, so it can be ticked.
            assert "disabled" not in checkbox(html, resting.pk)
            assert "Kept: already a member, but it is MAINTENANCE" in html
            assert "Selected (2): web-2006, zz-resting." in html


class TestSearchEndpoint:
    def test_answers_the_count_and_the_rows_of_the_first_matches(self, alice_web, inventory):
        answer = alice_web.get(CHOICES).json()

        assert answer["total"] == 2006
        assert answer["count"] == "Showing 50 of 2,006 servers; search to narrow them down."
        assert offered(answer["rows"]) == [inventory[f"web-{i:04d}"] for i in range(1, PICKER_PAGE_SIZE + 1)]

    def test_finds_servers_anywhere_in_the_inventory(self, alice_web, inventory):
        answer = alice_web.get(CHOICES, {"server_search": "web-200"}).json()

        assert answer["total"] == 7
        assert answer["count"] == "Showing all 7 servers matching \u201cweb-200\u201d."
        assert offered(answer["rows"]) == [inventory[f"web-{i}"] for i in range(2000, 2007)]

    def test_finding_nothing_answers_a_row_that_says_so(self, alice_web, inventory):
        answer = alice_web.get(CHOICES, {"server_search": "web", "server_status": "DOWN"}).json()
        assert answer["total"] == 0
        assert "No servers in DOWN status matching \u201cweb\u201d." in answer["rows"]

    def test_needs_a_signed_in_user(self, client, inventory):
        response = client.get(CHOICES)
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"

    @pytest.mark.parametrize(
        "params",
        [{"server_search": "x" * 201}, {"server_search": "web\x00"}, {"server_status": "BROKEN"}],
    )
    def test_a_search_it_cannot_run_is_refused_naming_the_field(self, alice_web, inventory, params):
        response = alice_web.get(CHOICES, params)

        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "ValidationError"
        assert set(body["details"]) == set(params)
        assert body["message"]

    def test_takes_no_posts(self, alice_web):
        assert alice_web.post(CHOICES).status_code == 405
