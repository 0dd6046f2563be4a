"""The embedded broker (kombu's filesystem transport, made sturdier): messages are
never seen half-written, an unreadable one is dropped instead of stopping the worker,
and a folder that disappears is made again."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import uuid4

import pytest
from kombu import Connection, Exchange, Queue

from portal import broker


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, str]:
    queue, control = tmp_path / "queue", tmp_path / "control"
    queue.mkdir()
    control.mkdir()
    return {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(control)}


@pytest.fixture
def connection(folders):  # type: ignore[no-untyped-def]
    with Connection(
        "filesystem://", transport="portal.broker:SelfHealingFilesystemTransport", transport_options=folders
    ) as conn:
        yield conn


@pytest.fixture
def name() -> str:
    """A queue of the test's own: kombu keeps the filesystem transport's bindings in
    one state per process, which the folders of earlier tests would otherwise hold."""
    return f"work{uuid4().hex}"


def send(connection, name: str, body: dict) -> None:  # type: ignore[no-untyped-def]
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name)
    with connection.Producer() as producer:
        producer.publish(body, exchange=exchange, routing_key=name, declare=[queue], serializer="json")


def receive(connection, name: str) -> dict | None:  # type: ignore[no-untyped-def]
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with connection.SimpleQueue(queue) as simple:
        try:
            message = simple.get(block=False)
        except simple.Empty:
            return None
        message.ack()
        return message.payload


def test_a_message_goes_through(connection, name):
    send(connection, name, {"n": 1})
    assert receive(connection, name) == {"n": 1}


def test_a_message_is_never_visible_half_written(connection, name, folders, monkeypatch):
    """The writer renames a complete file into the queue: at the moment of the rename,
    nothing a reader would take is in the folder."""
    seen_before_rename: list[list[str]] = []
    rename = broker.os.replace

    def watching(source: str, target: str) -> None:
        seen_before_rename.append(
            [name for name in Path(folders["data_folder_out"]).iterdir() if name.suffix == ".msg"]
        )
        rename(source, target)

    monkeypatch.setattr(broker.os, "replace", watching)
    send(connection, name, {"n": 2})

    assert seen_before_rename == [[]]
    assert receive(connection, name) == {"n": 2}


def test_an_unreadable_message_is_dropped_and_the_next_one_delivered(connection, name, folders, caplog):
    (Path(folders["data_folder_in"]) / f"1_broken.{name}.msg").write_bytes(b"")
    send(connection, name, {"n": 3})

    got = [receive(connection, name) for _ in range(2)]

    assert {"n": 3} in got
    assert "dropped an unreadable message" in caplog.text


def test_a_lost_queue_folder_is_made_again(connection, name, folders):
    send(connection, name, {"n": 0})
    assert receive(connection, name) == {"n": 0}
    shutil.rmtree(folders["data_folder_in"])
    shutil.rmtree(folders["control_folder"])

    send(connection, name, {"n": 4})

    assert receive(connection, name) == {"n": 4}
    assert Path(folders["data_folder_in"]).is_dir()
