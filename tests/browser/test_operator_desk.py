"""The operator's desk in a real browser at 1366x768: a consultation answered from the knowledge base and closed on
the call (即时办), and a call attached to the caller's open case with the keyboard alone, the suggestions beside
the fields without scrolling."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway.intake.ingest import ingest
from gateway.messaging import knowledge
from gateway.models import Case, Event, KnowledgeEntry, Reply, Report
from tests.browser.conftest import log_in
from tests.conftest import make_user

SCREEN = {"width": 1366, "height": 768}
ANSWER = "携带身份证到社保经办机构或合作银行网点办理挂失和补卡，当场可领临时卡。"


def in_view(page: Page, selector: str) -> bool:
    """The element is on the screen as it opened: nothing scrolled, its box inside the viewport."""
    return bool(page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    return window.scrollY === 0 && r.top >= 0 && r.left >= 0 && r.height > 0
                           && r.bottom <= window.innerHeight && r.right <= window.innerWidth; }""", selector))


def asked(response: Any, path: str, field: str, value: str) -> bool:
    """The response answers `path` with `field` set to `value` in its query."""
    url = urlsplit(response.url)
    return url.path.endswith(path) and parse_qs(url.query).get(field) == [value]


def focused(page: Page) -> dict[str, Any]:
    return page.evaluate("() => ({id: document.activeElement.id, text: document.activeElement.textContent,"
                         " value: document.activeElement.value, cls: document.activeElement.className})")


def test_an_operator_closes_a_consultation_on_the_call_with_a_knowledge_base_answer(app, rt, live_server, browser,
                                                                                    shots):
    with Session(rt.engine) as session:
        entry = KnowledgeEntry(title="社保卡丢了怎么补办", text=ANSWER, category="labour", created_by="user:office")
        session.add(entry)
        session.flush()
        knowledge.put_entry(session, entry)
        session.commit()
    make_user(app, "operator", username="huawu1", password="operator-password")
    page = browser.new_page(viewport=SCREEN, locale="zh-CN")
    log_in(page, live_server, "huawu1", "operator-password")
    page.goto(f"{live_server}/operator/")
    expect(page.locator("#caller_number")).to_be_focused()  # the form opens on the caller's number
    page.keyboard.type("13800138001")
    for _ in range(3):  # 来电人, 话务员工号, 诉求内容
        page.keyboard.press("Tab")
    assert focused(page)["id"] == "content"
    said = "社保卡丢了，请问去哪里补办？"
    # both lists answer the whole text last (typing slowly, a part of it may have answered first)
    with page.expect_response(lambda r: asked(r, "/operator/knowledge", "q", said)), \
            page.expect_response(lambda r: asked(r, "/operator/suggest", "text", said)):
        page.keyboard.type(said)
    pick = page.locator("#knowledge-list button.pick").first
    expect(pick).to_be_visible()
    expect(page.locator("#knowledge-list")).to_contain_text("社保卡丢了怎么补办")
    expect(page.locator("#suggestion-list h3")).to_have_count(2)
    assert in_view(page, "#knowledge") and in_view(page, "#suggestions")
    page.select_option("#appeal_type", "咨询")
    page.keyboard.press("F4")  # to the knowledge base's first answer
    assert "pick" in focused(page)["cls"] and focused(page)["text"] == "采用"
    page.keyboard.press("Enter")  # take it: the answer field is filled, the category follows the answer's
    assert focused(page)["id"] == "answer" and focused(page)["value"] == ANSWER
    assert page.eval_on_selector("#category", "e => e.options[e.selectedIndex].text") == "劳动社保"
    primary = page.eval_on_selector("#save", "e => getComputedStyle(e).backgroundColor")
    assert primary == "rgb(29, 78, 216)"  # the console's primary button, not the browser's default
    shots(page, "50-operator-knowledge-answer")
    page.keyboard.press("Alt+Enter")  # 即时办结
    expect(page.locator(".notice")).to_contain_text("已即时办结")
    shots(page, "51-operator-closed-on-the-call")
    with Session(rt.engine) as session:
        case = session.exec(select(Case)).one()
        reply = session.exec(select(Reply)).one()
        marked = session.exec(select(Event).where(Event.kind == "closed_on_call")).one()
    assert (case.status, case.closed_on_call, case.appeal_type, case.category) == ("closed", True, "咨询", "labour")
    assert (reply.kind, reply.text) == ("explanation", ANSWER)
    assert marked.data["knowledge_answer_id"] is not None
    page.close()


def test_an_operator_attaches_a_call_to_the_callers_open_case_with_the_keyboard(app, rt, live_server, browser,
                                                                               shots):
    first = ingest(rt, InboundReport(channel="hotline", external_id="OP-first", phone="13800138001",
                                     text="江岸区中山大道888号附近路灯连续三晚不亮", address="江岸区中山大道888号"))
    number = first.case.number
    make_user(app, "operator", username="huawu2", password="operator-password")
    page = browser.new_page(viewport=SCREEN, locale="zh-CN")
    log_in(page, live_server, "huawu2", "operator-password")
    page.goto(f"{live_server}/operator/")
    expect(page.locator("#caller_number")).to_be_focused()
    page.keyboard.type("138 0013 8001")  # the number as the caller says it
    expect(page.locator(f"#suggestion-list button.pick[value='{number}']")).to_be_visible()
    assert in_view(page, "#suggestions")  # beside the fields, not below the fold
    for _ in range(3):
        page.keyboard.press("Tab")
    with page.expect_response(lambda r: "/operator/suggest" in r.url and "text=%E4" in r.url):
        page.keyboard.type("中山大道888号的路灯还是不亮，催一下")
    expect(page.locator(f"#suggestion-list button.pick[value='{number}']")).to_be_visible()
    shots(page, "52-operator-suggestion-beside-the-form")
    page.keyboard.press("F2")  # to the suggested case
    assert focused(page)["text"] == f"关联到工单 {number}"
    page.keyboard.press("Enter")  # attach
    expect(page.locator(".notice")).to_contain_text("已关联到在办工单")
    expect(page.locator(".case-number")).to_have_text(number)
    with Session(rt.engine) as session:
        rows = session.exec(select(Report).where(Report.case_id == first.case.id)).all()
        case = session.get(Case, first.case.id)
    assert len(rows) == 2 and case.report_count == 2 and not case.closed_on_call
    page.close()
