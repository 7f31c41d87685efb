"""The case ledger (台账): the console's list with its filters as CSV and XLSX, for the office only, audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlmodel import Session, select

from gateway.clock import utcnow
from gateway.models import AuditEntry, Case, FollowUp
from tests.conftest import logged_in
from tests.kits.case_kit import add_assignment, add_case, merged_case
from tests.kits.dispatch_kit import CITY

HEADERS = ["工单号", "受理时间", "来件渠道", "类别", "国标大类", "国标大类代码", "诉求类型", "区域", "主办单位", "协办单位",
           "办理时限", "答复时间", "状态", "满意度"]
WATER = ["WH20260301-000102", "2026-03-01 09:30", "短信", "供水排水", "城乡建设与管理", "", "投诉", "武昌区",
         "武汉市水务集团", "武汉市住房和城市更新局", "2026-03-03 17:30", "2026-03-02 15:00", "已答复", "满意"]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A city-time moment, stored as the gateway stores every time: in UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=CITY).astimezone(timezone.utc)


@pytest.fixture
def cases(rt: Any) -> dict[str, str]:
    """A merged street-light case (four channels), a replied water case with a rating, a triage case without a
    category, and a suggestion whose district would be a formula in a spreadsheet."""
    merged = merged_case(rt)
    with Session(rt.engine, expire_on_commit=False) as db:
        water = add_case(db, "WH20260301-000102", category="water", district="武昌区", channel="sms", status="replied",
                         appeal_type="投诉", created_at=at(1, 9, 30))
        lead = add_assignment(db, water, "WH-WATER", status="replied", replied_at=at(2, 15))
        lead.due_at = at(3, 17, 30)
        add_assignment(db, water, "WH-HOUSING", role="assist", status="replied", replied_at=at(2, 9))
        add_assignment(db, water, "WH-ENV", status="cancelled")  # re-dispatched away: not one of its units
        db.add(FollowUp(case_id=water.id, contact_key="sms:+8613800000000", channel="sms", status="answered",
                        satisfaction="满意", ask_at=at(3, 9), answered_at=at(3, 10)))
        add_case(db, "WH20260301-000103", category=None, status="triage", channel="hotline", created_at=at(1, 10))
        add_case(db, "WH20260301-000104", category="education", district="=HYPERLINK(\"http://x\")",
                 appeal_type="建议", created_at=at(1, 11))
        db.commit()
    return {"merged": merged.survivor.number, "absorbed": merged.absorbed.number}


def read_csv(client: Any, query: str = "") -> list[list[str]]:
    resp = client.get(f"/console/cases.csv{query}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8 Chinese
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(client: Any, query: str = "") -> list[list[Any]]:
    resp = client.get(f"/console/cases.xlsx{query}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    rows = [list(row) for row in book["工单台账"].iter_rows(values_only=True)]
    book.close()
    return rows


def test_the_csv_ledger_lists_the_filtered_cases_with_channels_units_times_status_and_rating(office_client, cases):
    rows = read_csv(office_client)
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:]] == ["WH20260301-000104", "WH20260301-000103", "WH20260301-000102", cases["merged"]]
    assert rows[3] == WATER
    merged = rows[4]
    assert merged[2] == "电子邮件、12345热线、短信、网上留言"  # every report's channel, not only the first
    assert (merged[8], merged[9], merged[11], merged[13]) == ("武汉市城市照明管理处", "", "", "")
    assert rows[2][3:6] == ["", "", ""] and rows[2][12] == "待分拣"  # no category yet: no national class either
    assert rows[1][7] == "'=HYPERLINK(\"http://x\")" and rows[1][6] == "建议"  # shown as text, never run
    assert read_csv(office_client, "?category=water") == [HEADERS, WATER]
    assert [r[0] for r in read_csv(office_client, "?channel=hotline")[1:]] == ["WH20260301-000103", cases["merged"]]
    assert [r[0] for r in read_csv(office_client, "?status=merged")[1:]] == [cases["absorbed"]]


def test_the_xlsx_ledger_holds_the_same_rows_with_times_as_dates(office_client, cases):
    rows = read_xlsx(office_client, "?district=%E6%AD%A6%E6%98%8C%E5%8C%BA")  # 武昌区
    assert rows[0] == HEADERS and len(rows) == 2
    water = rows[1]
    assert water[1] == datetime(2026, 3, 1, 9, 30) and water[10] == datetime(2026, 3, 3, 17, 30)  # city time
    assert [v or "" for v in water[:1] + water[2:10] + water[12:]] == WATER[:1] + WATER[2:10] + WATER[12:]
    assert [r[0] for r in read_xlsx(office_client)[1:]] == [r[0] for r in read_csv(office_client)[1:]]


def test_a_ledger_larger_than_a_page_comes_whole_in_the_lists_order(rt, office_client):
    now = utcnow()
    rows = [{"number": f"WH20260101-{i:06d}", "title": "路灯不亮", "summary": "", "channel": "web",
             "status": "dispatched", "public": True, "complexity": "normal", "reporter_count": 1, "report_count": 1,
             "created_at": now, "updated_at": now, "last_report_at": now, "routing": {},
             "category": "street_light" if i % 3 else "water"} for i in range(1, 2_346)]
    with Session(rt.engine) as db:
        db.execute(insert(Case), rows)
        db.commit()
    listed = [r[0] for r in read_csv(office_client)[1:]]
    assert listed == [f"WH20260101-{i:06d}" for i in range(2_345, 0, -1)]
    assert len(read_xlsx(office_client, "?category=water")) == 1 + 2_345 // 3


def test_the_list_offers_both_exports_with_its_filters_but_not_its_page(office_client, cases):
    page = office_client.get("/console/?category=water&district=&page=2").get_data(as_text=True)
    assert 'href="/console/cases.csv?category=water"' in page
    assert 'href="/console/cases.xlsx?category=water"' in page


@pytest.mark.parametrize("role", ["department", "operator"])
def test_other_staff_may_not_export_the_ledger(app, role):
    staff = logged_in(app, role)
    assert staff.get("/console/cases.csv").status_code == 403
    assert staff.get("/console/cases.xlsx").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in ("/console/cases.csv", "/console/cases.xlsx"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.location


def test_each_export_is_audited_with_who_the_filters_and_the_row_count(app, rt, cases):
    admin = logged_in(app, "admin")
    assert len(read_csv(admin, "?q=13900139002")) == 2  # a hotline caller's phone finds the merged case
    read_xlsx(admin, "?category=water&overdue=")
    with Session(rt.engine) as db:
        entries = db.exec(select(AuditEntry).where(AuditEntry.action == "ledger_exported").order_by(AuditEntry.id)).all()
    assert [(e.actor, e.target) for e in entries] == [(admin.user.actor, "ledger:csv"), (admin.user.actor, "ledger:xlsx")]
    assert entries[0].detail == {"filters": {"q": "139****9002"}, "rows": 1}  # the searched phone is not kept whole
    assert entries[1].detail == {"filters": {"category": "water"}, "rows": 1}
    log = admin.get("/console/audit?action=ledger_exported").get_data(as_text=True)
    assert "ledger:csv" in log and "ledger:xlsx" in log

