"""The database engine and sessions; tables are created on first start."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from gateway.config import ConfigError


def json_dumps(value: Any) -> str:
    """How JSON columns are written: UTF-8 text as it is (a Chinese character is 3 bytes, not a 6-byte
    \\uXXXX escape) and no spaces after separators."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str | None, data_dir: str, schema: str | None = None, busy_ms: int = 10000) -> Engine:
    """Build the engine: the given URL, or a WAL-mode SQLite file in the data folder.

    ``busy_ms`` bounds how long a request waits for the database (a SQLite write lock, a PostgreSQL
    connection) before it fails with OperationalError, which the views answer with 503.
    """
    if not url:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(data_dir) / 'hotline.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000,
                                                  "factory": QueuedConnection}, json_serializer=json_dumps)
        _sqlite_tuning(engine, busy_ms)
    else:
        connect_args: dict = {"connect_timeout": max(1, busy_ms // 1000)}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args,
                               json_serializer=json_dumps)
    return engine


def _sqlite_tuning(engine: Engine, busy_ms: int) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue instead of failing to upgrade."""
    database = engine.url.database or ""
    queue_path = os.path.abspath(database) if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if queue_path is not None and isinstance(dbapi_conn, QueuedConnection):
            dbapi_conn.enqueue(write_queue(queue_path), busy_ms / 1000)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_conn, QueuedConnection):
                dbapi_conn.leave_queue()
            raise


class WriteQueue:
    """The writers of one SQLite file in line: a lock among this process's threads, a file lock among processes.

    SQLite's own busy handler lets a blocked writer sleep (1, 2, 5 ... up to 100 ms between tries), so
    under many concurrent requests the write lock sat free while writers slept, and one writer could
    wait for seconds. Here a thread of this process takes over the moment the previous one commits;
    another process polls a `flock` every few milliseconds. Both give up after the busy timeout, like
    SQLite (the request answers 503). Correctness still rests on SQLite's own locking.
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}-writers"
        self.threads = threading.Lock()
        self._fd: int | None = None

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=max(0.0, timeout)):
            raise _locked()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.0005
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _locked() from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.004)
        except BaseException:
            self.threads.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.threads.release()


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


_queues: dict[str, WriteQueue] = {}
_queues_guard = threading.Lock()


def write_queue(path: str) -> WriteQueue:
    """The process's queue for one database file."""
    with _queues_guard:
        queue = _queues.get(path)
        if queue is None:
            queue = _queues[path] = WriteQueue(path)
        return queue


def _forget_queues() -> None:
    """In a forked child: fresh queues (a lock another thread held at the fork would never be released)."""
    global _queues_guard
    _queues.clear()
    _queues_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_queues)


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that leaves the write queue once its transaction has committed or rolled back."""

    _queue: WriteQueue | None = None

    def enqueue(self, queue: WriteQueue, timeout: float) -> None:
        if self._queue is None:
            queue.acquire(timeout)
            self._queue = queue

    def leave_queue(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.release()

    def commit(self) -> None:
        self._end(super().commit)

    def rollback(self) -> None:
        self._end(super().rollback)

    def close(self) -> None:
        self._end(super().close)

    def _end(self, end: Any) -> None:
        try:
            end()
        finally:
            self.leave_queue()

    def __del__(self) -> None:  # dropped without close() (SQLite's own lock goes with it): let the next writer in
        self.leave_queue()


MIGRATIONS = Path(__file__).with_name("migrations")
SEARCH_PREFIX = "search_"  # gateway.search names its tables, triggers and indexes so
BASELINE = "0001"  # the schema as `create_all` made it before migrations: a database without a version is at it


class SchemaBehind(ConfigError):
    """The database's schema is older than this code's: `hotline db upgrade` brings it up."""


def for_this_dialect(connection: Any) -> Any:
    """Autogenerate's filter: leave out what the models create on another dialect only (``ddl_if``)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if reflected and compare_to is None and (name or "").startswith(SEARCH_PREFIX):
            return False  # the search index (gateway.search), made beside the models' tables
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect in (None, connection.dialect.name)

    return include


