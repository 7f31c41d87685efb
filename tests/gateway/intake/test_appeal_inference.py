"""The appeal type of a report whose citizen names none is guessed in the create path, marked as a guess, and the
deadline rule follows it; a hotline ticket's own type always wins, and the profile can switch the guess off."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from gateway.config import ConfigError
from gateway.models import Report
from gateway.profile import load_profile
from tests.kits.dispatch_kit import assignments, case, events, local, set_clock

TWILIO_TOKEN = "test-twilio-token"
PUBLIC = "https://hotline.example.cn"
QUESTION = "请问江岸区中山大道888号的路灯什么时候能修好？"  # a consultation about a unit's matter (WH-LIGHT)
TICKET = {"ticket_no": "WH12345-20260427-000009", "caller_number": "13800138001", "title": "路灯不亮",
          "content": QUESTION, "address": "江岸区中山大道888号", "district": "江岸区"}


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": "+8610690000", "PUBLIC_BASE_URL": PUBLIC,
            "SYSTEM_TOKENS": {"cc-main": "s3cret-main-token"}}


@pytest.fixture
def consultation_in_six_hours(rt: Any) -> None:
    """A consultation rule unlike the 1-2-unit one, so that the deadline shows which rule a case got."""
    rt.profile.sla["consultation"] = {"hours": 6}


def sms(client: Any, sid: str, body: str) -> str:
    form = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+8613800138001", "To": "+8610690000",
            "Body": body, "NumMedia": "0", "SmsStatus": "received"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/sms", form)
    assert client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}).status_code == 200
    return sid


def board(client: Any, post_id: str, title: str, text: str) -> str:
    resp = client.post("/api/v1/board/posts", json={"post_id": post_id, "title": title, "text": text})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case"]["number"]


def ticket(client: Any, **fields: Any) -> str:
    resp = client.post("/api/v1/hotline/tickets", json={**TICKET, **fields},
                       headers={"Authorization": "Bearer s3cret-main-token"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["case"]["number"]


def report_of(rt: Any, channel: str) -> Report:
    with Session(rt.engine) as session:
        return session.exec(select(Report).where(Report.channel == channel)).one()


def number_of(rt: Any, report: Report) -> str:
    from gateway.models import Case

    with Session(rt.engine) as session:
        found = session.get(Case, report.case_id)
        assert found is not None and found.number
        return found.number


def test_a_consultation_by_sms_is_guessed_marked_and_gets_the_consultation_deadline(app, client, rt, jobs,
                                                                                   consultation_in_six_hours):
    set_clock(app, 2026, 4, 27, 10)
    sms(client, "SM-Q1", QUESTION)
    jobs()
    report = report_of(rt, "sms")
    number = number_of(rt, report)
    assert report.appeal_type == "咨询" and case(rt, number).appeal_type == "咨询"
    assert report.extra["appeal_type_inferred"] is True and "请问" in report.extra["appeal_type_cues"]
    assert "appeal_type" not in report.extra  # the citizen's own word stays apart from ours
    [inferred] = events(rt, number, "appeal_type_inferred")
    assert inferred.data["appeal_type"] == "咨询" and 0 < inferred.data["confidence"] <= 1
    light = assignments(rt, number)["WH-LIGHT"]
    assert light.reason["sla"] == "consultation"
    assert local(light.due_at).hour == 16  # 10:00 + the profile's 6 hours, not the 1-2-unit rule's 24


def test_a_board_post_asking_a_question_gets_the_consultation_rule(app, client, rt, jobs, consultation_in_six_hours):
    set_clock(app, 2026, 4, 27, 10)
    number = board(client, "B-Q1", "咨询江岸区中山大道路灯维修时间", QUESTION)
    jobs()
    assert case(rt, number).appeal_type == "咨询"
    assert report_of(rt, "board").extra["appeal_type_inferred"] is True
    assert assignments(rt, number)["WH-LIGHT"].reason["sla"] == "consultation"


def test_a_board_complaint_is_guessed_a_complaint_and_keeps_the_one_or_two_unit_rule(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = board(client, "B-C1", "投诉江岸区中山大道路灯坏了没人修",
                   "江岸区中山大道888号路灯坏了一个月，反映多次，推诿不作为。")
    jobs()
    assert case(rt, number).appeal_type == "投诉"
    assert assignments(rt, number)["WH-LIGHT"].reason["sla"] == "single"


def test_a_hotline_tickets_own_type_wins_over_the_words_of_its_text(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    number = ticket(client, appeal_type="投诉")  # the operator heard a complaint, though the text asks a question
    jobs()
    report = report_of(rt, "hotline")
    assert case(rt, number).appeal_type == "投诉" and report.appeal_type == "投诉"
    assert "appeal_type_inferred" not in report.extra and not events(rt, number, "appeal_type_inferred")
    assert assignments(rt, number)["WH-LIGHT"].reason["sla"] == "single"


def test_a_hotline_ticket_without_a_type_is_not_guessed(client, rt):
    number = ticket(client, ticket_no="WH12345-20260427-000010")
    assert case(rt, number).appeal_type is None
    assert "appeal_type_inferred" not in report_of(rt, "hotline").extra


def test_with_the_guess_switched_off_a_question_by_sms_keeps_no_type_and_the_one_or_two_unit_rule(app, client, rt,
                                                                                                 jobs):
    rt.profile.city["infer_appeal_type"] = False
    set_clock(app, 2026, 4, 27, 10)
    sms(client, "SM-Q2", QUESTION)
    jobs()
    report = report_of(rt, "sms")
    number = number_of(rt, report)
    assert report.appeal_type is None and case(rt, number).appeal_type is None
    assert "appeal_type_inferred" not in report.extra and not events(rt, number, "appeal_type_inferred")
    assert assignments(rt, number)["WH-LIGHT"].reason["sla"] == "single"


def test_the_citys_own_name_of_a_type_in_a_web_report_counts_as_that_type(client, rt):
    resp = client.post("/api/v1/reports", json={"text": "我谏言在东湖绿道多设几个垃圾桶。"})
    assert resp.status_code == 201
    assert case(rt, resp.get_json()["case"]["number"]).appeal_type == "建议"  # wuhan.toml: 谏言 = "建议"


def test_a_switch_that_is_not_true_or_false_stops_start_up(tmp_path):
    from gateway.config import BUNDLED_PROFILE

    text = BUNDLED_PROFILE.read_text(encoding="utf-8").replace("infer_appeal_type = true", 'infer_appeal_type = "yes"')
    bad = tmp_path / "city.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="infer_appeal_type"):
        load_profile(bad)
    assert load_profile(BUNDLED_PROFILE).infer_appeal_type is True
