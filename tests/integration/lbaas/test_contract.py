"""The promises every LBaaS adapter keeps, stated once and checked against each."""

from uuid import uuid4

import pytest

from loadbalancers.domain.errors import ProviderResourceNotFound
from loadbalancers.domain.model import ProvisioningStatus
from tests.integration.lbaas.harness import INSTALLATION, Harness

ADAPTERS = ["sandbox", "haproxy", "elbv2"]


@pytest.fixture(params=ADAPTERS)
def lbaas(request) -> Harness:
    return request.getfixturevalue(f"{request.param}_lbaas")


def test_the_same_client_token_never_creates_twice(lbaas):
    token = str(uuid4())
    first = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=token)
    again = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=token)

    assert again.ref == first.ref
    assert [r.ref for r in lbaas.client.get_list()] == [first.ref]
    assert first.client_token == token


def test_every_resource_carries_the_installation_that_made_it(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0), client_token=str(uuid4())).ref
    lbaas.settle()

    assert lbaas.client.get(ref).installation == INSTALLATION
    assert [(r.ref, r.installation) for r in lbaas.client.get_list()] == [(ref, INSTALLATION)]


def test_a_created_load_balancer_ends_active_with_a_vip_and_its_members(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    lbaas.settle()

    state = lbaas.client.get(ref)

    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert state.vip_address
    assert {(m.address, m.port) for m in state.members} == {
        (lbaas.members[i].address, lbaas.members[i].port) for i in (0, 1)
    }


def test_member_changes_show_up(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0, 1), client_token=str(uuid4())).ref
    lbaas.settle()

    lbaas.client.update(ref, lbaas.spec("shop", 1, 2, algorithm="LEAST_CONNECTIONS"))
    lbaas.settle()

    state = lbaas.client.get(ref)
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert {(m.address, m.port) for m in state.members} == {
        (lbaas.members[i].address, lbaas.members[i].port) for i in (1, 2)
    }


def test_delete_removes_it_and_a_second_delete_is_harmless(lbaas):
    ref = lbaas.client.create(lbaas.spec("shop", 0), client_token=str(uuid4())).ref
    lbaas.settle()

    lbaas.client.delete(ref)
    lbaas.settle()
    lbaas.client.delete(ref)

    with pytest.raises(ProviderResourceNotFound):
        lbaas.client.get(ref)
    assert lbaas.client.get_list() == []


def test_an_unknown_reference_reads_as_gone(lbaas):
    with pytest.raises(ProviderResourceNotFound):
        lbaas.client.get("no-such-load-balancer")
    lbaas.client.delete("no-such-load-balancer")


def test_the_list_is_exactly_what_exists(lbaas):
    kept = lbaas.client.create(lbaas.spec("kept", 0), client_token=str(uuid4())).ref
    gone = lbaas.client.create(lbaas.spec("gone", 1), client_token=str(uuid4())).ref
    lbaas.settle()
    lbaas.client.delete(gone)
    lbaas.settle()

    assert [r.ref for r in lbaas.client.get_list()] == [kept]
