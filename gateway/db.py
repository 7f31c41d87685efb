"""The database engine and sessions; tables are created on first start."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine


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
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000})
        _sqlite_tuning(engine, busy_ms)
    else:
        connect_args: dict = {"connect_timeout": max(1, busy_ms // 1000)}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)
    return engine


def _sqlite_tuning(engine: Engine, busy_ms: int) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue instead of failing to upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_tables(engine: Engine) -> None:
    import gateway.auth  # noqa: F401  (registers the user table)
    import gateway.models  # noqa: F401  (registers the tables)

    SQLModel.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_new(session: Session, model: Any, rows: list[dict[str, Any]], returning: Any = None) -> Any:
    """INSERT rows, skipping any that collides with a unique key (ON CONFLICT DO NOTHING, SQLite and PostgreSQL).

    One statement instead of a SAVEPOINT per row. With `returning` (a column) and one row: its value,
    or None when the row already existed. A Core statement: it does not flush the session first.
    """
    if not rows:
        return None
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).on_conflict_do_nothing()
    if returning is None:
        session.execute(statement, rows)
        return None
    assert len(rows) == 1, "returning takes one row"
    return session.execute(statement.returning(returning), rows[0]).scalar()


def column_values(row: Any) -> dict[str, Any]:
    """A model instance's column values (defaults applied by its constructor), without a null primary key: for Core inserts."""
    return {c.name: getattr(row, c.name) for c in row.__table__.columns if not (c.primary_key and getattr(row, c.name) is None)}
