"""API authentication by the portal's hashed tokens: ``Authorization: Token <key>``
(``Bearer <key>`` too).  The key is hashed and looked up with its user in one query;
an expired or revoked token is refused with 401, and a read-only one may not write."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts import bootstrap, selectors
from accounts.domain.errors import ReadOnlyToken
from accounts.domain.tokens import ApiToken, digest_of

KEYWORDS = (b"token", b"bearer")
MAX_KEY_LENGTH = 200


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2 or len(parts[1]) > MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed("send the header as 'Authorization: Token <key>'")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the token is not valid") from None
        found = selectors.token_with_user(digest_of(key))
        if found is None:
            raise exceptions.AuthenticationFailed("the token is not valid: it was revoked, or never issued")
        token, user = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed("the token's user account is disabled")
        if not bootstrap.build().tokens.used(token):
            raise exceptions.AuthenticationFailed(
                f"the token expired at {token.expires_at:%Y-%m-%d %H:%M:%S %Z}; make a new one"
            )
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TokenAllowsWrites(permissions.BasePermission):
    """A read-only token reads; any other method it sends is refused (403 ReadOnlyToken)."""

    def has_permission(self, request: Request, view: object) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and not token.write and request.method not in permissions.SAFE_METHODS:
            raise ReadOnlyToken()
        return True


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema documents the token (as DRF's own TokenAuthentication)."""

    target_class = HashedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token of yours, sent as "Token <key>" (make one at /api/v1/tokens/).',
        }
