"""The tests' own Octavia environment (tests/octavia/env.py): installed once for a set of
pins and found again afterwards, and the API's port known to be its own."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.octavia import env


@pytest.fixture
def installs(monkeypatch, tmp_path) -> list[list[str]]:
    """The commands an install would run, recorded instead of run (each succeeds)."""
    monkeypatch.setenv("OCTAVIA_TEST_VENV", str(tmp_path / "octavia-venv"))
    ran: list[list[str]] = []

    def run(command, **options):  # type: ignore[no-untyped-def]
        ran.append([str(part) for part in command])
        if command[1:3] == ["-m", "venv"]:
            Path(command[3]).mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(env.subprocess, "run", run)
    return ran


def test_the_environment_is_installed_once_for_its_pins(installs):
    venv = env.ensure_venv(log=lambda _: None)

    assert [command[1:3] for command in installs] == [["-m", "venv"], ["-m", "pip"]]
    assert installs[1][-3:] == ["--no-deps", "-r", str(env.REQUIREMENTS)]
    assert (venv / ".installed").read_text() == env.pins_digest()

    installs.clear()
    assert env.ensure_venv(log=lambda _: None) == venv
    assert installs == [], "a second run installs nothing"


def test_other_pins_install_again(installs):
    venv = env.ensure_venv(log=lambda _: None)
    (venv / ".installed").write_text("the digest of older pins")
    installs.clear()

    env.ensure_venv(log=lambda _: None)

    assert [command[1:3] for command in installs] == [["-m", "venv"], ["-m", "pip"]]


def test_a_port_counts_as_ours_only_when_our_process_listens_on_it():
    with socket.socket() as listener, socket.socket() as other:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        other.bind(("127.0.0.1", 0))  # bound, not listening
        port, not_listening = listener.getsockname()[1], other.getsockname()[1]

        assert env._listening(os.getpid(), port)
        assert not env._listening(os.getpid(), not_listening)
        assert not env._listening(1, port)  # init holds no socket of ours
