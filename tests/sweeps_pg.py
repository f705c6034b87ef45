"""A throwaway PostgreSQL server for the sweep tests: its own data folder, a free localhost
port and a user with a password, started once for the test session, and a database of its
own for each test (:meth:`PostgresServer.new_database`); stopped and deleted afterwards.

It runs as the ``postgres`` user (the server refuses to run as root), started with
``runuser`` when the tests run as root. Tests that need it skip, saying why, when PostgreSQL
is not installed (``apt-get install postgresql``) or cannot be started as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "sweeper"
PASSWORD = "pw-Xq7-secret"
DATABASE = "sweeps"
"""The database :func:`postgres_server` makes; each test's own is made by
:meth:`PostgresServer.new_database`."""


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder (Debian's layout)."""

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    found = [path for path in found if (Path(path) / "initdb").is_file()]
    return Path(found[-1]) if found else None


def why_not() -> str | None:
    """Why no server can be started here, or ``None`` when one can."""
    if postgres_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user to run PostgreSQL as"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        return "starting PostgreSQL as the postgres user needs root"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return 'psycopg is not installed (uv sync, or pip install "fmnist-tui[postgres]")'
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    bin: Path
    folder: Path
    port: int
    database: str = DATABASE
    """The database :attr:`url` names."""
    _made: int = 0

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        """``postgresql://`` as a user types it (the sweep adds the psycopg driver)."""
        return self.url_with_password(PASSWORD)

    def url_with_password(self, password: str) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{self.database}"

    def new_database(self) -> PostgresServer:
        """This server with an empty database of its own, owned by :data:`USER` (the tests
        share one server, never a database)."""
        self._made += 1
        name = f"{DATABASE}_{self._made}"
        self.psql(f"CREATE DATABASE {name} OWNER {USER}")
        return PostgresServer(self.bin, self.folder, self.port, name)

    def drop_database(self) -> None:
        """Drop this database, closing whatever connections a test's workers left."""
        if self.database != DATABASE:
            self.psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        return subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=120, check=check
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c shared_buffers=16MB -c max_connections=60 -c fsync=off"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def running(self) -> bool:
        done = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "status",
                                 check=False)  # fmt: skip
        return done.returncode == 0

    def start_if_stopped(self) -> None:
        """Start the server again if a test stopped it (and failed before starting it)."""
        if not self.running():
            self.start()

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._as_postgres(
            str(self.bin / "psql"), "-h", str(self.folder), "-p", str(self.port),
            "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        )  # fmt: skip
        return done.stdout


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A running server with :data:`DATABASE` owned by :data:`USER` (password
    :data:`PASSWORD`, checked: scram-sha-256 over TCP)."""
    bin_dir = postgres_bin()
    assert bin_dir is not None
    # Under /tmp rather than pytest's tmp_path, whose parents the postgres user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="fmnist-tui-pg-"))
    server = PostgresServer(bin_dir, folder, free_port())
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server._as_postgres(
            str(bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
        )  # fmt: skip
        server.start()
        server.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        server.psql(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
