"""HAProxy as a real, local data plane.

The adapter runs one HAProxy in master-worker mode and owns its configuration: each
load balancer is a frontend bound to its VIP and listener port, and a backend with its
members (health checks on).  Every change renders a whole new configuration, checks it
with ``haproxy -c`` and only then installs it and asks the master for a graceful reload
(old workers finish the connections they hold).  A configuration HAProxy refuses is
never applied: the change fails with HAProxy's own message.

What exists lives in a SQLite file that every process of the portal shares; its write
lock also serialises the configuration changes of all processes.  Operating status
and member health come from HAProxy's runtime API (``show stat`` on the stats socket).

VIPs are the lowest free addresses of a configured network: a loopback range such as
127.77.0.0/16 on one machine (Linux routes all of 127.0.0.0/8 to the loopback), or a
range whose addresses the host owns in production.

Why one module of this size: rendering the configuration, checking it, reloading the
master and reading the runtime API are the steps of each change, under one lock;
split, each part would reach into the other's private helpers.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from uuid import uuid4

from loadbalancers.adapters.lbaas.sqlite_state import SQLiteState, lowest_free_vip
from loadbalancers.application.lbaas import (
    LBaaSClient,
    LoadBalancerSpec,
    MemberHealth,
    MemberSpec,
    ProviderLoadBalancer,
)
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS load_balancers (
    ref TEXT PRIMARY KEY,
    client_token TEXT NOT NULL UNIQUE,
    vip_address TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    installation TEXT
);
"""

BALANCE = {"ROUND_ROBIN": "roundrobin", "LEAST_CONNECTIONS": "leastconn", "SOURCE_IP": "source"}
MODE = {"HTTP": "http", "TCP": "tcp"}


