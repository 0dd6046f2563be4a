import pytest

from loadbalancers.application.payloads import Actor
from tests.fakes import Portal


@pytest.fixture
def portal() -> Portal:
    return Portal()


@pytest.fixture
def alice() -> Actor:
    return Actor(user_id=1, username="alice")


@pytest.fixture
def bob() -> Actor:
    return Actor(user_id=2, username="bob")


@pytest.fixture
def ops() -> Actor:
    return Actor(user_id=3, username="ops", is_staff=True)
