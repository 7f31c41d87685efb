"""The main flows in a real browser (headless Chromium via Playwright) against a live loopback server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.conftest import make_user
from tests.kits.case_kit import merged_case


def test_office_finds_a_merged_case_and_sees_its_four_channel_reports(app, rt, live_server, browser, shots):
    m = merged_case(rt)
    make_user(app, "office", username="duban", password="office-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")

    page.goto(f"{live_server}/console/")
    expect(page).to_have_url(f"{live_server}/login?next=/console/")
    log_in(page, live_server, "duban", "wrong-password")
    expect(page.locator(".flash-error")).to_contain_text("用户名或密码不正确")
    log_in(page, live_server, "duban", "office-password")
    expect(page).to_have_url(f"{live_server}/console/")
    expect(page.locator("tr.case-row")).to_have_count(1)
    shots(page, "01-console-cases")

    page.fill("input[name=q]", m.absorbed.number)  # the number the hotline caller was given
    page.click("form.filters button.primary")
    expect(page).to_have_url(f"{live_server}/console/cases/{m.survivor.number}?from={m.absorbed.number}")
    expect(page.locator("li.report")).to_have_count(4)
    channels = [page.locator("li.report").nth(i).get_attribute("data-channel") for i in range(4)]
    assert channels == ["web", "hotline", "sms", "email"]
    for i in range(4):
        expect(page.locator("li.report").nth(i).locator(".tl-icon svg.icon")).to_be_visible()
    expect(page.locator(".merge")).to_contain_text("同一地点：中山大道888号")
    expect(page.get_by_role("button", name="撤销合并")).to_be_visible()
    shots(page, "02-console-case")

    page.goto(f"{live_server}/console/reports")
    expect(page.locator("svg.chart")).to_have_count(3)
    shots(page, "03-console-reports")
    page.close()


def test_department_staff_see_their_queue_and_the_assignment(app, rt, live_server, browser, shots):
    m = merged_case(rt)
    make_user(app, "department", "WH-LIGHT", username="light", password="light-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "light", "light-password")
    expect(page).to_have_url(f"{live_server}/workbench/")
    expect(page.locator("nav.tabs a.on")).to_contain_text("待签收 1")
    expect(page.locator("table")).to_contain_text(m.survivor.number)
    shots(page, "04-workbench-queue")
    page.click("a.btn:has-text('办理')")
    expect(page.get_by_role("button", name="签收")).to_be_visible()
    expect(page.locator("textarea[name=text]")).to_be_visible()
    shots(page, "05-workbench-assignment")
    page.close()


def test_a_citizen_looks_up_the_case_by_number_and_code_without_seeing_personal_data(rt, live_server, browser, shots):
    m = merged_case(rt)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{live_server}/board/")
    expect(page.locator("article.post")).to_have_count(1)
    expect(page.get_by_role("link", name="我要留言").first).to_have_attribute("href", "/board/post")
    shots(page, "06-board-list")

    page.click("text=办理查询")
    page.fill("input[name=number]", m.survivor.number)
    page.fill("input[name=code]", "WRONG1")
    page.click("button:has-text('查询')")
    expect(page.locator(".flash-error")).to_contain_text("工单号或查询码不正确")
    page.fill("input[name=code]", m.reports[0].retrieval_code)
    page.click("button:has-text('查询')")
    expect(page.locator(".flash-ok")).to_contain_text("查询成功")
    expect(page.locator("article.post h2")).to_have_text("中山大道路灯不亮")
    body = page.content()
    for personal in ("13800138001", "张先生", "wang.wu@example.com"):
        assert personal not in body
    assert "138****8001" in body
    shots(page, "07-board-lookup")
    page.close()


def test_office_undoes_a_merge_from_the_case_page(app, rt, live_server, browser, shots):
    m = merged_case(rt)
    make_user(app, "office", username="duban", password="office-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "duban", "office-password")
    page.goto(f"{live_server}/console/cases/{m.survivor.number}")
    expect(page.locator("li.report")).to_have_count(4)
    page.once("dialog", lambda dialog: dialog.accept())  # the form asks 确定撤销这次合并？
    page.get_by_role("button", name="撤销合并").click()
    expect(page.locator(".flash-ok")).to_contain_text("已撤销合并")
    expect(page).to_have_url(f"{live_server}/console/cases/{m.survivor.number}")
    expect(page.locator("li.report")).to_have_count(3)
    expect(page.locator(".merge .badge")).to_have_text("已撤销")
    expect(page.get_by_role("button", name="撤销合并")).to_have_count(0)
    expect(page.locator("ul.events")).not_to_contain_text("case_unmerged")
    shots(page, "08-console-merge-undone")

    page.goto(f"{live_server}/console/cases/{m.absorbed.number}")
    expect(page).to_have_url(f"{live_server}/console/cases/{m.absorbed.number}")  # its own case again
    expect(page.locator("li.report")).to_have_count(1)
    assert page.locator("li.report").first.get_attribute("data-channel") == "hotline"
    expect(page.locator("ul.events")).to_contain_text("撤销合并")
    expect(page.get_by_role("heading", name="人工派单")).to_be_visible()  # new again: the office dispatches it
    shots(page, "09-console-absorbed-case-back")
    page.close()


def test_department_staff_sign_and_reply_from_the_workbench(app, rt, live_server, browser, shots):
    m = merged_case(rt)
    make_user(app, "department", "WH-LIGHT", username="light", password="light-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "light", "light-password")
    page.click("a.btn:has-text('办理')")
    expect(page).to_have_url(f"{live_server}/workbench/assignments/{m.assignment.id}")
    page.get_by_role("button", name="签收").click()
    expect(page.locator(".flash-ok")).to_contain_text("已签收")
    expect(page.get_by_role("button", name="签收")).to_have_count(0)
    shots(page, "10-workbench-signed")

    page.fill("textarea[name=text]", "经现场核查，已更换中山大道888号路灯灯泡，恢复照明。")
    page.get_by_role("button", name="提交答复").click()
    expect(page.locator(".flash-ok")).to_contain_text("已提交答复")
    expect(page.locator("section.card:has(h2:has-text('本单位答复'))")).to_contain_text("已更换中山大道888号路灯灯泡")
    expect(page.locator("textarea[name=text]")).to_have_count(0)
    shots(page, "11-workbench-replied")

    page.goto(f"{live_server}/workbench/?tab=done")
    expect(page.locator("table")).to_contain_text(m.survivor.number)
    page.close()


def test_a_citizen_posts_on_the_board_and_looks_the_new_case_up(rt, live_server, browser, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(f"{live_server}/board/post")
    page.fill("input[name=title]", "汉口江滩步道路面破损")
    page.fill("textarea[name=text]", "汉口江滩三阳路段步道地砖破损翘起，晚上散步容易绊倒，请尽快修复。")
    page.fill("input[name=address]", "江岸区汉口江滩三阳路段")
    page.fill("input[name=name]", "赵女士")
    page.fill("input[name=phone]", "13600136006")
    page.select_option("select[name=public]", "1")  # the form asks; nothing is public unless chosen
    shots(page, "12-board-post-form")
    page.click("button:has-text('提交留言')")
    expect(page.locator(".notice")).to_contain_text("您的留言已受理")
    number = page.locator("strong.case-number").inner_text().strip()
    code = page.locator("strong.retrieval-code").inner_text().strip()
    assert number and code
    shots(page, "13-board-thanks")

    page.goto(f"{live_server}/board/lookup")
    page.fill("input[name=number]", number)
    page.fill("input[name=code]", code)
    page.click("button:has-text('查询')")
    expect(page.locator(".flash-ok")).to_contain_text("查询成功")
    expect(page.locator("article.post h2")).to_have_text("汉口江滩步道路面破损")
    body = page.content()
    assert number in body and "13600136006" not in body
    shots(page, "14-board-lookup-new-case")
    page.close()


def test_an_admin_sees_the_calendar_banner_creates_a_units_token_once_and_finds_it_in_the_audit_log(
        app, rt, live_server, browser, shots):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    rt.settings = replace(rt.settings, now=datetime(2026, 12, 7, 10, tzinfo=ZoneInfo("Asia/Shanghai")))  # 2027's notice is due
    make_user(app, "admin", username="guanli", password="admin-password")
    page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    log_in(page, live_server, "guanli", "admin-password")
    page.goto(f"{live_server}/console/tokens")
    expect(page.locator("#calendar-banner")).to_contain_text("2027年放假安排通知尚未导入")
    page.select_option("select[name=department]", "WH-LIGHT")
    page.fill("input[name=name]", "照明处业务系统")
    page.get_by_role("button", name="新建").click()
    token = page.locator("code.new-token").inner_text().strip()
    assert token.startswith("hlt_")
    shots(page, "20-console-token-created")
    page.goto(f"{live_server}/console/tokens")
    expect(page.locator("table")).to_contain_text("照明处业务系统")
    assert token not in page.content()  # shown once
    page.goto(f"{live_server}/console/audit")
    expect(page.locator("table.audit")).to_contain_text("新建接口令牌")
    expect(page.locator("table.audit")).to_contain_text("登录成功")
    shots(page, "21-console-audit-log")
    page.close()


def test_office_filters_the_list_and_downloads_it_as_a_ledger(app, rt, live_server, browser, shots):
    import io

    from openpyxl import load_workbook

    m = merged_case(rt)
    make_user(app, "office", username="taizhang", password="office-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN", accept_downloads=True)
    log_in(page, live_server, "taizhang", "office-password")
    page.select_option("select[name=channel]", "hotline")
    page.click("form.filters button.primary")
    expect(page.locator("tr.case-row")).to_have_count(1)
    expect(page.locator(".exports")).to_contain_text("导出台账")
    shots(page, "08-console-ledger-links")
    with page.expect_download() as download:
        page.click(".exports a:has-text('Excel')")
    assert download.value.suggested_filename.startswith("工单台账-") and download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    rows = list(book["工单台账"].iter_rows(values_only=True))
    assert rows[0][0] == "工单号" and [r[0] for r in rows[1:]] == [m.survivor.number]
    with page.expect_download() as download:
        page.click(".exports a:has-text('CSV')")
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbf")


def fits(page: Page) -> bool:
    """No sideways scrolling: the page is no wider than the phone's screen."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def tab_to(page: Page, selector: str, presses: int = 30) -> None:
    """Move the focus with the Tab key alone until it reaches ``selector``."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_citizen_on_a_360_pixel_phone_reads_the_board_and_looks_up_with_the_keyboard_alone(rt, live_server, browser,
                                                                                              shots):
    m = merged_case(rt)
    page = browser.new_page(viewport={"width": 360, "height": 740}, locale="zh-CN", is_mobile=True)
    for path in ("/board/", f"/board/cases/{m.survivor.number}", "/board/lookup", "/board/post"):
        page.goto(f"{live_server}{path}")
        assert fits(page), path
    shots(page, "20-phone-board-post")
    page.goto(f"{live_server}/board/lookup")
    tab_to(page, "input[name=number]")
    page.keyboard.type(m.survivor.number)
    tab_to(page, "input[name=code]")
    page.keyboard.type(m.reports[0].retrieval_code)
    page.keyboard.press("Enter")
    expect(page.locator(".flash-ok")).to_contain_text("查询成功")
    assert fits(page)
    shots(page, "21-phone-lookup")
    page.close()


def test_office_staff_get_the_calls_recording_player_anonymous_visitors_and_the_board_do_not(
        app, rt, live_server, browser, shots):
    host = "rec.cc.example.gov.cn"
    rt.settings = replace(rt.settings, recording_hosts=(host,), system_tokens={"cc-main": "s3cret-main-token"})
    recording = f"https://{host}/2026/12/07/call-8841.mp3"
    ticket = {"ticket_no": "WH-REC-BROWSER", "caller_number": "027-85551234", "appeal_type": "投诉", "public": True,
              "content": "江岸区中山大道888号附近路灯连续三晚不亮。", "address": "江岸区中山大道888号",
              "call_id": "CALL-8841", "recording_url": recording}
    pushed = app.test_client().post("/api/v1/hotline/tickets", json=ticket,
                                    headers={"Authorization": "Bearer s3cret-main-token"})
    assert pushed.status_code == 201
    number = pushed.get_json()["case"]["number"]
    make_user(app, "office", username="duban", password="office-password")
    page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")

    page.goto(f"{live_server}/board/cases/{number}")  # the public board: the case, never the call
    expect(page.locator("article.post")).to_contain_text("路灯连续三晚不亮")
    expect(page.locator("audio")).to_have_count(0)
    assert host not in page.content()
    page.goto(f"{live_server}/console/cases/{number}")  # not signed in: the log-in page, no player
    expect(page).to_have_url(f"{live_server}/login?next=/console/cases/{number}")
    expect(page.locator("audio")).to_have_count(0)

    log_in(page, live_server, "duban", "office-password")
    page.goto(f"{live_server}/console/cases/{number}")
    player = page.locator("li.report audio")
    expect(player).to_have_count(1)
    expect(player).to_have_attribute("src", recording)
    expect(player).to_have_attribute("controls", "")
    expect(page.locator("li.report .recording")).to_contain_text("通话编号 CALL-8841")
    shots(page, "46-console-case-recording")
    page.close()
