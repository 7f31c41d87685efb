"""Every page of the app has a screenshot taken by a browser test; the pages no other flow visits are visited
here, and the photo flow (the office approves a mailed photo; the board and the reporter's look-up show it)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Locator, expect
from sqlmodel import Session, select

from gateway.models import KnowledgeEntry, MergeRecord, Reply, Report
from tests.browser.conftest import PAGES, log_in
from tests.conftest import PATIENCE, make_user
from tests.kits.case_kit import add_assignment, add_case, merged_case

# GET routes that are not pages, each with the reason. A route under one of these prefixes is a machine's.
NOT_PAGE_PREFIXES = {
    "/api/": "the JSON API (described in gateway/data/openapi.json, checked by schemathesis)",
    "/open311/": "Open311 GeoReport v2: JSON and XML for machines",
    "/webhooks/": "provider webhooks (Twilio, inbound mail)",
    "/static/": "the stylesheet",
    "/healthz": "liveness, JSON",
    "/readyz": "readiness, JSON",
}
NOT_PAGES = {
    "home": "a redirect: staff to their start page, everyone else to the board",
    "console.cases_csv": "a download (the case ledger as CSV), tested in tests/browser/test_flows.py",
    "console.cases_xlsx": "a download (the case ledger as XLSX), tested in tests/browser/test_flows.py",
    "console.photo": "an image (a photo's thumbnail), shown on the case page below",
    "console.attachment": "a download (an attachment as received)",
    "board.photo": "an image (an approved photo), shown on the board below",
    "board.own_photo": "an image (the reporter's own photo), shown on their look-up below",
}


def page_endpoints(app: Any) -> dict[str, str]:
    """Every GET route's endpoint that is a page, with its rule."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(tuple(NOT_PAGE_PREFIXES)):
            continue
        if rule.endpoint not in NOT_PAGES:
            found[rule.endpoint] = rule.rule
    return found



def loaded_width(img: Locator) -> int:
    """The image's natural width once the browser is done with it (0 if it is broken). The pages' photos load
    lazily, after the page: wait until the image is complete, never read it at once."""
    img.scroll_into_view_if_needed()
    img.page.wait_for_function("img => img.complete", arg=img.element_handle(), timeout=PATIENCE * 1000)
    return img.evaluate("img => img.naturalWidth")

