"""The five rates, one formula each, on a hand-built set of cases in one period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from gateway.clock import as_utc
from gateway.models import Contact, FollowUp, Report
from gateway.reporting.rates import period_rates
from tests.kits.case_kit import add_assignment, add_case, department_id
from tests.kits.dispatch_kit import CITY

# In UTC, as the gateway stores every moment (SQLite keeps the text of what it is given).
START, END = as_utc(datetime(2026, 4, 27, 20, tzinfo=CITY)), as_utc(datetime(2026, 4, 28, 12, tzinfo=CITY))
IN = START + timedelta(hours=4)  # a moment inside the period
H = timedelta(hours=1)


def followup(db, case, n, satisfaction, solved, at=IN):
    db.add(FollowUp(case_id=case.id, contact_key=f"sms:{case.id}-{n}", channel="sms", status="answered",
                    ask_at=at - H, answered_at=at, satisfaction=satisfaction, solved=solved))


def report(db, case, contact, at, n):
    db.add(Report(case_id=case.id, contact_id=contact.id, channel="sms", external_id=f"r-{case.id}-{n}", text="路灯不亮",
                  received_at=at))


def build(rt):
    with Session(rt.engine, expire_on_commit=False) as db:
        a = add_case(db, "WH20260428-000001", created_at=IN)
        b = add_case(db, "WH20260428-000002", created_at=IN)
        c = add_case(db, "WH20260428-000003", created_at=IN, category="education")
        old = add_case(db, "WH20260420-000009", created_at=START - timedelta(days=8))
        # 回告 due in the period: light 3 (2 met: one signed in time, one by contact; 1 late), edu 1 (missed)
        add_assignment(db, a, "WH-LIGHT", ack_due_at=IN, acknowledged_at=IN - H, due_at=IN + H, replied_at=IN)
        add_assignment(db, b, "WH-LIGHT", ack_due_at=IN, acknowledged_at=IN - 2 * H, due_at=IN + 2 * H)
        add_assignment(db, old, "WH-LIGHT", ack_due_at=IN + H, acknowledged_at=IN + 2 * H, due_at=IN + 3 * H,
                       replied_at=IN + 4 * H)
        add_assignment(db, c, "WH-EDU", ack_due_at=IN, due_at=END + 24 * H)
        # 回告 due before the period, 办结 due after it: neither counts in the period
        add_assignment(db, c, "D-JIANGAN", role="assist", ack_due_at=START - H, acknowledged_at=START - 2 * H,
                       due_at=END + H)
        # a cancelled one counts nowhere
        add_assignment(db, a, "WH-CHENGGUAN", role="assist", status="cancelled", ack_due_at=IN, due_at=IN)
        # follow-ups answered in the period (a led by light, c by education); one before the period
        followup(db, a, 1, "满意", True)
        followup(db, a, 2, "基本满意", False)
        followup(db, a, 3, "不满意", False)
        followup(db, c, 1, "未接通", None)  # answered, not a valid satisfaction answer
        followup(db, old, 1, "满意", True, at=START - H)
        # repeats: one person twice on a within 72 h; two people once each on b; one person on c after 5 days
        p, q, r = Contact(name="甲"), Contact(name="乙"), Contact(name="丙")
        db.add_all([p, q, r])
        db.flush()
        report(db, a, p, IN, 1)
        report(db, a, p, IN + 30 * H, 2)
        report(db, b, p, IN, 1)
        report(db, b, q, IN + H, 2)
        report(db, c, r, IN, 1)
        report(db, c, r, IN + 5 * 24 * H, 2)
        db.commit()
        return department_id(db, "WH-LIGHT"), department_id(db, "WH-EDU")


def test_each_rate_is_its_own_formula_over_the_period(rt):
    light, edu = build(rt)
    with Session(rt.engine) as db:
        rates = period_rates(db, START, END)
    every, lit, school = rates[None], rates[light], rates[edu]
    # 响应率: 回告 due in the period and met / due in the period
    assert (lit.ack_on_time, lit.ack_due, lit.response_rate) == (2, 3, 0.6667)
    assert (school.ack_on_time, school.ack_due, school.response_rate) == (0, 1, 0.0)
    assert (every.ack_on_time, every.ack_due) == (2, 4)
    # 按期办结率: 办结 due in the period and replied by then / due in the period
    assert (lit.done_on_time, lit.done_due, lit.on_time_rate) == (1, 3, 0.3333)
    assert school.done_due == 0 and school.on_time_rate is None
    # 解决率 and 满意率 over the follow-ups answered in the period, on the cases a unit leads
    assert (lit.solved, lit.answered, lit.resolution_rate) == (1, 3, 0.3333)
    assert (lit.satisfied, lit.valid, lit.satisfaction_rate) == (2, 3, 0.6667)
    assert (school.answered, school.valid, school.satisfaction_rate) == (1, 0, None)
    assert (every.answered, every.solved, every.valid, every.satisfied) == (4, 1, 3, 2)
    # 重复来电率: cases opened in the period that one person reported again within 72 h
    assert (every.repeats, every.cases, every.repeat_rate) == (1, 3, 0.3333)
    assert (lit.repeats, lit.cases) == (1, 2) and (school.repeats, school.cases) == (0, 1)


def test_volumes_count_each_report_and_case_on_its_local_day_counted_per_hour_or_row_by_row(rt):
    """The charts' daily volumes: counted per UTC hour in the database, then put on the city's day, so a report at
    23:59 and one at 00:01 city time land on their own days. In a zone half an hour off UTC an hour may straddle
    midnight: the counts are then made row by row, with the same result."""
    from zoneinfo import ZoneInfo

    from gateway.reporting.stats import days, volume_by_category, volume_by_channel

    for month, tz in ((4, CITY), (6, ZoneInfo("Asia/Kolkata"))):  # UTC+8, and UTC+5:30 (the later month: its own rows)
        def at(day, hour, minute, tz=tz, month=month):
            return as_utc(datetime(2026, month, day, hour, minute, tzinfo=tz))

        with Session(rt.engine, expire_on_commit=False) as db:
            for n, (moment, channel) in enumerate([(at(27, 23, 59), "sms"), (at(28, 0, 1), "sms"), (at(28, 0, 31), "web"),
                                                   (at(28, 23, 31), "web"), (at(29, 12, 0), "hotline")]):
                db.add(Report(channel=channel, external_id=f"v-{month}-{n}", text="路灯不亮", received_at=moment))
            for n, (moment, category) in enumerate([(at(27, 23, 45), "street_light"), (at(28, 0, 15), "street_light"),
                                                    (at(28, 0, 45), None)]):
                add_case(db, f"WH2026{month:02d}28-10000{n}", created_at=moment, category=category)
            merged = add_case(db, f"WH2026{month:02d}28-200000", created_at=at(28, 9, 0))
            merged.merged_into_id = merged.id - 1  # merged away: counts nowhere
            db.add(merged)
            db.commit()
            since = at(27, 0, 0)
            axis = days(since, at(29, 23, 0), tz)
            assert volume_by_channel(db, since, axis, tz) == {"sms": [1, 1, 0], "web": [0, 2, 0], "hotline": [0, 0, 1]}
            counted = volume_by_category(db, since, axis, tz)
            assert counted["street_light"] == [1, 1, 0] and counted["—"] == [0, 1, 0], counted
