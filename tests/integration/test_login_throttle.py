"""Sign-in throttling in a cache every process of one machine shares (the embedded
default's file cache): the count of failures lasts the whole window, not the cache's
default timeout, however many failures follow the first."""

import time

import pytest
from django.core.cache import cache

from accounts.signin import is_throttled

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 3600
    yield
    cache.clear()


def test_failures_are_remembered_for_the_whole_window_in_a_file_cache(file_cache, client, alice, monkeypatch):
    from django.test import RequestFactory

    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    request = RequestFactory().post("/accounts/login/")

    later = time.time() + 1800  # past the cache's default 300 s, inside the 3600 s window
    monkeypatch.setattr(time, "time", lambda: later)
    assert is_throttled(request, "alice")

    monkeypatch.setattr(time, "time", lambda: later + 1801)  # the window has passed
    assert not is_throttled(request, "alice")
