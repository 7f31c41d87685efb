"""Bad input refused and floods held back: body sizes per channel, long fields, rate limits per source."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, func, select
from twilio.request_validator import RequestValidator

from gateway.models import Case, Report, Unparsed

TOKEN = "limits-twilio-token"
BASE = "https://h.example.cn"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "RATE_LIMIT_BOARD": "3/minute", "RATE_LIMIT_SMS": "2/minute", "RATE_LIMIT_API": "4/minute",
            "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": BASE, "SMS_SEGMENT_SECONDS": 0,
            "MAX_BODY_API": 16384, "MAX_BODY_BOARD": 4096, "MAX_BODY_SMS": 2048, "MAX_BODY_HOTLINE": 4096,
            "MAX_BODY_OPEN311": 4096}


def count(rt: Any, model: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def sms(client: Any, sid: str, sender: str, signed: bool = True) -> Any:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+8610690000",
              "Body": f"江岸区中山大道{sid}号路灯不亮", "NumMedia": "0"}
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", params) if signed else "bad"
    return client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})


def test_a_flood_of_board_posts_from_one_address_gets_429_json_while_another_address_still_gets_through(client, rt):
    answers = [client.post("/api/v1/board/posts", json={"post_id": f"P{i}", "text": f"第{i}条：路灯不亮"}).status_code
               for i in range(5)]
    assert answers == [201, 201, 201, 429, 429]
    refused = client.post("/api/v1/board/posts", json={"post_id": "P9", "text": "路灯"})
    assert refused.get_json()["error"]["status"] == 429 and int(refused.headers["Retry-After"]) > 0
    other = client.post("/api/v1/board/posts", json={"post_id": "Q1", "text": "路灯不亮"},
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 201
    assert count(rt, Report) == 4


def test_a_flooding_number_is_kept_for_review_without_replies_and_other_numbers_are_unaffected(client, rt):
    answers = [sms(client, f"SM{i}", "+8613800138001") for i in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [b"<Message>" in a.data for a in answers] == [True, True, False, False]  # no reply to the flood
    assert count(rt, Report) == 2
    with Session(rt.engine) as session:
        kept = session.exec(select(Unparsed)).all()
    assert len(kept) == 2 and all(k.error.startswith("rate_limited") for k in kept)
    assert b"SM3" in kept[1].body  # the text itself is kept, for a person
    assert b"<Message>" in sms(client, "SM9", "+8613900139009").data


def test_an_unsigned_flood_is_refused_and_never_kept(client, rt):
    statuses = [sms(client, f"SX{i}", "+8613800138001", signed=False).status_code for i in range(4)]
    assert statuses[:2] == [403, 403] and set(statuses[2:]) <= {403, 429}
    assert count(rt, Unparsed) == 0 and count(rt, Report) == 0


@pytest.mark.parametrize(("path", "kwargs"), [
    ("/api/v1/reports", {"json": {"text": "路" * 9000}}),
    ("/api/v1/board/posts", {"json": {"post_id": "B", "text": "灯" * 5000}}),
    ("/webhooks/twilio/sms", {"data": {"Body": "x" * 5000}}),
])
def test_a_body_over_its_channels_limit_is_refused_with_413(client, rt, path, kwargs):
    resp = client.post(path, **kwargs)
    assert resp.status_code == 413 and resp.is_json
    assert count(rt, Report) == 0


def test_overlong_fields_are_cut_to_their_columns_and_noted_not_a_server_error(client, rt):
    long_id = "x" * 600
    body = {"text": "路灯不亮", "name": "名" * 400, "address": "址" * 900, "district": "区" * 100, "external_id": long_id,
            "category": "c" * 100, "title": "t" * 400}
    first, again = client.post("/api/v1/reports", json=body), client.post("/api/v1/reports", json=body)
    assert (first.status_code, again.status_code) == (201, 200)  # the cut id still recognises the replay
    other = client.post("/api/v1/reports", json={**body, "external_id": long_id + "y"})
    assert other.status_code == 201  # two long ids that share a prefix stay two reports
    with Session(rt.engine) as session:
        report = session.exec(select(Report).order_by(Report.id)).first()
        assert len(report.name) == 200 and len(report.address) == 500 and len(report.district) == 64
        assert any("cut" in d for d in report.defects)
        assert len(session.exec(select(Case)).first().address) <= 500


def test_a_text_over_the_configured_length_is_cut_and_the_whole_message_stays_in_raw(app, rt):
    from adapters.base import InboundReport
    from gateway.intake.ingest import ingest

    rt.settings = replace(rt.settings, max_text_chars=100)
    result = ingest(rt, InboundReport(channel="email", text="长" * 300, external_id="<long@x>", raw=("长" * 300).encode()))
    assert len(result.report.text) == 100 and "text cut at 100 characters" in result.report.defects
    assert len(result.report.raw.decode()) == 300


def test_nul_characters_in_any_field_are_dropped_not_a_server_error(client, rt):
    """Found by schemathesis on PostgreSQL, which refuses NUL in text (SQLite stores it)."""
    resp = client.post("/api/v1/reports", json={"text": "路灯\u0000不亮", "district": "\u0000", "name": "张\u0000三",
                                                 "external_id": "nul\u00001"})
    assert resp.status_code == 201
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    assert (report.text, report.district or "", report.name) == ("路灯不亮", "", "张三")
    assert client.post("/api/v1/reports", json={"text": "路灯\u0000不亮", "external_id": "nul\u00001"}).status_code == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(config):
    from gateway import create_app

    app = create_app({**config, "TRUST_PROXY": 1})
    with app.app_context():
        client = app.test_client()
        proxy = {"REMOTE_ADDR": "127.0.0.1"}

        def post(i: int, client_address: str) -> int:
            return client.post("/api/v1/board/posts", json={"post_id": f"X{client_address}{i}", "text": f"第{i}条：路灯不亮"},
                               environ_base=proxy, headers={"X-Forwarded-For": client_address}).status_code

        assert [post(i, "203.0.113.7") for i in range(4)] == [201, 201, 201, 429]
        assert post(0, "198.51.100.9") == 201  # another citizen behind the same proxy is not blocked
    app.extensions["hotline"].close()
