"""HAProxy as a real, local data plane.

The adapter runs one HAProxy in master-worker mode and owns its configuration: each
load balancer is a frontend bound to its VIP and listener port, and a backend
``be-<ref>`` with one server ``m<i>`` per member, in the spec's order.  Every change
renders a whole new configuration and checks it with ``haproxy -c`` before anything is
installed: a configuration HAProxy refuses is never applied, the change fails with
HAProxy's own message.

Health monitor (the spec's, per load balancer) -> the backend's checks:

- none: servers without ``check``; ``show stat`` says "no check", members read
  NO_MONITOR.
- TCP: ``check`` on every server (a TCP connection to the member's port).
- HTTP: ``option httpchk GET <http_path>`` and ``http-check expect rstatus
  ^...$``, a regular expression that matches exactly ``expected_codes``
  (``200-299,404`` -> ``^(2[0-9][0-9]|404)$``).  Allowed on a TCP listener too
  (HAProxy sends the HTTP check in tcp mode as well).
- both: ``default-server check inter <interval>s rise <retries_up> fall
  <retries_down>`` and ``timeout check <timeout>s`` in the backend.

Weights and drain: every server line carries ``weight <N>`` (0-256, HAProxy's own
range); a member in drain gets ``weight 0``: HAProxy sends it no new connections and
lets the ones it holds finish.  It reads DRAINING, whatever its checks say.

What runs (``running``): the listener, algorithm and monitor of the configuration in
force (the file the adapter installed, parsed back: ``mode``, ``bind``, ``balance``, the
check lines, the expected status regex turned back into codes), and the members as
HAProxy's runtime API holds them now (``show servers state``: each server's address,
port, user weight ``srv_uweight`` and admin flags ``srv_admin_state``), so that a
``set server be-<ref>/m0 weight 7`` or ``set server ... state drain`` typed on the admin
socket shows up as drift.  A server's admin state in the spec's terms: forced or
inherited maintenance -> ``maint`` (no spec asks for it, so it always reads as a
difference), drain flags or weight 0 -> ``drain``, otherwise ``enabled``.  HAProxy
keeps no weight for a drained member and cannot tell a weight of 0 from drain:
``as_running`` says so (a drained member, or one of weight 0, runs as drain with weight
0), and gives the expected codes in the ranges read back from the regex (``200,201`` ->
``200-201``).  ``running`` is None while HAProxy cannot be asked.

Plan and apply (``plan``, ``create``, ``update``, ``delete`` share one decision): the
whole configuration is rendered with the spec in place and compared with the installed
file; ``diff`` is their unified diff (installed -> planned; the ref of a load balancer
not created yet reads ``hap-<new>``).  The steps, in order:

- ``write configuration`` {path} when the file changes: checked with ``haproxy -c``
  first, then installed.
- ``start`` when HAProxy is not running.
- otherwise, ``runtime command`` {command} steps when the running servers can be made to
  match the planned configuration through the runtime API: the same servers at the same
  addresses, and only weights (``set server be-<ref>/m<i> weight N``) or the forced admin
  flags (``set server ... state ready``) differing, for the load balancer's backend and
  any whose weights the new file changes.  HAProxy only takes a weight of 0 or the one it
  started with on a static map (``balance source``): another one is planned as a reload.
  Comparing with the runtime state, not with the old file, is what repairs drift: an
  update with the spec in force sends the commands that undo an out-of-band change.
- ``reload`` for anything else (members, algorithm, monitor, listeners; a runtime state
  that cannot be read): the master reloads gracefully (old workers finish the
  connections they hold), and every server restarts from the file.

No step at all when the file and the runtime state already match (e.g. a new name or
tags, which HAProxy does not hold).  Should HAProxy refuse a runtime command anyway, the
change falls back to a reload.

What exists lives in a SQLite file that every process of the portal shares; its write
lock also serialises the configuration changes of all processes.  Operating status
and member health come from HAProxy's runtime API (``show stat`` on the stats socket,
read by its header line): a member's status from the server's ``status`` (UP ->
ONLINE, DOWN -> ERROR, MAINT -> OFFLINE, DRAIN (drained on the admin socket) ->
DRAINING, "no check" -> NO_MONITOR, one HAProxy does not report -> OFFLINE), its
reason from the last check (``check_status``, ``check_code``, ``check_desc``,
``last_chk``: "L7STS/500: Layer7 wrong status (Internal Server Error)"), None without
checks.  ``health_monitor`` reports the spec's monitor, which the configuration renders.

VIPs are the lowest free addresses of a configured network: a loopback range such as
127.77.0.0/16 on one machine (Linux routes all of 127.0.0.0/8 to the loopback), or a
range whose addresses the host owns in production.

Why one module of this size: rendering the configuration, checking it, reloading the
master and reading the runtime API are the steps of each change, under one lock;
split, each part would reach into the other's private helpers.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import ipaddress
import json
import os
import re
import socket
import sqlite3
import subprocess
import tempfile
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
    ProviderOperation,
    ProviderPlan,
)
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import CODE_MAX, CODE_MIN, HealthMonitor, MonitorType

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
# Algorithms HAProxy balances with a static map: at runtime a server's weight may only go
# to 0 or back to the one it started with.
STATIC_BALANCE = {"source"}
# Seconds a read of the runtime API waits for a stats socket that does not answer.
HEALTH_PATIENCE = 2.0

# The steps of a change, as ``plan`` names them.
WRITE, START, RELOAD, RUNTIME = "write configuration", "start", "reload", "runtime command"
# The ref a load balancer not created yet has in a plan's diff (``create`` draws the real one).
NEW_REF = "hap-<new>"
# A member HAProxy holds in maintenance: no spec asks for it, so it always reads as drift.
MAINT = "maint"
# ``srv_admin_state`` flags (HAProxy's SRV_ADMF_*): forced, inherited, configured,
# resolver and hostname maintenance; forced and inherited drain; and the two that
# ``set server ... state ready`` clears.
_MAINT_FLAGS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
_DRAIN_FLAGS = 0x08 | 0x10
_READY_CLEARS = 0x01 | 0x08


@dataclasses.dataclass(frozen=True)
class _Entry:
    """One load balancer as the configuration renders it."""

    ref: str
    vip_address: str
    spec: LoadBalancerSpec


@dataclasses.dataclass(frozen=True)
class _Server:
    """One server as the runtime API holds it now (``show servers state``)."""

    address: str
    port: int
    weight: int
    """The weight in force (``srv_uweight``: the file's, or the last ``set weight``)."""
    initial_weight: int
    """The weight it started with at the last (re)load (``srv_iweight``)."""
    admin: int
    """Its ``SRV_ADMF_*`` flags: 0 when nobody put it in maintenance or drain."""


@dataclasses.dataclass(frozen=True)
class _Change:
    """What making HAProxy run a configuration takes: the planned file and the steps."""

    config: str
    operations: tuple[ProviderOperation, ...]
    diff: str


class HAProxyLBaaS(LBaaSClient):
    name = "haproxy"

    def __init__(
        self,
        *,
        state_dir: str,
        vip_network: str = "127.77.0.0/16",
        haproxy_bin: str = "haproxy",
        timeout: float = 10.0,
        installation: str | None = None,
    ):
        try:
            self._vips = ipaddress.ip_network(vip_network)
        except ValueError as exc:
            raise ValueError(f"haproxy vip_network {vip_network!r} is not a network: {exc}") from None
        self._dir = Path(state_dir)
        self._bin = haproxy_bin
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

    @property
    def _admin_socket(self) -> Path:
        return self._dir / "admin.sock"

    @property
    def _master_socket(self) -> Path:
        return self._dir / "master.sock"

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
                self._apply(_entries(db), None)
                row = db.execute("SELECT * FROM load_balancers WHERE client_token = ?", (client_token,)).fetchone()
        return self._present([row])[0]

    def get(self, ref: str) -> ProviderLoadBalancer:
        with self._state.read() as db:
            row = _found(db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
        return self._present([row])[0]

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        with self._state.write() as db:
            _found(db.execute("SELECT ref FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
            db.execute("UPDATE load_balancers SET spec = ? WHERE ref = ?", (_dump(spec), ref))
            self._apply(_entries(db), ref)
            row = db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone()
        return self._present([row])[0]

    def delete(self, ref: str) -> None:
        with self._state.write() as db:
            if db.execute("DELETE FROM load_balancers WHERE ref = ?", (ref,)).rowcount:
                self._apply(_entries(db), None)

    def get_list(self) -> list[ProviderLoadBalancer]:
        with self._state.read() as db:
            rows = db.execute("SELECT * FROM load_balancers ORDER BY created_at, ref").fetchall()
        return self._present(rows) if rows else []

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        """The change ``create``/``update`` would make, decided by the same code from the
        same reads (the state, the installed file, the runtime API), with nothing written."""
        with self._state.read() as db:
            entries = _entries(db)
            if ref is None:
                entries.append(_Entry(NEW_REF, lowest_free_vip(db, self._vips), spec))
            else:
                _found(db.execute("SELECT ref FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
                entries = [dataclasses.replace(e, spec=spec) if e.ref == ref else e for e in entries]
        change = self._change(entries, ref)
        if any(step.name == WRITE for step in change.operations):
            # HAProxy's own check of the planned file, as an update makes before installing
            # it: a plan never says yes to a configuration HAProxy would refuse.
            with tempfile.TemporaryDirectory(prefix="haproxy-plan-") as folder:
                planned = Path(folder) / "haproxy.cfg"
                # The new load balancer's name-to-be, as a name HAProxy takes.
                planned.write_text(change.config.replace(NEW_REF, f"hap-{uuid4().hex[:12]}"))
                self._check(planned)
        return ProviderPlan(change.operations, change.diff)

    def as_running(self, spec: LoadBalancerSpec) -> LoadBalancerSpec:
        """HAProxy holds a drained member as weight 0 and keeps no other weight for it, and
        cannot tell a weight of 0 from drain; it holds the expected codes as a regex, read
        back as ranges."""
        members = tuple(
            dataclasses.replace(m, weight=0, admin_state=AdminState.DRAIN) if m.is_draining or m.weight == 0 else m
            for m in spec.members
        )
        monitor = spec.health_monitor
        if monitor is not None and monitor.type is MonitorType.HTTP:
            monitor = dataclasses.replace(monitor, expected_codes=codes_text(monitor.codes()))
        return dataclasses.replace(spec, members=members, health_monitor=monitor)

    # -- configuration ----------------------------------------------------------------

    def render(self, entries: list[_Entry]) -> str:
        """The whole configuration for these load balancers."""
        lines = [
            "# Written by the load balancer portal: every change replaces this file.",
            "global",
            f"    stats socket {self._admin_socket} mode 600 level admin",
            "defaults",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
        ]
        for entry in entries:
            spec, ref = entry.spec, entry.ref
            mode = MODE[spec.listener_protocol]
            lines += [
                "",
                f"frontend fe-{ref}",
                f"    mode {mode}",
                f"    bind {_hostport(entry.vip_address, spec.listener_port)}",
                f"    default_backend be-{ref}",
                f"backend be-{ref}",
                f"    mode {mode}",
                f"    balance {BALANCE[spec.algorithm]}",
                *_checks(spec.health_monitor),
                *(
                    f"    server m{i} {_hostport(m.address, m.port)} weight {0 if m.is_draining else m.weight}"
                    for i, m in enumerate(spec.members)
                ),
            ]
        return "\n".join(lines) + "\n"

    def _installed(self) -> str | None:
        try:
            return self.config_path.read_text()
        except FileNotFoundError:
            return None

    def _change(self, entries: list[_Entry], ref: str | None) -> _Change:
        """What makes HAProxy run these load balancers (``ref``: the one being changed,
        whose servers' runtime state counts too); see the module's "Plan and apply"."""
        config = self.render(entries)
        installed = self._installed()
        writes = config != installed
        steps = [ProviderOperation(WRITE, {"path": str(self.config_path)})] if writes else []
        if not self._master_alive():
            steps.append(ProviderOperation(START))
        else:
            commands = self._runtime_commands(installed, config, ref)
            if commands is None:
                steps.append(ProviderOperation(RELOAD))
            else:
                steps += [ProviderOperation(RUNTIME, {"command": command}) for command in commands]
        diff = ""
        if writes:
            before, after = (installed or "").splitlines(keepends=True), config.splitlines(keepends=True)
            source = str(self.config_path) if installed is not None else "/dev/null"
            diff = "".join(difflib.unified_diff(before, after, source, f"{self.config_path} (planned)"))
        return _Change(config, tuple(steps), diff)

    def _runtime_commands(self, installed: str | None, config: str, ref: str | None) -> list[str] | None:
        """The runtime API commands that make the running servers what ``config`` says,
        for ``ref``'s backend and those whose weights the new file changes; None when
        that takes a reload (other changes to the file, other servers or addresses, a
        weight a static map refuses, flags ``state ready`` does not clear, no answer)."""
        if installed is None:
            return None
        changed = weight_changes(installed, config) if installed != config else []
        if changed is None:
            return None
        backends = {backend for backend, _, _ in changed} | ({f"be-{ref}"} if ref else set())
        if not backends:
            return []
        runtime = self._servers_state()
        if runtime is None:
            return None
        planned = _servers(config)
        commands = []
        for backend in sorted(backends):
            balance, servers = planned.get(backend, ("", {}))
            running = runtime.get(backend, {})
            if not servers or servers.keys() != running.keys():
                return None
            for name, (hostport, weight) in servers.items():
                now = running[name]
                if _hostport(now.address, now.port) != hostport or now.admin & ~_READY_CLEARS:
                    return None
                if now.weight != weight:
                    if balance in STATIC_BALANCE and weight not in (0, now.initial_weight):
                        return None
                    commands.append(f"set server {backend}/{name} weight {weight}")
                if now.admin:
                    commands.append(f"set server {backend}/{name} state ready")
        return commands

    def _apply(self, entries: list[_Entry], ref: str | None) -> None:
        """Take the steps ``_change`` decides for these load balancers.  Raising rolls the
        caller's transaction back, so the state keeps matching what HAProxy runs."""
        change = self._change(entries, ref)
        names = [step.name for step in change.operations]
        installed, previous = self.config_path, self._dir / "haproxy.cfg.previous"
        if WRITE in names:
            self._install(change.config)
        try:
            for step in change.operations:
                if step.name == START:
                    self._start()
                elif step.name == RELOAD:
                    self._reload()
                elif step.name == RUNTIME and not self._runtime(str(step.params["command"])):
                    self._reload()  # it also applies the commands not sent yet
                    break
        except ProviderUnavailable:
            if WRITE in names and previous.exists():  # what HAProxy still runs, and what the state will say again
                os.replace(previous, installed)
            raise

    def _install(self, config: str) -> None:
        """Check the configuration with ``haproxy -c`` and install it, keeping the one it
        replaces as ``haproxy.cfg.previous``; one HAProxy refuses is never installed."""
        self._dir.mkdir(parents=True, exist_ok=True)
        candidate = self._dir / "haproxy.cfg.new"
        candidate.write_text(config)
        self._check(candidate)
        if self.config_path.exists():
            os.replace(self.config_path, self._dir / "haproxy.cfg.previous")
        os.replace(candidate, self.config_path)

    def _check(self, config: Path) -> None:
        """``haproxy -c`` on a configuration file: ProviderRejected, with HAProxy's words,
        when it refuses it."""
        checked = self._run([self._bin, "-c", "-q", "-f", str(config)])
        if checked.returncode != 0:
            message = (checked.stderr or checked.stdout).strip().splitlines()
            raise ProviderRejected("haproxy refused the configuration: " + " ".join(message[-3:]))

    def _runtime(self, command: str) -> bool:
        """Send one runtime API command; False when HAProxy refuses it or cannot be asked
        (a reload then applies the file)."""
        try:
            return not _send(self._admin_socket, command, timeout=self._timeout).strip()
        except ProviderUnavailable:
            return False

    def _reload(self) -> None:
        """Start HAProxy if it is not running, otherwise ask its master for a graceful
        reload, and check that a new worker took over."""
        master = self._master_socket
        if not self._master_alive():
            self._start()
            return
        before = _processes(_send(master, "show proc", timeout=self._timeout))
        _send(master, "reload", timeout=self._timeout)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                now = _processes(_send(master, "show proc", timeout=self._timeout))
            except ProviderUnavailable:
                continue  # the master re-executes itself to reload: its socket is back in a moment
            if now.failed > before.failed:
                raise ProviderUnavailable("haproxy could not load the new configuration (see its log)")
            if now.reloads > before.reloads and now.new_workers and self._admin_answers():
                return
        raise ProviderUnavailable(f"haproxy did not finish reloading within {self._timeout:.0f} s")

    def _start(self) -> None:
        master = self._master_socket
        for stale in (master, self._admin_socket):
            stale.unlink(missing_ok=True)
        started = self._run(
            [
                self._bin,
                "-W",
                "-D",
                "-f",
                str(self.config_path),
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
        while not (self._master_alive() and self._admin_answers()):
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

    def _ask(self, command: str) -> str | None:
        """A read on the stats socket, or None when HAProxy cannot be asked.  The socket
        may not answer for a moment while another process reloads: asked again for a while."""
        deadline = time.monotonic() + min(self._timeout, HEALTH_PATIENCE)
        while True:
            try:
                return _send(self._admin_socket, command, timeout=self._timeout)
            except ProviderUnavailable:
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.05)

    def _health(self) -> dict[str, dict[str, dict[str, str]]] | None:
        """Each backend's servers and their ``show stat`` fields by name; None when
        HAProxy cannot be asked (its members then read OFFLINE)."""
        answer = self._ask("show stat")
        if answer is None:
            return None
        lines = answer.splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        health: dict[str, dict[str, dict[str, str]]] = {}
        for fields in csv.DictReader(lines[1:], fieldnames=lines[0][2:].split(",")):
            if fields.get("svname") in (None, "FRONTEND", "BACKEND"):
                continue
            health.setdefault(fields["pxname"], {})[fields["svname"]] = fields
        return health

    def _servers_state(self) -> dict[str, dict[str, _Server]] | None:
        """Each backend's servers as HAProxy holds them now (``show servers state``: a
        version line, a header line naming the fields, one line per server); None when
        HAProxy cannot be asked."""
        answer = self._ask("show servers state")
        if answer is None:
            return None
        lines = answer.splitlines()
        header = next((line[2:].split() for line in lines if line.startswith("# ")), None)
        if header is None:
            return None
        servers: dict[str, dict[str, _Server]] = {}
        for line in lines:
            values = line.split()
            if line.startswith("#") or len(values) != len(header):
                continue
            row = dict(zip(header, values, strict=True))
            servers.setdefault(row["be_name"], {})[row["srv_name"]] = _Server(
                address=row["srv_addr"],
                port=int(row["srv_port"]),
                weight=int(row["srv_uweight"]),
                initial_weight=int(row["srv_iweight"]),
                admin=int(row["srv_admin_state"]),
            )
        return servers

    def _present(self, rows: list[sqlite3.Row]) -> list[ProviderLoadBalancer]:
        """The answers for these rows, from one read of the runtime API and the file."""
        health = self._health()
        runtime = self._servers_state() if health is not None else None  # not waited for twice
        sections = _sections(self._installed() or "")
        return [self._answer(row, health or {}, runtime, sections) for row in rows]

    def _answer(
        self,
        row: sqlite3.Row,
        health: dict[str, dict[str, dict[str, str]]],
        runtime: dict[str, dict[str, _Server]] | None,
        sections: dict[str, list[str]],
    ) -> ProviderLoadBalancer:
        spec = _load(row["spec"])
        servers = health.get(f"be-{row['ref']}", {})
        members = tuple(_member_health(m, servers.get(f"m{i}")) for i, m in enumerate(spec.members))
        return ProviderLoadBalancer(
            ref=row["ref"],
            provisioning_status=ProvisioningStatus.ACTIVE,
            operating_status=overall_operating_status(m.operating_status for m in members),
            vip_address=row["vip_address"],
            members=members,
            client_token=row["client_token"],
            installation=row["installation"],
            health_monitor=spec.health_monitor,
            running=_running(row["ref"], spec, sections, runtime),
        )

    def _admin_answers(self) -> bool:
        try:
            _send(self._admin_socket, "show info", timeout=1)
        except ProviderUnavailable:
            return False
        return True

    def _master_alive(self) -> bool:
        try:
            _send(self._master_socket, "show proc", timeout=1)
        except ProviderUnavailable:
            return False
        return True

    # -- helpers ------------------------------------------------------------------------

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=self._timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderUnavailable(f"could not run haproxy: {exc}") from exc


def _entries(db: sqlite3.Connection) -> list[_Entry]:
    """Every load balancer of the state, in the order the configuration lists them."""
    rows = db.execute("SELECT * FROM load_balancers ORDER BY created_at, ref").fetchall()
    return [_Entry(row["ref"], row["vip_address"], _load(row["spec"])) for row in rows]


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


@dataclasses.dataclass(frozen=True)
class _Processes:
    reloads: int
    """How many times the master reloaded."""
    failed: int
    """How many of those reloads failed."""
    new_workers: tuple[int, ...]
    """The pids of the workers started by the last reload (the older ones are finishing)."""


def _processes(show_proc: str) -> _Processes:
    """The master CLI's ``show proc``: a master line ``<pid> master <reloads> [failed:
    <n>] ...`` and a line ``<pid> worker <reloads> ...`` per worker (0: the current)."""
    reloads = failed = 0
    workers = []
    for line in show_proc.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "master" and fields[2].isdigit():
            reloads = int(fields[2])
            if match := re.search(r"\[failed: *(\d+)\]", line):
                failed = int(match[1])
        elif len(fields) >= 3 and fields[1] == "worker" and fields[0].isdigit() and fields[2] == "0":
            workers.append(int(fields[0]))
    return _Processes(reloads, failed, tuple(workers))


def _checks(monitor: HealthMonitor | None) -> list[str]:
    """A backend's lines for its health monitor (none: its servers are not checked)."""
    if monitor is None:
        return []
    lines = []
    if monitor.type is MonitorType.HTTP:
        lines += [
            f"    option httpchk GET {monitor.http_path}",
            f"    http-check expect rstatus {status_regex(monitor.codes())}",
        ]
    return [
        *lines,
        f"    timeout check {monitor.timeout}s",
        f"    default-server check inter {monitor.interval}s rise {monitor.retries_up} fall {monitor.retries_down}",
    ]


def status_regex(codes: list[int]) -> str:
    """An anchored regular expression that matches exactly these three-digit status
    codes, as compact as their digits allow: 200-399 -> ``^[23][0-9][0-9]$``."""
    if not codes:
        raise ValueError("no status codes")
    return f"^{_digits_regex({f'{code:03d}' for code in codes})}$"


def _digits_regex(numbers: set[str]) -> str:
    """Numbers of the same length: group them by their first digit, then merge the
    first digits whose rests read the same into one character class."""
    if not next(iter(numbers)):
        return ""
    rests: dict[str, set[str]] = {}
    for number in numbers:
        rests.setdefault(number[0], set()).add(number[1:])
    firsts: dict[str, list[str]] = {}
    for digit in sorted(rests):
        firsts.setdefault(_digits_regex(rests[digit]), []).append(digit)
    alternatives = [_digit_class(digits) + rest for rest, digits in firsts.items()]
    return alternatives[0] if len(alternatives) == 1 else "(" + "|".join(alternatives) + ")"


def _digit_class(digits: list[str]) -> str:
    """``[0-9]``, ``[2-4]``, ``[137]``, or the digit alone."""
    if len(digits) == 1:
        return digits[0]
    runs: list[list[int]] = []
    for digit in map(int, digits):  # sorted
        if runs and digit == runs[-1][1] + 1:
            runs[-1][1] = digit
        else:
            runs.append([digit, digit])
    parts = [f"{low}-{high}" if high - low > 1 else f"{low}{high}" if high > low else f"{low}" for low, high in runs]
    return "[" + "".join(parts) + "]"


_SERVER = re.compile(r"^    server (?P<name>\S+) (?P<address>\S+) weight (?P<weight>\d+)$")


def weight_changes(installed: str, rendered: str) -> list[tuple[str, str, int]] | None:
    """The (backend, server, new weight) that turn the installed configuration into the
    rendered one, when nothing else differs; None when something else does."""
    old, new = installed.splitlines(), rendered.splitlines()
    if len(old) != len(new):
        return None
    changes = []
    backend = None
    for before, after in zip(old, new, strict=True):
        if after.startswith("backend "):
            backend = after.split()[1]
        if before == after:
            continue
        was, now = _SERVER.match(before), _SERVER.match(after)
        if not (backend and was and now and (was["name"], was["address"]) == (now["name"], now["address"])):
            return None
        changes.append((backend, now["name"], int(now["weight"])))
    return changes


def _sections(config: str) -> dict[str, list[str]]:
    """The configuration's sections by their header line (``backend be-x``), each with
    its lines, stripped."""
    sections: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in config.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            lines = sections.setdefault(line.strip(), [])
        elif line.strip():
            lines.append(line.strip())
    return sections


def _servers(config: str) -> dict[str, tuple[str, dict[str, tuple[str, int]]]]:
    """Each backend's ``balance`` and its servers: name -> (address:port, weight)."""
    backends = {}
    for header, lines in _sections(config).items():
        if header.startswith("backend "):
            balance = next((line.split()[1] for line in lines if line.startswith("balance ")), "")
            servers = {}
            for line in lines:
                if match := _SERVER.match(f"    {line}"):
                    servers[match["name"]] = (match["address"], int(match["weight"]))
            backends[header.split()[1]] = (balance, servers)
    return backends


_CHECK = re.compile(r"^default-server check inter (\d+)s rise (\d+) fall (\d+)$")


def _running(
    ref: str, spec: LoadBalancerSpec, sections: dict[str, list[str]], runtime: dict[str, dict[str, _Server]] | None
) -> LoadBalancerSpec | None:
    """What HAProxy runs for ``ref``: the listener, algorithm and monitor of the installed
    file, the members as the runtime API holds them; None when HAProxy cannot be asked
    or the file has no sections for it.  Name and tags are the spec's (HAProxy holds none)."""
    frontend, backend = sections.get(f"frontend fe-{ref}"), sections.get(f"backend be-{ref}")
    if runtime is None or frontend is None or backend is None:
        return None
    words = {line.split()[0]: line.split()[1:] for line in frontend + backend if len(line.split()) > 1}
    mode = (words.get("mode") or [""])[0]
    balance = (words.get("balance") or [""])[0]
    bind = (words.get("bind") or [":0"])[0]
    servers = runtime.get(f"be-{ref}", {})
    return dataclasses.replace(
        spec,
        listener_protocol={word: name for name, word in MODE.items()}.get(mode, mode),
        listener_port=int(bind.rpartition(":")[2] or 0),
        algorithm={word: name for name, word in BALANCE.items()}.get(balance, balance),
        members=tuple(_running_member(servers[name]) for name in sorted(servers, key=_server_order)),
        health_monitor=_monitor(backend),
    )


def _server_order(name: str) -> tuple[int, str]:
    """``m2`` before ``m10``: the spec's order."""
    return (int(name[1:]), name) if name[1:].isdigit() else (1 << 30, name)


def _running_member(server: _Server) -> MemberSpec:
    """A server in the spec's terms (see the module's "What runs")."""
    if server.admin & _MAINT_FLAGS:
        admin_state: str = MAINT
    elif server.admin & _DRAIN_FLAGS or server.weight == 0:
        admin_state = AdminState.DRAIN
    else:
        admin_state = AdminState.ENABLED
    return MemberSpec(server.address, server.port, server.weight, admin_state)


def _monitor(backend: list[str]) -> HealthMonitor | None:
    """The monitor a backend's check lines (as ``_checks`` writes them) run; without
    ``timeout check`` HAProxy gives a check ``inter`` to complete, without an
    ``http-check expect`` it takes 2xx and 3xx."""
    check = next((match for line in backend if (match := _CHECK.match(line))), None)
    if check is None:
        return None
    interval, rise, fall = (int(value) for value in check.groups())
    timeout = next((int(line.split()[2][:-1]) for line in backend if re.fullmatch(r"timeout check \d+s", line)), None)
    timings = {"interval": interval, "timeout": timeout or interval, "retries_up": rise, "retries_down": fall}
    path = next((line.split()[3] for line in backend if re.fullmatch(r"option httpchk GET \S+", line)), None)
    if path is None:
        return HealthMonitor(MonitorType.TCP, **timings)
    expect = next((line.split()[3] for line in backend if re.fullmatch(r"http-check expect rstatus \S+", line)), None)
    return HealthMonitor(
        MonitorType.HTTP, **timings, http_path=path, expected_codes=_expected_codes(expect) if expect else "200-399"
    )


def _expected_codes(regex: str) -> str:
    """The status codes a regex passes, as ranges; the regex itself when it is not one
    Python reads the same way (not one this adapter wrote)."""
    try:
        codes = [code for code in range(CODE_MIN, CODE_MAX + 1) if re.search(regex, str(code))]
    except re.error:
        return regex
    return codes_text(codes) if codes else regex


def codes_text(codes: list[int]) -> str:
    """Sorted status codes as ``expected_codes`` writes them, in the fewest ranges:
    [200, 201, 202, 404] -> ``200-202,404``."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return ",".join(f"{low}-{high}" if high > low else f"{low}" for low, high in runs)


def _member_health(member: MemberSpec, server: dict[str, str] | None) -> MemberHealth:
    """What ``show stat`` says of one member's server (None: HAProxy does not report it)."""
    if server is None:
        status = OperatingStatus.DRAINING if member.is_draining else OperatingStatus.OFFLINE
        return MemberHealth(member.address, member.port, status, "haproxy does not report this member")
    state = server.get("status") or ""
    if member.is_draining:
        status = OperatingStatus.DRAINING
    elif state == "no check":
        status = OperatingStatus.NO_MONITOR
    elif state.startswith("UP"):
        status = OperatingStatus.ONLINE
    elif state.startswith("MAINT"):
        status = OperatingStatus.OFFLINE
    elif state.startswith("DRAIN"):
        status = OperatingStatus.DRAINING
    elif state.startswith("DOWN"):
        status = OperatingStatus.ERROR
    else:
        status = OperatingStatus.DEGRADED
    return MemberHealth(member.address, member.port, status, _check_result(server))


def _check_result(server: dict[str, str]) -> str | None:
    """HAProxy's last check of a server in words ("L7STS/500: Layer7 wrong status
    (Internal Server Error)"); None when it is not checked."""
    status = (server.get("check_status") or "").removeprefix("* ").strip()  # "* ": a check is under way
    if not status or server.get("status") == "no check":
        return None
    code = (server.get("check_code") or "").strip()
    description = (server.get("check_desc") or "").strip()
    detail = (server.get("last_chk") or "").strip()
    words = f"{status}/{code}" if code else status
    if description:
        words += f": {description}"
    if detail and detail not in description:
        words += f" ({detail})"
    return words


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _dump(spec: LoadBalancerSpec) -> str:
    return json.dumps(dataclasses.asdict(spec))


def legacy_monitor(listener_protocol: str) -> HealthMonitor:
    """The checks every backend had before load balancers had monitors of their own
    (``option httpchk GET /`` in HTTP mode, ``inter 2s fall 2 rise 1``): a load balancer
    made then keeps them until its monitor is changed (migration 0008 gives its record
    the same monitor)."""
    kind = MonitorType.HTTP if listener_protocol == "HTTP" else MonitorType.TCP
    return HealthMonitor(kind, interval=2, timeout=1, retries_up=1, retries_down=2, expected_codes="200-399")


def _load(text: str) -> LoadBalancerSpec:
    """A spec as ``_dump`` stored it.  One stored before monitors existed has no
    ``health_monitor`` key (not even null): it keeps the checks it ran then."""
    data = json.loads(text)
    if "health_monitor" not in data:
        data["health_monitor"] = dataclasses.asdict(legacy_monitor(data["listener_protocol"]))
    monitor = data.get("health_monitor")
    return LoadBalancerSpec(
        **{
            **data,
            "members": tuple(MemberSpec(**m) for m in data["members"]),
            "health_monitor": HealthMonitor(**{**monitor, "type": MonitorType(monitor["type"])}) if monitor else None,
            "tags": tuple(data.get("tags", ())),
        }
    )


def _found(row: sqlite3.Row | None, ref: str) -> sqlite3.Row:
    if row is None:
        raise ProviderResourceNotFound(f"haproxy: no load balancer {ref}")
    return row
