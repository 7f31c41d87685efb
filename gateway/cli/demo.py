"""`hotline demo`: every channel into a throw-away gateway, and what became of it."""

from __future__ import annotations

import json
from typing import Any

import click

from gateway.cli.common import build_app

DEMO_CSRF = "demo-csrf"


def _demo_operator_session(app: Any, client: Any) -> None:
    """Log the demo's client in as the operator `demo-operator` (created on first use with a random password)."""
    import secrets

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


def _demo_channels(app: Any, client: Any) -> list[str]:
    """Send one message on each further channel (board, pushed ticket, operator form, Open311); return the numbers."""
    import re
    import secrets
    from dataclasses import replace

    rt = app.extensions["hotline"]
    token, key = secrets.token_hex(16), secrets.token_hex(16)
    rt.settings = replace(rt.settings, system_tokens={**rt.settings.system_tokens, "demo": token},
                          open311_api_keys=(*rt.settings.open311_api_keys, key))
    _demo_operator_session(app, client)
    numbers = []
    resp = client.post("/api/v1/board/posts", json=DEMO_BOARD_POST)
    numbers.append(resp.get_json()["case"]["number"])
    click.echo(f"board {resp.status_code} -> {numbers[-1]} {DEMO_BOARD_POST['title']}")
    resp = client.post("/api/v1/hotline/tickets", json=DEMO_TICKET, headers={"Authorization": f"Bearer {token}"})
    numbers.append(resp.get_json()["case"]["number"])
    click.echo(f"push  {resp.status_code} -> {numbers[-1]} ticket {DEMO_TICKET['ticket_no']}")
    hints = client.get("/api/v1/operator/suggest", query_string={"phone": DEMO_OPERATOR_ENTRY["caller_number"]}).get_json()
    entry = dict(DEMO_OPERATOR_ENTRY)
    if hints["caller_cases"]:  # the caller already has an open case: attach, as an operator would
        entry["attach_to"] = hints["caller_cases"][0]["number"]
    resp = client.post("/operator/", data={**entry, "csrf_token": DEMO_CSRF})
    found = re.search(r'class="case-number">([^<]+)<', resp.get_data(as_text=True))
    numbers.append(found.group(1) if found else "?")
    click.echo(f"desk  {resp.status_code} -> {numbers[-1]} ({'attached' if 'attach_to' in entry else 'new'})")
    resp = client.post("/open311/v2/requests.json", data={"api_key": key, **DEMO_OPEN311})
    numbers.append(resp.get_json()[0]["service_request_id"])
    click.echo(f"311   {resp.status_code} -> {numbers[-1]} {DEMO_OPEN311['description']}")
    return numbers


@click.command()
@click.option("--wait", default=10.0, show_default=True, help="seconds to wait for the workers to dispatch")
def demo(wait: float) -> None:
    """Send a realistic stream of citizen messages through every channel and print the cases."""
    import time

    from sqlmodel import Session, col, select

    from gateway.models import Assignment, Case
    from gateway.views import presenters

    app = build_app()
    client = app.test_client()
    numbers = []
    for post in DEMO_WEB_POSTS:
        resp = client.post("/api/v1/reports", json=post)
        body = resp.get_json()
        numbers.append(body["case"]["number"])
        click.echo(f"web   {resp.status_code} -> {body['case']['number']} ({body['link']}) {post['title']}")
    rt = app.extensions["hotline"]
    numbers.extend(_demo_channels(app, client))
    deadline = time.monotonic() + wait
    with Session(rt.engine) as session:
        while time.monotonic() < deadline:
            cases = session.exec(select(Case).where(col(Case.number).in_(numbers))).all()
            if all(session.exec(select(Assignment).where(Assignment.case_id == c.id)).first() for c in cases):
                break
            time.sleep(0.5)
            session.expire_all()
        for number in dict.fromkeys(numbers):
            case = session.exec(select(Case).where(Case.number == number)).one()
            with app.app_context():  # the JSON shape names the category's national class from the app's profile
                detail = presenters.case_detail(session, case)
            depts = ", ".join(f"{a['department_name']}({a['role']})" for a in detail["assignments"]) or "not dispatched yet"
            click.echo(json.dumps({"number": number, "status": case.status, "category": case.category,
                                   "reports": len(detail["reports"]), "departments": depts}, ensure_ascii=False))


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


DEMO_BOARD_POST: dict[str, Any] = {
    "post_id": "DEMO-BOARD-0001", "unit": "江汉区人民政府", "topic": "市容环卫", "title": "常青花园垃圾站异味",
    "text": "<p>常青花园三小区垃圾站<b>长期不清运</b>，夏天异味很大。</p><script>alert(1)</script>",
    "address": "江汉区常青花园三小区", "user": "江城市民", "anonymous": True, "public": True,
}
DEMO_TICKET: dict[str, Any] = {
    "ticket_no": "DEMO-12345-0001", "caller_number": "027-85551234", "caller_name": "李女士", "appeal_type": "投诉",
    "content": "来电人反映：汉阳区钟家村某餐馆油烟直排，影响楼上住户正常生活。", "address": "汉阳区钟家村汉阳大道88号",
    "district": "汉阳区", "operator_id": "A0317", "urgency": "一般",
}
DEMO_OPERATOR_ENTRY: dict[str, str] = {
    "ticket_no": "OP-DEMO-0001", "caller_number": "13800138001", "caller_name": "张先生", "appeal_type": "投诉",
    "content": "中山大道888号路灯还是不亮，已经反映过。", "address": "江岸区中山大道888号", "operator_id": "A0101",
    "urgency": "一般", "action": "create",
}
DEMO_OPEN311: dict[str, str] = {
    "service_code": "street_light", "lat": "30.5928", "long": "114.3055", "address_string": "江岸区解放大道1号",
    "description": "解放大道1号门口路灯白天常亮", "attribute[FAULT]": "daylight", "attribute[POLE_NO]": "JA-0421",
}
