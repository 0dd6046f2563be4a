"""The admin shows this installation's identity, and lets an operator delete the
orphans the reconciler held, each checked again first."""

from uuid import uuid4

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from loadbalancers import bootstrap
from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.application.lbaas import LoadBalancerSpec
from loadbalancers.models import Orphan
from portal.runtime import instance_id
from tests.e2e.test_admin import act

pytestmark = pytest.mark.django_db

ORPHANS = "/admin/loadbalancers/orphan/"


@pytest.fixture
def ops_web(client, staff):
    client.force_login(staff)
    return client


def remote(installation: str) -> str:
    """A resource at the portal's sandbox that no record owns, made for an installation."""
    sandbox = SandboxLBaaS(**django_settings.SANDBOX_LBAAS, installation=installation)
    return sandbox.create(LoadBalancerSpec("x", "HTTP", 80, "ROUND_ROBIN", ()), client_token=str(uuid4())).ref


def orphan_row(ref: str) -> Orphan:
    now = timezone.now()
    return Orphan.objects.create(provider="sandbox", ref=ref, client_token="t", first_seen_at=now, last_seen_at=now)


def test_the_admin_index_and_the_orphans_show_this_installation(ops_web):
    assert instance_id() in ops_web.get("/admin/").content.decode()
    assert f"Installation {instance_id()}" in ops_web.get(ORPHANS).content.decode()


def test_an_operator_deletes_an_orphan_of_this_installation_but_never_another_ones(ops_web, settings):
    settings.SANDBOX_LBAAS = {**settings.SANDBOX_LBAAS, "delay": 0}
    ours, theirs = orphan_row(remote(instance_id())), orphan_row(remote("another-portal"))

    said = act(ops_web, ORPHANS, "delete_at_provider", ours, theirs)

    assert f"{ours.ref}: deleted" in said
    assert any(m.startswith(f"{theirs.ref}: not deleted: it belongs to installation another-portal") for m in said)
    refs = {lb.ref for lb in bootstrap.providers().get("sandbox").get_list()}
    assert refs == {theirs.ref}
    ours.refresh_from_db()
    assert ours.deleted_at is not None
    assert ours.deletion_reason == "deleted by ops in the admin"
