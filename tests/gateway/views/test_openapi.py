"""The JSON API against its OpenAPI description: schemathesis over the WSGI app finds no server error.

Longer run (see docs/RELIABILITY.md): HOTLINE_SCHEMATHESIS_EXAMPLES=500 pytest tests/gateway/views/test_openapi.py
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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


@pytest.fixture(scope="module")
def admin_cookie(api_app: Any) -> str:
    """A signed-in admin's session cookie: the generated requests reach the handlers, not only the 401."""
    import re

    from sqlmodel import Session

    from gateway.trust.auth import create_user

    with api_app.app_context(), Session(api_app.extensions["hotline"].engine) as db:
        create_user(db, "schema-admin", "schema-pass-1", "admin")
        db.commit()
    client = api_app.test_client()
    with api_app.app_context():
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert client.post("/login", data={"username": "schema-admin", "password": "schema-pass-1",
                                           "csrf_token": token}).status_code == 302
    return client.get_cookie("session").value  # type: ignore[union-attr]


def test_the_description_names_every_json_endpoint_of_the_app(api_app):
    spec = api_app.test_client().get("/api/v1/openapi.json").get_json()
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    served = {(re.sub(r"<(?:int:)?([a-z_]+)>", r"{\1}", rule.rule), method.lower())
              for rule in api_app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/healthz", "/readyz"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described


@pytest.mark.database  # api_app opens TEST_DATABASE_URL itself
def test_no_generated_request_makes_the_api_answer_a_server_error_or_break_its_description(api_app, admin_cookie):
    from hypothesis import given

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 23  # every operation of the description
    seen: set[tuple[str, bool, int]] = set()
    for operation in operations:
        for cookie in (None, admin_cookie):  # anonymous, then an admin (department tokens: test_api_tokens.py)

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: Any) -> None:
                if cookie:
                    case.cookies = {**(case.cookies or {}), "session": cookie}
                response = case.call()
                seen.add((operation.label, bool(cookie), response.status_code))
                case.validate_response(response, checks=(not_a_server_error, status_code_conformance,
                                                         content_type_conformance, response_schema_conformance))

            with api_app.app_context():
                check()
    # The admin's requests reached the handlers; anonymous ones were turned away.
    assert ("GET /api/v1/cases", True, 200) in seen and ("GET /api/v1/merges", True, 200) in seen
    assert ("GET /api/v1/cases", False, 401) in seen and ("GET /api/v1/cases", False, 200) not in seen
