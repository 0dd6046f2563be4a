from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle

from servers.api.base import BoundedJSONParser


class TokenView(ObtainAuthToken):
    """A token for a username and password.  JSON only, like the rest of the API, and
    throttled per client address so that passwords cannot be guessed at speed."""

    parser_classes = [BoundedJSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(summary="Get an API token for a username and password")
    def post(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().post(request, *args, **kwargs)
