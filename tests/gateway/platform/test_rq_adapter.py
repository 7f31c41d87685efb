"""The RQ adapter (gateway/broker.py): the internals it uses are those of the RQ it was checked against, and
its pipelined enqueue leaves in Redis what RQ's own enqueue leaves."""

from __future__ import annotations

import rq
from rq.job import Job

from gateway import broker


def test_the_installed_rq_is_the_one_the_adapter_was_checked_against():
    assert rq.__version__.startswith(broker.RQ_TESTED + "."), (
        f"RQ {rq.__version__} is installed; gateway/broker.py was checked against {broker.RQ_TESTED}: re-read "
        "rq.scripts._build_hset_args and Queue._prepare_for_queue, then update RQ_TESTED and the pin in pyproject.toml")
    assert broker._PIPELINED, "the pipelined enqueue is off: an internal it needs is gone from this RQ"


def test_a_pipelined_job_is_what_rqs_own_enqueue_makes_of_it(rt):
    rt.broker.enqueue("default", "make_report", [], "adapter-check")
    ours = Job.fetch(f"{rt.broker.prefix}-adapter-check", connection=rt.broker.redis)
    theirs = rt.broker.queue("default").enqueue("gateway.jobs.make_report", job_id=f"{rt.broker.prefix}-rq-own",
                                               job_timeout=rt.broker.job_timeout)
    theirs = Job.fetch(theirs.id, connection=rt.broker.redis)
    assert (ours.func_name, ours.origin, ours.get_status(), ours.timeout) == (
        theirs.func_name, theirs.origin, theirs.get_status(), theirs.timeout)
    assert ours.enqueued_at is not None and ours.id in rt.broker.queue("default").job_ids
    assert ours.retries_left == len(rt.broker.retry_backoff)
