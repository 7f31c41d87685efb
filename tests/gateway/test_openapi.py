"""The JSON API against its OpenAPI description: schemathesis over the WSGI app finds no server error.

Longer run (see docs/RELIABILITY.md): HOTLINE_SCHEMATHESIS_EXAMPLES=500 pytest tests/gateway/test_openapi.py
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from gateway import create_app

EXAMPLES = int(os.environ.get("HOTLINE_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Any:
    import uuid

    data = tmp_path_factory.mktemp("openapi")
    database = os.environ.get("TEST_DATABASE_URL")
    config: dict[str, Any] = {"TESTING": True, "DATA_DIR": str(data), "REDIS_URL": redis_url, "SECRET_KEY": "t",
                              "QUEUE_PREFIX": f"test-{uuid.uuid4().hex[:10]}", "RATE_LIMITS_ENABLED": False,
                              "HEARTBEAT_MAX_AGE": 0,  # no workers beside this app: /readyz would rightly say 503
                              "DATABASE_URL": f"sqlite:///{data / 'api.db'}", "DATABASE_SCHEMA": None}
    if database:  # PostgreSQL refuses what SQLite lets through (lengths, NUL bytes): test it there too
        import sqlalchemy

        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sqlalchemy.create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        config.update(DATABASE_URL=database, DATABASE_SCHEMA=schema)
    app = create_app(config)
    yield app
    rt = app.extensions["hotline"]
    for queue in rt.broker.queues.values():
        queue.empty()
    rt.engine.dispose()
    if database:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def test_the_description_is_served_and_names_every_json_intake_route(api_app):
    spec = api_app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/reports", "/api/v1/board/posts", "/api/v1/cases", "/api/v1/cases/{number}"} <= set(spec["paths"])


def test_no_generated_request_makes_the_api_answer_a_server_error(api_app):
    from hypothesis import given

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call()
            case.validate_response(response, checks=(not_a_server_error,))

        with api_app.app_context():
            check()
