"""The public board (no log-in): public posts with replies, masked personal data, look-up by number + code."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from gateway.models import Assignment
from gateway.trust.privacy import mask_text
from tests.kits.case_kit import add_case, add_reply, merged_case

PERSONAL = ("13800138001", "13900139002", "13700137003", "+8613800138001", "wang.wu@example.com", "张先生", "李女士", "王五")


def csrf(client) -> str:
    page = client.get("/board/lookup").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize(("text", "masked"), [
    ("电话13800138001", "电话138****8001"),
    ("+86 139 0013 9002", "139****9002"),
    ("座机027-85551234", "座机027****1234"),
    ("身份证420102199001011234", "身份证420***********1234"),
    ("邮箱Zhang.San@example.com", "邮箱Z***@example.com"),
    ("工单WH20260301-000001，888号，2026年", "工单WH20260301-000001，888号，2026年"),
])
def test_masking_hides_phones_ids_and_mails_but_keeps_case_numbers_and_addresses(text, masked):
    assert mask_text(text) == masked


def test_masking_hides_the_reporters_names_wherever_they_appear():
    assert mask_text("张先生反映，张先生的邻居欧阳娜娜也反映", ["张先生", "欧阳娜娜", "", "张"]) == "张**反映，张**的邻居欧***也反映"


def test_the_board_lists_public_cases_with_replies_and_never_personal_data(rt, client):
    m = merged_case(rt)
    with Session(rt.engine, expire_on_commit=False) as db:
        hidden = add_case(db, "WH20260301-000101", title="私密诉求", public=False)
        add_reply(db, db.get(Assignment, m.assignment.id), "已联系张先生（13800138001），路灯已修复。")
        db.commit()
    page = client.get("/board/").get_data(as_text=True)
    assert m.survivor.number in page
    assert hidden.number not in page and m.absorbed.number not in page
    assert "已联系张**（138****8001），路灯已修复。" in page
    assert "满意度：—" in page
    for item in PERSONAL:
        assert item not in page, item
    detail = client.get(f"/board/cases/{m.survivor.number}").get_data(as_text=True)
    assert "路灯已修复" in detail
    for item in PERSONAL:
        assert item not in detail, item
    assert client.get(f"/board/cases/{hidden.number}").status_code == 404


def test_the_board_links_to_the_post_form_and_searches_posts(rt, client):
    m = merged_case(rt)
    with Session(rt.engine) as db:
        add_case(db, "WH20260301-000102", title="噪音扰民", summary="夜间施工噪音")
        db.commit()
    page = client.get("/board/?q=施工").get_data(as_text=True)
    assert 'href="/board/post"' in page
    assert "WH20260301-000102" in page and m.survivor.number not in page
    assert "共 1 条" in page


def test_a_citizen_looks_up_a_private_case_with_number_and_code_and_sees_it_masked(rt, client):
    m = merged_case(rt, public=False)
    token = csrf(client)
    wrong = client.post("/board/lookup", data={"number": m.survivor.number, "code": "WRONG1", "csrf_token": token})
    assert wrong.status_code == 404 and "工单号或查询码不正确" in wrong.get_data(as_text=True)
    elsewhere = client.post("/board/lookup", data={"number": "WH20260301-000999", "code": m.reports[0].retrieval_code,
                                                   "csrf_token": token})
    assert elsewhere.status_code == 404  # a code opens only its own case
    other = client.post("/board/lookup", data={"number": m.survivor.number, "code": m.reports[1].retrieval_code,
                                               "csrf_token": token})
    page = other.get_data(as_text=True)  # the hotline reporter sees their own words, not the web reporter's
    assert other.status_code == 200 and "晚上很黑" in page and "附近路灯连续三晚不亮" not in page
    ok = client.post("/board/lookup", data={"number": m.survivor.number.lower(), "code": m.reports[0].retrieval_code.lower(),
                                             "csrf_token": token})
    page = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "查询成功" in page and "中山大道路灯不亮" in page and "附近路灯连续三晚不亮" in page
    for item in PERSONAL:
        assert item not in page, item


def test_an_absorbed_case_number_and_its_own_code_lead_to_the_merged_case(rt, client):
    m = merged_case(rt)
    resp = client.post("/board/lookup", data={"number": m.absorbed.number, "code": m.reports[1].retrieval_code,
                                               "csrf_token": csrf(client)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and m.survivor.number in page and f"工单 {m.absorbed.number} 已与相同问题合并办理" in page


def test_the_lookup_needs_the_csrf_token(rt, client):
    m = merged_case(rt)
    assert client.post("/board/lookup", data={"number": m.survivor.number, "code": m.reports[0].retrieval_code}).status_code == 400


def test_satisfaction_shows_when_the_follow_up_source_is_wired(rt, client):
    m = merged_case(rt)
    rt.case_satisfaction = lambda db, ids: {m.survivor.id: "满意"}
    assert "满意度：满意" in client.get(f"/board/cases/{m.survivor.number}").get_data(as_text=True)


def test_names_given_on_an_absorbed_case_are_masked_on_the_survivor(rt, client):
    from gateway.models import Assignment, Report

    m = merged_case(rt)
    with Session(rt.engine) as db:
        db.add(Report(case_id=m.absorbed.id, channel="hotline", external_id="h-9", text="来电", name="欧阳娜娜"))
        add_reply(db, db.get(Assignment, m.assignment.id), "已电话告知欧阳娜娜女士")
        db.commit()
    page = client.get(f"/board/cases/{m.survivor.number}").get_data(as_text=True)
    assert "已电话告知欧***女士" in page and "欧阳娜娜" not in page
