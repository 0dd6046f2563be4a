"""The load balancer pages as a new user meets them, through Django's test client: form
errors in words under the field's label, filters and badges in the same words, times
with their time zone, the pager's page numbers, the provider filter, the VIP's copy
button, and the admin's read-only list titled for viewing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from loadbalancers.models import LoadBalancer
from portal.kernel.pagination import EXACT_TOTAL_UP_TO, Page
from portal.templatetags.portal import ago, page_links
from tests.factories import LoadBalancerRowFactory, ServerFactory, personal_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(alice):
    client = Client()
    client.force_login(alice)
    return client


def summary_of(html: str) -> list[str]:
    """The error summary's lines, as read."""
    block = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert block, "no error summary"
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", block.group(0), re.S)]


def test_form_errors_read_in_words_under_the_field_s_label(alice_web):
    server = ServerFactory()
    response = alice_web.post(
        "/load-balancers/new/",
        {
            "name": "",
            "listener_protocol": "HTTP",
            "listener_port": "0",
            "algorithm": "ROUND_ROBIN",
            "servers": [server.pk],
            "health_monitor": "TCP",
            "monitor_retries_up": "11",
        },
    )

    assert response.status_code == 200
    lines = summary_of(response.content.decode())
    assert "Listener port: must be between 1 and 65535 (got 0)" in lines
    assert "Name: required" in lines
    assert "Health monitor: retries up must be between 1 and 10 (got 11)" in lines
    # No line repeats the API's name for the field it is under.
    assert not [line for line in lines if re.search(r"\b(listener_port|name is|retries_up)\b", line)]
    # Under the field itself (labelled "Port"), the same words.
    assert '<p class="field-error">must be between 1 and 65535 (got 0)</p>' in response.content.decode()
    assert not LoadBalancer.objects.exists()


def test_the_status_filters_read_as_the_badges_do(alice, alice_web):
    LoadBalancerRowFactory(name="shop", created_by=alice, provisioning_status="PENDING_CREATE")
    html = alice_web.get("/load-balancers/?provisioning_status=PENDING_CREATE").content.decode()

    assert '<option value="PENDING_CREATE" selected>pending create</option>' in html
    assert '<option value="NO_MONITOR" >no monitor</option>' in html
    assert '<span class="badge badge-pending">pending create</span>' in html
    assert ">PENDING_CREATE<" not in html


def test_times_are_relative_with_the_exact_utc_time_on_hover(alice, alice_web):
    lb = LoadBalancerRowFactory(name="shop", created_by=alice)
    made = timezone.now() - timedelta(minutes=3, seconds=5)
    LoadBalancer.objects.filter(pk=lb.pk).update(created_at=made, updated_at=made)
    exact = made.strftime("%Y-%m-%d %H:%M:%S UTC")

    for path in ("/load-balancers/", f"/load-balancers/{lb.pk}/"):
        html = alice_web.get(path).content.decode()
        assert f'<time datetime="{made.isoformat()}" title="{exact}">3 min ago</time>' in html, path


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 min ago"),
        (timedelta(hours=1, minutes=59), "1 hour ago"),
        (timedelta(hours=5), "5 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=6, hours=23), "6 days ago"),
    ],
)
def test_a_recent_time_reads_as_how_long_ago(age, words):
    now = timezone.now()
    assert ago(now - age, now) == words


def test_an_old_or_future_time_reads_as_a_utc_date():
    now = timezone.now().replace(year=2026, month=3, day=9, hour=14, minute=5)
    assert ago(now - timedelta(days=8), now) == "2026-03-01 14:05 UTC"
    assert ago(now + timedelta(hours=2), now) == "2026-03-09 16:05 UTC"


def test_the_list_filters_by_provider(alice, alice_web, settings):
    settings.LBAAS_PROVIDERS = ["sandbox", "haproxy"]
    LoadBalancerRowFactory(name="on-sandbox", created_by=alice)
    LoadBalancerRowFactory(name="on-haproxy", created_by=alice, provider="haproxy")

    html = alice_web.get("/load-balancers/?provider=haproxy").content.decode()
    assert '<option value="haproxy" selected>haproxy</option>' in html
    assert "on-haproxy" in html
    assert "on-sandbox" not in html


def test_the_list_filters_by_team(alice, alice_web):
    from accounts.models import Team

    LoadBalancerRowFactory(name="mine", created_by=alice)
    other = Team.objects.create(slug="other", name="Other")
    other.memberships.create(user=alice, role="member")
    LoadBalancerRowFactory(name="theirs", created_by=alice, team=other)

    html = alice_web.get("/load-balancers/?team=other").content.decode()
    assert '<option value="other" selected>other</option>' in html
    assert "theirs" in html
    assert ">mine<" not in html
    assert personal_team(alice).slug in html  # offered as a choice


