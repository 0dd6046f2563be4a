"""The real OpenStack Octavia API and worker on this machine, for the octavia adapter's
tests (see ../shared/docs/OCTAVIA.md for how it was worked out).

* Octavia lives in a virtual environment of its own (it pins oslo.*, taskflow,
  SQLAlchemy and eventlet apart from the portal's), installed from the pinned
  ``requirements.txt`` beside this file into a cache folder named after the pins' hash:
  a second run finds it and installs nothing.
* Each ``OctaviaService`` gets a throwaway PostgreSQL database (its schema made by
  ``init_db.py``), a CA made with openssl, a RabbitMQ virtual host of its own (so that
  two test sessions on one broker never take each other's work), and runs ``octavia-api``
  (``auth_strategy = testing``: the caller's identity comes from ``X-Project-Id``,
  ``X-Roles`` and ``X-User-Id``) and ``octavia-worker`` with Octavia's no-op compute,
  network, amphora, image and volume drivers, on a free loopback port.
* ``stop`` ends both processes (their whole process groups) and drops the database.

Plain standard library, so that it runs before the portal's packages are there:
``python tests/octavia/env.py install`` installs (or finds) the environment, which
``make test`` does before the suite.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
INIT_DB = HERE / "init_db.py"

PREFIX = "octavia_test_"  # of every database, virtual host and folder a service makes
INSTALL_TIMEOUT = 1200.0  # seconds for pip to install Octavia (about one minute here)
START_TIMEOUT = 120.0  # seconds for the API to answer and the worker to listen
STOP_TIMEOUT = 15.0  # seconds for a process group to end on SIGTERM before SIGKILL

DATABASE_SERVER = os.environ.get("OCTAVIA_TEST_DATABASE_SERVER", "postgresql+psycopg2://postgres@127.0.0.1:5432")
# RabbitMQ as a URL without the virtual host: each service gets a virtual host of its own,
# because Octavia's API and worker meet on a fixed queue name (octavia_provisioning_v2)
# that two services on one broker would otherwise share.
BROKER = os.environ.get("OCTAVIA_TEST_BROKER", "rabbit://guest:guest@127.0.0.1:5672")
BROKER_USER = BROKER.split("://", 1)[1].split(":", 1)[0]
QUEUE = "octavia_provisioning_v2"


def pins_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def venv_path() -> Path:
    """Where the environment for the current pins lives (``OCTAVIA_TEST_VENV`` to choose)."""
    if chosen := os.environ.get("OCTAVIA_TEST_VENV"):
        return Path(chosen)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lb-portal" / f"octavia-{pins_digest()}"


def ensure_venv(log=print) -> Path:  # type: ignore[no-untyped-def]
    """The Octavia environment, installed first if it is not there for these pins.  A
    lock keeps two sessions from installing into one folder at once; the stamp is
    written last, so an interrupted install is redone, not used."""
    venv = venv_path()
    stamp = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text().strip() == pins_digest():
            return venv
        log(f"Installing OpenStack Octavia for the tests into {venv} (once for these pins) ...")
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", None) or sys.executable
        with open(venv.parent / f"{venv.name}.install.log", "w") as output:
            for command in (
                [base, "-m", "venv", str(venv)],
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "--disable-pip-version-check",
                    "install",
                    "--no-deps",
                    "-r",
                    str(REQUIREMENTS),
                ],
            ):
                done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT)
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(command)} failed; its output is in {output.name}")
        stamp.write_text(pins_digest())
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql: str) -> None:
    """Run one statement on the database server's ``postgres`` database."""
    _psql_rows(sql)


