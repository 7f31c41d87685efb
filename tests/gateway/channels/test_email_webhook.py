"""The inbound mail webhook: shared secret, raw MIME and provider forms, threading, acknowledgements, refusals."""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import Case, Notification, Report, Unparsed

SECRET = "s3cret-inbound"
FIXTURES = Path(__file__).resolve().parents[2] / "adapters" / "fixtures" / "email"


@pytest.fixture
def config(config: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    return {**config, "INBOUND_MAIL_SECRET": SECRET, "SMTP_URL": relay["url"], "MAIL_FROM": "12345@example.wuhan.gov.cn",
            "MAIL_DOMAINS": ["example.wuhan.gov.cn"], "TWILIO_AUTH_TOKEN": "tok", "PUBLIC_BASE_URL": "https://h.example.cn"}


def mail(subject: str = "小区楼下餐馆油烟扰民", body: str = "武昌区积玉桥万达公馆楼下餐馆油烟直排，请处理。",
         sender: str = "li.nvshi@example.com", message_id: str = "<m1@example.com>", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"李女士 <{sender}>"
    msg["To"] = "12345@example.wuhan.gov.cn"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Sat, 28 Nov 2026 09:00:00 +0800"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def post_raw(client: Any, data: bytes, secret: str = SECRET, ctype: str = "message/rfc822") -> Any:
    return client.post(f"/webhooks/email?secret={secret}", data=data, content_type=ctype)


def test_a_raw_mail_opens_a_case_and_the_citizen_gets_a_threadable_mail_back(client, rt, relay, jobs):
    resp = post_raw(client, mail())
    assert resp.status_code == 201
    number = resp.get_json()["case"]
    jobs()
    [ack] = relay["messages"]
    assert ack["To"] == "li.nvshi@example.com" and number in ack["Subject"]
    assert ack["In-Reply-To"] == "<m1@example.com>"
    assert number in ack.get_content()
    # The citizen answers the acknowledgement: In-Reply-To our Message-ID threads onto the case.
    reply = mail(subject="Re: 补充", body="今天又开始了。", message_id="<m2@example.com>", In_Reply_To=ack["Message-ID"])
    again = post_raw(client, reply)
    assert (again.status_code, again.get_json()["case"]) == (201, number)


def test_a_replayed_mail_answers_200_and_is_acknowledged_once(client, rt, relay, jobs):
    assert post_raw(client, mail()).status_code == 201
    assert post_raw(client, mail(), ctype="application/octet-stream").status_code == 200
    jobs()
    assert len(relay["messages"]) == 1


@pytest.mark.parametrize("secret", ["", "wrong"])
def test_a_wrong_or_missing_secret_is_refused_with_403(client, rt, secret):
    resp = post_raw(client, mail(), secret=secret)
    assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "secret"


def test_the_secret_may_come_in_a_header(client):
    resp = client.post("/webhooks/email", data=mail(), content_type="message/rfc822", headers={"X-Hotline-Secret": SECRET})
    assert resp.status_code == 201


@pytest.mark.parametrize("name", ["auto_reply.eml", "bounce.eml"])
def test_auto_generated_mail_and_bounces_never_get_an_answer(client, rt, relay, jobs, name):
    resp = post_raw(client, (FIXTURES / name).read_bytes())
    assert resp.status_code in (201, 202)
    jobs()
    assert relay["messages"] == []


def test_a_bounce_is_kept_for_a_person_not_made_a_case(client, rt):
    resp = post_raw(client, (FIXTURES / "bounce.eml").read_bytes())
    assert resp.status_code == 202 and resp.get_json()["status"] == "unparsed"
    with Session(rt.engine) as session:
        assert session.exec(select(Case)).all() == []
        assert "delivery report" in session.exec(select(Unparsed)).one().error


def test_a_mail_from_our_own_domain_is_not_answered(client, rt, relay, jobs):
    assert post_raw(client, mail(sender="robot@example.wuhan.gov.cn")).status_code == 201
    jobs()
    assert relay["messages"] == []


def test_an_unknown_charset_still_becomes_a_report_with_the_defect_noted(client, rt):
    assert post_raw(client, (FIXTURES / "unknown_charset.eml").read_bytes()).status_code == 201
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    assert any(d.startswith("UnknownCharset") for d in report.defects)


@pytest.mark.parametrize("body", [b"\x00\x01\x02 garbage \xff\xfe", b"just some words, no headers at all\n\n"])
def test_a_garbage_body_is_kept_raw_with_202_and_never_500(client, rt, body):
    resp = post_raw(client, body)
    assert resp.status_code in (201, 202)
    if resp.status_code == 202:
        assert resp.get_json()["error"]["field"]
        with Session(rt.engine) as session:
            assert session.exec(select(Unparsed)).one().body == body


def test_an_empty_body_or_a_wrong_content_type_is_refused(client):
    assert post_raw(client, b"  ").status_code == 400
    resp = client.post(f"/webhooks/email?secret={SECRET}", json={"x": 1})
    assert resp.status_code == 415 and resp.get_json()["error"]["field"] == "Content-Type"


def test_a_mail_over_ten_megabytes_is_refused_with_413(client, rt):
    big = mail(body="路灯" * 10) + b"x" * (10 * 1024 * 1024)
    resp = post_raw(client, big)
    assert resp.status_code == 413 and resp.get_json()["error"]["field"] == "body"
    with Session(rt.engine) as session:
        assert session.exec(select(Report)).all() == []


def test_a_sendgrid_form_with_an_attachment_becomes_a_report(client, rt):
    data = {"from": "王先生 <wang@example.com>", "to": "12345@example.wuhan.gov.cn", "subject": "道路破损",
            "text": "汉阳区鹦鹉大道路面坑洼，车辆颠簸。", "headers": "Message-ID: <sg1@example.com>\nFrom: wang@example.com\n",
            "attachment-info": '{"attachment1": {"filename": "照片.jpg", "type": "image/jpeg"}}'}
    files = {"attachment1": (__import__("io").BytesIO(b"\xff\xd8jpegdata"), "photo.jpg")}
    resp = client.post(f"/webhooks/email?secret={SECRET}", data={**data, **files}, content_type="multipart/form-data")
    assert resp.status_code == 201
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    assert report.email == "wang@example.com" and report.external_id == "sg1@example.com"
    assert [(a["filename"], a["size"]) for a in report.attachments] == [("照片.jpg", 10)]


def test_a_mail_quoting_the_number_and_code_an_sms_answered_threads_onto_that_case(client, rt, relay, jobs):
    from twilio.request_validator import RequestValidator

    from tests.gateway.channels.test_sms_webhook import form, messages

    params = form("SM1", "武昌区积玉桥楼下餐馆油烟扰民")
    signature = RequestValidator("tok").compute_signature("https://h.example.cn/webhooks/twilio/sms", params)
    sms = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
    with Session(rt.engine) as session:
        case = session.exec(select(Case)).one()
    assert case.number in messages(sms)[0]
    code = re.search(r"查询码([A-Z0-9]{6})", messages(sms)[0]).group(1)  # type: ignore[union-attr]
    # The mail comes from an address the gateway has not linked to the phone: the code proves it is theirs.
    resp = post_raw(client, mail(subject=f"工单{case.number}补充照片", body=f"查询码{code}。附上照片，油烟还是很大。"))
    assert (resp.status_code, resp.get_json()["case"]) == (201, case.number)
    jobs()
    [ack] = relay["messages"]  # the mail is answered by mail, the SMS was answered by SMS
    assert case.number in ack.get_content() and "并入" in ack.get_content()
    with Session(rt.engine) as session:
        assert session.exec(select(Notification.channel).where(Notification.kind == "ack")).all() == ["email"]
        assert [r.link for r in session.exec(select(Report).order_by(Report.id))] == ["new", "thread"]


def test_attachments_are_written_under_the_data_folder_with_names_that_cannot_escape(client, rt, app):
    from email.message import EmailMessage
    from pathlib import Path

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "li@example.com", "12345@example.wuhan.gov.cn", "井盖缺失"
    msg["Message-ID"] = "<att1@example.com>"
    msg.set_content("江汉区新华路井盖缺失，见附件照片。")
    msg.add_attachment(b"\x89PNGdata", maintype="image", subtype="png", filename="../../../etc/现场照片.png")
    msg.add_attachment(b"x" * 64, maintype="application", subtype="octet-stream", filename="..\\..\\big.bin")
    rt.settings = replace(rt.settings, max_attachment_bytes=32)
    resp = post_raw(client, msg.as_bytes())
    assert resp.status_code == 201
    with Session(rt.engine) as session:
        report = session.exec(select(Report)).one()
    photo, big = report.attachments
    assert photo["path"] == f"attachments/{report.id}/01-现场照片.png"
    data_dir = Path(rt.settings.data_dir).resolve()
    assert (data_dir / photo["path"]).read_bytes() == b"\x89PNGdata"
    assert "path" not in big and "larger than 32 bytes" in big["not_kept"]
    written = [p for p in data_dir.rglob("*") if p.is_file() and "attachments" in p.parts]
    assert [p.relative_to(data_dir).as_posix() for p in written] == [photo["path"]]


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "01-passwd"), ("..\\..\\win.ini", "01-win.ini"), (".hidden", "01-hidden"),
    ("a/b/c d.pdf", "01-c_d.pdf"), ("", "01-attachment"), (None, "01-attachment"), ("报告.docx", "01-报告.docx"),
])
def test_attachment_names_lose_every_path_part(name, safe):
    from gateway.intake.attachments import safe_name

    assert safe_name(name, 1) == safe


def test_a_mail_is_stored_in_one_commit_and_its_jobs_are_in_redis_when_it_is_answered(client, rt):
    from sqlalchemy import event

    from gateway.models import Outbox

    commits: list[int] = []
    event.listen(rt.engine, "commit", lambda conn: commits.append(1))
    assert post_raw(client, mail()).status_code == 201
    assert len(commits) == 1  # report, contact, case, event, notification and outbox rows together
    with Session(rt.engine) as session:
        rows = session.exec(select(Outbox).order_by(Outbox.id)).all()  # type: ignore[arg-type]
    assert [r.func for r in rows] == ["dispatch_case", "deliver"]
    assert all(r.enqueued_at is not None and r.attempts == 1 and r.last_error is None for r in rows)
    assert all(rt.broker.job_exists(r.job_id) for r in rows)
    assert (rt.broker.queue("dispatch").count, rt.broker.queue("deliver").count) == (1, 1)
