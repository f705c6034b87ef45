"""Where a study lives, and what goes wrong with it as one line.

- **The journal** (the default): Optuna's journal file, ``<runs folder>/sweeps.journal``, one
  for every study of that runs folder, as one database holds many studies. Several worker
  processes on one machine share it safely: every write is an append under a lock file. Its
  helpers (the liveness locks of :mod:`core.sweeps.heartbeats`, the trial-start lock) live in
  a hidden folder beside it, so the runs listing never takes them for runs.
- **PostgreSQL** (``postgresql://user:password@host/db``): Optuna's RDB storage through
  psycopg 3 (``pip install "fmnist-tui[postgres]"``), for workers on several machines.

Every message names the storage with its password hidden. Nothing here imports Optuna or
SQLAlchemy at module level.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from core.files import os_reason

from .errors import StorageError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from core.sweeps.space import Workers

JOURNAL_NAME = "sweeps.journal"
CONNECT_TIMEOUT_S = 10
"""How long connecting to PostgreSQL may take before the server counts as unreachable."""

_CREATE_ATTEMPTS = 5
_SCHEMES = ("postgresql://", "postgresql+psycopg://")


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """A study storage as the user named it: a journal file or a PostgreSQL URL."""

    kind: Literal["journal", "postgresql"]
    target: str
    """The journal's path, or the URL for SQLAlchemy (``postgresql+psycopg://``)."""

    @property
    def shown(self) -> str:
        """How messages name it: the path, or the URL without its password."""
        return self.target if self.kind == "journal" else hide_password(self.target)

    @property
    def journal(self) -> Path:
        return Path(self.target)

    @property
    def helpers_dir(self) -> Path:
        """The hidden folder beside a journal for its liveness and start locks."""
        path = self.journal
        return path.parent / f".{path.name}.d"

    def scrub(self, text: str) -> str:
        """``text`` with this storage's password, if any, replaced by ``***``."""
        password = _password_of(self.target) if self.kind == "postgresql" else None
        return text.replace(password, "***") if password else text


