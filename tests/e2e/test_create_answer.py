"""A create answers with the record as it was stored, built from what the create already
holds instead of reading it back: it must be exactly what a GET then reads."""

import pytest

from tests.factories import ServerFactory

pytestmark = pytest.mark.django_db

BODIES = {
    "ids only": {"servers": "ids"},
    "everything": {
        "servers": "objects",
        "listener_protocol": "TCP",
        "listener_port": 5432,
        "algorithm": "LEAST_CONNECTIONS",
        "description": "naïve ✓ text",
        "health_monitor": {"type": "TCP", "interval": 7, "timeout": 3, "retries_up": 2},
        "tags": ["web", "env=prod", "a"],
        "deletion_protection": True,
    },
    "http monitor": {
        "servers": "ids",
        "health_monitor": {"type": "HTTP", "http_path": "/health", "expected_codes": "200-299"},
    },
}


@pytest.mark.parametrize("shape", BODIES)
def test_the_create_answer_is_what_a_get_reads(alice_api, shape):
    servers = ServerFactory.create_batch(3)
    body = {"name": f"made-{shape.replace(' ', '-')}", **BODIES[shape]}
    if body["servers"] == "ids":
        body["servers"] = [s.pk for s in servers]
    else:
        body["servers"] = [
            {"server": servers[0].pk, "weight": 5},
            {"server": servers[2].pk, "admin_state": "drain", "weight": 0},
            servers[1].pk,
        ]

    created = alice_api.post("/api/v1/load-balancers/", body, format="json")

    assert created.status_code == 202, created.json()
    read = alice_api.get(f"/api/v1/load-balancers/{created.json()['id']}/")
    assert created.json() == read.json()
