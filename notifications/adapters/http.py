"""Webhook deliveries over HTTP(S), with the standard library only.

The connection goes to the address the service checked, not to whatever the host name
resolves to a moment later (DNS rebinding cannot turn an allowed host into the
portal's own network); TLS still verifies the certificate against the host name.  The
whole attempt (connect, send, answer) is bounded by one deadline, so an endpoint that
hangs or drips its answer never holds a worker past the timeout."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from urllib.parse import urlsplit

from notifications.domain.errors import DeliveryFailed
from portal.broker import BrokerTimeout, call_within

MAX_ANSWER_BYTES = 64 * 1024


class PinnedResolver:
    def __init__(self, timeout: float = 5.0):
        self._timeout = timeout

    def resolve(self, host: str, port: int) -> list[str]:
        if not host:
            raise DeliveryFailed("the URL names no host")
        try:
            found = call_within(
                self._timeout,
                lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM),
                what=f"resolving {host}",
            )
        except BrokerTimeout:
            raise DeliveryFailed(f"{host} did not resolve within {self._timeout:g} s") from None
        except (OSError, UnicodeError) as failed:
            raise DeliveryFailed(f"{host} does not resolve: {failed}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses:
            raise DeliveryFailed(f"{host} does not resolve")
        return addresses


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


class HttpSender:
    def post(self, url: str, address: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        deadline = time.monotonic() + timeout
        kind = _PinnedTLS if https else _Pinned
        connection = kind(parts.hostname or "", port, address, timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))  # type: ignore[union-attr]
            response = connection.getresponse()
            read = 0
            while read < MAX_ANSWER_BYTES:  # drain a little of the answer, within the deadline
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                connection.sock.settimeout(left)  # type: ignore[union-attr]
                chunk = response.read1(8192) if hasattr(response, "read1") else response.read(8192)
                if not chunk:
                    break
                read += len(chunk)
            return response.status
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {timeout:g} s") from None
        except ssl.SSLError as failed:
            raise DeliveryFailed(f"TLS failed: {failed.reason or failed}") from None
        except (OSError, http.client.HTTPException) as failed:
            raise DeliveryFailed(f"could not deliver: {failed.__class__.__name__}: {failed}") from None
        finally:
            connection.close()