def parse_storage(text: str | None, runs_dir: Path) -> StorageSpec:
    """The storage ``--storage`` names: none, the runs folder's journal; a path, that
    journal file; ``postgresql://...``, a PostgreSQL database.

    Raises:
        StorageError: another kind of URL (its password hidden in the message).
    """
    if text is None or not text.strip():
        return StorageSpec("journal", str(runs_dir / JOURNAL_NAME))
    text = text.strip()
    if text.startswith("postgresql://"):
        return StorageSpec("postgresql", "postgresql+psycopg://" + text[len("postgresql://") :])
    if text.startswith(_SCHEMES):
        return StorageSpec("postgresql", text)
    if "://" in text or re.match(r"^[a-z][a-z0-9+.-]*:", text):
        scheme = text.split(":", 1)[0]
        raise StorageError(
            f"unsupported storage {hide_password(text)!r} ({scheme}); give a journal file's "
            "path, or postgresql://user:password@host:port/database"
        )
    return StorageSpec("journal", os.path.expanduser(text))


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (SQLAlchemy's own rendering when it can
    parse the URL)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any URL it cannot parse is masked by hand below
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _password_of(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL: take it by hand
        found = re.search(r"://[^:/@]*:([^@]*)@", url)
        password = found.group(1) if found else None
    return str(password) if password else None


# --- Opening ---------------------------------------------------------------------------------


def open_storage(spec: StorageSpec, workers: Workers) -> BaseStorage:
    """The storage a worker writes to, with heartbeats and retries of dead workers' trials.

    Raises:
        StorageError: the journal cannot be created or read, or the database cannot be
            reached, refuses the password, or lacks its driver: one line, password hidden.
    """
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        # Heartbeats and the retry callback are "experimental" since Optuna 2.8 and 2.9.
        warnings.simplefilter("ignore", ExperimentalWarning)
        return _open_storage(spec, workers)


def _open_storage(spec: StorageSpec, workers: Workers) -> BaseStorage:
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    from core.sweeps.heartbeats import LivenessJournalStorage, TolerantRDBStorage

    retry = RetryHeartbeatStaleTrialCallback(max_retry=workers.max_retry)
    if spec.kind == "journal":
        path = spec.journal
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            repair_journal(path)
            return LivenessJournalStorage(
                str(path),
                spec.helpers_dir / "live",
                grace_period=workers.grace_period,
                heartbeat_stale_trial_callback=retry,
            )
        except OSError as error:
            raise StorageError(f"cannot open the journal {path}: {os_reason(error)}") from None
        except ValueError as error:  # a damaged line that is not the last one
            raise StorageError(f"the journal {path} is damaged: {first_line(error)}") from None
    import sqlalchemy.exc

    for attempt in range(_CREATE_ATTEMPTS):
        try:
            return TolerantRDBStorage(
                spec.target,
                heartbeat_interval=workers.heartbeat_interval,
                grace_period=workers.grace_period,
                heartbeat_stale_trial_callback=retry,
                engine_kwargs={
                    "pool_pre_ping": True,
                    "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S},
                },
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            # Workers started together on an empty database all create Optuna's tables, and
            # PostgreSQL lets one win; the others find the tables made when they try again.
            if attempt == _CREATE_ATTEMPTS - 1:
                raise StorageError(describe_storage_error(error, spec, "cannot open")) from None
            time.sleep(0.5 + attempt)
        except Exception as error:  # noqa: BLE001 - SQLAlchemy and the drivers raise many kinds
            raise StorageError(describe_storage_error(error, spec, "cannot open")) from None
    raise AssertionError("unreachable")


def open_reader(spec: StorageSpec) -> BaseStorage:
    """A storage to read studies from, writing nothing (a journal that is missing is not
    created, nor are Optuna's tables in an empty database: :class:`FileNotFoundError`).

    Raises:
        StorageError: the database cannot be reached (one line, password hidden).
        FileNotFoundError: the journal does not exist, or the database has no Optuna tables
            (no sweep has run there yet).
    """
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    if spec.kind == "journal":
        if not spec.journal.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such journal", str(spec.journal))
        return JournalStorage(JournalFileBackend(str(spec.journal)))
    try:
        return RDBStorage(
            spec.target,
            skip_table_creation=True,
            engine_kwargs={
                "pool_pre_ping": True,
                "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S},
            },
        )
    except Exception as error:  # noqa: BLE001 - SQLAlchemy and the drivers raise many kinds
        if _undefined_table(error):
            raise FileNotFoundError(errno.ENOENT, "no study in this database", spec.shown) from None
        raise StorageError(describe_storage_error(error, spec, "cannot open")) from None


_UNDEFINED_TABLE = "42P01"
"""PostgreSQL's SQLSTATE for a table that does not exist."""


def _undefined_table(error: BaseException) -> bool:
    """``error`` says a table does not exist (a database no worker has written to)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        original = getattr(current, "orig", None)
        for candidate in (current, original):
            if getattr(candidate, "sqlstate", None) == _UNDEFINED_TABLE:
                return True
        current = current.__cause__ or current.__context__
    return False


def repair_journal(path: Path) -> int:
    """Cut a journal back to its last complete line; the bytes dropped (0: none).

    A worker killed in the middle of an append (or a full disk) leaves a last line with no
    newline, and once anything is appended after it Optuna can read no study of the journal
    again. The cut is made holding the journal's own lock, so no append is under way.
    """
    from optuna.storages.journal import JournalFileOpenLock

    if not path.is_file():
        return 0
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return 0
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return 0
    lock = JournalFileOpenLock(str(path))
    lock.acquire()
    try:
        with open(path, "r+b") as handle:
            data = handle.read()
            keep = data.rfind(b"\n") + 1
            if keep == len(data):
                return 0
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
            return len(data) - keep
    finally:
        lock.release()


# --- Database errors -------------------------------------------------------------------------


def database_error_in(error: BaseException) -> BaseException | None:
    """The database error behind ``error``, if any.

    Optuna hides one when the database goes away during a trial: ``study.optimize`` raises
    an ``UnboundLocalError`` (its own bug), whose context is the ``StorageInternalError``,
    whose cause is SQLAlchemy's ``OperationalError``. The chain is walked through both
    ``__cause__`` and ``__context__``.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_database_error(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _is_database_error(error: BaseException) -> bool:
    module = type(error).__module__
    if module.startswith(("sqlalchemy", "psycopg")):
        return True
    return type(error).__name__ == "StorageInternalError" and module.startswith("optuna")


def describe_storage_error(error: BaseException, spec: StorageSpec, action: str) -> str:
    """One line: ``{action} {storage}: {the database's own reason}``, password hidden."""
    found = database_error_in(error) or error
    # The deepest database error says it best (psycopg's "connection refused" under
    # SQLAlchemy's OperationalError under Optuna's StorageInternalError).
    deepest = found
    current: BaseException | None = found
    while current is not None:
        if _is_database_error(current):
            deepest = current
        current = current.__cause__
    original = getattr(deepest, "orig", None)
    reason = first_line(original if original is not None else deepest)
    if isinstance(error, ImportError) or "Failed to import DB access module" in reason:
        reason = 'psycopg is not installed: pip install "fmnist-tui[postgres]"'
    reason = re.sub(r"^\(psycopg[.\w]*\)\s*", "", reason)
    return spec.scrub(f"{action} {spec.shown}: {reason}")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(error).__name__


# --- The trial-start lock ----------------------------------------------------------------------


class JournalStartLock:
    """Serialises "count the trials, then start one" among the workers of one journal, so
    that two workers never both start the last trial a study has room for."""

    def __init__(self, spec: StorageSpec) -> None:
        self.path = spec.helpers_dir / "start.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class PostgresStartLock:
    """The same for the workers of one PostgreSQL study, on any machine: a session-level
    advisory lock, which the server drops if the worker's connection dies."""

    def __init__(self, engine: object, study_name: str) -> None:
        import hashlib

        digest = hashlib.sha256(f"fmnist-tui sweep start {study_name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.engine = engine
        self._connection: object | None = None

    def acquire(self) -> None:
        from sqlalchemy import Engine, text

        if self._connection is not None:
            return
        assert isinstance(self.engine, Engine)
        connection = self.engine.connect()
        try:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
            connection.commit()
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        self._connection = connection

    def release(self) -> None:
        from sqlalchemy import Connection, text

        connection, self._connection = self._connection, None
        if connection is None:
            return
        assert isinstance(connection, Connection)
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            connection.commit()
        except Exception:  # noqa: BLE001 - a lost connection has lost its lock as well
            connection.invalidate()
        finally:
            connection.close()
