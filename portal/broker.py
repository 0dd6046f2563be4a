"""Bounded waits on the Celery broker, and an embedded broker that survives losing
its folder.

A broker can accept a connection and never answer; no request of the portal may wait
on it for longer than ``BROKER_TIMEOUT``.  Transport timeouts bound each socket
operation, but not every broker library has them for every step, so the wait itself
is bounded here too: the call runs in a daemon thread that is abandoned (and ends at
its socket timeout) when the deadline passes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TypeVar

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BrokerTimeout(Exception):
    """The broker did not answer in time."""


class _Job:
    def __init__(self, call: Callable[[], object]) -> None:
        self.call = call
        self.done = threading.Event()
        self.outcome: dict[str, object] = {}

    def run(self) -> None:
        try:
            self.outcome["result"] = self.call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self.outcome["error"] = exc
        finally:
            self.done.set()


class _Runner:
    """A daemon thread that runs the bounded calls of one thread, one after the other:
    starting a thread for every call cost a request as much as the call itself.  When a
    call overruns, its runner is abandoned to it (it ends at the call's socket timeout,
    or with the process) and the next call gets a new one."""

    def __init__(self) -> None:
        self.jobs: SimpleQueue[_Job] = SimpleQueue()
        threading.Thread(target=self._serve, name="bounded calls", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.jobs.get().run()


_runners = threading.local()


def call_within(seconds: float, call: Callable[[], T], *, what: str) -> T:
    """The result of ``call()``, or BrokerTimeout after ``seconds``; the call's own
    exceptions are raised as they are."""
    runner = getattr(_runners, "runner", None)
    if runner is None:
        runner = _runners.runner = _Runner()
    job = _Job(call)
    runner.jobs.put(job)
    if not job.done.wait(seconds):
        _runners.runner = None  # busy with the overrunning call, maybe for good
        raise BrokerTimeout(f"{what}: the broker did not answer within {seconds:g} s")
    if "error" in job.outcome:
        raise job.outcome["error"]  # type: ignore[misc]
    return job.outcome["result"]  # type: ignore[return-value]


class Breaker:
    """Stops asking a broker that has just failed, for a while: the request that met the
    failure waited up to BROKER_TIMEOUT; those in the next ``cooldown`` seconds do not
    wait at all.  Their work is left to the reconciler, as the failed one's is."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._closed_at = float("-inf")

    def allows(self) -> bool:
        with self._lock:
            return self._clock() >= self._closed_at

    def failed(self, cooldown: float) -> None:
        with self._lock:
            self._closed_at = self._clock() + cooldown


def folder_problem(folders: list[Path]) -> str | None:
    """Why the embedded broker cannot take messages, if it cannot: each folder must
    exist and take a new file."""
    for folder in folders:
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".ready-", suffix=".probe"):
                pass
        except OSError as exc:
            return f"the broker folder {folder} is not writable: {exc.strerror or exc}"
    return None


class _SelfHealingChannel(filesystem.Channel):
    """kombu's filesystem channel, which fails for good (the worker exits) when its
    folders disappear.  This one makes them again before each use and binds its
    queues again; messages that were in a lost folder are lost, and the reconciler
    sends their work again.  While a folder cannot be made (a file stands in its
    place, the disk is read-only), the worker polls on and takes nothing, a send fails
    with a ChannelError, and /readyz says why."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._bindings: list[tuple[str, str, str, str]] = []
        self._problem: str | None = None
        super().__init__(*args, **kwargs)

    def _heal(self) -> bool:
        """Make what is missing again; False while that is not possible."""
        try:
            for folder in {str(self.data_folder_in), str(self.data_folder_out), str(self.control_folder)}:
                if not os.path.isdir(folder):
                    os.makedirs(folder, exist_ok=True)
                    logger.warning("the broker folder %s was missing: made it again", folder)
            for exchange, routing_key, pattern, queue in self._bindings:
                if not self._exchange_file(exchange).exists():
                    super()._queue_bind(exchange, routing_key, pattern, queue)
        except OSError as exc:
            self._report(f"the broker folders cannot be used: {exc}")
            return False
        self._report(None)
        return True

    def _report(self, problem: str | None) -> None:
        """Log a change of state once, not at every poll."""
        if problem != self._problem:
            if problem:
                logger.error("%s; taking no messages until it can", problem)
            else:
                logger.warning("the broker folders can be used again")
            self._problem = problem

    def _queue_bind(self, exchange, routing_key, pattern, queue):  # type: ignore[no-untyped-def]
        binding = (exchange, routing_key, pattern, queue)
        if binding not in self._bindings:
            self._bindings.append(binding)
        return super()._queue_bind(exchange, routing_key, pattern, queue)

    def get_table(self, exchange):  # type: ignore[no-untyped-def]
        # Routing reads the bindings from the control folder: bring back the ones this
        # channel made before a message is routed by them.
        self._heal()
        return super().get_table(exchange)

    def _put(self, queue, payload, **kwargs):  # type: ignore[no-untyped-def]
        """Write the message under a name no reader takes, then rename it into the
        queue: kombu's own writes the file in place, and a reader that takes it between
        its creation and its write reads nothing (and the worker stopped on that)."""
        if not self._heal():
            raise ChannelError(self._problem)
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"cannot add a message to {self.data_folder_out}: {exc}") from exc

    def _get(self, queue):  # type: ignore[no-untyped-def]
        if not self._heal():
            raise Empty()
        try:
            return super()._get(queue)
        except ValueError as unreadable:
            # A message no one can read (cut short by a full disk, written by hand):
            # dropped, so the worker goes on; the reconciler sends its work again.
            logger.error("dropped an unreadable message from %s: %s", self.data_folder_in, unreadable)
            raise Empty() from unreadable

    def _size(self, queue):  # type: ignore[no-untyped-def]
        return super()._size(queue) if self._heal() else 0

    def _purge(self, queue):  # type: ignore[no-untyped-def]
        return super()._purge(queue) if self._heal() else 0


class SelfHealingFilesystemTransport(filesystem.Transport):
    Channel = _SelfHealingChannel


class _ReusingRedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, which makes a new ``redis.Redis`` for every message it
    sends: building one (its table of some 170 reply handlers) cost as much as the
    round trip to Redis.  This one keeps one client per connection pool, which is
    thread-safe, and makes a new one only when the channel gets a new pool."""

    _reused: tuple[object, object] | None = None

    @contextlib.contextmanager
    def conn_or_acquire(self, client=None) -> Iterator[object]:  # type: ignore[no-untyped-def]
        if client:
            yield client
            return
        pool = self.pool
        reused = self._reused
        if reused is None or reused[0] is not pool:
            reused = self._reused = (pool, self._create_client())
        yield reused[1]


class RedisTransport(kombu_redis.Transport):
    """The Redis transport for ``redis://`` broker URLs (see _ReusingRedisChannel)."""

    Channel = _ReusingRedisChannel
