"""The SMTP listener, spoken to with smtplib: recipients, size limit, threading, acknowledgements, `hotline parse email`."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlmodel import Session, select

from bench.common import free_port
from gateway.channels.smtp_listener import _process_message, listener
from gateway.models import Case, Report, Unparsed
from tests.conftest import PATIENCE, ROOT
from tests.gateway.channels.test_email_webhook import FIXTURES, mail


@pytest.fixture
def config(config: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    return {**config, "SMTP_URL": relay["url"], "MAIL_FROM": "12345@example.wuhan.gov.cn",
            "MAIL_DOMAINS": ["example.wuhan.gov.cn"], "MAIL_MAX_BYTES": 200_000}


@pytest.fixture
def smtp_port(rt: Any) -> Iterator[int]:
    port = free_port()
    server = listener(rt, "127.0.0.1", port)
    server.start()
    yield port
    server.stop()


def send(port: int, data: bytes, to: str = "12345@example.wuhan.gov.cn", sender: str = "li.nvshi@example.com") -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        return client.sendmail(sender, [to], data)


def test_a_mail_sent_over_smtp_opens_a_case_and_is_acknowledged_by_mail(rt, smtp_port, relay, jobs):
    assert send(smtp_port, mail()) == {}
    with Session(rt.engine) as session:
        case = session.exec(select(Case)).one()
        report = session.exec(select(Report)).one()
    assert report.extra["envelope"] == {"transport": "smtp", "mail_from": "li.nvshi@example.com",
                                        "rcpt_tos": ["12345@example.wuhan.gov.cn"]}
    jobs()
    [ack] = relay["messages"]
    assert case.number in ack["Subject"] and ack["To"] == "li.nvshi@example.com"


def test_an_unknown_recipient_is_refused_with_550_at_rcpt(rt, smtp_port):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        send(smtp_port, mail(), to="someone@elsewhere.example")
    assert info.value.recipients["someone@elsewhere.example"][0] == 550


def test_a_mail_over_the_size_limit_is_refused_with_552_and_nothing_stored(rt, smtp_port):
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as info:
        send(smtp_port, mail() + b"x" * 300_000)
    assert info.value.smtp_code == 552
    with Session(rt.engine) as session:
        assert session.exec(select(Report)).all() == [] and session.exec(select(Unparsed)).all() == []


def test_a_reply_with_the_case_number_in_the_subject_threads_onto_the_case(rt, smtp_port):
    send(smtp_port, mail())
    with Session(rt.engine) as session:
        number = session.exec(select(Case)).one().number
    send(smtp_port, mail(subject=f"Re: [{number}] 油烟", body="还是很大", message_id="<m2@example.com>"))
    with Session(rt.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
        assert [r.link for r in session.exec(select(Report).order_by(Report.id))] == ["new", "thread"]


def test_a_bounce_over_smtp_is_accepted_kept_for_a_person_and_not_answered(rt, smtp_port, relay, jobs):
    send(smtp_port, (FIXTURES / "bounce.eml").read_bytes(), sender="")
    jobs()
    with Session(rt.engine) as session:
        assert session.exec(select(Case)).all() == []
        assert session.exec(select(Unparsed)).one().channel == "email"
    assert relay["messages"] == []


def test_process_message_answers_250_for_garbage_and_keeps_it(rt):
    answer = _process_message(rt, b"\x00\xff not a mail", "x@example.com", ["12345@example.wuhan.gov.cn"])
    assert answer.startswith("250")
    with Session(rt.engine) as session:
        rows = session.exec(select(Report)).all() + session.exec(select(Unparsed)).all()
    assert len(rows) == 1


def test_hotline_parse_email_prints_one_json_line_per_file_and_goes_on_after_a_bad_one(tmp_path: Path):
    good = FIXTURES / "attachment_rfc2231.eml"
    missing = tmp_path / "missing.eml"
    empty = FIXTURES / "empty.eml"
    proc = subprocess.run([sys.executable, "-m", "gateway.cli", "parse", "email", str(good), str(missing), str(empty)],
                          capture_output=True, text=True, timeout=PATIENCE, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(missing), str(empty)]
    assert lines[0]["sender"]["email"] and lines[0]["attachments"][0]["size"] > 0
    assert set(lines[0]) >= {"subject", "text", "thread", "defects"}
    assert lines[1]["error"]["field"] == "file" and lines[2]["error"]["field"] == "body"
