"""State that every process of the portal shares (web server and workers are separate
processes), kept in one SQLite file: reads see committed state, and each write holds
the file's write lock from its start, so the reads it decides on are still true when
it writes.  No sqlite3 error leaves it: storage trouble is a transient
ProviderUnavailable."""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from loadbalancers.domain.errors import ProviderRejected, ProviderUnavailable

# Seconds a call waits for another process's write lock before giving up.
BUSY_TIMEOUT = 30.0


class SQLiteState:
    def __init__(
        self, path: str | Path, schema: str, *, owner: str, added_columns: Sequence[tuple[str, str, str]] = ()
    ):
        """``added_columns`` are (table, column, declaration) that later versions added
        to the schema: a file made by an earlier version gets them when first opened."""
        self._path = Path(path)
        self._schema = schema
        self._added_columns = tuple(added_columns)
        self._owner = owner
        # The file is prepared on first use, not here, so that building an adapter
        # (e.g. while loading settings) never touches the disk.
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call: each call opens its own, so an adapter can be
        shared by threads."""
        with self._translated():
            db = self._connect()
            try:
                yield db
            finally:
                db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from BEGIN; committed unless the block
        raises."""
        with self.read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise ProviderUnavailable(f"{self._owner}: state store unavailable: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        self._prepare_file()
        db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    def _prepare_file(self) -> None:
        """Create the folder and the schema and switch to WAL (readers never wait for
        writers), once per instance.  Every step is idempotent, but switching to WAL
        answers "locked" at once, without the busy timeout, while another process
        opens the file, so processes starting together retry until the timeout."""
        with self._schema_lock:
            if self._schema_ready:
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + BUSY_TIMEOUT
            while True:
                try:
                    self._create_schema()
                    break
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            self._schema_ready = True

    def _create_schema(self) -> None:
        db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(self._schema)
            if self._added_columns:
                # Under the write lock: processes opening an old file together add each column once.
                db.execute("BEGIN IMMEDIATE")
                try:
                    for table, column, declaration in self._added_columns:
                        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                        if column not in present:
                            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        finally:
            db.close()


def lowest_free_vip(db: sqlite3.Connection, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """The lowest host address of the network that no load balancer in the store's
    ``load_balancers`` table holds (a deleted one's address is free again)."""
    taken = {vip for (vip,) in db.execute("SELECT vip_address FROM load_balancers")}
    for address in network.hosts():
        if str(address) not in taken:
            return str(address)
    raise ProviderRejected(f"no free VIP address in {network}")
