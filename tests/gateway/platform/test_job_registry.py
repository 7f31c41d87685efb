"""The job registry: short names in the outbox, stable entry points in Redis, and names from before it still run."""

from __future__ import annotations

import uuid

import pytest
from rq.utils import import_attribute
from sqlmodel import Session, select

from gateway import jobs as registry
from gateway.models import DailyReport, Outbox
from tests.kits.dispatch_kit import assignments, report


def test_every_registered_job_and_final_handler_resolves_and_redis_can_import_its_entry_point():
    for name, job in registry.JOBS.items():
        assert callable(registry.target(name))
        assert import_attribute(registry.entry_point(name)) is registry.entry(name)
        assert job.final is None or callable(registry.final_handler(name))
    assert set(registry.LEGACY.values()) <= set(registry.JOBS)


def test_every_name_from_before_the_registry_maps_to_the_function_registered_today():
    assert registry.target("gateway.notify.deliver") is registry.target("deliver")
    assert registry.entry_point("gateway.reports.make_report") == "gateway.jobs.make_report"
    assert registry.entry_point("gateway.jobs.make_report") == "gateway.jobs.make_report"
    with pytest.raises(registry.UnknownJob, match="no job named 'gateway.nothing.here'"):
        registry.target("gateway.nothing.here")
    with pytest.raises(registry.UnknownJob, match="no job named 'dispatch_cases'"):
        registry.entry_point("dispatch_cases")  # a typo of a short name
    with pytest.raises(registry.UnknownJob):
        registry.entry_point("gateway.jobs.nothing")
    assert registry.entry_point("bench.noop.noop") == "bench.noop.noop"  # not ours: RQ imports it


def test_a_job_queued_in_redis_under_its_old_dotted_name_still_runs(app, rt, jobs):
    # As main put it into Redis before the registry: RQ's own enqueue with the module path of that time,
    # a module that no longer exists.
    rt.broker.queue("default").enqueue("gateway.reports.make_report", job_id=f"{rt.broker.prefix}-old-{uuid.uuid4().hex}")
    with Session(rt.engine) as session:
        before = len(session.exec(select(DailyReport)).all())
    jobs()
    with Session(rt.engine) as session:
        assert len(session.exec(select(DailyReport)).all()) == before + 1


def test_the_outbox_stores_the_short_name_and_redis_the_registry_entry_point(app, rt, client, jobs):
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯连续三天不亮。")
    with Session(rt.engine) as session:
        row = session.exec(select(Outbox).where(Outbox.func == "dispatch_case")).one()
    assert {j.func_name for j in rt.broker.queue("dispatch").jobs} == {"gateway.jobs.dispatch_case"}
    jobs()
    assert assignments(rt, number)
    # an outbox row kept from before the registry is sent under the same entry point
    rt.broker.redis.delete(f"rq:job:{rt.broker.prefix}-{row.job_id}")
    rt.broker.enqueue("dispatch", "gateway.jobs.dispatch_case", list(row.args), row.job_id)
    assert {j.func_name for j in rt.broker.queue("dispatch").jobs} == {"gateway.jobs.dispatch_case"}
