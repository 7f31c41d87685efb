"""Public only by choice (trust issue, 3): a report is on the public board only when its citizen chose it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import Case
from tests.gateway.channels.test_open311 import LIGHT
from tests.gateway.channels.test_open311 import post as open311_post
from tests.gateway.channels.test_sms_webhook import PUBLIC, TOKEN, form
from tests.gateway.channels.test_sms_webhook import post as sms_post


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+8610690000", "PUBLIC_BASE_URL": PUBLIC, "OPEN311_API_KEYS": ["k-311"]}


def public_of(rt: Any, number: str) -> bool:
    with Session(rt.engine) as session:
        return session.exec(select(Case.public).where(Case.number == number)).one()


def test_an_sms_is_private_and_never_on_the_board(client, rt):
    assert sms_post(client, form("SM-P1", "江岸区中山大道888号路灯不亮，我是张三")).status_code == 200
    with Session(rt.engine) as session:
        case = session.exec(select(Case)).one()
    assert case.public is False
    assert case.number not in client.get("/board/").get_data(as_text=True)


@pytest.mark.parametrize(("body", "public"), [({}, False), ({"public": False}, False), ({"public": True}, True)])
def test_the_web_api_is_private_unless_the_citizen_says_public(client, rt, body, public):
    number = client.post("/api/v1/reports", json={"text": "江岸区中山大道路灯不亮", **body}).get_json()["case"]["number"]
    assert public_of(rt, number) is public


def test_a_board_api_post_without_a_choice_is_private(client, rt):
    number = client.post("/api/v1/board/posts", json={"post_id": "P-1", "text": "垃圾没人清运"}).get_json()["case"]["number"]
    assert public_of(rt, number) is False


def test_the_board_form_asks_and_refuses_a_post_without_a_choice(client, rt):
    page = client.get("/board/post").get_data(as_text=True)
    assert 'name="public" required' in page and '<option value="" selected>请选择</option>' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    refused = client.post("/board/post", data={"csrf_token": token, "post_id": "F-P1", "text": "路灯不亮"})
    assert refused.status_code == 422 and "请选择是否公开" in refused.get_data(as_text=True)
    chosen = client.post("/board/post", data={"csrf_token": token, "post_id": "F-P2", "text": "路灯不亮", "public": "1"})
    assert chosen.status_code == 201
    with Session(rt.engine) as session:
        assert [c.public for c in session.exec(select(Case)).all()] == [True]


def test_an_open311_post_is_private(client, rt):
    assert open311_post(client, LIGHT).status_code in (200, 201)
    with Session(rt.engine) as session:
        assert session.exec(select(Case.public)).one() is False


def test_a_profile_may_make_a_channel_public_by_default(rt):
    rt.profile.city["public_channels"] = ["sms"]
    assert rt.profile.public_by_default("sms") and not rt.profile.public_by_default("email")


def test_the_office_takes_a_public_post_off_the_board(app, client, rt):
    from tests.conftest import logged_in

    number = client.post("/api/v1/reports", json={"text": "江岸区中山大道路灯不亮", "public": True}).get_json()["case"]["number"]
    assert number in client.get("/board/").get_data(as_text=True)
    office = logged_in(app, "office")
    assert "从留言板撤下" in office.get(f"/console/cases/{number}").get_data(as_text=True)
    assert logged_in(app, "department").post(f"/console/cases/{number}/unpublish",
                                             data={"csrf_token": "test-csrf-token"}).status_code == 403
    resp = office.post(f"/console/cases/{number}/unpublish", data={"csrf_token": "test-csrf-token"})
    assert resp.status_code == 302 and public_of(rt, number) is False
    assert number not in client.get("/board/").get_data(as_text=True)
    assert client.get(f"/board/cases/{number}").status_code == 404
    from gateway.models import AuditEntry, Event

    with Session(rt.engine) as session:
        assert session.exec(select(Event.kind).where(Event.kind == "unpublished")).all() == ["unpublished"]
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "unpublished")).all()
    assert entry.target == f"case:{number}" and entry.actor == office.user.actor