def test_the_pager_numbers_the_pages_around_the_current_one(alice, alice_web):
    LoadBalancer.objects.bulk_create(
        LoadBalancerRowFactory.build(name=f"lb-{i:03d}", created_by=alice, team=personal_team(alice))
        for i in range(26 * 5)
    )
    html = alice_web.get("/load-balancers/?offset=50").content.decode()
    pager = re.search(r'<nav class="pager".*?</nav>', html, re.S).group(0)
    links = re.findall(r"<a([^>]*)>([^<]+)</a>", pager)

    assert [text for _, text in links] == ["First", "Previous", "1", "2", "3", "4", "5", "Next", "Last"]
    current = next(attrs for attrs, text in links if text == "3")
    assert 'aria-current="page"' in current
    assert "href" not in current
    hrefs = {text: re.search(r'href="([^"]*)"', attrs).group(1) for attrs, text in links if "href" in attrs}
    assert hrefs["First"] == "?offset=0"
    assert hrefs["Previous"] == hrefs["2"] == "?offset=25"
    assert hrefs["Next"] == hrefs["4"] == "?offset=75"
    assert hrefs["Last"] == "?offset=125"
    assert "51\u201375 of 130" in pager


def test_one_page_has_no_page_numbers(alice, alice_web):
    LoadBalancerRowFactory(name="shop", created_by=alice)
    html = alice_web.get("/load-balancers/").content.decode()
    assert "1\u20131 of 1" in html
    assert 'aria-current="page" aria-label="Page' not in html


def test_an_estimated_total_numbers_only_pages_known_to_exist():
    size = 25
    more = {"total": 2_000_000, "limit": size, "next_cursor": "more", "total_is_estimate": True}
    deep = Page(items=[object()] * size, offset=0, **more)
    near_cap = Page(items=[object()] * size, offset=EXACT_TOTAL_UP_TO - size, **more)

    assert [link["label"] for link in page_links(deep)] == ["1", "2", "3", "Next"]  # no "Last": unknown
    labels = [link["label"] for link in page_links(near_cap)]
    assert labels[-1] == "Next"
    assert "Last" not in labels
    last_number = max(int(label) for label in labels if label.isdigit())
    assert (last_number - 1) * size < EXACT_TOTAL_UP_TO  # no number past what was counted


def test_the_list_s_rows_carry_what_its_script_follows(alice, alice_web):
    pending = LoadBalancerRowFactory(name="slow", created_by=alice, provisioning_status="PENDING_CREATE")
    active = LoadBalancerRowFactory(name="done", created_by=alice)
    html = alice_web.get("/load-balancers/?search=o").content.decode()

    assert 'data-url="/api/v1/load-balancers/?search=o&amp;limit=25&amp;offset=0"' in html
    assert f'<tr data-lb="{pending.pk}" data-url="/api/v1/load-balancers/{pending.pk}/" data-pending="true">' in html
    assert f'<tr data-lb="{active.pk}" data-url="/api/v1/load-balancers/{active.pk}/" data-pending="false">' in html
    # The address the script asks answers this page's rows, through the session.
    answer = alice_web.get("/api/v1/load-balancers/?search=o&limit=25&offset=0", HTTP_ACCEPT="application/json")
    assert {item["id"] for item in answer.json()["items"]} == {str(pending.pk), str(active.pk)}


def test_the_detail_page_offers_to_copy_the_vip_once_there_is_one(alice, alice_web):
    with_vip = LoadBalancerRowFactory(name="shop", created_by=alice, vip_address="198.51.100.7")
    without = LoadBalancerRowFactory(name="new", created_by=alice, provisioning_status="PENDING_CREATE")

    html = alice_web.get(f"/load-balancers/{with_vip.pk}/").content.decode()
    assert re.search(r'<span class="mono" id="vip" data-field="vip_address">198\.51\.100\.7</span>', html)
    assert re.search(
        r'<button type="button" class="button-quiet copy-button" data-copy="vip" aria-describedby="vip" >', html
    )
    html = alice_web.get(f"/load-balancers/{without.pk}/").content.decode()
    assert re.search(r'data-copy="vip" aria-describedby="vip" hidden>', html)


def test_the_admin_s_read_only_list_is_titled_for_viewing(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get("/admin/loadbalancers/loadbalancer/").content.decode()
    assert "<h1>Select load balancer to view</h1>" in html
    assert "<title>Select load balancer to view" in html
    assert "to change" not in html


def test_runportal_prints_the_address_it_serves_on():
    from portal.management.commands.runportal import how_to_use, served_url

    assert served_url("0.0.0.0:8080") == "http://127.0.0.1:8080"
    assert served_url("[::]:9000") == "http://[::1]:9000"
    assert served_url("10.0.0.5:80") == "http://10.0.0.5:80"
    text = how_to_use("http://10.0.0.5:80", "ops")
    assert "Sign in:     http://10.0.0.5:80/accounts/login/" in text
    assert "curl -s -X POST http://10.0.0.5:80/api/v1/auth/token/" in text
    assert '"username": "ops"' in text
    assert "curl -s -H 'Authorization: Token <the token>' http://10.0.0.5:80/api/v1/load-balancers/" in text
    assert "8000" not in text
