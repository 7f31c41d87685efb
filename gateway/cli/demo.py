"""`hotline demo`: a realistic stream of messages on every channel into the running gateway, and what became of it.

The demo builds its own app in this process against the same database and Redis as the running gateway (the
environment names them), and sends through that app's real views with Flask's test client: the webhooks check
their signatures and secrets, intake stores the reports and queues the jobs, and the running gateway's workers
dispatch them. The credentials the channels need (a Twilio auth token to sign the texts, the inbound-mail
secret, a call-centre token, an Open311 key) are random values minted for this run and set only in this
process's own settings: they never reach the database, Redis or the running gateway, which keeps refusing them.

Every look at the database is a short transaction of its own: on SQLite a transaction held open while polling
would keep the workers from writing.
"""

from __future__ import annotations

import io
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import click

from gateway.cli.common import build_app

DEMO_CSRF = "demo-csrf"
SMS_PATH = "/webhooks/twilio/sms"


@dataclass(frozen=True)
class DemoSecrets:
    """The credentials of one demo run: random, in this process only."""

    twilio_token: str
    mail_secret: str
    system_token: str
    open311_key: str

    @classmethod
    def mint(cls) -> DemoSecrets:
        return cls(*(f"demo-{secrets.token_urlsafe(24)}" for _ in range(4)))


def demo_app() -> tuple[Any, DemoSecrets]:
    """The demo's own app (same database and Redis as the running gateway) holding this run's secrets."""
    app = build_app()
    rt = app.extensions["hotline"]
    minted = DemoSecrets.mint()
    rt.settings = replace(rt.settings, twilio_auth_token=minted.twilio_token, inbound_mail_secret=minted.mail_secret,
                          system_tokens={**rt.settings.system_tokens, "demo": minted.system_token},
                          open311_api_keys=(*rt.settings.open311_api_keys, minted.open311_key))
    return app, minted


def signed_sms(app: Any, client: Any, token: str, params: dict[str, str]) -> Any:
    """Post a text to the Twilio webhook signed with Twilio's own RequestValidator, as Twilio does."""
    from twilio.request_validator import RequestValidator

    base = app.extensions["hotline"].settings.public_base_url or "http://localhost"  # the test client's host
    signature = RequestValidator(token).compute_signature(base.rstrip("/") + SMS_PATH, params)
    return client.post(SMS_PATH, data=params, headers={"X-Twilio-Signature": signature})


def demo_photo() -> bytes:
    """A small JPEG as a phone takes it: EXIF with the camera, the place and a rotation (orientation 6)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), (22, 26, 48))
    draw = ImageDraw.Draw(image)
    draw.rectangle((220, 60, 236, 340), fill=(120, 120, 130))  # the pole
    draw.rectangle((180, 50, 300, 72), fill=(90, 90, 100))  # the dark lamp
    draw.ellipse((20, 20, 60, 60), fill=(230, 230, 200))  # the moon
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to show upright
    exif[0x010F] = "DemoPhone"  # Make
    exif[0x9286] = "张先生 13800138001"  # a user comment with personal data, which must not survive
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def demo_mail(sender: str, name: str, subject: str, text: str, message_id: str, photo: bytes | None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = "12345@example.wuhan.gov.cn"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = message_id
    mail.set_content(text)
    if photo is not None:
        mail.add_attachment(photo, maintype="image", subtype="jpeg", filename="路灯.jpg")
    return mail.as_bytes()


def _demo_operator_session(app: Any, client: Any) -> None:
    """Log the demo's client in as the operator `demo-operator` (created on first use with a random password)."""
    from sqlmodel import Session, select

    from gateway.models import User
    from gateway.trust.auth import create_user

    rt = app.extensions["hotline"]
    with Session(rt.engine, expire_on_commit=False) as db:
        user = db.exec(select(User).where(User.username == "demo-operator")).first()
        if user is None:
            user = create_user(db, "demo-operator", secrets.token_urlsafe(16), "operator", display_name="演示话务员")
            db.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()  # Flask-Login's session key
        sess["csrf"] = DEMO_CSRF


def _number_of(app: Any, channel: str, external_id: str) -> str:
    """The case number a report with this provider id went to (its own short transaction)."""
    from sqlmodel import Session, select

    from gateway.models import Case, Report

    with Session(app.extensions["hotline"].engine) as db:
        report = db.exec(select(Report).where(Report.channel == channel, Report.external_id == external_id)).first()
        case = db.get(Case, report.case_id) if report is not None and report.case_id is not None else None
        return case.number or "?" if case is not None else "?"


