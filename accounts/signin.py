"""Slow down password guessing on every way in (the pages, the admin, the browsable API,
the token endpoint): after LOGIN_FAILURE_LIMIT failed sign-ins for one username from one
client address within LOGIN_FAILURE_WINDOW seconds, even the right password is refused
until the window has passed.  Counted per address and username, so nobody can lock another
person out from elsewhere."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from portal.kernel.errors import ValidationFailed


def _key(request: HttpRequest | None, username: object) -> str | None:
    if request is None or not isinstance(username, str) or not username:
        return None
    # The client's address as the API's rate limits see it (NUM_PROXIES decides whether
    # X-Forwarded-For is trusted), so both count the same person the same way.
    address = BaseThrottle().get_ident(request) or "unknown"
    # Hashed: any text a client sends becomes a key every cache backend accepts.
    who = hashlib.sha256(f"{address}\n{username.strip().lower()}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"login-failures:{who}"


def is_throttled(request: HttpRequest | None, username: object) -> bool:
    key = _key(request, username)
    return key is not None and cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT


def retry_after() -> int:
    """Seconds after which a throttled sign-in is let through again, at the latest: the
    count of failures expires with the window that began at the first of them."""
    return math.ceil(settings.LOGIN_FAILURE_WINDOW)


def throttled_message() -> str:
    """Why a sign-in is refused, and for how long, in the words every way in uses."""
    minutes = math.ceil(retry_after() / 60)
    return (
        f"Too many failed sign-ins for this account from here. "
        f"Try again in {minutes} minute{'' if minutes == 1 else 's'}."
    )


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ):  # type: ignore[no-untyped-def]
        if is_throttled(request, username):
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failure(sender: object, credentials: dict, request: HttpRequest | None = None, **kwargs: object) -> None:
    key = _key(request, credentials.get("username"))
    if key is None:
        return
    window = settings.LOGIN_FAILURE_WINDOW
    now = time.time()
    if cache.add(key, 1, timeout=window):
        cache.set(f"{key}:since", now, timeout=window)
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        cache.set(f"{key}:since", now, timeout=window)
        return
    # Some caches (file, database) give a key the default timeout again when they
    # increment it: the window still ends where it began, at the first failure.
    since = cache.get(f"{key}:since", now)
    cache.touch(key, max(1.0, since + window - now))


@receiver(user_logged_in)
def forget_failures(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    key = _key(request, getattr(user, "get_username", lambda: None)())
    if key is not None:
        cache.delete_many([key, f"{key}:since"])


class _SaysWhenThrottled:
    """A sign-in form that says why it refuses once the limit is reached."""

    request: HttpRequest | None

    def clean(self):  # type: ignore[no-untyped-def]
        if is_throttled(self.request, self.data.get("username")):
            raise forms.ValidationError(throttled_message(), code="throttled")
        return super().clean()  # type: ignore[misc]


class SignInForm(_SaysWhenThrottled, AuthenticationForm):
    """The sign-in pages' form: the portal's own and the browsable API's."""


class AdminSignInForm(_SaysWhenThrottled, AdminAuthenticationForm):
    pass


def authenticate_or_refuse(
    request: HttpRequest, username: str, password: str, throttled: Callable[[str, float], Exception]
) -> AbstractBaseUser:
    """The active user with this username and password, for a program that signs in
    (the token endpoint): ``throttled(message, retry_after)`` is raised once sign-in is
    throttled, a ValidationFailed for anything else that fails."""
    if is_throttled(request, username):
        raise throttled(throttled_message(), retry_after())
    user = authenticate(request=request, username=username, password=password)
    if user is None or not user.is_active:
        message = "unable to sign in with that username and password"
        raise ValidationFailed(message, details={"non_field_errors": [message]})
    return user
