"""The lists' hot path builds a load balancer's JSON by hand: it must be what the
documented serializer (LoadBalancerOutput) gives, field for field, for every shape."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from loadbalancers.api.serializers import LoadBalancerOutput, load_balancer_json
from loadbalancers.application.read_model import DriftView, LoadBalancerView, MemberView
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus

NOW = datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)


def view(**changes) -> LoadBalancerView:
    fields = {
        "id": UUID("6c231095-d6d9-4488-8b1f-f47ce381989b"),
        "name": "shop",
        "description": "",
        "team_id": 3,
        "team": "web",
        "created_by": "alice",
        "servers": [],
        "listener_protocol": "HTTP",
        "listener_port": 80,
        "algorithm": "ROUND_ROBIN",
        "provisioning_status": "ACTIVE",
        "operating_status": "ONLINE",
        "provider": "sandbox",
        "vip_address": None,
        "error_reason": None,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return LoadBalancerView(**{**fields, **changes})


MEMBERS = [
    MemberView(1, "web-1", "10.0.0.1", 8080, "OK"),
    MemberView(2, "web-2", "10.0.0.2", 8081, "MAINTENANCE", 0, "drain", "DRAINING", "checks fail: 503", True),
]
SHAPES = {
    "bare": view(),
    "members, monitor, tags": view(
        servers=MEMBERS,
        health_monitor={"type": "HTTP", "delay": 5, "timeout": 3, "http_path": "/", "expected_codes": "200"},
        tags=["env=prod", "web"],
        deletion_protection=True,
        vip_address="198.51.100.7",
    ),
    "no creator, error, drift": view(
        created_by=None,
        provisioning_status="ERROR",
        error_reason="the provider said no",
        drift=[
            DriftView("algorithm", "ROUND_ROBIN", "SOURCE_IP", NOW, NOW + timedelta(minutes=3)),
            DriftView("health_monitor", {"type": "TCP"}, None, NOW, NOW),
        ],
    ),
    "enums and another time zone": view(
        provisioning_status=ProvisioningStatus.PENDING_UPDATE,
        operating_status=OperatingStatus.OFFLINE,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).astimezone(),
        description="naïve ✓",
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_the_hand_built_json_is_the_serializer_s(name):
    shape = SHAPES[name]

    assert load_balancer_json(shape) == LoadBalancerOutput(shape).data
    assert list(load_balancer_json(shape)) == list(LoadBalancerOutput(shape).data)


def test_every_documented_field_is_built():
    assert set(load_balancer_json(view())) == set(LoadBalancerOutput().fields)
