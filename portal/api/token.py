from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from portal.api.errors import ErrorSerializer
from portal.api.inputs import BoundedJSONParser
from portal.signin import is_throttled, retry_after, throttled_message


class SignInThrottled(exceptions.Throttled):
    """Too many failed sign-ins for one username from one address: the right password
    is refused too, so the answer says so, and for how long, instead of blaming it."""

    def __init__(self) -> None:
        super().__init__(detail=throttled_message())
        self.wait = retry_after()  # sent as the Retry-After header


class TokenView(ObtainAuthToken):
    """A token for a username and password.  JSON only, like the rest of the API, and
    throttled per client address so that passwords cannot be guessed at speed."""

    parser_classes = [BoundedJSONParser]
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(
        summary="Get an API token for a username and password",
        responses={200: ObtainAuthToken.serializer_class, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        username = request.data.get("username") if isinstance(request.data, dict) else None
        if is_throttled(request, username):
            raise SignInThrottled()
        return super().post(request, *args, **kwargs)