class HAProxyLBaaS(LBaaSClient):
    name = "haproxy"

    def __init__(
        self,
        *,
        state_dir: str,
        vip_network: str = "127.77.0.0/16",
        haproxy_bin: str = "haproxy",
        check_interval: float = 2.0,
        timeout: float = 10.0,
        installation: str | None = None,
    ):
        try:
            self._vips = ipaddress.ip_network(vip_network)
        except ValueError as exc:
            raise ValueError(f"haproxy vip_network {vip_network!r} is not a network: {exc}") from None
        if check_interval <= 0:
            raise ValueError(f"haproxy check_interval must be positive (got {check_interval!r})")
        self._dir = Path(state_dir)
        self._bin = haproxy_bin
        self._check_ms = max(100, int(check_interval * 1000))
        self._timeout = timeout
        self._state = SQLiteState(
            self._dir / "state.sqlite3",
            _SCHEMA,
            owner="haproxy",
            added_columns=[("load_balancers", "installation", "TEXT")],
        )
        self._installation = installation

    @property
    def config_path(self) -> Path:
        """The configuration HAProxy runs."""
        return self._dir / "haproxy.cfg"

    # -- the port ---------------------------------------------------------------------

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        with self._state.write() as db:
            row = db.execute("SELECT * FROM load_balancers WHERE client_token = ?", (client_token,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO load_balancers (ref, client_token, vip_address, spec, created_at, installation)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        f"hap-{uuid4().hex[:16]}",
                        client_token,
                        lowest_free_vip(db, self._vips),
                        _dump(spec),
                        time.time(),
                        self._installation,
                    ),
                )
                self._apply(db)
                row = db.execute("SELECT * FROM load_balancers WHERE client_token = ?", (client_token,)).fetchone()
        return self._present(row, self._health())

    def get(self, ref: str) -> ProviderLoadBalancer:
        with self._state.read() as db:
            row = _found(db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
        return self._present(row, self._health())

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        with self._state.write() as db:
            _found(db.execute("SELECT ref FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
            db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (_dump(spec), ref))
            self._apply(db)
            row = db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone()
        return self._present(row, self._health())

    def delete(self, ref: str) -> None:
        with self._state.write() as db:
            if db.execute("DELETE FROM load_balancers WHERE ref = ?", (ref,)).rowcount:
                self._apply(db)

    def get_list(self) -> list[ProviderLoadBalancer]:
        with self._state.read() as db:
            rows = db.execute("SELECT * FROM load_balancers ORDER BY created_at, ref").fetchall()
        health = self._health() if rows else {}
        return [self._present(row, health) for row in rows]

    # -- configuration ----------------------------------------------------------------

    def render(self, rows: list[sqlite3.Row]) -> str:
        """The whole configuration for these load balancers."""
        lines = [
            "# Written by the load balancer portal: every change replaces this file.",
            "global",
            f"    stats socket {self._dir / 'admin.sock'} mode 600 level admin",
            "defaults",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
            # A health check's reply may take this long, however short the interval:
            # a busy member is not marked down for one slow answer.
            "    timeout check 2s",
        ]
        for row in rows:
            spec = _load(row["spec"])
            ref, mode = row["ref"], MODE[spec.listener_protocol]
            lines += [
                "",
                f"frontend fe-{ref}",
                f"    mode {mode}",
                f"    bind {_hostport(row['vip_address'], spec.listener_port)}",
                f"    default_backend be-{ref}",
                f"backend be-{ref}",
                f"    mode {mode}",
                f"    balance {BALANCE[spec.algorithm]}",
                *(["    option httpchk GET /"] if mode == "http" else []),
                f"    default-server check inter {self._check_ms}ms fall 2 rise 1",
                *(f"    server m{i} {_hostport(m.address, m.port)}" for i, m in enumerate(spec.members)),
            ]
        return "\n".join(lines) + "\n"

    def _apply(self, db: sqlite3.Connection) -> None:
        """Check the configuration the transaction's state asks for, install it and
        reload.  Raising rolls the transaction back, so the state keeps matching what
        HAProxy runs."""
        rows = db.execute("SELECT * FROM load_balancers ORDER BY created_at, ref").fetchall()
        self._dir.mkdir(parents=True, exist_ok=True)
        candidate = self._dir / "haproxy.cfg.new"
        candidate.write_text(self.render(rows))
        checked = self._run([self._bin, "-c", "-q", "-f", str(candidate)])
        if checked.returncode != 0:
            message = (checked.stderr or checked.stdout).strip().splitlines()
            raise ProviderRejected("haproxy refused the configuration: " + " ".join(message[-3:]))
        installed, previous = self._dir / "haproxy.cfg", self._dir / "haproxy.cfg.previous"
        if installed.exists():
            os.replace(installed, previous)
        os.replace(candidate, installed)
        try:
            self._reload()
        except ProviderUnavailable:
            if previous.exists():  # what HAProxy still runs, and what the state will say again
                os.replace(previous, installed)
            raise

    def _reload(self) -> None:
        """Start HAProxy if it is not running, otherwise ask its master for a graceful
        reload, and check that the new worker took over."""
        master = self._dir / "master.sock"
        if not self._master_alive(master):
            self._start(master)
            return
        failed_before = self._failed_reloads(master)
        _send(master, "reload", timeout=self._timeout)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                status = _send(master, "show proc", timeout=self._timeout)
            except ProviderUnavailable:
                continue  # the master re-executes itself to reload: its socket is back in a moment
            if self._failed_reloads(master, status) > failed_before:
                raise ProviderUnavailable("haproxy could not load the new configuration (see its log)")
            if "worker" in status and self._admin_answers():
                return
        raise ProviderUnavailable(f"haproxy did not finish reloading within {self._timeout:.0f} s")

    def _start(self, master: Path) -> None:
        for stale in (master, self._dir / "admin.sock"):
            stale.unlink(missing_ok=True)
        started = self._run(
            [
                self._bin,
                "-W",
                "-D",
                "-f",
                str(self._dir / "haproxy.cfg"),
                "-p",
                str(self._dir / "haproxy.pid"),
                "-S",
                str(master),
            ]
        )
        if started.returncode != 0:
            message = " ".join((started.stderr or started.stdout).strip().splitlines()[-3:])
            raise ProviderUnavailable(f"haproxy did not start: {message}")
        deadline = time.monotonic() + self._timeout
        while not (self._master_alive(master) and self._admin_answers()):
            if time.monotonic() > deadline:
                raise ProviderUnavailable(f"haproxy did not come up within {self._timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the HAProxy this adapter runs (its listeners close)."""
        pidfile = self._dir / "haproxy.pid"
        try:
            os.kill(int(pidfile.read_text().split()[0]), 15)
        except (OSError, ValueError, IndexError):
            return

    # -- runtime API ------------------------------------------------------------------

    def _health(self) -> dict[str, dict[str, str]]:
        """Each backend's servers and their status (UP, DOWN, ...) from ``show stat``;
        empty when HAProxy cannot be asked."""
        try:
            csv = _send(self._dir / "admin.sock", "show stat", timeout=self._timeout)
        except ProviderUnavailable:
            return {}
        health: dict[str, dict[str, str]] = {}
        for line in csv.splitlines():
            fields = line.split(",")
            if line.startswith("#") or len(fields) < 18 or fields[1] in ("FRONTEND", "BACKEND"):
                continue
            health.setdefault(fields[0], {})[fields[1]] = fields[17]
        return health

    def _present(self, row: sqlite3.Row, health: dict[str, dict[str, str]]) -> ProviderLoadBalancer:
        spec = _load(row["spec"])
        servers = health.get(f"be-{row['ref']}", {})
        members = tuple(
            MemberHealth(m.address, m.port, _member_status(servers.get(f"m{i}"))) for i, m in enumerate(spec.members)
        )
        return ProviderLoadBalancer(
            ref=row["ref"],
            provisioning_status=ProvisioningStatus.ACTIVE,
            operating_status=overall_operating_status(m.operating_status for m in members),
            vip_address=row["vip_address"],
            members=members,
            client_token=row["client_token"],
            installation=row["installation"],
        )

    def _admin_answers(self) -> bool:
        try:
            _send(self._dir / "admin.sock", "show info", timeout=1)
        except ProviderUnavailable:
            return False
        return True

    def _master_alive(self, master: Path) -> bool:
        try:
            _send(master, "show proc", timeout=1)
        except ProviderUnavailable:
            return False
        return True

    def _failed_reloads(self, master: Path, status: str | None = None) -> int:
        text = status if status is not None else _send(master, "show proc", timeout=self._timeout)
        for line in text.splitlines():
            if "master" in line and "[failed:" in line:
                return int(line.split("[failed:")[1].split("]")[0])
        return 0

    # -- helpers ------------------------------------------------------------------------

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=self._timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderUnavailable(f"could not run haproxy: {exc}") from exc


def _send(path: Path, command: str, *, timeout: float) -> str:
    """One command on an HAProxy CLI socket, and its whole answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cli:
            cli.settimeout(timeout)
            cli.connect(str(path))
            cli.sendall(command.encode() + b"\n")
            cli.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := cli.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise ProviderUnavailable(f"haproxy's {path.name} did not answer: {exc}") from exc
    return b"".join(chunks).decode(errors="replace")


def _member_status(status: str | None) -> OperatingStatus:
    if status is None:
        return OperatingStatus.NO_MONITOR
    if status.startswith("UP") or status == "no check":
        return OperatingStatus.ONLINE
    if status.startswith("MAINT"):
        return OperatingStatus.OFFLINE
    return OperatingStatus.ERROR if status.startswith("DOWN") else OperatingStatus.DEGRADED


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _dump(spec: LoadBalancerSpec) -> str:
    return json.dumps(dataclasses.asdict(spec))


def _load(text: str) -> LoadBalancerSpec:
    data = json.loads(text)
    return LoadBalancerSpec(**{**data, "members": tuple(MemberSpec(**m) for m in data["members"])})


def _found(row: sqlite3.Row | None, ref: str) -> sqlite3.Row:
    if row is None:
        raise ProviderResourceNotFound(f"haproxy: no load balancer {ref}")
    return row
