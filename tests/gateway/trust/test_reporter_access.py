"""Per-reporter access (trust issue, 1): a retrieval code belongs to the reporter whose request created the
report; quoting a case number or writing a look-alike text never hands over another reporter's code."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from gateway.models import Notification, Report
from tests.kits.dispatch_kit import case

PRIVATE = {"title": "私下反映", "text": "江岸区中山大道888号小区地下车库漏水严重，业主张三13800138001。",
           "phone": "13800138001", "name": "张三", "public": False}


def post(client: Any, body: dict[str, Any], path: str = "/api/v1/reports") -> dict[str, Any]:
    resp = client.post(path, json=body)
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


def lookup(client: Any, number: str, code: str) -> Any:
    page = client.get("/board/lookup").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post("/board/lookup", data={"number": number, "code": code, "csrf_token": token})


def test_quoting_a_private_case_number_neither_threads_nor_returns_its_code(client, rt):
    owner = post(client, PRIVATE)
    number, code = owner["case"]["number"], owner["case"]["retrieval_code"]
    for path, body in [("/api/v1/reports", {"text": f"我也要补充 {number} 的情况"}),
                       ("/api/v1/board/posts", {"post_id": "ATTACK-1", "text": f"我也要补充 {number} 的情况"})]:
        answer = client.post(path, json=body)
        assert code not in answer.get_data(as_text=True), path
        got = answer.get_json()
        assert got["case"]["number"] != number and got["report"]["link"] != "thread", path
    assert case(rt, number).report_count == 1


def test_the_board_forms_thanks_page_shows_only_the_posters_own_code(client, rt):
    owner = post(client, PRIVATE)
    number, code = owner["case"]["number"], owner["case"]["retrieval_code"]
    form = client.get("/board/post").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    thanks = client.post("/board/post", data={"post_id": "F-ATTACK", "text": f"我也要补充 {number} 的情况",
                                              "title": "补充", "public": "0",
                                              "csrf_token": token})
    assert thanks.status_code == 201 and code not in thanks.get_data(as_text=True)


def test_a_look_alike_report_joins_the_case_with_its_own_code_and_sees_only_its_own_words(client, rt):
    owner = post(client, PRIVATE)
    number, code = owner["case"]["number"], owner["case"]["retrieval_code"]
    twin = post(client, {"title": "车库漏水", "text": "江岸区中山大道888号小区地下车库漏水严重，好几天了没人管。",
                         "phone": "13900139002", "public": False})
    assert twin["case"]["number"] == number  # dedupe joined the same matter: one case, two reporters
    mine = twin["case"]["retrieval_code"]
    assert mine and mine != code and code not in str(twin)
    # The newcomer's code opens the case's status and their own words, not the first reporter's.
    page = lookup(client, number, mine).get_data(as_text=True)
    assert "好几天了没人管" in page and "张三" not in page and "13800138001" not in page and "车库漏水严重，业主" not in page
    # The first reporter's code still opens their own report.
    page = lookup(client, number, code).get_data(as_text=True)
    assert "业主张三" in page or "业主张*" in page


def test_the_same_reporter_quoting_their_own_number_still_threads(client, rt):
    owner = post(client, PRIVATE)
    number = owner["case"]["number"]
    again = post(client, {"text": f"关于 {number}：今天车库漏水更严重了", "phone": "13800138001", "public": False})
    assert again["case"]["number"] == number and again["report"]["link"] == "thread"
    assert again["case"]["retrieval_code"] != owner["case"]["retrieval_code"]  # each report its own code
    with Session(rt.engine) as session:
        codes = session.exec(select(Report.retrieval_code).where(Report.case_id == case(rt, number).id)).all()
    assert len(set(codes)) == 2


def test_a_replay_answers_with_the_same_code(client):
    body = {**PRIVATE, "external_id": "EXT-77"}
    first, again = post(client, body), post(client, body)
    assert first["case"]["retrieval_code"] == again["case"]["retrieval_code"]


def test_a_reply_reaches_the_first_reporter_as_written_and_every_other_reporter_masked(app, client, rt, jobs):
    from tests.conftest import logged_in
    from tests.kits.dispatch_kit import assignments

    owner = post(client, {**PRIVATE, "text": "江岸区中山大道888号小区地下车库漏水严重。"})
    number = owner["case"]["number"]
    twin = post(client, {"title": "车库漏水", "text": "江岸区中山大道888号小区地下车库漏水严重，好几天了没人管。",
                         "phone": "13900139002", "public": False})
    assert twin["case"]["number"] == number
    jobs()
    lead = next(a for a in assignments(rt, number).values() if a.role == "lead")
    unit = logged_in(app, "department", next(code for code, a in assignments(rt, number).items() if a.id == lead.id))
    reply = "已联系张三（13800138001）到现场查看，车库漏水点已封堵。"
    assert unit.post(f"/api/v1/assignments/{lead.id}/reply", json={"text": reply}).status_code == 200
    jobs()
    with Session(rt.engine) as session:
        sent = {r.phone: n.body for n, r in session.exec(
            select(Notification, Report).join(Report, Report.contact_id == Notification.contact_id)  # type: ignore[arg-type]
            .where(Notification.kind == "reply")).all()}
    assert reply in sent["+8613800138001"]  # the first reporter, as written
    other = sent["+8613900139002"]
    assert "13800138001" not in other and "张三" not in other and "138****8001" in other
