import pytest

from portal.kernel.actors import Actor
from tests.fakes import Portal


@pytest.fixture
def portal() -> Portal:
    return Portal()


@pytest.fixture
def alice() -> Actor:
    """The owner of team 1 ("alice", her personal team)."""
    return Actor(user_id=1, username="alice", roles={1: "owner"})


@pytest.fixture
def bob() -> Actor:
    """The owner of team 2 ("bob")."""
    return Actor(user_id=2, username="bob", roles={2: "owner"})


@pytest.fixture
def ops() -> Actor:
    return Actor(user_id=3, username="ops", sees_all=True, changes_all=True)


@pytest.fixture
def auditor() -> Actor:
    """Operations staff who may read every load balancer but change none of others'."""
    return Actor(user_id=4, username="auditor", sees_all=True)
