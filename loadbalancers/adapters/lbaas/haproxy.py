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

What needs a reload: an update whose configuration is identical to the installed one
does nothing (no reload; e.g. a new name or tags, which HAProxy does not hold).  One
that differs only in server weights (the same members in the same order, drain
included) is applied through the runtime API (``set weight be-<ref>/m<i> <N>`` on the
stats socket) and the checked file installed, without a reload; should HAProxy refuse
a runtime change (``balance source`` is a static map: it only takes a server's weight
to 0 and back), the change falls back to a reload.  Anything else (members, algorithm,
monitor, listeners) installs the file and asks the master for a graceful reload (old
workers finish the connections they hold).

What exists lives in a SQLite file that every process of the portal shares; its write
lock also serialises the configuration changes of all processes.  Operating status
and member health come from HAProxy's runtime API (``show stat`` on the stats socket,
read by its header line): a member's status from the server's ``status`` (UP ->
ONLINE, DOWN -> ERROR, MAINT -> OFFLINE, "no check" -> NO_MONITOR, one HAProxy does
not report -> OFFLINE), its reason from the last check (``check_status``,
``check_code``, ``check_desc``, ``last_chk``: "L7STS/500: Layer7 wrong status
(Internal Server Error)"), None without checks.  ``health_monitor`` reports the spec's
monitor, which the configuration renders.

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
import ipaddress
import json
import os
import re
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
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

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
# Seconds a read of the members' health waits for a stats socket that does not answer.
HEALTH_PATIENCE = 2.0


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
                *_checks(spec.health_monitor),
                *(
                    f"    server m{i} {_hostport(m.address, m.port)} weight {0 if m.is_draining else m.weight}"
                    for i, m in enumerate(spec.members)
                ),
            ]
        return "\n".join(lines) + "\n"

    def _apply(self, db: sqlite3.Connection) -> None:
        """Make HAProxy run the configuration the transaction's state asks for: nothing
        when it already does, new weights through the runtime API when only they
        changed, otherwise install the checked file and reload.  Raising rolls the
        transaction back, so the state keeps matching what HAProxy runs."""
        rows = db.execute("SELECT * FROM load_balancers ORDER BY created_at, ref").fetchall()
        config = self.render(rows)
        self._dir.mkdir(parents=True, exist_ok=True)
        installed, previous = self._dir / "haproxy.cfg", self._dir / "haproxy.cfg.previous"
        current = installed.read_text() if installed.exists() else None
        running = self._master_alive(self._dir / "master.sock")
        if running and config == current:
            return
        candidate = self._dir / "haproxy.cfg.new"
        candidate.write_text(config)
        checked = self._run([self._bin, "-c", "-q", "-f", str(candidate)])
        if checked.returncode != 0:
            message = (checked.stderr or checked.stdout).strip().splitlines()
            raise ProviderRejected("haproxy refused the configuration: " + " ".join(message[-3:]))
        weights = weight_changes(current, config) if running and current is not None else None
        if installed.exists():
            os.replace(installed, previous)
        os.replace(candidate, installed)
        try:
            if weights is None or not self._set_weights(weights):
                self._reload()
        except ProviderUnavailable:
            if previous.exists():  # what HAProxy still runs, and what the state will say again
                os.replace(previous, installed)
            raise

    def _set_weights(self, weights: list[tuple[str, str, int]]) -> bool:
        """Set each (backend, server, weight) through the runtime API; False as soon as
        HAProxy refuses one or cannot be asked (a reload then applies them all)."""
        for backend, server, weight in weights:
            command = f"set weight {backend}/{server} {weight}"
            try:
                answer = _send(self._dir / "admin.sock", command, timeout=self._timeout)
            except ProviderUnavailable:
                return False
            if answer.strip():
                return False
        return True

    def _reload(self) -> None:
        """Start HAProxy if it is not running, otherwise ask its master for a graceful
        reload, and check that a new worker took over."""
        master = self._dir / "master.sock"
        if not self._master_alive(master):
            self._start(master)
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

    def _health(self) -> dict[str, dict[str, dict[str, str]]]:
        """Each backend's servers and their ``show stat`` fields by name; empty when
        HAProxy cannot be asked (its members then read OFFLINE).  The stats socket may
        not answer for a moment while another process reloads: asked again for a while."""
        deadline = time.monotonic() + min(self._timeout, HEALTH_PATIENCE)
        while True:
            try:
                answer = _send(self._dir / "admin.sock", "show stat", timeout=self._timeout)
                break
            except ProviderUnavailable:
                if time.monotonic() > deadline:
                    return {}
                time.sleep(0.05)
        lines = answer.splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        health: dict[str, dict[str, dict[str, str]]] = {}
        for fields in csv.DictReader(lines[1:], fieldnames=lines[0][2:].split(",")):
            if fields.get("svname") in (None, "FRONTEND", "BACKEND"):
                continue
            health.setdefault(fields["pxname"], {})[fields["svname"]] = fields
        return health

    def _present(self, row: sqlite3.Row, health: dict[str, dict[str, dict[str, str]]]) -> ProviderLoadBalancer:
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
