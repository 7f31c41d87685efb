"""A case with an SMS, an e-mail and a private board reporter, for the reply and follow-up tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.channels.mail_inbound import process_message
from gateway.models import Case
from tests.gateway.channels.test_email_webhook import mail
from tests.gateway.channels.test_sms_webhook import PUBLIC, TOKEN, form, post
from tests.gateway.messaging.test_delivery_sms_email import SID, TwilioEdge
from tests.kits.dispatch_kit import assignments, report, set_clock

PHONE = "+8613800138001"
EMAIL = "li.nvshi@example.com"


@pytest.fixture
def config(config: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    return {**config, "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+8610690000",
            "PUBLIC_BASE_URL": PUBLIC, "SMTP_URL": relay["url"], "MAIL_FROM": "12345@example.wuhan.gov.cn",
            "MAIL_DOMAINS": ["example.wuhan.gov.cn"]}


@pytest.fixture
def twilio(rt: Any) -> TwilioEdge:
    edge = TwilioEdge()
    rt.twilio_http_client = edge
    return edge


def sms(client: Any, sid: str, body: str, sender: str = PHONE) -> Any:
    return post(client, form(sid, body, sender=sender))


def three_reporters(app: Any, client: Any, rt: Any, jobs: Any) -> str:
    """One street light case reported by SMS (twice, the second quoting the number), and by two other people who
    describe the same light (joined by dedupe: a quoted number threads only for a reporter the case has) by
    e-mail and on the board (private)."""
    set_clock(app, 2026, 4, 27, 9)
    assert sms(client, "SM1", "江岸区中山大道888号路灯不亮，晚上很黑").status_code == 200
    with Session(rt.engine) as session:
        number = session.exec(select(Case.number)).one()
    set_clock(app, 2026, 4, 27, 9, 30)
    assert sms(client, "SM2", f"{number} 补充：是888号门口那根灯杆").status_code == 200
    outcome = process_message(rt, mail(subject="路灯不亮", body="江岸区中山大道888号路灯不亮，晚上很黑，我也看到了。",
                                       sender=EMAIL, message_id="<citizen-1@example.com>"), EMAIL, ["12345@example.wuhan.gov.cn"])
    assert outcome.case_number == number
    assert report(client, text="江岸区中山大道888号路灯还是不亮，晚上很黑", public=False) == number
    jobs()
    return number


def lead_replies(client: Any, rt: Any, jobs: Any, number: str, text: str = "经现场核查，已更换灯具，路灯恢复照明。") -> None:
    lead = assignments(rt, number)["WH-LIGHT"]
    resp = client.post(f"/api/v1/assignments/{lead.id}/reply", json={"text": text})
    assert resp.status_code == 200, resp.get_json()
    jobs()