def send_all(app: Any, minted: DemoSecrets) -> list[str]:
    """Send every demo message through its channel; print one line each; return the case numbers."""
    client = app.test_client()
    numbers: list[str] = []

    def sent(channel: str, status: int, number: str, what: str) -> None:
        numbers.append(number)
        click.echo(f"{channel:<6} {status} -> {number} {what}")

    for post in DEMO_WEB_POSTS:
        resp = client.post("/api/v1/reports", json=post)
        body = resp.get_json()
        sent("web", resp.status_code, body["case"]["number"],
             f"({body['report']['link']}, code {body['case']['retrieval_code']}) {post['title']}")
    for params in DEMO_TEXTS:
        resp = signed_sms(app, client, minted.twilio_token, params)
        sent("sms", resp.status_code, _number_of(app, "sms", params["MessageSid"]), params["Body"])
    photo = demo_photo()
    for mail in DEMO_MAILS:
        raw = demo_mail(photo=photo if mail["photo"] else None, **{k: v for k, v in mail.items() if k != "photo"})
        resp = client.post("/webhooks/email", data=raw, content_type="message/rfc822",
                           headers={"X-Hotline-Secret": minted.mail_secret})
        sent("email", resp.status_code, _number_of(app, "email", mail["message_id"].strip("<>")),
             f"{mail['subject']}{'（附照片）' if mail['photo'] else ''}")
    resp = client.post("/api/v1/board/posts", json=DEMO_BOARD_POST)
    sent("board", resp.status_code, resp.get_json()["case"]["number"], DEMO_BOARD_POST["title"])
    resp = client.post("/api/v1/hotline/tickets", json={"tickets": DEMO_TICKETS},
                       headers={"Authorization": f"Bearer {minted.system_token}"})
    for item in resp.get_json()["results"]:
        sent("push", item["status"], item["case"]["number"], f"ticket {item['ticket_no']}")
    _demo_operator_session(app, client)
    hints = client.get("/api/v1/operator/suggest", query_string={"phone": DEMO_OPERATOR_ENTRY["caller_number"]}).get_json()
    entry = dict(DEMO_OPERATOR_ENTRY)
    if hints["caller_cases"]:  # the caller already has an open case: attach, as an operator would
        entry["attach_to"] = hints["caller_cases"][0]["number"]
    resp = client.post("/operator/", data={**entry, "csrf_token": DEMO_CSRF})
    sent("desk", resp.status_code, _number_of(app, "hotline", entry["ticket_no"]),
         f"({'attached' if 'attach_to' in entry else 'new'}) {entry['content']}")
    resp = client.post("/open311/v2/requests.json", data={"api_key": minted.open311_key, **DEMO_OPEN311})
    sent("311", resp.status_code, resp.get_json()[0]["service_request_id"], DEMO_OPEN311["description"])
    return numbers


@dataclass
class Outcome:
    number: str
    status: str
    category: str | None
    channels: list[str]
    reports: int
    departments: list[str]
    photos: int


def look(app: Any, numbers: list[str]) -> list[Outcome]:
    """Where each number's case stands now: one short transaction, closed before the caller sleeps."""
    from sqlmodel import Session, col, select

    from gateway.intake.ingest import find_by_number
    from gateway.models import Assignment, Department, Report

    found: dict[str, Outcome] = {}
    with Session(app.extensions["hotline"].engine) as db:
        for number in numbers:
            case = find_by_number(db, number)
            if case is None or case.number in found:
                continue
            reports = db.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.id))).all()
            units = db.exec(select(Assignment, Department).join(Department)
                            .where(Assignment.case_id == case.id).order_by(col(Assignment.id))).all()
            found[case.number or number] = Outcome(
                number=case.number or number, status=case.status, category=case.category,
                channels=list(dict.fromkeys(r.channel for r in reports)), reports=len(reports),
                departments=[f"{d.name} ({a.role})" for a, d in units],
                photos=sum(1 for r in reports for a in r.attachments or [] if a.get("thumb")))
    return list(found.values())


@click.command()
@click.option("--wait", default=180.0, show_default=True,
              help="seconds to wait for the running gateway's workers to dispatch every case")
def demo(wait: float) -> None:
    """Send a realistic stream of citizen messages through every channel and print what became of them.

    Start the gateway first (`hotline run`): its workers dispatch the cases this command creates."""
    app, minted = demo_app()
    numbers = send_all(app, minted)
    deadline = time.monotonic() + wait
    while True:
        outcomes = look(app, numbers)
        waiting = [o for o in outcomes if not o.departments]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    click.echo("")
    for o in outcomes:
        units = ", ".join(o.departments) or "not dispatched yet"
        click.echo(f"{o.number}  {o.category or '-'}  {o.reports} report(s)  [{' '.join(o.channels)}]  -> {units}")
    across = [o for o in outcomes if len(o.channels) > 1]
    click.echo("")
    click.echo("merged across channels:" if across else "no case merged across channels")
    for o in across:
        click.echo(f"  {o.number}: {o.reports} reports by {', '.join(o.channels)}"
                   f"{f'; {o.photos} photo(s), shown on the board once the office approves each' if o.photos else ''}")
    first = across[0].number if across else numbers[0]
    click.echo("")
    click.echo("where to look, on the running gateway (http://127.0.0.1:8000 by default):")
    click.echo(f"  /console/cases/{first}  the case with every channel's report and its photo to approve "
               "(office staff: `hotline user create --admin NAME` first)")
    click.echo("  /board/  the public board;  /board/lookup  a citizen's own case, with a number and code above")
    click.echo("  /workbench/  a unit's queue (`hotline user create --role department --department WH-LIGHT NAME`)")
    if waiting:
        raise click.ClickException(f"{len(waiting)} case(s) not dispatched within {wait:.0f} s "
                                   f"({', '.join(o.number for o in waiting)}): is `hotline run` running?")


