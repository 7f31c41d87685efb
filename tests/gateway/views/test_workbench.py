"""The department workbench: the unit's own queue by tab, and one assignment as the lead or an assisting unit sees it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from gateway.clock import as_utc, utcnow
from gateway.models import Assignment, Case, Event, Extension
from tests.kits.case_kit import add_assignment, add_case


def queue(client, tab: str) -> list[str]:
    page = client.get(f"/workbench/?tab={tab}").get_data(as_text=True)
    return re.findall(r"<td><code>([^<]+)</code></td>", page)


def test_the_queue_sorts_the_unit_assignments_into_tabs_and_hides_other_units(app, rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        specs = [("000051", "dispatched", timedelta(hours=20)), ("000052", "signed", timedelta(hours=20)),
                 ("000053", "signed", timedelta(hours=2)), ("000054", "dispatched", timedelta(hours=-3)),
                 ("000055", "replied", timedelta(hours=-3)), ("000056", "returned", timedelta(hours=5))]
        for suffix, status, due_in in specs:
            add_assignment(db, add_case(db, f"WH20260301-{suffix}", title=suffix), "WH-LIGHT", status=status, due_in=due_in)
        add_assignment(db, add_case(db, "WH20260301-000057", title="别的单位"), "WH-WATER")
        db.commit()
    light = login("department", "WH-LIGHT")
    assert queue(light, "to_sign") == ["WH20260301-000054", "WH20260301-000051"]
    assert queue(light, "in_progress") == ["WH20260301-000053", "WH20260301-000052"]
    assert queue(light, "due_soon") == ["WH20260301-000053"]
    assert queue(light, "overdue") == ["WH20260301-000054"]
    assert queue(light, "done") == ["WH20260301-000055", "WH20260301-000056"]
    page = light.get("/workbench/").get_data(as_text=True)
    assert "武汉市城市照明管理处" in page and "WH20260301-000057" not in page
    assert re.findall(r'class="count">(\d+)<', page) == ["2", "2", "1", "1", "2"]
    assert queue(login("department", "WH-WATER"), "to_sign") == ["WH20260301-000057"]


def test_another_unit_assignment_is_not_found(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        other = add_assignment(db, add_case(db, "WH20260301-000061"), "WH-WATER")
        db.commit()
    light = login("department", "WH-LIGHT")
    assert light.get(f"/workbench/assignments/{other.id}").status_code == 404
    assert light.post(f"/workbench/assignments/{other.id}/sign", data={"csrf_token": "test-csrf-token"}).status_code == 404


def test_the_lead_unit_sees_what_the_assisting_units_answered_and_an_assisting_unit_does_not(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        case = add_case(db, "WH20260301-000071", title="小区积水", summary="小区门口积水")
        lead = add_assignment(db, case, "WH-WATER", status="signed")
        assist = add_assignment(db, case, "WH-HOUSING", role="assist", status="replied", reply_text="物业已清理排水口")
        add_assignment(db, case, "WH-CHENGGUAN", role="assist", status="replied", reply_text="城管已到场")
        db.commit()
    lead_page = login("department", "WH-WATER").get(f"/workbench/assignments/{lead.id}").get_data(as_text=True)
    assert "协办单位意见" in lead_page and "物业已清理排水口" in lead_page and "城管已到场" in lead_page
    assert 'action="/workbench/assignments/%d/reply"' % lead.id in lead_page
    assert "/sign" not in lead_page  # already signed
    assist_page = login("department", "WH-HOUSING").get(f"/workbench/assignments/{assist.id}").get_data(as_text=True)
    assert "城管已到场" not in assist_page and "主办单位" in assist_page
    assert "/reply" not in assist_page  # replied: nothing left to do


def test_a_new_assignment_offers_sign_reply_extension_and_return(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        a = add_assignment(db, add_case(db, "WH20260301-000081"), "WH-LIGHT")
        db.commit()
    page = login("department", "WH-LIGHT").get(f"/workbench/assignments/{a.id}").get_data(as_text=True)
    for action in ("sign", "reply", "extension", "return"):
        assert f'action="/workbench/assignments/{a.id}/{action}"' in page


def test_empty_replies_reasons_and_past_extension_dates_are_refused_before_any_service_is_called(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        a = add_assignment(db, add_case(db, "WH20260301-000091"), "WH-LIGHT")
        db.commit()
    client = login("department", "WH-LIGHT")
    for action, data, message in [("reply", {"text": "  "}, "答复内容不能为空"), ("return", {}, "退回必须说明理由"),
                                  ("extension", {"until": "2000-01-01", "reason": "太忙"}, "将来的日期"),
                                  ("extension", {"until": "someday", "reason": "太忙"}, "将来的日期")]:
        resp = client.post(f"/workbench/assignments/{a.id}/{action}", data={**data, "csrf_token": "test-csrf-token"},
                           follow_redirects=True)
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), action


CSRF = {"csrf_token": "test-csrf-token"}


def test_the_lead_unit_signs_then_replies_and_the_case_is_answered(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        case = add_case(db, "WH20260301-000101", title="路灯不亮")
        a = add_assignment(db, case, "WH-LIGHT")
        db.commit()
    client = login("department", "WH-LIGHT")
    signed = client.post(f"/workbench/assignments/{a.id}/sign", data=CSRF, follow_redirects=True)
    page = signed.get_data(as_text=True)
    assert signed.request.path == f"/workbench/assignments/{a.id}" and "已签收" in page
    assert f'action="/workbench/assignments/{a.id}/sign"' not in page and "办理中" in page
    with Session(rt.engine) as db:
        assert db.get(Assignment, a.id).status == "signed"  # type: ignore[union-attr]
    replied = client.post(f"/workbench/assignments/{a.id}/reply", data={**CSRF, "text": "已更换灯泡，路灯恢复照明。"},
                          follow_redirects=True)
    page = replied.get_data(as_text=True)
    assert "已提交答复" in page and "本单位答复" in page and "已更换灯泡，路灯恢复照明。" in page
    assert f'action="/workbench/assignments/{a.id}/reply"' not in page
    with Session(rt.engine) as db:
        stored = db.get(Assignment, a.id)
        assert stored is not None and stored.status == "replied" and stored.reply_text == "已更换灯泡，路灯恢复照明。"
        assert db.get(Case, case.id).status == "replied"  # type: ignore[union-attr]
        assert [e.kind for e in db.exec(select(Event).where(Event.case_id == case.id).order_by(Event.id))] == ["signed", "replied"]
    again = client.post(f"/workbench/assignments/{a.id}/sign", data=CSRF, follow_redirects=True)
    assert "操作未完成" in again.get_data(as_text=True)  # a replied assignment cannot be signed


def test_a_unit_returns_an_assignment_with_its_reason_and_the_case_goes_back_to_triage(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        case = add_case(db, "WH20260301-000102", title="小区停水")
        a = add_assignment(db, case, "WH-LIGHT")
        db.commit()
    resp = login("department", "WH-LIGHT").post(f"/workbench/assignments/{a.id}/return",
                                                data={**CSRF, "reason": "供水不属于路灯管理职责"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已退回，由督办中心重新分派" in page and "退回理由" not in page  # nothing left to do: no forms
    with Session(rt.engine) as db:
        stored = db.get(Assignment, a.id)
        assert stored is not None and stored.status == "returned" and stored.return_reason == "供水不属于路灯管理职责"
        assert db.get(Case, case.id).status == "triage"  # type: ignore[union-attr]


def test_a_unit_asks_for_an_extension_once_and_a_second_request_waits_for_the_first(rt, login):
    with Session(rt.engine, expire_on_commit=False) as db:
        a = add_assignment(db, add_case(db, "WH20260301-000103"), "WH-LIGHT", status="signed")
        db.commit()
    client = login("department", "WH-LIGHT")
    until = (utcnow().astimezone(rt.profile.tz) + timedelta(days=5)).date().isoformat()
    resp = client.post(f"/workbench/assignments/{a.id}/extension",
                       data={**CSRF, "until": until, "reason": "需要采购配件"}, follow_redirects=True)
    assert "已提交延期申请" in resp.get_data(as_text=True)
    with Session(rt.engine) as db:
        ext = db.exec(select(Extension).where(Extension.assignment_id == a.id)).one()
        assert ext.status == "pending" and ext.reason == "需要采购配件" and ext.requested_by
        assert as_utc(ext.requested_until).astimezone(rt.profile.tz).date().isoformat() == until
    second = client.post(f"/workbench/assignments/{a.id}/extension",
                         data={**CSRF, "until": until, "reason": "再延一次"}, follow_redirects=True)
    assert second.status_code == 200 and "操作未完成" in second.get_data(as_text=True)
