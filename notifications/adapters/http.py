"""Webhook deliveries over HTTP(S), with the standard library only.

The connection goes to the address the service checked, not to whatever the host name
resolves to a moment later (DNS rebinding cannot turn an allowed host into the
portal's own network); TLS still verifies the certificate against the host name.  The
whole attempt (connect, send, answer) is bounded by one deadline, so an endpoint that
hangs or drips its answer never holds a worker past the timeout."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
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
        self.address = address
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        self.raw = self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        self.raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(self.raw, server_hostname=self.host)  # type: ignore[attr-defined]


class HttpSender:
    def post(self, url: str, address: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        """One attempt, over at the deadline whatever the endpoint does: a timer shuts
        the socket down then, which ends any read or write under way (a socket timeout
        alone bounds each read, not an answer dripped a byte at a time)."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = (_PinnedTLS if https else _Pinned)(parts.hostname or "", port, address, timeout)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if connection.raw is not None:
                with contextlib.suppress(OSError):
                    connection.raw.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(MAX_ANSWER_BYTES)  # a little of the answer, so the endpoint is not cut off
            if expired.is_set():
                raise TimeoutError
            return response.status
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {timeout:g} s") from None
        except ssl.SSLError as failed:
            if expired.is_set():
                raise DeliveryFailed(f"no answer within {timeout:g} s") from None
            raise DeliveryFailed(f"TLS failed: {failed.reason or failed}") from None
        except (OSError, http.client.HTTPException, ValueError) as failed:
            if expired.is_set():
                raise DeliveryFailed(f"no answer within {timeout:g} s") from None
            raise DeliveryFailed(f"could not deliver: {failed.__class__.__name__}: {failed}") from None
        finally:
            timer.cancel()
            connection.close()