def _psql_rows(sql: str, database: str = "postgres") -> list[str]:
    """Run one statement on a database of the server; the rows it answers, as text."""
    url = DATABASE_SERVER.replace("postgresql+psycopg2://", "postgresql://")
    done = subprocess.run(
        ["psql", f"{url}/{database}", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    return done.stdout.split()


def _listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket listening on 127.0.0.1:``port`` (from
    /proc: the listening socket's inode among the process's open files)."""
    wanted = f"0100007F:{port:04X}"
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        inodes = {f"socket:[{row.split()[9]}]" for row in rows if row.split()[1] == wanted and row.split()[3] == "0A"}
        return any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep() -> None:
    """Drop the databases, virtual hosts and folders of services whose session is gone
    (killed outright: its ``stop`` never ran).  Names carry the owner's pid."""

    def dead(name: str) -> bool:
        pid = name.removeprefix(PREFIX).split("_", 1)[0]
        return name.startswith(PREFIX) and pid.isdigit() and not _alive(int(pid))

    with contextlib.suppress(subprocess.SubprocessError, OSError):
        for database in _psql_rows(f"SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"):
            if dead(database):
                _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        for vhost in _rabbitmqctl("list_vhosts", "name").split():
            if dead(vhost):
                _rabbitmqctl("delete_vhost", vhost)
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if dead(folder.name):
            shutil.rmtree(folder, ignore_errors=True)


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=60, capture_output=True, text=True).stdout


@dataclass
class OctaviaService:
    """One running Octavia (API + worker) with its database, CA and configuration."""

    venv: Path
    workdir: Path
    port: int = 0
    database: str = ""
    vhost: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The API's root URL (no ``/v2``), as openstacksdk wants it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.workdir / "octavia.conf"

    # -- life -----------------------------------------------------------------------------

    @classmethod
    def start(cls, venv: Path | None = None) -> OctaviaService:
        _sweep()
        service = cls(venv=venv or ensure_venv(), workdir=Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}_")))
        try:
            service._prepare()
            service._spawn("octavia-api")  # both come up at once (a few seconds each)
            service._spawn("octavia-worker")
            service._wait_api()
            service._wait_worker()
        except BaseException:
            service.stop()
            raise
        return service

    def _prepare(self) -> None:
        # The owner's pid in every name: _sweep drops what a session killed outright left.
        name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.database = name
        self.vhost = name
        (self.workdir / "locks").mkdir()
        self._make_ca()
        self.config_file.write_text(self._config())
        _rabbitmqctl("add_vhost", self.vhost)
        _rabbitmqctl("set_permissions", "-p", self.vhost, BROKER_USER, ".*", ".*", ".*")
        _psql(f'CREATE DATABASE "{self.database}"')
        subprocess.run(
            [str(self.venv / "bin" / "python"), str(INIT_DB), str(self.config_file)],
            check=True,
            timeout=300,
            stdout=open(self.workdir / "init_db.log", "w"),  # noqa: SIM115 (the child holds it)
            stderr=subprocess.STDOUT,
        )

    def _make_ca(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=octavia-test-ca",
                "-keyout",
                str(self.workdir / "ca.key"),
                "-out",
                str(self.workdir / "ca.pem"),
            ],
            check=True,
            timeout=60,
            capture_output=True,
        )

    def _config(self) -> str:
        return f"""\
[DEFAULT]
transport_url = {BROKER}/{self.vhost}
debug = False

[api_settings]
bind_host = 127.0.0.1
bind_port = {self.port}
auth_strategy = testing
default_provider_driver = amphora
enabled_provider_drivers = amphora:The Octavia Amphora driver.

[database]
connection = {DATABASE_SERVER}/{self.database}

[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
image_driver = image_noop_driver
volume_driver = volume_noop_driver
loadbalancer_topology = SINGLE
workers = 1
amp_active_retries = 5
amp_active_wait_sec = 1
client_ca = {self.workdir / "ca.pem"}

[certificates]
cert_manager = noop_cert_manager
cert_generator = local_cert_generator
ca_certificate = {self.workdir / "ca.pem"}
ca_private_key = {self.workdir / "ca.key"}

[task_flow]
jobboard_enabled = False

[oslo_concurrency]
lock_path = {self.workdir / "locks"}
"""

    def _spawn(self, name: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (the child holds it)
        # setpriv --pdeathsig: SIGTERM when this process ends, however it ends, so that a
        # session killed outright leaves no Octavia running (util-linux; Linux only).
        ending = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
        self.processes[name] = subprocess.Popen(
            [*ending, str(self.venv / "bin" / name), "--config-file", str(self.config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def start_api(self) -> None:
        self._spawn("octavia-api")
        self._wait_api()

    def _wait_api(self) -> None:
        self._wait(self._api_answers, "octavia-api to answer on its port", "octavia-api")

    def start_worker(self) -> None:
        """Start the worker and wait until it listens on its queue (the broker then holds
        a consumer for it), so that nothing the API sends waits for it to come up."""
        self._spawn("octavia-worker")
        self._wait_worker()

    def _wait_worker(self) -> None:
        self._wait(self._worker_listens, "octavia-worker to listen on its queue", "octavia-worker")

    def stop_worker(self) -> None:
        self._end("octavia-worker")

    def stop_api(self) -> None:
        self._end("octavia-api")

    def stop(self) -> None:
        for name in list(self.processes):
            self._end(name)
        if self.database:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.vhost:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _rabbitmqctl("delete_vhost", self.vhost)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _end(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    # -- readiness ----------------------------------------------------------------------

    def _wait(self, check, what: str, name: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + START_TIMEOUT
        process = self.processes[name]
        while not (check() and process.poll() is None):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}): {self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"waited {START_TIMEOUT:.0f} s for {what}: {self.log_tail(name)}")
            time.sleep(0.2)

    def _api_answers(self) -> bool:
        """Our API answers: the port is our process's (free_port gave it back before the
        API bound it, so another session's Octavia could hold it), and it serves."""
        if not _listening(self.processes["octavia-api"].pid, self.port):
            return False
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=5) as answer:
                return answer.status == 200 and "versions" in json.loads(answer.read())
        except (OSError, ValueError):
            return False

    def _worker_listens(self) -> bool:
        """The broker holds a consumer on the worker's queue."""
        try:
            listing = _rabbitmqctl("list_queues", "-p", self.vhost, "name", "consumers")
        except (OSError, subprocess.SubprocessError):
            return False
        return any(
            fields[0] == QUEUE and fields[-1] != "0"
            for fields in (line.split() for line in listing.splitlines())
            if len(fields) >= 2
        )

    def log_text(self, name: str) -> str:
        try:
            return (self.workdir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, name: str, lines: int = 30) -> str:
        return "\n".join(self.log_text(name).splitlines()[-lines:])

    def sql(self, statement: str) -> list[str]:
        """Run one statement on this Octavia's own database, as its worker would (for
        tests: what a failed change leaves behind)."""
        return _psql_rows(statement, self.database)

    # -- the API as anyone ------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, project: str, roles: str = "admin", body: dict | None = None
    ) -> tuple[int, dict]:
        """One call to the API as a user of ``project`` with ``roles`` (``testing``
        strategy), past the adapter: what a tenant or Octavia's operator sees."""
        request = urllib.request.Request(
            self.endpoint + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Project-Id": project,
                "X-Roles": roles,
                "X-User-Id": f"test-{project}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw or b"{}")


def main(argv: list[str]) -> int:
    if argv[1:] == ["install"]:
        print(ensure_venv())
        return 0
    if argv[1:] == ["run"]:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly on kill too
        service = OctaviaService.start()
        print(f"Octavia API on {service.endpoint} (config {service.config_file}); Ctrl-C stops it")
        try:
            signal.pause()
        finally:
            service.stop()
        return 0
    print(f"usage: {argv[0]} install|run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
