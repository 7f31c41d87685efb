"""Call-centre systems push tickets: bearer token or HMAC signature, single tickets and batches."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask

from gateway import create_app
from gateway.models import Report, Unparsed
from gateway.views.machine.hotline import sign
from tests.kits.channel_kit import count, reports, unparsed

TOKENS = {"cc-main": "s3cret-main-token", "cc-backup": "s3cret-backup"}
URL = "/api/v1/hotline/tickets"
TICKET = {
    "ticket_no": "WH12345-20261120-000123", "caller_number": "027-85551234", "caller_name": "李女士",
    "call_time": "2026-11-20 09:30:00", "appeal_type": "投诉", "title": "餐馆油烟扰民",
    "content": "来电人反映：汉阳区钟家村某餐馆油烟直排，影响楼上住户正常生活。", "address": "汉阳区钟家村汉阳大道88号",
    "district": "汉阳区", "operator_id": "A0317", "urgency": "一般",
}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "SYSTEM_TOKENS": TOKENS}


def bearer(token: str = "s3cret-main-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(body: bytes, system: str = "cc-backup", token: str = "s3cret-backup", at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {"X-Hotline-System": system, "X-Hotline-Timestamp": stamp, "X-Hotline-Signature": sign(token, stamp, body),
            "Content-Type": "application/json"}


def test_a_pushed_ticket_becomes_a_case_visible_in_the_api(client, rt, office_client):
    resp = client.post(URL, json=TICKET, headers=bearer())
    assert resp.status_code == 201
    number = resp.get_json()["case"]["number"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["reports"][0]["external_id"] == "WH12345-20261120-000123"
    assert detail["appeal_type"] == "投诉" and detail["district"] == "汉阳区"
    [row] = reports(rt, "hotline")
    assert row.extra["system"] == "cc-main" and row.extra["operator_id"] == "A0317"
    assert json.loads(row.raw)["ticket_no"] == TICKET["ticket_no"]


def test_the_same_ticket_number_pushed_twice_is_one_report(client, rt):
    first = client.post(URL, json=TICKET, headers=bearer())
    again = client.post(URL, json=TICKET, headers=bearer("s3cret-backup"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["case"]["number"] == first.get_json()["case"]["number"]
    assert count(rt, Report) == 1


def test_a_correctly_signed_push_is_accepted(client):
    body = json.dumps(TICKET, ensure_ascii=False).encode()
    resp = client.post(URL, data=body, headers=signed(body))
    assert resp.status_code == 201


@pytest.mark.parametrize("headers, status, field", [
    ({}, 401, "Authorization"),
    ({"Authorization": "Bearer wrong"}, 403, "Authorization"),
    ({"Authorization": "Basic czNjcmV0"}, 401, "Authorization"),
    ({"X-Hotline-System": "cc-backup"}, 401, "X-Hotline-Signature"),
    ({"X-Hotline-System": "cc-backup", "X-Hotline-Timestamp": "soon", "X-Hotline-Signature": "ab"}, 403, "X-Hotline-Timestamp"),
])
def test_missing_or_wrong_credentials_are_refused_with_a_json_error_and_kept(client, rt, headers, status, field):
    resp = client.post(URL, json=TICKET, headers=headers)
    assert resp.status_code == status
    assert resp.get_json()["error"]["field"] == field
    assert count(rt, Report) == 0
    [kept] = unparsed(rt, "hotline")
    assert json.loads(kept.body)["ticket_no"] == TICKET["ticket_no"]
    assert "wrong" not in json.dumps(kept.headers)  # credentials are not stored


def test_a_signature_by_the_wrong_token_or_over_another_body_is_refused(client):
    body = json.dumps(TICKET).encode()
    assert client.post(URL, data=body, headers=signed(body, token="guess")).status_code == 403
    assert client.post(URL, data=body, headers=signed(b"{}")).status_code == 403
    assert client.post(URL, data=body, headers=signed(body, system="nobody", token="s3cret-backup")).status_code == 403


def test_a_signed_push_older_than_five_minutes_is_refused_as_a_replay(client, rt):
    body = json.dumps(TICKET).encode()
    resp = client.post(URL, data=body, headers=signed(body, at=time.time() - 301))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["field"] == "X-Hotline-Timestamp"
    # Ahead of the clock by more than the window, with room for a slow machine between signing and checking (at
    # +301 s a second spent on the way made it 299 s ahead, inside the window: seen under load).
    assert client.post(URL, data=body, headers=signed(body, at=time.time() + 360)).status_code == 403
    assert count(rt, Report) == 0


def test_a_batch_answers_200_with_a_result_per_ticket_and_keeps_the_bad_ones(client, rt):
    batch = {"tickets": [
        TICKET,
        {"ticket_no": "T-2", "content": "江岸区中山大道路灯不亮", "appeal_type": "求助"},
        {"ticket_no": "T-3", "content": ""},
        {"ticket_no": "T-4", "content": "投诉", "appeal_type": "骂人"},
        "不是对象",
        TICKET,
    ]}
    resp = client.post(URL, json=batch, headers=bearer())
    assert resp.status_code == 200
    body = resp.get_json()
    assert [r["status"] for r in body["results"]] == [201, 201, 422, 422, 422, 200]
    assert (body["created"], body["replayed"], body["failed"]) == (2, 1, 3)
    assert body["results"][2] == {"index": 2, "ticket_no": "T-3", "status": 422,
                                  "error": {"field": "content", "message": "required"}}
    assert body["results"][3]["error"]["field"] == "appeal_type"
    assert body["results"][4]["error"]["field"] == "ticket"
    assert body["results"][5]["case"]["number"] == body["results"][0]["case"]["number"]
    kept = unparsed(rt, "hotline")
    assert [json.loads(k.body) for k in kept] == [batch["tickets"][2], batch["tickets"][3], "不是对象"]
    assert count(rt, Report) == 2


def test_a_bare_array_is_a_batch_too(client):
    resp = client.post(URL, json=[{"ticket_no": 1, "content": "咨询公积金提取"}], headers=bearer())
    assert resp.status_code == 200
    assert resp.get_json()["results"][0]["ticket_no"] == "1"


@pytest.mark.parametrize("body, field", [
    (b"", "body"), (b"{oops", "body"), (b"42", "body"), (b'{"tickets": "x"}', "tickets"),
    (b'{"ticket_no": "A1"}', "content"), (b'{"ticket_no": ["A"], "content": "x"}', "ticket_no"),
])
def test_a_body_that_is_no_ticket_is_422_naming_the_field_and_kept(client, rt, body, field):
    resp = client.post(URL, data=body, headers={**bearer(), "Content-Type": "application/json"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["field"] == field
    assert unparsed(rt, "hotline")[0].body == body


def test_without_configured_systems_every_token_is_refused(config: dict[str, Any]) -> None:
    bare: Flask = create_app({**config, "SYSTEM_TOKENS": {}})
    with bare.app_context():
        resp = bare.test_client().post(URL, json=TICKET, headers=bearer())
        assert resp.status_code == 403
        assert count(bare.extensions["hotline"], Unparsed) == 1
    bare.extensions["hotline"].engine.dispose()


def test_the_citys_own_appeal_type_names_are_accepted_and_a_bad_alias_stops_start_up(client, rt, tmp_path, config):
    from sqlmodel import Session, select

    from gateway.config import BUNDLED_PROFILE, ConfigError

    resp = client.post(URL, json={**TICKET, "ticket_no": "T-ALIAS", "appeal_type": "谏言"}, headers=bearer())
    assert resp.status_code == 201, resp.get_json()
    with Session(rt.engine) as session:
        [report] = session.exec(select(Report).where(Report.external_id == "T-ALIAS")).all()
    assert report.appeal_type == "建议"  # the profile's alias (wuhan.toml: 谏言 = "建议")
    broken = tmp_path / "city.toml"
    broken.write_text(BUNDLED_PROFILE.read_text(encoding="utf-8").replace('"谏言" = "建议"', '"谏言" = "提议"'),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="appeal_aliases"):
        create_app({**config, "PROFILE_PATH": str(broken)})
