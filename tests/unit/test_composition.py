"""The composition roots: the tests wire fakes through the same build() production uses."""

import pytest

from loadbalancers import bootstrap
from loadbalancers.adapters.lbaas import PROVIDER_KINDS
from servers import bootstrap as servers_bootstrap


def test_build_refuses_a_part_it_does_not_know():
    with pytest.raises(TypeError, match="unknown parts: schedular"):
        bootstrap.build(schedular=object())
    with pytest.raises(TypeError, match="unknown parts: repository"):
        servers_bootstrap.build(repository=object())


def test_the_settings_know_exactly_the_providers_in_the_table(settings):
    assert tuple(PROVIDER_KINDS) == settings.KNOWN_LBAAS_PROVIDERS
    assert all(hasattr(settings, kind.setting) for kind in PROVIDER_KINDS.values())
