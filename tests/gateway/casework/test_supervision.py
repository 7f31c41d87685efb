"""Supervision (督办): reminder, overdue, written chase the next working day, escalation, once per step, by RQ jobs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, events, notifications, report, set_clock


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: the workflow API needs a signed-in unit or office user."""
    return logged_in(app, "office")


TRASH = {"title": "垃圾没人清运", "text": "江岸区一元街道小区门口垃圾堆积没人清运。", "phone": "13800138009"}


def sweep(rt, jobs, *args) -> None:
    """Run the supervision sweep as the cron would: an RQ job on the real Redis (args: the sweep's batch size)."""
    rt.broker.enqueue("default", "sweep_supervision", list(args), job_id=f"sweep-{uuid.uuid4().hex}")
    jobs()


def levels(rt, number):
    return {code: a.supervision_level for code, a in assignments(rt, number).items()}


def test_the_ladder_reminds_flags_chases_and_escalates_across_the_labour_day_holiday(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)  # Wednesday; 24 h -> due Thursday 30 April 10:00
    number = report(client, **TRASH)
    jobs()
    assert levels(rt, number) == {"WH-CHENGGUAN": 0, "D-JIANGAN": 0}
    set_clock(app, 2026, 4, 30, 5, 59)
    sweep(rt, jobs)
    assert levels(rt, number) == {"WH-CHENGGUAN": 0, "D-JIANGAN": 0}
    set_clock(app, 2026, 4, 30, 6, 0)  # 4 h before the deadline
    sweep(rt, jobs)
    assert levels(rt, number) == {"WH-CHENGGUAN": 1, "D-JIANGAN": 1}
    sweep(rt, jobs)  # a second sweep at the same time adds nothing
    assert len(notifications(rt, number, "reminder")) == 2
    set_clock(app, 2026, 4, 30, 10, 0)
    sweep(rt, jobs)
    assert levels(rt, number)["WH-CHENGGUAN"] == 2 and len(events(rt, number, "overdue")) == 2
    set_clock(app, 2026, 5, 5, 23)  # still the holiday: no working day since the deadline
    sweep(rt, jobs)
    assert levels(rt, number)["WH-CHENGGUAN"] == 2
    set_clock(app, 2026, 5, 6, 8)  # the next working day: the written chase
    sweep(rt, jobs)
    assert levels(rt, number)["WH-CHENGGUAN"] == 3
    assert [n.kind for n in notifications(rt, number, "chase")] == ["chase", "chase"]
    set_clock(app, 2026, 5, 7, 8)
    sweep(rt, jobs)
    assert levels(rt, number)["WH-CHENGGUAN"] == 3
    set_clock(app, 2026, 5, 8, 8)  # the third working day after the deadline (May 6, 7, 8): the office takes over
    sweep(rt, jobs)
    assert levels(rt, number) == {"WH-CHENGGUAN": 4, "D-JIANGAN": 4}
    escalations = notifications(rt, number, "escalate")
    assert len(escalations) == 4  # each department, and the office once per assignment
    assert [e.kind for e in events(rt, number) if e.kind in ("reminder", "overdue", "chase", "escalate")] == [
        "reminder", "reminder", "overdue", "overdue", "chase", "chase", "escalate", "escalate"]


def test_a_late_first_sweep_takes_every_missed_step_but_no_reminder(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = report(client, **TRASH)
    jobs()
    set_clock(app, 2026, 5, 6, 9)
    sweep(rt, jobs)
    assert levels(rt, number)["WH-CHENGGUAN"] == 3
    assert notifications(rt, number, "reminder") == []
    assert len(notifications(rt, number, "overdue")) == len(notifications(rt, number, "chase")) == 2


def test_one_sweep_walks_a_backlog_larger_than_its_batch(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    numbers = [report(client, **{**TRASH, "phone": f"1380013810{i}", "text": f"江岸区一元街道{estate}小区门口垃圾堆积没人清运。"})
               for i, estate in enumerate(("幸福里", "百步亭", "金色家园"))]
    assert len(set(numbers)) == 3  # three estates: three cases
    jobs()
    set_clock(app, 2026, 4, 30, 10, 0)  # all six assignments (two per case) are overdue now
    sweep(rt, jobs, 2)  # batches of 2
    assert [levels(rt, n) for n in numbers] == [{"WH-CHENGGUAN": 2, "D-JIANGAN": 2}] * 3
    set_clock(app, 2026, 5, 6, 8)  # the next working day: the rows already at their level do not hold the others up
    sweep(rt, jobs, 2)
    assert [levels(rt, n)["WH-CHENGGUAN"] for n in numbers] == [3, 3, 3]


def test_a_replied_or_extended_assignment_is_not_chased(app, client, rt, jobs):
    set_clock(app, 2026, 4, 29, 10)
    number = report(client, **TRASH)
    jobs()
    rows = assignments(rt, number)
    client.post(f"/api/v1/assignments/{rows['D-JIANGAN'].id}/reply", json={"text": "已清运"})
    ext = client.post(f"/api/v1/assignments/{rows['WH-CHENGGUAN'].id}/extension",
                      json={"until": "2026-05-08T18:00:00+08:00", "reason": "节日期间人手不足"}).get_json()["extension"]
    client.post(f"/api/v1/extensions/{ext['id']}/decide", json={"approve": True})
    set_clock(app, 2026, 5, 6, 9)
    sweep(rt, jobs)
    assert levels(rt, number) == {"WH-CHENGGUAN": 0, "D-JIANGAN": 0}


def test_the_cron_registers_the_sweeps_and_the_reports_in_city_time(app):
    import os
    import time

    from rq.cron import CronJob

    import worker

    specs = worker.periodic_jobs(app)
    funcs = [s["func"] for s in specs]
    assert {"sweep_supervision", "sweep_followups", "sweep_outbox"} <= set(funcs)
    crons = [s["cron"] for s in specs if s["func"] == "make_report"]
    assert crons == ["0 12 * * *", "0 20 * * *"]
    before = os.environ.get("TZ")
    try:
        worker.use_city_time("Asia/Shanghai")  # what run_cron does: rq.cron reads cron strings in local time
        job = CronJob("q", func_name="gateway.jobs.make_report", cron=crons[0])
        assert job.next_enqueue_time is not None and (job.next_enqueue_time.hour, job.next_enqueue_time.minute) == (4, 0)
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
