"""The ``Idempotency-Key`` header on every write of the API: a view that takes writes
declares ``Idempotent`` first among its bases, and a client may then send a POST, PUT,
PATCH or DELETE again, with the same key, without it running twice (the rules and the
store are in ``portal.idempotency``).

The key is claimed after authentication, permissions and throttles, so a request that
could not run anyway claims nothing.  Without the header nothing changes."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.db import DatabaseError
from django.http.request import RawPostDataException
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from portal import idempotency
from portal.api.errors import ErrorSerializer
from portal.kernel.errors import ValidationFailed

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_MAX_LENGTH = 255
# The headers of an answer that a repeat gets too (besides its status and body).
KEPT_HEADERS = ("Location",)
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")

# Why a view refuses the key where its answer carries a secret (a new API token's key).
SECRET_SHOWN_ONCE = "the answer carries a secret that is shown once, and the portal keeps no copy of it to show again"


def key_problem(key: str) -> str | None:
    """What is wrong with an Idempotency-Key header, or None: it must be 1 to 255
    printable ASCII characters (space to tilde), not only spaces."""
    if not 1 <= len(key) <= KEY_MAX_LENGTH:
        return f"must be 1 to {KEY_MAX_LENGTH} characters long (got {len(key)})"
    if not _PRINTABLE_ASCII.fullmatch(key):
        return "may hold only printable ASCII characters (space to tilde), no control or other characters"
    if not key.strip(" "):
        return "must hold more than spaces"
    return None


class _Replay(Exception):
    """Carries the kept answer from ``initial`` (where the key is claimed, before the
    handler runs) to ``handle_exception``, which answers with it instead of running."""

    def __init__(self, answer: idempotency.KeptAnswer) -> None:
        super().__init__(answer.status_code)
        self.answer = answer


KEY_PARAMETER = OpenApiParameter(
    HEADER,
    type={"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[ -~]*[!-~][ -~]*$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the request safe to send again: a unique value of yours (a UUID, say), 1 to 255 printable "
        "ASCII characters.  A repeat with the same key, method, path and body gets the first answer again "
        f"(same status and body, header `{REPLAYED_HEADER}: true`) and changes nothing; the same key with "
        "another request is refused with 422 `IdempotencyKeyReused`; a repeat while the first one still runs "
        "gets 409 `IdempotencyKeyInProgress`.  Answers are kept per user for IDEMPOTENCY_TTL (24 hours by "
        "default); a 5xx answer is not kept, so a retry with the same key runs again."
    ),
)
KEY_ERRORS = {
    409: OpenApiResponse(ErrorSerializer, description="Conflict (also: the Idempotency-Key's request is running)"),
    422: OpenApiResponse(ErrorSerializer, description="The Idempotency-Key was used for another request"),
}


class IdempotentSchema(AutoSchema):
    """Documents the header, and the answers it adds, on each write the view takes it on."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._takes_key():
            parameters.append(KEY_PARAMETER)
        return parameters

    def get_description(self) -> str:
        description = super().get_description()
        if self.method in WRITE_METHODS and not self._takes_key():
            description = f"{description}\n\nAn `{HEADER}` header is refused here (400): {SECRET_SHOWN_ONCE}.".strip()
        return description

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation and self._takes_key():
            for status_code, response in KEY_ERRORS.items():
                # An answer the view documents already (a 409) stays as documented.
                operation["responses"].setdefault(
                    str(status_code), self._get_response_for_code(response, str(status_code))
                )
        return operation

    def _takes_key(self) -> bool:
        return self.method in WRITE_METHODS and not self.view.shows_secret_once(self.method)


class Idempotent(APIView):
    """Honours the ``Idempotency-Key`` header on the view's writes.

    ``secret_once_handlers`` names the handlers (a viewset's actions, an APIView's method
    names) whose answer carries a secret that is shown once: the portal keeps no copy of
    such an answer, so a key is refused there (400) rather than silently not honoured."""

    secret_once_handlers: tuple[str, ...] = ()
    schema = IdempotentSchema()
    _claimed: idempotency.Claimed | None = None

    def shows_secret_once(self, method: str) -> bool:
        handler = getattr(self, "action", None) or method.lower()
        return handler in self.secret_once_handlers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER) if request.method in WRITE_METHODS else None
        if key is None:
            return
        problem = key_problem(key)
        if problem:
            raise ValidationFailed(f"the request is not valid: check {HEADER}", details={HEADER: [problem]})
        if self.shows_secret_once(request.method or ""):
            refusal = f"an {HEADER} cannot be honoured here: {SECRET_SHOWN_ONCE}; send the request without it"
            raise ValidationFailed(refusal, details={HEADER: [refusal]})
        if not request.user or not request.user.is_authenticated:
            return
        path = request.get_full_path()  # percent-encoded: ASCII whatever the client sent
        outcome = idempotency.claim(
            user_id=request.user.pk,
            key=key,
            fingerprint=idempotency.fingerprint(request.method or "", path, _body_of(request)),
            method=request.method or "",
            path=path,
        )
        if isinstance(outcome, idempotency.KeptAnswer):
            raise _Replay(outcome)
        self._claimed = outcome

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            headers = {**exc.answer.headers, REPLAYED_HEADER: "true"}
            return Response(exc.answer.data, status=exc.answer.status_code, headers=headers)
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        claimed, self._claimed = self._claimed, None
        if claimed is not None:
            _settle(claimed, request, response)
        return response

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            # Unhandled (a bug, a 500; or the process is told to stop): the request may
            # have done nothing, so the key is given back for a retry.
            claimed, self._claimed = self._claimed, None
            if claimed is not None:
                _release(claimed)
            raise


def _body_of(request: Request) -> bytes:
    django_request = request._request
    try:
        return django_request.body
    except RawPostDataException:
        # A form body that was read before the view (a CSRF check reads forms): its fields.
        return json.dumps(sorted(django_request.POST.lists())).encode()


def _settle(claimed: idempotency.Claimed, request: Request, response: Any) -> None:
    """Keeps the answer for the key's repeats; gives the key back after a 5xx."""
    if response.status_code >= 500 or not isinstance(response, Response):
        _release(claimed)
        return
    try:
        body = json.dumps(response.data, cls=JSONEncoder, ensure_ascii=True)
    except (TypeError, ValueError):
        logger.exception("the answer to %s %s cannot be kept for its %s", request.method, request.path, HEADER)
        _release(claimed)
        return
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    try:
        idempotency.keep(claimed, status_code=response.status_code, body=body, headers=headers)
    except DatabaseError:
        # The work is done: the client gets its answer.  The key stays claimed; a repeat
        # gets 409 until the claim counts as abandoned (portal.idempotency).
        logger.exception("the answer to %s %s could not be kept for its %s", request.method, request.path, HEADER)


def _release(claimed: idempotency.Claimed) -> None:
    try:
        idempotency.release(claimed)
    except DatabaseError:
        logger.exception("an %s could not be given back; it counts as abandoned later", HEADER)