def test_every_page_route_has_a_screenshot_taken_by_a_browser_test(app):
    pages = page_endpoints(app)
    assert len(pages) >= 15
    missing = {endpoint: rule for endpoint, rule in pages.items() if endpoint not in PAGES.values()}
    assert not missing, f"pages without a screenshot (add a browser test and a PAGES entry): {missing}"
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(PAGES.values()) <= endpoints and set(NOT_PAGES) <= endpoints, "a PAGES or NOT_PAGES entry is stale"
    sources = "".join(path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py"))
    taken = set(re.findall(r'shots\(page, "([^"]+)"\)', sources))
    assert taken == set(PAGES), f"screenshots taken but not in PAGES: {taken - set(PAGES)}; " \
                                f"in PAGES but taken by no test: {set(PAGES) - taken}"


def test_the_staff_pages_no_flow_visits_have_their_screenshots(app, rt, live_server, browser, shots):
    m = merged_case(rt)
    with Session(rt.engine, expire_on_commit=False) as db:
        other = add_case(db, "WH20260301-000003", title="中山大道路灯闪烁", summary="中山大道890号路灯一闪一闪",
                         status="new")
        report = Report(case_id=other.id, channel="sms", text="中山大道890号路灯一闪一闪", retrieval_code="Q2W3E4")
        db.add(report)
        db.flush()
        db.add(MergeRecord(survivor_case_id=m.survivor.id, absorbed_case_id=other.id, report_id=report.id,
                           status="proposed", origin="auto", score=0.71, rule="same_problem",
                           reasons=[{"label": "同一道路：中山大道"}, {"label": "文本相似度 0.55"}]))
        add_case(db, "WH20260301-000004", title="楼道里有异味", summary="不知道该找哪个部门", status="triage",
                 category=None)
        db.add(Reply(case_id=m.survivor.id, assignment_id=m.assignment.id, department_id=m.assignment.department_id,
                     role="lead", text="已安排人员维修中山大道888号路灯。", status="pending", written_by="light"))
        late = add_case(db, "WH20260301-000005", title="井盖缺失", summary="解放大道井盖缺失")
        add_assignment(db, late, "WH-WATER", due_in=-timedelta(hours=5), supervision_level=2)
        db.commit()
    make_user(app, "admin", username="guanli", password="admin-password")
    make_user(app, "operator", username="huawu", password="operator-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page.goto(f"{live_server}/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    shots(page, "30-login")
    log_in(page, live_server, "guanli", "admin-password")

    def visit(path: str, expected: str) -> None:
        page.goto(f"{live_server}{path}")
        expect(page.locator("main")).to_contain_text(expected)

    visit("/console/users", "guanli")
    shots(page, "31-console-users")
    visit("/console/merges", "同一道路：中山大道")
    shots(page, "32-console-merge-proposals")
    visit("/console/triage", "楼道里有异味")
    shots(page, "33-console-triage")
    visit("/console/replies", "已安排人员维修中山大道888号路灯")
    shots(page, "34-console-replies")
    visit("/console/supervision", "井盖缺失")
    shots(page, "35-console-supervision")
    visit("/console/operator", "打开受理表单")
    shots(page, "36-console-operator-home")
    with Session(rt.engine, expire_on_commit=False) as db:
        entry = KnowledgeEntry(title="社保卡丢了怎么补办", text="携带身份证到社保经办机构办理挂失和补卡。", category="labour",
                               created_by="user:guanli")
        db.add(entry)
        db.commit()
    visit("/console/knowledge", "社保卡丢了怎么补办")
    shots(page, "44-console-knowledge")
    visit(f"/console/knowledge/{entry.id}", "携带身份证到社保经办机构办理挂失和补卡")
    shots(page, "45-console-knowledge-entry")
    page.close()

    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "huawu", "operator-password")
    page.goto(f"{live_server}/operator/")
    expect(page.locator("textarea[name=content]")).to_be_visible()
    shots(page, "37-operator-entry")
    page.close()


def test_a_citizen_opens_a_public_post_and_the_empty_look_up_form(rt, live_server, browser, shots):
    m = merged_case(rt)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{live_server}/board/cases/{m.survivor.number}")
    expect(page.locator("article.post h2")).to_have_text("中山大道路灯不亮")
    shots(page, "38-board-case")
    page.goto(f"{live_server}/board/lookup")
    expect(page.locator("input[name=code]")).to_be_visible()
    shots(page, "39-board-lookup-form")
    page.close()


def _photo(color: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (800, 600), color)
    image.paste((250, 250, 250), (300, 200, 500, 400))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_office_approves_a_mailed_photo_and_the_board_and_the_reporters_look_up_show_it(
        app, rt, client, live_server, browser, shots):
    from dataclasses import replace

    rt.settings = replace(rt.settings, inbound_mail_secret="browser-mail-secret")
    rt.profile.city["public_channels"] = ["email"]  # this city publishes mailed reports
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "王五 <wang.wu@example.com>", "12345@example.wuhan.gov.cn", "路灯不亮"
    mail["Message-ID"] = "<browser-photo@example.com>"
    mail.set_content("江岸区中山大道888号路灯不亮，附两张照片。")
    mail.add_attachment(_photo((30, 60, 160)), maintype="image", subtype="jpeg", filename="路灯1.jpg")
    mail.add_attachment(_photo((160, 60, 30)), maintype="image", subtype="jpeg", filename="门牌.jpg")
    mail.add_attachment(b"%PDF-1.4 not a photo", maintype="application", subtype="pdf", filename="说明.pdf")
    resp = client.post("/webhooks/email", data=mail.as_bytes(), content_type="message/rfc822",
                       headers={"X-Hotline-Secret": "browser-mail-secret"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = resp.get_json()["case"]
    with Session(rt.engine) as db:
        code = db.exec(select(Report.retrieval_code).where(Report.channel == "email")).one()
    make_user(app, "admin", username="guanli", password="admin-password")  # the office's work, and the audit log

    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "guanli", "admin-password")
    page.goto(f"{live_server}/console/cases/{number}")
    photos = page.locator("figure.photo")
    expect(photos).to_have_count(2)
    for i in range(2):
        expect(photos.nth(i).locator("img")).to_be_visible()
        assert loaded_width(photos.nth(i).locator("img")) == 480  # the thumbnail
        expect(photos.nth(i).locator(".badge")).to_have_text("待审核")
    expect(page.locator("p.attachment")).to_contain_text("说明.pdf")  # kept, offered as a download, not shown
    shots(page, "40-console-case-photos")
    photos.nth(0).get_by_role("button", name="公开到留言板").click()
    expect(page.locator(".flash-ok")).to_contain_text("照片已公开到留言板")
    page.locator("figure.photo").nth(1).get_by_role("button", name="不公开").click()
    expect(page.locator("figure.photo").nth(0).locator(".badge")).to_have_text("已公开")
    expect(page.locator("figure.photo").nth(1).locator(".badge")).to_have_text("不公开")
    expect(page.locator("ul.events")).to_contain_text("照片审核")
    shots(page, "41-console-photo-approved")
    page.goto(f"{live_server}/console/audit")
    expect(page.locator("table.audit")).to_contain_text("审核照片")
    page.close()

    page = browser.new_page(viewport={"width": 360, "height": 740}, locale="zh-CN", is_mobile=True)
    page.goto(f"{live_server}/board/cases/{number}")
    board_photos = page.locator("article.post figure.photo img")
    expect(board_photos).to_have_count(1)  # the approved one only
    assert loaded_width(board_photos.first) > 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
    shots(page, "42-board-case-photo")

    page.goto(f"{live_server}/board/lookup")
    page.fill("input[name=number]", number)
    page.fill("input[name=code]", code)
    page.click("button:has-text('查询')")
    own = page.locator("section.own-photos figure.photo")
    expect(own).to_have_count(2)  # the reporter sees both of their photos, with the office's decision
    expect(own.nth(0)).to_contain_text("已公开")
    expect(own.nth(1)).to_contain_text("不公开")
    for i in range(2):
        assert loaded_width(own.nth(i).locator("img")) > 0
    shots(page, "43-board-lookup-own-photo")
    page.close()
