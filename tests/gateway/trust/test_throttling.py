"""Throttling of guessable secrets (trust issue, 5): passwords, retrieval codes; 429 with Retry-After."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from gateway.trust.auth import create_user


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "RATE_LIMIT_LOGIN": "30/minute", "RATE_LIMIT_LOOKUP": "3/minute", "RATE_LIMIT_LOOKUP_CASE": "5/hour"}


def token(client: Any, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)  # type: ignore[union-attr]


def login(client: Any, password: str, address: str = "192.0.2.1") -> Any:
    return client.post("/login", data={"username": "chief", "password": password, "csrf_token": token(client, "/login")},
                       environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_make_the_account_wait_longer_each_time_even_for_the_right_one(app, client):
    with Session(app.extensions["hotline"].engine) as db:
        create_user(db, "chief", "s3cret-pass", "admin")
        db.commit()
    assert [login(client, f"guess-{i}").status_code for i in range(5)] == [401] * 5
    refused = login(client, "s3cret-pass", address="192.0.2.99")  # another address: the account itself waits
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 30
    assert "秒后再试" in refused.get_data(as_text=True)
    redis = app.extensions["hotline"].broker.redis
    prefix = app.extensions["hotline"].settings.queue_prefix
    redis.delete(f"{prefix}-login:chief:locked")  # the first wait is over
    assert login(client, "guess-6").status_code == 401
    assert 30 < int(login(client, "s3cret-pass").headers["Retry-After"]) <= 60  # the next wait is twice as long
    redis.delete(f"{prefix}-login:chief:locked")
    assert login(client, "s3cret-pass").status_code == 302  # the right password once the wait is over


def test_look_ups_are_limited_per_address_and_per_case_number(app, client):
    def lookup(number: str, address: str) -> Any:
        return client.post("/board/lookup", data={"number": number, "code": "GUESS1", "csrf_token": token(client, "/board/lookup")},
                           environ_base={"REMOTE_ADDR": address})

    assert [lookup("WH20261207-000001", "192.0.2.1").status_code for _ in range(4)] == [404, 404, 404, 429]
    limited = lookup("WH20261207-000002", "192.0.2.1")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # Many addresses guessing the codes of one case: the case number's own limit stops them.
    answers = [lookup("WH20261207-000009", f"198.51.100.{i}").status_code for i in range(7)]
    assert answers.count(429) >= 1 and answers[:5] == [404] * 5


def test_satisfaction_answers_are_limited_per_address(client):
    answers = [client.post("/api/v1/cases/WH20261207-000001/satisfaction", json={"retrieval_code": "GUESS1", "answer": "1"},
                           environ_base={"REMOTE_ADDR": "192.0.2.7"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert answers[-1].get_json()["error"]["status"] == 429 and int(answers[-1].headers["Retry-After"]) > 0
