"""The one intake path: replays, threading, outbox, and dispatch by a real worker."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session, func, select

from bench.common import free_port, start_redis
from gateway import create_app
from gateway.casework.dispatch import dispatch_case, sweep_outbox
from gateway.clock import utcnow
from gateway.models import Assignment, Case, Contact, Identity, Outbox, Report
from tests.conftest import PATIENCE, run_jobs, run_worker_process, subprocess_env
from tests.kits.dispatch_kit import deliver_by_webhook

STREET_LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号附近路灯连续三晚不亮，夜里很黑。", "phone": "13800138001",
                "external_id": "web-1"}


def count(rt: Any, model: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_replaying_one_report_twenty_times_concurrently_yields_one_report_and_one_case(app, rt):
    def post(_: int) -> tuple[int, str]:
        resp = app.test_client().post("/api/v1/reports", json=STREET_LIGHT)
        return resp.status_code, resp.get_json()["case"]["number"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(20)))
    assert sorted(code for code, _ in results) == [200] * 19 + [201]
    assert len({number for _, number in results}) == 1
    assert count(rt, Report) == 1
    assert count(rt, Case) == 1
    assert count(rt, Outbox) == 1


def test_a_replay_returns_the_same_answer(client):
    first = client.post("/api/v1/reports", json=STREET_LIGHT)
    again = client.post("/api/v1/reports", json=STREET_LIGHT)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["case"] == first.get_json()["case"]
    assert again.get_json()["report"]["id"] == first.get_json()["report"]["id"]


def test_a_quoted_case_number_threads_for_its_reporter_or_with_a_code_of_the_case(office_client):
    client = office_client  # reading cases takes a logged-in office user
    first = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]
    number, code = first["number"], first["retrieval_code"]
    same = client.post("/api/v1/reports", json={"text": f"关于工单{number}，路灯今晚还是不亮。", "phone": STREET_LIGHT["phone"]})
    assert same.status_code == 201 and same.get_json()["case"]["number"] == number and same.get_json()["link"] == "thread"
    stranger = client.post("/api/v1/reports", json={"text": f"关于工单{number}，路灯今晚还是不亮。", "phone": "13900000000"})
    assert stranger.get_json()["case"]["number"] != number  # a number alone is no proof
    told = client.post("/api/v1/reports", json={"text": f"工单{number} 查询码{code.lower()}：家人代为补充", "phone": "13700000000"})
    assert told.get_json()["case"]["number"] == number and told.get_json()["link"] == "thread"
    detail = client.get(f"/api/v1/cases/{number}").get_json()
    assert [r["link"] for r in detail["reports"]] == ["new", "thread", "thread"]
    assert detail["reporter_count"] == 2


def test_one_phone_written_three_ways_is_one_contact(client, rt):
    for i, phone in enumerate(["13800138001", "+86 138 0013 8001", "138-0013-8001"]):
        client.post("/api/v1/reports", json={"text": f"第{i}条留言", "phone": phone})
    assert count(rt, Contact) == 1
    with Session(rt.engine) as session:
        assert session.exec(select(Identity.value)).all() == ["+8613800138001"]


def test_a_web_post_and_an_email_with_the_same_phone_link_the_email_to_the_contact(client, rt):
    client.post("/api/v1/reports", json={"text": "路灯坏了", "phone": "13800138001"})
    client.post("/api/v1/reports", json={"text": "补充照片", "phone": "13800138001", "email": "Zhang@Example.com"})
    client.post("/api/v1/reports", json={"text": "另一件事", "email": "zhang@example.com"})
    assert count(rt, Contact) == 1
    with Session(rt.engine) as session:
        assert sorted(session.exec(select(Identity.kind)).all()) == ["email", "phone"]


def test_a_worker_dispatches_a_new_case_to_its_lead_department(office_client, app, rt):
    client = office_client  # reading cases takes a logged-in office user
    number = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    run_jobs(app)
    detail = client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["status"] == "dispatched"
    assert detail["category"] == "street_light"
    assert [(a["department"], a["role"], a["status"]) for a in detail["assignments"]] == [("WH-LIGHT", "lead", "dispatched")]
    assert detail["assignments"][0]["due_at"] is not None
    assert "dispatched" in [e["kind"] for e in detail["events"]]


def test_dispatching_twice_creates_no_second_assignment(client, app, rt):
    number = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    run_jobs(app)

    with Session(rt.engine) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
    result = dispatch_case(case.id)
    assert result.get("skipped") == "already dispatched", result
    assert count(rt, Assignment) == 1


def test_redis_gone_while_a_dispatch_commits_leaves_its_notices_pending_for_the_sweeper(config):
    port = free_port()
    server = start_redis(port)
    app = create_app({**config, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    rt = app.extensions["hotline"]
    with app.app_context():
        deliver_by_webhook(rt, "WH-LIGHT")  # a unit with a system of its own: its notice is a `deliver` job
        number = app.test_client().post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
        server.terminate()
        server.wait()
        with Session(rt.engine) as session:
            case = session.exec(select(Case).where(Case.number == number)).one()
        assert dispatch_case(case.id)["status"] == "dispatched"  # the assignment is committed all the same
        with Session(rt.engine) as session:
            notices = session.exec(select(Outbox).where(Outbox.func == "deliver")).all()
            assert notices and all(r.enqueued_at is None and "ConnectionError" in r.last_error for r in notices)
            assert session.exec(select(func.count()).select_from(Assignment)).one() == 1
        server = start_redis(port)
        try:
            assert sweep_outbox(older_than_seconds=0) == len(notices)
            assert sweep_outbox(older_than_seconds=0) == 0
            assert {job.func_name for job in rt.broker.queue("deliver").jobs} == {"gateway.jobs.deliver"}
        finally:
            server.terminate()
            server.wait()


def test_a_worker_process_runs_the_dispatch_job_against_real_redis(office_client, config, rt):
    client = office_client  # reading cases takes a logged-in office user
    number = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    done = run_worker_process(config, "-n", "1", "--burst")
    assert done.returncode == 0, done.stderr[-2000:]
    detail = client.get(f"/api/v1/cases/{number}").get_json()
    assert [a["department"] for a in detail["assignments"]] == ["WH-LIGHT"]


def test_a_worker_pool_on_the_dispatch_queue_alone_leaves_the_deliveries_to_another(office_client, config, rt):
    """`hotline worker --queue dispatch` (a pool of its own for dispatch; `bench.dispatch` measures its pools so,
    with worker.py): it dispatches; a delivery waiting in the deliver queue stays there for a pool that takes it."""
    number = office_client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    rt.broker.enqueue("deliver", "bench.noop.noop", [], "waiting-delivery")
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "worker", "-n", "1", "--burst", "--queue", "dispatch"],
                          env=subprocess_env(config), capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [a["department"] for a in office_client.get(f"/api/v1/cases/{number}").get_json()["assignments"]] == ["WH-LIGHT"]
    assert rt.broker.queue("dispatch").count == 0
    assert rt.broker.queue("deliver").job_ids == [f"{rt.broker.prefix}-waiting-delivery"]
    refused = run_worker_process(config, "-n", "1", "--burst", "--queue", "nowhere")
    assert refused.returncode == 2 and "invalid choice: 'nowhere'" in refused.stderr


def test_redis_down_at_intake_loses_nothing_and_the_sweeper_enqueues_once_it_is_back(config):
    port = free_port()
    app = create_app({**config, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})  # nothing listens there yet
    rt = app.extensions["hotline"]
    with app.app_context():
        client = app.test_client()
        # three different matters (dedupe would rightly fold three copies of one into one case)
        answers = [client.post("/api/v1/reports", json={"text": text, "phone": f"1380013800{i}", "external_id": f"down-{i}"})
                   for i, text in enumerate(["江岸区中山大道路灯不亮", "洪山区关山街道停水两天", "武昌区积玉桥工地夜间施工噪音"])]
        assert [a.status_code for a in answers] == [201, 201, 201]
        assert client.get("/readyz").status_code == 503
        with Session(rt.engine) as session:
            rows = session.exec(select(Outbox)).all()
            assert len(rows) == 3 and all(r.enqueued_at is None and r.last_error for r in rows)

        server = start_redis(port)
        try:
            assert sweep_outbox(older_than_seconds=0) == 3
            assert sweep_outbox(older_than_seconds=0) == 0  # nothing is sent twice
            run_jobs(app)
            with Session(rt.engine) as session:
                assert session.exec(select(func.count()).select_from(Assignment)).one() == 3
                assert {c.status for c in session.exec(select(Case)).all()} == {"dispatched"}
        finally:
            server.terminate()
            server.wait()
    rt.engine.dispose()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"{not json", "application/json", 400, "body"),
        (b"\xff\xfe\x00", "application/json", 400, "body"),
        (b"[1, 2]", "application/json", 422, "body"),
        (b"{}", "application/json", 422, "text"),
        (b'{"text": 42}', "application/json", 422, "text"),
        (b'{"text": "   "}', "application/json", 422, "text"),
        (b'{"text": "ok", "phone": ["138"]}', "application/json", 422, "phone"),
        (b'{"text": "ok", "public": "yes"}', "application/json", 422, "public"),
        (b'{"text": "ok", "title": {"a": 1}}', "application/json", 422, "title"),
        (b"text=hello", "application/x-www-form-urlencoded", 415, "body"),
    ],
)
def test_bad_web_posts_get_a_json_error_naming_the_field(client, rt, body, content_type, status, field):
    resp = client.post("/api/v1/reports", data=body, content_type=content_type)
    assert resp.status_code == status
    assert resp.get_json()["error"]["field"] == field
    assert count(rt, Report) == 0


def test_unknown_case_numbers_and_bad_paging_are_4xx(office_client):
    client = office_client  # reading cases takes a logged-in office user
    assert client.get("/api/v1/cases/WH20990101-000001").status_code == 404
    assert client.get("/api/v1/cases?page=zero").get_json()["error"]["field"] == "page"
    assert client.get("/api/v1/cases?per_page=100000").status_code == 400
    assert client.get("/api/v1/cases?department=NOPE").status_code == 404
    assert client.get("/api/v1/nothing-here").status_code == 404


def test_cases_are_listed_newest_first_and_filtered_by_status_and_department(office_client, app):
    client = office_client  # reading cases takes a logged-in office user
    a = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    b = client.post("/api/v1/reports", json={"text": "东西湖区某公司拖欠工资三个月", "phone": "13700000000"}).get_json()["case"]["number"]
    listing = client.get("/api/v1/cases").get_json()
    assert [c["number"] for c in listing["cases"]] == [b, a] and listing["total"] == 2
    run_jobs(app)
    assert [c["number"] for c in client.get("/api/v1/cases?department=WH-HRSS").get_json()["cases"]] == [b]
    assert client.get("/api/v1/cases?status=new").get_json()["total"] == 0
    assert client.get("/api/v1/cases?status=dispatched&per_page=1").get_json()["total"] == 2


def test_a_job_that_redis_lost_is_sent_again_and_a_done_job_is_not(app, office_client, rt):
    client = office_client  # reading cases takes a logged-in office user
    from datetime import timedelta

    from rq.job import Job

    from gateway.clock import utcnow

    lost = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    done = client.post("/api/v1/reports", json={"text": "东西湖区某物流公司拖欠工资三个月", "phone": "13900000002"}).get_json()["case"]["number"]
    with Session(rt.engine) as session:
        lost_id = session.exec(select(Case.id).where(Case.number == lost)).one()
    Job.fetch(f"{rt.broker.prefix}-dispatch-{lost_id}", connection=rt.broker.redis).delete()  # as a Redis restart would
    run_jobs(app)  # runs only the job Redis still has
    with Session(rt.engine) as session:
        rows = {r.job_id: r for r in session.exec(select(Outbox)).all()}
        assert rows[f"dispatch-{lost_id}"].done_at is None
        assert [k for k, r in rows.items() if k.startswith("dispatch-") and r.done_at] == [f"dispatch-{lost_id + 1}"]
    assert sweep_outbox() == 0  # not before the job's whole time limit has passed
    later = utcnow() + timedelta(minutes=10)
    rt.settings = replace(rt.settings, now=later)
    assert sweep_outbox() == 1  # the lost one only; the done one stays done
    run_jobs(app)
    for number, unit in ((lost, "WH-LIGHT"), (done, "WH-HRSS")):
        assert [a["department"] for a in client.get(f"/api/v1/cases/{number}").get_json()["assignments"]] == [unit]
    assert sweep_outbox() == 0


def test_the_broker_sends_a_batch_at_once_and_never_adds_a_job_id_twice(rt):
    jobs = [("default", "bench.noop.noop", [], "batch-a"), ("deliver", "bench.noop.noop", [], "batch-b")]
    assert rt.broker.enqueue_many(jobs) == [None, None]
    assert rt.broker.enqueue_many(jobs + [("default", "bench.noop.noop", [], "batch-c")]) == [None, None, None]
    assert rt.broker.queue("default").job_ids == [f"{rt.broker.prefix}-batch-a", f"{rt.broker.prefix}-batch-c"]
    assert rt.broker.queue("deliver").job_ids == [f"{rt.broker.prefix}-batch-b"]
    job = rt.broker.queue("default").fetch_job(f"{rt.broker.prefix}-batch-a")
    assert (job.timeout, job.retries_left, job._success_callback_name, job._failure_callback_name) == (
        rt.broker.job_timeout, len(rt.broker.retry_backoff), "gateway.outbox.on_job_success",
        "gateway.failures.on_job_failure")


def test_a_dispatch_job_marks_its_outbox_row_in_its_own_transaction_without_a_success_callback(app, office_client, rt):
    """dispatch_case marks its row done beside its work (jobs.Job.marks_done): RQ gets no success callback for
    it, which would spend a second transaction; a job that fails leaves its row not done, for the sweep."""
    number = office_client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    with Session(rt.engine) as session:
        case_id = session.exec(select(Case.id).where(Case.number == number)).one()
    job = rt.broker.queue("dispatch").fetch_job(f"{rt.broker.prefix}-dispatch-{case_id}")
    assert (job._success_callback_name, job._failure_callback_name) == (None, "gateway.failures.on_job_failure")
    rt.broker.enqueue("dispatch", "dispatch_case", [case_id + 999], f"dispatch-{case_id + 999}")  # no such case
    with Session(rt.engine) as session:
        session.add(Outbox(job_id=f"dispatch-{case_id + 999}", func="dispatch_case", args=[case_id + 999],
                           queue="dispatch", enqueued_at=utcnow()))
        session.commit()
    run_jobs(app)
    with Session(rt.engine) as session:
        rows = {r.job_id: r for r in session.exec(select(Outbox)).all()}
        assert rows[f"dispatch-{case_id}"].done_at is not None
        assert rows[f"dispatch-{case_id + 999}"].done_at is None  # its job raised: nothing of it committed
        assert session.exec(select(Case.status).where(Case.id == case_id)).one() == "dispatched"


def test_a_batch_redis_cannot_take_comes_back_with_the_error_for_every_job(config):
    app = create_app({**config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})  # nothing listens there
    rt = app.extensions["hotline"]
    errors = rt.broker.enqueue_many([("default", "bench.noop.noop", [], "x"), ("deliver", "bench.noop.noop", [], "y")])
    assert [type(e).__name__ for e in errors] == ["ConnectionError", "ConnectionError"]
    rt.engine.dispose()


def test_a_reporter_already_on_the_case_is_not_counted_twice(client, rt):
    made = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]
    first, code = made["number"], made["retrieval_code"]
    again = {**STREET_LIGHT, "external_id": "web-2", "text": f"{first} 路灯还是不亮"}  # the same phone, threaded
    assert client.post("/api/v1/reports", json=again).get_json()["case"]["number"] == first
    other = {**STREET_LIGHT, "external_id": "web-3", "phone": "13900139000", "text": f"{first} {code} 我家门口也不亮"}
    assert client.post("/api/v1/reports", json=other).get_json()["case"]["number"] == first
    with Session(rt.engine) as session:
        case = session.exec(select(Case).where(Case.number == first)).one()
    assert (case.report_count, case.reporter_count) == (3, 2)
