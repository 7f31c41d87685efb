"""Schema migrations: an empty database gets the schema at head, a database made before migrations (main at
281b96e) is refused until `hotline db upgrade`, which keeps every row, and the revisions build the models."""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from gateway import create_app, db
from gateway.cli import main
from gateway.config import ConfigError
from gateway.intake.ingest import reporter_of
from tests.conftest import subprocess_env

LEGACY = Path(__file__).resolve().parents[2] / "fixtures" / "legacy"


def engine_of(config: dict[str, Any]) -> Any:
    return db.make_engine(config["DATABASE_URL"], config["DATA_DIR"], config.get("DATABASE_SCHEMA"))


def differences(engine: Any) -> list:
    """What autogenerate would change to make the database match the models (nothing, when they agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": db.for_this_dialect(conn)})
        return compare_metadata(context, SQLModel.metadata)


def load_legacy(config: dict[str, Any]) -> Any:
    engine = engine_of(config)
    if engine.dialect.name == "sqlite":
        sql = (LEGACY / "main-281b96e.sqlite.sql").read_text(encoding="utf-8")
        with sqlite3.connect(engine.url.database) as conn:
            conn.executescript(sql)
    else:
        sql = (LEGACY / "main-281b96e.postgresql.sql").read_text(encoding="utf-8")
        with engine.begin() as conn:
            conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]  # no parameters: % stays as is
    return engine


def counts(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def test_an_empty_database_gets_the_schema_at_head(config):
    app = create_app(config)
    engine = app.extensions["hotline"].engine
    assert db.schema_revision(engine) == db.head_revision()
    assert differences(engine) == []
    app.extensions["hotline"].close()


def test_the_revisions_from_nothing_build_exactly_the_models_schema(config):
    engine = engine_of(config)
    with engine.begin() as conn:
        command.upgrade(db._alembic(conn), db.BASELINE)
    assert db.schema_revision(engine) == db.BASELINE
    with engine.begin() as conn:
        command.upgrade(db._alembic(conn), "head")
    assert db.schema_revision(engine) == db.head_revision()
    assert differences(engine) == []
    engine.dispose()


def test_a_database_made_before_migrations_is_refused_then_upgraded_with_every_row_kept(config):
    engine = load_legacy(config)
    before = counts(engine)
    assert before["report"] == 4 and before["assignment"] == 5 and before["user"] == 1 and "calendarnotice" not in before
    with engine.connect() as conn:  # the code each case's first reporter was sent
        sent = conn.execute(text('SELECT number, retrieval_code FROM "case" ORDER BY id')).all()
        old_jobs = sorted(conn.execute(text("SELECT func FROM outbox")).scalars())
    assert old_jobs == ["gateway.jobs.dispatch_case"] * 4 + ["gateway.notify.deliver"] * 5
    with pytest.raises(db.SchemaBehind, match="run `hotline db upgrade`"):
        create_app(config)
    env = subprocess_env(config)
    status = CliRunner().invoke(main, ["db", "status"], env=env)
    assert status.exit_code == 1 and f"schema revision: {db.BASELINE}" in status.output and "behind" in status.output
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema: {db.BASELINE} -> {db.head_revision()}" in upgraded.output
    after = counts(engine)
    assert {k: v for k, v in after.items() if k in before} == before and after["calendarnotice"] == 0
    assert differences(engine) == []
    with engine.connect() as conn:  # outbox rows name their job by the registry's short name (0008)
        assert sorted(conn.execute(text("SELECT func FROM outbox")).scalars()) == ["deliver"] * 5 + ["dispatch_case"] * 4
    assert "schema already at" in CliRunner().invoke(main, ["db", "upgrade"], env=env).output
    assert CliRunner().invoke(main, ["db", "status"], env=env).exit_code == 0
    engine.dispose()

    app = create_app(config)  # the old rows serve as before: the admin signs in and reads a case
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    login = client.post("/login", data={"username": "chief", "password": "s3cret-pass", "csrf_token": token})
    assert login.status_code in (302, 303) and "/login" not in login.headers["Location"]
    with engine_of(config).connect() as conn:
        number = conn.execute(text('SELECT number FROM "case" ORDER BY id LIMIT 1')).scalar_one()
    case = client.get(f"/api/v1/cases/{number}")
    assert case.status_code == 200 and case.get_json()["assignments"]
    # Codes already sent stay valid: each now belongs to its case's first reporter.
    with Session(app.extensions["hotline"].engine) as session:
        for number, code in sent:
            found = reporter_of(session, number, code)
            assert found is not None and found[0].number == number
    app.extensions["hotline"].close()


def test_hotline_run_refuses_a_database_that_is_behind_and_names_the_command(config):
    load_legacy(config).dispose()
    result = CliRunner().invoke(main, ["run", "--port", "0"], env=subprocess_env(config))
    assert result.exit_code == 1 and "run `hotline db upgrade`" in result.output


@pytest.mark.database
def test_postgresql_without_pg_trgm_and_without_the_right_to_add_it_is_refused_with_what_to_ask_for(tmp_path):
    """The console's search index needs pg_trgm: a user that may not create it gets a message naming the
    extension and the statement the database's owner runs, and no half-made schema."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): CI's PostgreSQL run covers it")
    import sqlalchemy

    tag = uuid.uuid4().hex[:10]
    name, role = f"noext_{tag}", f"noext_{tag}"
    admin = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    other = sqlalchemy.create_engine(admin.url.set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with other.connect() as conn:  # its own schema, but no CREATE on the database: no extension
            conn.exec_driver_sql(f"CREATE SCHEMA app AUTHORIZATION {role}")
        config = {"DATABASE_URL": str(sqlalchemy.engine.make_url(url).set(username=role, database=name)),
                  "DATABASE_SCHEMA": "app", "DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0"}
        refused = engine_of(config)
        with pytest.raises(ConfigError, match=r"pg_trgm.*CREATE EXTENSION pg_trgm SCHEMA public"):
            db.prepare_schema(refused)
        refused.dispose()
        with other.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'app'").scalar() == 0
    finally:
        other.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()
