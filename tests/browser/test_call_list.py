"""The phone work list in a real browser: an operator takes a landline caller's follow-up, records 不满意, and the
case reopens."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import logged_in, make_user
from tests.gateway.casework.test_call_list import replied_and_asked
from tests.kits.dispatch_kit import case, events


def test_an_operator_takes_a_landline_follow_up_records_dissatisfied_and_the_case_reopens(
        app, rt, jobs, live_server, browser, shots):
    number = replied_and_asked(app, logged_in(app, "office"), rt, jobs)  # Tuesday 28 April 2026, 16:00
    make_user(app, "operator", username="huawu1", password="operator-password")
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    log_in(page, live_server, "huawu1", "operator-password")
    page.get_by_role("link", name="回访电话").click()
    expect(page).to_have_url(f"{live_server}/operator/calls")
    row = page.locator("#calls-due tr.call-row")
    expect(row).to_have_count(1)  # the follow-up: it reads the reply out too
    expect(row).to_contain_text("满意度回访")
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("+862785551234")
    expect(row).to_contain_text("固定电话")
    expect(row).to_contain_text("已更换灯具")  # the reply, to read out
    shots(page, "53-operator-calls")

    row.get_by_role("button", name="领取并呼叫").click()
    expect(page.locator(".flash-ok")).to_contain_text("已领取")
    row = page.locator("#calls-due tr.call-row.is-mine")
    expect(row).to_contain_text("满意度回访")
    expect(row.get_by_role("button", name="不满意")).to_be_visible()
    shots(page, "54-operator-call-taken")
    row.get_by_placeholder("备注（可选）").fill("路灯仍不亮")
    row.get_by_role("button", name="不满意").click()
    expect(page.locator(".flash-ok")).to_contain_text("已记录：不满意")
    expect(page.locator("#calls-due tr.call-row")).to_have_count(0)
    expect(page.locator("#calls-done")).to_contain_text("不满意")
    shots(page, "55-operator-call-done")

    assert case(rt, number).status == "reopened"
    [reopened] = events(rt, number, "reopened")
    assert reopened.data["followups"]
