"""The Twilio SMS webhook: signatures, replays, keywords, threading, segments and the pending case choice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from gateway import create_app
from gateway.models import Case, Contact, Identity, Report, SmsMessage, Unparsed

TOKEN = "test-twilio-token"
PUBLIC = "https://hotline.example.cn"
PHONE = "+8613800138001"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+8610690000", "PUBLIC_BASE_URL": PUBLIC}


def form(sid: str, body: str, sender: str = PHONE, **more: str) -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+8610690000",
            "Body": body, "NumMedia": "0", "SmsStatus": "received", **more}


def post(client: Any, params: dict[str, str], path: str = "/webhooks/twilio/sms", base: str = PUBLIC,
         token: str = TOKEN, **kwargs: Any) -> Any:
    signature = RequestValidator(token).compute_signature(base + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}, **kwargs)


def messages(resp: Any) -> list[str]:
    from xml.etree import ElementTree

    return [m.text or "" for m in ElementTree.fromstring(resp.data).iter("Message")]


def cases(rt: Any) -> list[Case]:
    with Session(rt.engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)).all())


def test_a_signed_text_opens_a_case_and_answers_its_number_and_code_in_twiml(client, rt):
    resp = post(client, form("SM1", "江岸区中山大道888号路灯三天不亮"))
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    [case] = cases(rt)
    [text] = messages(resp)
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    assert case.number in text and report.retrieval_code in text and "已受理" in text
    with Session(rt.engine) as session:
        assert (report.channel, report.phone, report.external_id) == ("sms", PHONE, "SM1")


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_a_bad_or_missing_signature_is_refused_with_403_and_nothing_stored(client, rt, signature):
    resp = client.post("/webhooks/twilio/sms", data=form("SM1", "路灯不亮"), headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["field"] == "X-Twilio-Signature"
    assert cases(rt) == []


def test_a_request_signed_with_another_token_or_url_is_refused(client, rt):
    assert post(client, form("SM1", "路灯不亮"), token="other-token").status_code == 403
    assert post(client, form("SM1", "路灯不亮"), base="http://localhost").status_code == 403
    assert cases(rt) == []


def test_a_retried_delivery_returns_the_same_answer_and_stores_nothing_new(client, rt):
    first = post(client, form("SM1", "路灯不亮"))
    again = post(client, form("SM1", "路灯不亮"))
    assert messages(first) == messages(again)
    with Session(rt.engine) as session:
        assert len(session.exec(select(Report)).all()) == 1


def test_a_status_callback_is_ignored_with_200(client, rt):
    callback = {"MessageSid": "SM9", "MessageStatus": "delivered", "To": PHONE, "From": "+8610690000"}
    assert post(client, callback).status_code == 200
    assert post(client, callback, path="/webhooks/twilio/status").status_code == 200
    assert cases(rt) == []


def test_an_mms_keeps_its_media_as_attachments_to_fetch(client, rt):
    params = form("MM1", "井盖丢了", NumMedia="2", MediaUrl0="https://api.twilio.com/media/ME1",
                  MediaContentType0="image/jpeg", MediaUrl1="https://api.twilio.com/media/ME2",
                  MediaContentType1="image/png")
    assert post(client, params).status_code == 200
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    assert [(a["url"], a["content_type"]) for a in report.attachments] == [
        ("https://api.twilio.com/media/ME1", "image/jpeg"), ("https://api.twilio.com/media/ME2", "image/png")]


def test_a_signed_but_unusable_form_is_kept_raw_for_a_person(client, rt):
    resp = post(client, form("SM1", "", NumMedia="abc"))
    assert resp.status_code == 202
    assert resp.get_json()["error"]["field"] == "NumMedia"
    with Session(rt.engine) as session:
        kept = session.exec(select(Unparsed)).one()
    assert kept.channel == "sms" and b"MessageSid=SM1" in kept.body
    assert cases(rt) == []


def test_stop_opts_the_contact_out_and_later_texts_get_no_sms_answer_until_start(client, rt):
    assert "退订" in messages(post(client, form("SM1", "TD")))[0]
    with Session(rt.engine) as session:
        identity = session.exec(select(Identity).where(Identity.value == PHONE)).one()
        assert session.get(Contact, identity.contact_id).opted_out_sms is True
    resp = post(client, form("SM2", "路灯不亮"))
    assert messages(resp) == [] and len(cases(rt)) == 1  # the report is taken, but no SMS goes out
    assert "恢复" in messages(post(client, form("SM3", "订阅")))[0]
    with Session(rt.engine) as session:
        assert session.get(Contact, identity.contact_id).opted_out_sms is False


def test_help_is_answered_with_the_profile_help_message(client, rt):
    assert messages(post(client, form("SM1", "帮助"))) == [rt.profile.message("help")]
    assert cases(rt) == []


def test_a_text_quoting_its_senders_case_number_threads_onto_that_case(client, rt):
    post(client, form("SM1", "路灯不亮"))
    [case] = cases(rt)
    _age(rt, 2 * 86400)  # past the SMS thread window: the quoted number alone threads it
    resp = post(client, form("SM2", f"工单{case.number}还没修好"))
    assert messages(resp) == [rt.profile.message("ack_threaded", number=case.number)]
    assert len(cases(rt)) == 1


def test_a_stranger_quoting_a_case_number_gets_a_case_and_code_of_their_own(client, rt):
    post(client, form("SM1", "路灯不亮"))
    [case] = cases(rt)
    resp = post(client, form("SM2", f"工单{case.number}还没修好", sender="+8613900000000"))
    [text] = messages(resp)
    assert "您的诉求已受理" in text and case.number not in text
    with Session(rt.engine) as session:
        first = session.exec(select(Report).where(Report.external_id == "SM1")).one()
    assert first.retrieval_code not in text and len(cases(rt)) == 2


def _age(rt: Any, seconds: float) -> None:
    """Move every stored report and case back in time, as if the texts came earlier."""
    from datetime import timedelta

    with Session(rt.engine) as session:
        for row in [*session.exec(select(Report)).all(), *session.exec(select(Case)).all()]:
            if isinstance(row, Report):
                row.received_at = row.received_at - timedelta(seconds=seconds)
            else:
                row.last_report_at = row.last_report_at - timedelta(seconds=seconds)
            session.add(row)
        session.commit()


def test_segments_within_the_window_join_into_one_case_without_a_second_answer(client, rt):
    first = post(client, form("SM1", "(1/2)江岸区中山大道888号附近的路灯已经连续"))
    second = post(client, form("SM2", "(2/2)三天晚上不亮了，请尽快维修。"))
    assert len(messages(first)) == 1 and messages(second) == []
    [case] = cases(rt)
    assert case.summary == "江岸区中山大道888号附近的路灯已经连续三天晚上不亮了，请尽快维修。"
    with Session(rt.engine) as session:
        assert [r.extra.get("sms_link") for r in session.exec(select(Report).order_by(Report.id))] == [None, "segment"]


def test_a_later_text_from_a_number_with_one_open_case_threads_onto_it(client, rt):
    post(client, form("SM1", "路灯不亮"))
    _age(rt, 3600)
    resp = post(client, form("SM2", "今晚还是不亮"))
    [case] = cases(rt)
    assert messages(resp) == [rt.profile.message("ack_threaded", number=case.number)]


def test_with_several_open_cases_the_sender_is_asked_and_the_stored_choice_attaches_the_message(app, rt, config):
    rt.settings = replace(rt.settings, sms_thread_hours=0)  # open two separate cases first
    client = app.test_client()
    post(client, form("SM1", "路灯不亮"))
    _age(rt, 60)
    post(client, form("SM2", "楼下餐馆油烟扰民"))
    _age(rt, 60)
    first, second = cases(rt)
    rt.settings = replace(rt.settings, sms_thread_hours=24)
    ask = messages(post(client, form("SM3", "还是没人处理")))
    assert len(ask) == 1 and first.number in ask[0] and second.number in ask[0] and "3. 新诉求" in ask[0]
    with Session(rt.engine) as session:
        pending = session.exec(select(SmsMessage).where(SmsMessage.kind == "pending")).one()
        assert pending.state == "pending"
    # A fresh app (another process) reads the pending choice from the database.
    other = create_app(config).test_client()
    order = 1 if ask[0].index(first.number) < ask[0].index(second.number) else 2
    answer = messages(post(other, form("SM4", f"{order}")))
    assert answer == [rt.profile.message("ack_threaded", number=first.number)]
    with Session(rt.engine) as session:
        report = session.exec(select(Report).where(Report.external_id == "SM3")).one()
        assert report.case_id == first.id
        assert session.exec(select(SmsMessage).where(SmsMessage.sid == "SM3")).one().state == "done"
    assert messages(post(other, form("SM4", f"{order}"))) == answer  # a retried choice answers the same


def test_choosing_the_last_option_opens_a_new_case(app, rt):
    rt.settings = replace(rt.settings, sms_thread_hours=0)
    client = app.test_client()
    post(client, form("SM1", "路灯不亮"))
    _age(rt, 60)
    post(client, form("SM2", "油烟扰民"))
    _age(rt, 60)
    rt.settings = replace(rt.settings, sms_thread_hours=24)
    post(client, form("SM3", "还有件事想反映一下"))
    answer = messages(post(client, form("SM4", "3")))
    assert len(cases(rt)) == 3
    assert cases(rt)[-1].number in answer[0] and "已受理" in answer[0]


def test_the_signature_is_checked_against_the_forwarded_url_only_when_the_proxy_is_trusted(config):
    base = {**config, "PUBLIC_BASE_URL": None}
    params = form("SM1", "路灯不亮")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.cn"}
    trusted = create_app({**base, "TRUST_PROXY": True}).test_client()
    signature = RequestValidator(TOKEN).compute_signature("https://sms.example.cn/webhooks/twilio/sms", params)
    headers = {"X-Twilio-Signature": signature, **forwarded}
    assert trusted.post("/webhooks/twilio/sms", data=params, headers=headers).status_code == 200
    untrusted = create_app({**base, "TRUST_PROXY": False}).test_client()
    assert untrusted.post("/webhooks/twilio/sms", data=params, headers=headers).status_code == 403


def test_a_text_naming_another_problem_or_place_is_not_threaded_by_the_time_window(client, rt):
    post(client, form("SM1", "雄楚大道关山口那段路灯不亮"))
    _age(rt, 3600)
    other_problem = messages(post(client, form("SM2", "还有个事 雄楚大道关山口公交站旁边井盖没了 晚上很危险")))
    _age(rt, 3600)
    other_place = messages(post(client, form("SM3", "珞喻路那段路灯也不亮")))
    _age(rt, 3600)
    chase = messages(post(client, form("SM4", "关山口的路灯今晚还是不亮")))
    light, manhole, road = cases(rt)
    assert rt.profile.message("ack_threaded", number=light.number) not in other_problem + other_place
    assert manhole.number in other_problem[0] and road.number in other_place[0]
    # A chase about the lights, naming no road: asked which of the two light cases, never the manhole's
    assert light.number in chase[0] and road.number in chase[0] and manhole.number not in chase[0]
