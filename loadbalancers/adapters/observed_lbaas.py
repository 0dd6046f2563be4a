"""An LBaaS client that times and counts each call to the one it wraps (metrics, by
provider and method) and keeps the provider's health record (the ops dashboard).  The
composition root wraps every provider in one, so every adapter is observed the same way
and none of them knows it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from loadbalancers.application.lbaas import (
    LBaaSClient,
    LoadBalancerSpec,
    ProviderLoadBalancer,
    ProviderPlan,
)
from loadbalancers.application.ports import Observations
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

HealthRecord = Callable[..., object]
"""``record(provider, *, at, error)``: keeps the provider's health (adapters.provider_health)."""


def error_kind(exc: Exception) -> str:
    if isinstance(exc, ProviderResourceNotFound):
        return "not_found"
    if isinstance(exc, ProviderRejected):
        return "rejected"
    if isinstance(exc, ProviderUnavailable):
        return "unavailable"
    return "unexpected"


class ObservedLBaaSClient(LBaaSClient):
    """``client``, each of its calls to the provider measured.  What an adapter knows
    without asking its provider (``as_running``, ``refusals``) is passed through, and so
    is anything an adapter has beyond the port (the HAProxy adapter's ``stop``)."""

    def __init__(
        self,
        client: LBaaSClient,
        *,
        observations: Observations,
        record_health: HealthRecord,
        now: Callable[[], datetime],
        timer: Callable[[], float] = time.perf_counter,
    ):
        self.wrapped = client
        self.name = client.name
        self._observations = observations
        self._record_health = record_health
        self._now = now
        self._timer = timer

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        return self._call("create", lambda: self.wrapped.create(spec, client_token=client_token))

    def get(self, ref: str) -> ProviderLoadBalancer:
        return self._call("get", lambda: self.wrapped.get(ref))

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        return self._call("update", lambda: self.wrapped.update(ref, spec))

    def delete(self, ref: str) -> None:
        self._call("delete", lambda: self.wrapped.delete(ref))

    def get_list(self) -> list[ProviderLoadBalancer]:
        return self._call("get_list", self.wrapped.get_list)

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        return self._call("plan", lambda: self.wrapped.plan(ref, spec))

    def as_running(self, spec: LoadBalancerSpec) -> LoadBalancerSpec:
        return self.wrapped.as_running(spec)

    def refusals(self, spec: LoadBalancerSpec) -> list[str]:
        return self.wrapped.refusals(spec)

    def __getattr__(self, name: str) -> Any:
        if name == "wrapped":  # not set yet (a copy being made)
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def _call(self, method: str, call: Callable[[], T]) -> T:
        started = self._timer()
        try:
            answer = call()
        except Exception as failed:
            kind = error_kind(failed)
            # A resource that is not there is an answer (a delete being followed, say): the
            # provider is up.  Anything else counts against it.
            self._observe(method, started, kind, None if kind == "not_found" else _reason(failed))
            raise
        self._observe(method, started, None, None)
        return answer

    def _observe(self, method: str, started: float, kind: str | None, failure: str | None) -> None:
        """Never lets a failure here fail the call measured."""
        try:
            seconds = max(self._timer() - started, 0.0)
            self._observations.provider_called(provider=self.name, method=method, seconds=seconds, error=kind)
            self._record_health(self.name, at=self._now(), error=failure)
        except Exception:
            logger.warning("the call %s of provider %s was not recorded", method, self.name, exc_info=True)


def _reason(failed: Exception) -> str:
    message = getattr(failed, "message", None) or str(failed) or type(failed).__name__
    return f"{type(failed).__name__}: {message}"