def _alembic(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    if connection is not None:
        config.attributes["include_object"] = for_this_dialect(connection)
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision of this code's migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic(None)).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The database's revision: its alembic_version, BASELINE for tables made before migrations, None when empty."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None and inspect(conn).has_table("case"):
            current = BASELINE
        conn.rollback()
    return current


def prepare_schema(engine: Engine) -> None:
    """An empty database gets this code's schema (stamped at head); one that is behind is refused."""
    current, head = schema_revision(engine), head_revision()
    if current == head:
        return
    if current is not None:
        raise SchemaBehind(f"the database schema is at revision {current}, this code needs {head}: "
                           f"run `hotline db upgrade` (back up the database first)")
    from alembic import command

    import gateway.models  # noqa: F401  (registers the tables)
    from gateway import search

    with engine.begin() as conn:
        SQLModel.metadata.create_all(conn)
        search.create(conn)
        command.stamp(_alembic(conn), head)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to head through every revision in between; returns (before, after)."""
    from alembic import command

    before = schema_revision(engine)
    if before is None:
        prepare_schema(engine)
        return None, head_revision()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:  # a batch migration rebuilds a table others point at: check the keys after, not during
            _sqlite3(conn).execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if before == BASELINE and not inspect(conn).has_table("alembic_version"):
                    command.stamp(_alembic(conn), BASELINE)
                command.upgrade(_alembic(conn), "head")
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("the upgrade left rows pointing at rows that do not exist: rolled back")
        finally:
            if sqlite:
                _sqlite3(conn).execute("PRAGMA foreign_keys=ON")
    return before, head_revision()


def _sqlite3(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLite engine's connection, for PRAGMAs outside SQLAlchemy's transaction."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def insert_new(session: Session, model: Any, rows: list[dict[str, Any]], returning: Any = None) -> Any:
    """INSERT rows, skipping any that collides with a unique key (ON CONFLICT DO NOTHING, SQLite and PostgreSQL).

    One statement instead of a SAVEPOINT per row. With `returning` (a column) and one row: its value,
    or None when the row already existed. A Core statement: it does not flush the session first.
    """
    if not rows:
        return None
    statement = insert_ignoring(session, model.__table__)
    if returning is None:
        session.execute(statement, rows)
        return None
    assert len(rows) == 1, "returning takes one row"
    return session.execute(statement.returning(returning), rows[0]).scalar()


def insert_ignoring(session: Session, table: Any) -> Any:
    """INSERT INTO table ... ON CONFLICT DO NOTHING, in the session's dialect (SQLite or PostgreSQL)."""
    return _insert_ignoring(session.get_bind().dialect.name, table)


@lru_cache(maxsize=64)
def _insert_ignoring(dialect_name: str, table: Any) -> Any:
    """Built once per table (statements are immutable): each build costs SQLAlchemy a new cache key."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def insert_rows_ignoring(session: Session, table: Any, rows: list[dict[str, Any]], returning: tuple[str, ...]) -> list[Any]:
    """INSERT many rows (each with the same keys), skipping those that collide with a unique key; the ``returning``
    columns of the rows inserted. A Core statement: it does not flush the session first.

    On PostgreSQL one statement whose parameters are one array per column (``unnest``): its text is the same for
    any number of rows, so psycopg parses it once and the server prepares it. A multi-row VALUES of a few hundred
    rows has thousands of placeholders, which psycopg re-parses for every statement (it caches none over 50
    parameters): under cProfile, 16 s of the supervision sweep's 43 s (docs/BENCHMARKS.md)."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return list(session.execute(_insert_ignoring_returning("sqlite", table, returning), rows).all())
    names = tuple(rows[0])
    arrays = {f"a{i}": [row[name] for row in rows] for i, name in enumerate(names)}
    return list(session.execute(_unnest_insert(table, names, returning), arrays).all())


def among(session: Session, column: Any, values: Any) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter, so that the statement's text
    is the same for any number of values (psycopg re-parses a statement of over 50 parameters every time)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


@lru_cache(maxsize=64)
def _insert_ignoring_returning(dialect_name: str, table: Any, returning: tuple[str, ...]) -> Any:
    return _insert_ignoring(dialect_name, table).returning(*(table.c[n] for n in returning))


@lru_cache(maxsize=32)
def _unnest_insert(table: Any, names: tuple[str, ...], returning: tuple[str, ...]) -> Any:
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    pg = postgresql.dialect()
    arrays = ", ".join(f"CAST(:a{i} AS {table.c[name].type.compile(dialect=pg)}[])" for i, name in enumerate(names))
    columns, out = (", ".join(f'"{n}"' for n in group) for group in (names, returning))
    return text(f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({arrays}) '
                f"ON CONFLICT DO NOTHING RETURNING {out}")


def column_values(row: Any) -> dict[str, Any]:
    """A model instance's column values (defaults applied by its constructor), without a null primary key: for Core inserts."""
    return {c.name: getattr(row, c.name) for c in row.__table__.columns if not (c.primary_key and getattr(row, c.name) is None)}