DEMO_WEB_POSTS: list[dict[str, Any]] = [
    {"title": "中山大道路灯不亮", "text": "江岸区中山大道888号附近的路灯已经连续三天晚上不亮了，夜里很黑，行人很不安全。",
     "name": "张先生", "phone": "13800138001", "address": "江岸区中山大道888号"},
    {"title": "小区楼下餐馆油烟扰民", "text": "武昌区积玉桥街道万达公馆小区临街门面的餐馆油烟直排，噪音大，严重扰民，希望环保部门处理。",
     "name": "李女士", "email": "li.nvshi@example.com", "address": "武昌区积玉桥万达公馆"},
    {"title": "咨询孩子入学政策", "text": "请问今年洪山区小学入学需要准备哪些材料？户口在外地可以入学吗？",
     "phone": "+86 139 0013 9002"},
    {"title": "公司拖欠工资", "text": "我在东西湖区一家物流公司上班，公司已经拖欠工资三个月了，请劳动部门帮忙。",
     "phone": "027-85551234"},
    {"title": "路灯还是不亮", "text": "中山大道888号附近路灯依然不亮，上次反映后还没有人来修。",
     "phone": "138 0013 8001"},
]
DEMO_TEXTS: list[dict[str, str]] = [
    {"MessageSid": "SMDEMO00000000000000000000000001", "AccountSid": "AC" + "0" * 32, "From": "+8613700137003",
     "To": "+8610690000", "Body": "江岸区中山大道888号的路灯还是不亮，晚上很黑", "NumMedia": "0", "SmsStatus": "received"},
]
DEMO_MAILS: list[dict[str, Any]] = [
    {"sender": "wang.wu@example.com", "name": "王五", "subject": "中山大道888号路灯不亮",
     "text": "您好，江岸区中山大道888号附近的路灯不亮已经好几天了，晚上很黑，请尽快维修。附上照片。\n王五",
     "message_id": "<demo-mail-0001@example.com>", "photo": True},
    {"sender": "li.nvshi@example.com", "name": "李女士", "subject": "万达公馆楼下餐馆油烟",
     "text": "武昌区积玉桥万达公馆小区临街餐馆油烟还是直排，晚上噪音也大，请环保部门尽快处理。\n李女士",
     "message_id": "<demo-mail-0002@example.com>", "photo": False},
]
DEMO_BOARD_POST: dict[str, Any] = {
    "post_id": "DEMO-BOARD-0001", "unit": "武汉市城市照明管理处", "topic": "城市建设", "title": "中山大道888号路灯坏了",
    "text": "<p>江岸区中山大道888号一带路灯<b>不亮</b>好几天了，晚上走路很危险。</p><script>alert(1)</script>",
    "address": "江岸区中山大道888号", "user": "江城市民", "anonymous": True, "public": True,
}
DEMO_TICKETS: list[dict[str, Any]] = [
    {"ticket_no": "DEMO-12345-0001", "caller_number": "13600136006", "caller_name": "赵女士", "appeal_type": "投诉",
     "content": "来电人反映：江岸区中山大道888号附近路灯不亮，晚上很黑，存在安全隐患。", "address": "江岸区中山大道888号",
     "district": "江岸区", "operator_id": "A0317", "urgency": "一般"},
    {"ticket_no": "DEMO-12345-0002", "caller_number": "13500135005", "caller_name": "刘先生", "appeal_type": "投诉",
     "content": "来电人反映：汉阳区钟家村某餐馆油烟直排，影响楼上住户正常生活。", "address": "汉阳区钟家村汉阳大道88号",
     "district": "汉阳区", "operator_id": "A0317", "urgency": "一般"},
]
DEMO_OPERATOR_ENTRY: dict[str, str] = {
    "ticket_no": "OP-DEMO-0001", "caller_number": "13800138001", "caller_name": "张先生", "appeal_type": "投诉",
    "content": "中山大道888号路灯还是不亮，已经反映过。", "address": "江岸区中山大道888号", "operator_id": "A0101",
    "urgency": "一般", "action": "create",
}
DEMO_OPEN311: dict[str, str] = {
    "service_code": "street_light", "lat": "30.5928", "long": "114.3055", "address_string": "江岸区解放大道1号",
    "description": "解放大道1号门口路灯白天常亮", "attribute[FAULT]": "daylight", "attribute[POLE_NO]": "JA-0421",
}
