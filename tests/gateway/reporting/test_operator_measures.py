"""The operators' measures (reports page): tickets per operator, 即时办结率, time on the form, over a day built by
hand, with the tickets of the days around it left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from adapters.base import InboundReport
from gateway.casework import oncall
from gateway.intake.ingest import ingest
from gateway.models import CallItem
from gateway.reporting.operators import operator_measures
from gateway.reporting.rates import first_contact_counts
from tests.conftest import logged_in
from tests.kits.dispatch_kit import CITY, set_clock

DAY = datetime(2026, 4, 27, tzinfo=CITY)


def ticket(rt: Any, no: str, at: datetime, operator: str | None, seconds: float | None = None, *,
           on_call: bool = False, phone: str = "13800138001", attach_to: int | None = None) -> Any:
    extra: dict[str, Any] = {"entered_by": "operator_form"}
    if operator:
        extra["operator_id"] = operator
    if seconds is not None:
        extra["form_seconds"] = seconds
    report = InboundReport(channel="hotline", text=f"来电 {no}：江岸区中山大道{no}号路灯不亮", external_id=no, phone=phone,
                           received_at=at, appeal_type="咨询" if on_call else "投诉",
                           category_hint="street_light", extra=extra)
    resolve = oncall.closer(rt, "路灯报修可拨打 12345 或在留言板反映。", "explanation", f"operator:{operator}") if on_call else None
    return ingest(rt, report, actor=f"operator:{operator}", resolve=resolve, attach_to=attach_to)


def hand_built_day(app: Any, rt: Any) -> None:
    set_clock(app, 2026, 4, 27, 22)
    at = DAY + timedelta(hours=9)
    ticket(rt, "T1", at, "A0101", 60.0, on_call=True, phone="13800000001")
    ticket(rt, "T2", at + timedelta(hours=1), "A0101", 120.0, phone="13800000002")
    first = ticket(rt, "T3", at + timedelta(hours=2), "A0101", phone="13800000003")  # a pushed ticket: no form time
    ticket(rt, "T4", at + timedelta(hours=3), "A0102", 30.0, attach_to=first.case.id, phone="13800000004")
    ticket(rt, "T5", at + timedelta(hours=4), "A0102", 45.0, on_call=True, phone="13800000005")
    ticket(rt, "T6", at + timedelta(hours=5), None, phone="13800000006")  # a system's ticket naming no operator
    ticket(rt, "T0", DAY - timedelta(minutes=1), "A0101", 10.0, on_call=True, phone="13800000007")  # the day before
    ticket(rt, "T9", DAY + timedelta(days=1), "A0102", 10.0, on_call=True, phone="13800000008")  # the day after
    # Follow-up calls of the phone work list: two completed by A0101 (one a 拒访), one unreachable, one the day after.
    with Session(rt.engine) as session:
        for status, outcome, when in (("done", "满意", at), ("done", "拒访", at), ("unreachable", "未接通", at),
                                      ("done", "不满意", DAY + timedelta(days=1, hours=9))):
            session.add(CallItem(dedupe_key=f"fu-{status}-{outcome}", kind="followup", case_id=first.case.id,
                                 phone="027-85551234", status=status, outcome=outcome, next_attempt_at=when,
                                 done_by="user:A0101", done_at=when))
        session.commit()


def test_the_measures_of_a_hand_built_day(app, rt):
    hand_built_day(app, rt)
    with Session(rt.engine) as session:
        rows = {r.operator: r for r in operator_measures(session, DAY, DAY + timedelta(days=1))}
        counts = first_contact_counts(session, DAY, DAY + timedelta(days=1))
    assert sorted(rows) == ["A0101", "A0102", "—"]
    a, b, nobody = rows["A0101"], rows["A0102"], rows["—"]
    assert (a.tickets, a.on_call, a.first_contact_rate) == (3, 1, 0.3333)
    assert (a.median_form_seconds, a.mean_form_seconds) == (90.0, 90.0)
    assert (b.tickets, b.on_call, b.first_contact_rate) == (2, 1, 0.5)  # an attached call is a ticket, not on-call
    assert (b.median_form_seconds, b.mean_form_seconds) == (37.5, 37.5)
    assert (nobody.tickets, nobody.on_call, nobody.median_form_seconds) == (1, 0, None)
    assert (a.follow_up_calls, b.follow_up_calls) == (2, 0)  # reached (拒访 too); unreachable and the next day not
    assert counts == (6, 2)


def test_the_reports_page_shows_the_operators_of_the_day(app, rt):
    hand_built_day(app, rt)
    page = logged_in(app, "office").get("/console/reports?days=1").get_data(as_text=True)
    section = page[page.index('id="operators"'):page.index("各渠道来件量")]
    assert "话务员工作量" in section and "即时办结率" in section
    assert section.index("A0101") < section.index("A0102")  # most tickets first
    assert "33.3%" in section and "50.0%" in section and "90 秒" in section and "38 秒" in section
    assert 'title="2/6">33.3%' in section  # the day's total: 2 of 6 tickets closed on the call
