"""Voice through Twilio, without a menu: signed with Twilio's RequestValidator, a Mandarin greeting chosen by the
calendar, the recording stored once per call with a call-back on the phone work list, and its words added later
(Twilio's transcription or an operator who listened), when dedupe runs unless a person handled the case."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway import create_app
from gateway.intake.ingest import ingest
from gateway.models import CallItem, Case, MergeRecord, Report, Unparsed
from tests.conftest import logged_in
from tests.gateway.channels.test_sms_webhook import config, post  # noqa: F401  (config: Twilio's token, our public URL)
from tests.kits.dispatch_kit import events, set_clock

CALL = "CA" + "1" * 32
RECORDING = "RE" + "2" * 32
CALLER = "+8613800138001"
LIGHT = "江岸区中山大道888号路灯不亮，晚上很黑"


def call_form(sid: str = CALL, caller: str = CALLER, **more: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": "+8610690000",
            "CallStatus": "in-progress", "Direction": "inbound", **more}


def recording_form(sid: str = CALL, caller: str = CALLER, seconds: str = "35") -> dict[str, str]:
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{RECORDING if sid == CALL else 'RE' + sid[2:]}"
    return call_form(sid, caller, RecordingUrl=url, RecordingDuration=seconds, Digits="hangup")


def twiml(resp: Any) -> ElementTree.Element:
    assert resp.status_code == 200 and resp.mimetype == "application/xml", resp.get_data(as_text=True)
    return ElementTree.fromstring(resp.data)


def said(root: ElementTree.Element) -> list[str]:
    return [s.text or "" for s in root.iter("Say")]


def voice_reports(rt: Any) -> list[Report]:
    with Session(rt.engine) as session:
        return list(session.exec(select(Report).where(Report.channel == "voice")).all())


def call_items(rt: Any) -> list[CallItem]:
    with Session(rt.engine) as session:
        return list(session.exec(select(CallItem)).all())


def test_a_signed_call_is_greeted_in_mandarin_and_recorded_at_once_without_a_menu(app, client, rt):
    set_clock(app, 2026, 4, 27, 10)  # a Monday, within the calling hours
    root = twiml(post(client, call_form(), path="/webhooks/twilio/voice"))
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]  # no <Gather>: no menu
    greeting = root.find("Say")
    assert greeting is not None and greeting.get("language") == "zh-CN"
    assert greeting.text == rt.profile.message("voice_greeting")
    record = root.find("Record")
    assert record is not None and record.get("action") == "/webhooks/twilio/voice/recording"
    assert record.get("maxLength") == "120" and record.get("transcribe") is None  # HOTLINE_VOICE_TRANSCRIPTION=none


@pytest.mark.parametrize(("moment", "key"), [((2026, 5, 1, 10), "voice_holiday"),  # 劳动节
                                             ((2026, 4, 27, 22), "voice_after_hours"),
                                             ((2026, 5, 9, 10), "voice_greeting"),  # Saturday worked (调休上班)
                                             ((2026, 5, 10, 10), "voice_after_hours")])  # an ordinary Sunday
def test_after_hours_and_holiday_greetings_come_from_the_calendar(app, client, rt, moment, key):
    set_clock(app, *moment)
    assert said(twiml(post(client, call_form(), path="/webhooks/twilio/voice")))[0] == rt.profile.message(key)


@pytest.mark.parametrize("path", ["/webhooks/twilio/voice", "/webhooks/twilio/voice/recording",
                                  "/webhooks/twilio/voice/transcription"])
def test_a_bad_signature_is_refused_and_nothing_stored(client, rt, path):
    resp = client.post(path, data=recording_form(), headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "X-Twilio-Signature"
    assert post(client, recording_form(), path=path, token="another-token").status_code == 403
    assert voice_reports(rt) == [] and call_items(rt) == []


def test_a_signed_recording_becomes_a_voice_report_with_a_call_back_and_a_replay_stores_nothing_twice(
        app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    first = post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    assert said(twiml(first)) == [rt.profile.message("voice_thanks")]
    again = post(client, recording_form(), path="/webhooks/twilio/voice/recording")  # Twilio retried
    assert again.data == first.data
    [report] = voice_reports(rt)
    assert (report.external_id, report.phone, report.text, report.title) == (CALL, CALLER, "", "语音留言（35秒）")
    assert report.extra["recording_sid"] == RECORDING and report.recording_url.endswith(RECORDING)
    assert report.call_id == CALL  # the same columns as a pushed ticket's call (the case page plays it)
    [item] = call_items(rt)
    assert (item.kind, item.why, item.phone, item.report_id) == ("callback", "voice", CALLER, report.id)
    with Session(rt.engine) as session:
        stored = session.get_one(Case, report.case_id)
        assert stored.channel == "voice" and stored.number in item.script and report.retrieval_code in item.script
    jobs()
    operator = logged_in(app, "operator")
    page = operator.get("/operator/calls").get_data(as_text=True)
    assert "留言回电" in page and "<audio" not in page  # api.twilio.com is not in HOTLINE_RECORDING_HOSTS here


def test_the_call_list_plays_a_voice_message_only_from_an_allowed_host(app, client, rt, config):  # noqa: F811
    # The call list embedded any stored recording_url; the case page honours HOTLINE_RECORDING_HOSTS, and a host
    # taken off the list must stop being embedded in every staff page at once.
    set_clock(app, 2026, 4, 27, 10)
    post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    assert "<audio" not in logged_in(app, "operator").get("/operator/calls").get_data(as_text=True)
    allowed = create_app({**config, "RECORDING_HOSTS": ("api.twilio.com",)})
    with allowed.app_context():
        page = logged_in(allowed, "operator").get("/operator/calls").get_data(as_text=True)
        assert re.findall(r'<audio[^>]*src="([^"]+)"', page) == [recording_form()["RecordingUrl"]]
    allowed.extensions["hotline"].engine.dispose()


def test_nothing_recorded_stores_nothing_and_a_broken_callback_is_kept_for_a_person(app, client, rt):
    set_clock(app, 2026, 4, 27, 10)
    assert post(client, recording_form(seconds="0"), path="/webhooks/twilio/voice/recording").status_code == 200
    assert voice_reports(rt) == []
    bad = post(client, call_form(), path="/webhooks/twilio/voice/recording")  # no RecordingUrl
    assert bad.status_code == 202 and bad.get_json()["error"]["field"] == "RecordingUrl"
    with Session(rt.engine) as session:
        assert [u.channel for u in session.exec(select(Unparsed)).all()] == ["voice"]


def transcription_form(text: str, status: str = "completed") -> dict[str, str]:
    return {**recording_form(), "RecordingSid": RECORDING, "TranscriptionSid": "TR" + "3" * 32,
            "TranscriptionText": text, "TranscriptionStatus": status}


def test_twilio_transcription_adds_the_words_and_dedupe_then_joins_the_callers_open_case(app, client, rt, jobs):
    rt.settings = rt.settings.overridden({"VOICE_TRANSCRIPTION": "twilio"})
    set_clock(app, 2026, 4, 27, 10)
    earlier = ingest(rt, InboundReport(channel="hotline", external_id="T-1", text=LIGHT, phone=CALLER))
    record = twiml(post(client, call_form(), path="/webhooks/twilio/voice")).find("Record")
    assert record is not None and record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == "/webhooks/twilio/voice/transcription"
    post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    [report] = voice_reports(rt)
    assert report.case_id != earlier.case.id  # no words yet: nothing to compare, a case of its own
    resp = post(client, transcription_form(LIGHT + "，请尽快修"), path="/webhooks/twilio/voice/transcription")
    assert resp.status_code == 200 and resp.get_json() == {"status": "added", "case": earlier.case.number,
                                                           "dedupe": "attach"}
    [report] = voice_reports(rt)
    assert report.text == LIGHT + "，请尽快修" and report.extra["transcript"]["source"] == "twilio"
    assert report.case_id == earlier.case.id  # folded into the caller's open case
    with Session(rt.engine) as session:
        [merge] = session.exec(select(MergeRecord)).all()
        assert (merge.survivor_case_id, merge.status, merge.origin) == (earlier.case.id, "applied", "auto")
    again = post(client, transcription_form(LIGHT + "，请尽快修"), path="/webhooks/twilio/voice/transcription")
    assert again.get_json()["status"] == "known"
    assert len(events(rt, str(earlier.case.number), "transcript_added")) == 1


def test_words_that_come_after_a_person_handled_the_case_skip_dedupe(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    earlier = ingest(rt, InboundReport(channel="hotline", external_id="T-1", text=LIGHT, phone=CALLER))
    post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    [report] = voice_reports(rt)
    number = case_number(rt, report.case_id)
    office = logged_in(app, "office")
    assert office.post(f"/api/v1/cases/{number}/urgency", json={"urgent": True}).status_code == 200
    resp = post(client, transcription_form(LIGHT), path="/webhooks/twilio/voice/transcription")
    assert resp.get_json()["dedupe"] == "skipped"
    [report] = voice_reports(rt)
    assert report.text == LIGHT and report.case_id != earlier.case.id


def test_a_failed_transcription_leaves_the_message_to_a_person(app, client, rt):
    set_clock(app, 2026, 4, 27, 10)
    post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    resp = post(client, transcription_form("", status="failed"), path="/webhooks/twilio/voice/transcription")
    assert resp.get_json() == {"status": "failed"}
    [report] = voice_reports(rt)
    assert report.text == "" and events(rt, case_number(rt, report.case_id), "transcript_failed")
    unknown = post(client, {**transcription_form("路灯"), "CallSid": "CA" + "9" * 32},
                   path="/webhooks/twilio/voice/transcription")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["field"] == "CallSid"


def test_an_operator_who_listened_types_the_words_on_the_call_back_and_dedupe_runs(app, client, rt, jobs):
    set_clock(app, 2026, 4, 27, 10)
    earlier = ingest(rt, InboundReport(channel="hotline", external_id="T-1", text=LIGHT, phone=CALLER))
    post(client, recording_form(), path="/webhooks/twilio/voice/recording")
    [item] = call_items(rt)
    operator = logged_in(app, "operator")
    assert operator.post(f"/api/v1/calls/{item.id}/claim").status_code == 200
    resp = operator.post(f"/api/v1/calls/{item.id}/outcome", json={"outcome": "已告知", "words": LIGHT + "，已三天"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "done"
    [report] = voice_reports(rt)
    assert report.extra["transcript"] == {**report.extra["transcript"], "source": "operator", "by": operator.user.actor}
    assert report.case_id == earlier.case.id


def case_number(rt: Any, case_id: int | None) -> str:
    with Session(rt.engine) as session:
        return str(session.get_one(Case, case_id).number)
