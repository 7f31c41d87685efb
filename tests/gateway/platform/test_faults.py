"""Faults survived: a killed worker, a failing department, an unreachable database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any, Callable

from rq.job import Job
from sqlmodel import Session, func, select

from gateway import create_app
from gateway.models import Assignment, Case, Event
from tests.conftest import PATIENCE, ROOT, subprocess_env

STREET_LIGHT = {"title": "路灯不亮", "text": "江岸区中山大道888号附近路灯连续三晚不亮，夜里很黑。", "phone": "13800138001",
                "external_id": "web-1"}
# A killed worker's job is found after timeout + grace and a maintenance run: seconds, not minutes. The
# timeout also bounds the paused job's run until the test kills it, so it leaves room for a loaded machine
# (at 5 s and a load of 13 on two cores the job timed out before the kill, and the test killed a stale pid).
FAST_RECOVERY = {"JOB_TIMEOUT": 30, "JOB_GRACE": 1, "MAINTENANCE_SECONDS": 1, "RETRY_BACKOFF": [0, 0, 0]}
FAST_ENV = {"HOTLINE_JOB_TIMEOUT": "30", "HOTLINE_JOB_GRACE": "1", "HOTLINE_MAINTENANCE_SECONDS": "1",
            "HOTLINE_RETRY_BACKOFF": "0,0,0"}


def count(rt: Any, model: Any, *where: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_in_the_middle_of_a_dispatch_is_retried_and_assigns_once(config):
    app = create_app({**config, **FAST_RECOVERY})
    rt = app.extensions["hotline"]
    pool = None
    try:
        with app.app_context():
            number = app.test_client().post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
            with Session(rt.engine) as session:
                case_id = session.exec(select(Case.id).where(Case.number == number)).one()
            rt.broker.queue("dispatch").empty()  # replaced by the same dispatch that pauses after its commit
            gate = f"{config['QUEUE_PREFIX']}-gate-{uuid.uuid4().hex[:6]}"
            rt.broker.enqueue("dispatch", "tests.kits.chaos_kit.dispatch_then_wait", [case_id, gate], "chaos-dispatch")
            pool = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "-n", "1"],
                                    env={**subprocess_env(config), **FAST_ENV}, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            reached = wait_for(lambda: rt.broker.redis.blpop([f"{gate}:reached"], timeout=1), PATIENCE,
                               "the worker to reach the pause")
            os.kill(int(reached[1]), signal.SIGKILL)  # the worker process, in the middle of its job
            assert count(rt, Assignment) == 1  # the dispatch had committed before the kill
            rt.broker.redis.set(gate, "open")
            job = Job.fetch(f"{config['QUEUE_PREFIX']}-chaos-dispatch", connection=rt.broker.redis)
            status = wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed") and job.get_status(),
                              PATIENCE, "the retried job to end")
            assert status == "finished", job.refresh() or job.latest_result()
            job.refresh()
            # Retried by RQ's cleanup of the killed worker's job (on a loaded machine a slow retry may be
            # abandoned and retried once more: what matters is that every run found the work done).
            assert job.retries_left < len(FAST_RECOVERY["RETRY_BACKOFF"])
            assert count(rt, Assignment) == 1
            assert count(rt, Event, Event.kind == "dispatched") == 1
            with Session(rt.engine) as session:
                assert session.get(Case, case_id).status == "dispatched"
    finally:
        if pool is not None:
            os.killpg(pool.pid, signal.SIGTERM)
            try:
                pool.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pool.pid, signal.SIGKILL)
                pool.wait()
            try:
                os.killpg(pool.pid, signal.SIGKILL)  # the scheduler the killed worker forked
            except ProcessLookupError:
                pass
        for queue in rt.broker.queues.values():
            queue.empty()
        rt.engine.dispose()


class Department:
    """A department's webhook on a loopback port: answers `status`, records every delivery it gets."""

    def __init__(self, status: int) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status, self.received = status, []
        self.raw: list[tuple[dict[str, str], bytes]] = []  # (headers, body) as the department's system got them
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.headers["Idempotency-Key"], json.loads(body)))
                outer.raw.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _dispatch_to_two_webhooks(rt: Any, client: Any, failing: Department, working: Department) -> tuple[int, dict]:
    """A case assigned to two departments reached by webhook, one dispatch notification each."""
    from gateway import outbox
    from gateway.messaging.notify import queue_notification
    from gateway.models import Department as Dept

    number = client.post("/api/v1/reports", json=STREET_LIGHT).get_json()["case"]["number"]
    with Session(rt.engine, expire_on_commit=False) as session:
        case = session.exec(select(Case).where(Case.number == number)).one()
        depts = session.exec(select(Dept).where(Dept.kind != "office").order_by(Dept.id).limit(2)).all()
        rows, ids = [], {}
        for dept, peer in zip(depts, (failing, working)):
            dept.delivery, dept.webhook = "webhook", peer.url
            session.add(dept)
            session.add(Assignment(case_id=case.id, department_id=dept.id, role="lead" if peer is failing else "assist"))
            rows.append(queue_notification(session, dedupe_key=f"dispatch-{case.id}-{dept.id}", channel="webhook",
                                           kind="dispatch", body=case.summary, address=peer.url, case_id=case.id,
                                           department_id=dept.id))
            ids[peer.url] = dept.id
        session.commit()
        outbox.deliver(session, rt.broker, rows)
        return case.id, ids


def test_a_failing_department_webhook_is_retried_alone_and_then_shown_as_a_delivery_error(config):
    from gateway.models import Notification
    from tests.conftest import run_jobs

    failing, working = Department(503), Department(200)
    app = create_app({**config, "RETRY_BACKOFF": [0, 0]})
    rt = app.extensions["hotline"]
    try:
        with app.app_context():
            case_id, ids = _dispatch_to_two_webhooks(rt, app.test_client(), failing, working)
            rt.broker.queue("dispatch").empty()
            run_jobs(app)
            assert len(failing.received) == 3 and len({key for key, _ in failing.received}) == 1  # 1 try + 2 retries
            assert len(working.received) == 1
            with Session(rt.engine) as session:
                notes = {n.department_id: n for n in session.exec(select(Notification)).all()}
                assert notes[ids[failing.url]].status == "failed" and "503" in notes[ids[failing.url]].error
                assert notes[ids[working.url]].status == "sent"
                assignments = {a.department_id: a for a in session.exec(select(Assignment)).all()}
                assert "503" in assignments[ids[failing.url]].delivery_error
                assert assignments[ids[working.url]].delivery_error is None
                [event] = session.exec(select(Event).where(Event.case_id == case_id, Event.kind == "delivery_failed")).all()
                assert event.data["department_id"] == ids[failing.url]
    finally:
        failing.close()
        working.close()
        for queue in rt.broker.queues.values():
            queue.empty()
        rt.engine.dispose()


def test_a_send_interrupted_by_a_killed_worker_is_resent_by_webhook_but_not_by_sms(client, rt):
    """A killed worker leaves its notification 'sending': webhooks carry an idempotency key, SMS does not."""
    from gateway.messaging.notify import deliver, queue_notification
    from gateway.models import Notification

    peer = Department(200)
    try:
        with Session(rt.engine) as session:
            for key, channel, address in (("w", "webhook", peer.url), ("s", "sms", "+8613800138001")):
                queue_notification(session, dedupe_key=key, channel=channel, kind="dispatch", body="x", address=address)
            session.commit()
            for note in session.exec(select(Notification)).all():
                note.status, note.attempts = "sending", 1  # what a worker killed during the send leaves behind
                session.add(note)
            session.commit()
            ids = {n.dedupe_key: n.id for n in session.exec(select(Notification)).all()}
        assert deliver(ids["w"]) == "sent" and [key for key, _ in peer.received] == ["w"]
        assert deliver(ids["s"]) == "failed"
        with Session(rt.engine) as session:
            assert "not resent" in session.get(Notification, ids["s"]).error
    finally:
        peer.close()


def _signed_sms(token: str, base: str) -> tuple[dict[str, str], dict[str, str]]:
    from twilio.request_validator import RequestValidator

    params = {"MessageSid": "SMdown1", "AccountSid": "AC" + "0" * 32, "From": "+8613800138001", "To": "+8610690000",
              "Body": "江岸区中山大道888号路灯不亮", "NumMedia": "0"}
    return params, {"X-Twilio-Signature": RequestValidator(token).compute_signature(base + "/webhooks/twilio/sms", params)}


def test_a_locked_database_makes_every_webhook_answer_503_and_leaves_nothing_behind(config, tmp_path):
    """Another connection holds SQLite's exclusive lock: writes time out for real, providers are told to retry."""
    import sqlite3

    from gateway.channels.smtp_listener import _process_message
    from gateway.models import Outbox, Report, Unparsed
    from tests.gateway.channels.test_email_webhook import mail

    db_file = tmp_path / "locked.db"
    base = "https://h.example.cn"
    app = create_app({**config, "DATABASE_URL": f"sqlite:///{db_file}", "DATABASE_SCHEMA": None, "DB_BUSY_MS": 200,
                      "TWILIO_AUTH_TOKEN": "tok", "PUBLIC_BASE_URL": base, "INBOUND_MAIL_SECRET": "mail-secret",
                      "MAIL_DOMAINS": ["example.wuhan.gov.cn"]})
    rt = app.extensions["hotline"]
    client = app.test_client()
    params, headers = _signed_sms("tok", base)
    holder = sqlite3.connect(db_file, isolation_level=None)
    try:
        with app.app_context():
            holder.execute("BEGIN EXCLUSIVE")
            assert client.post("/api/v1/reports", json=STREET_LIGHT).status_code == 503
            assert client.post("/webhooks/twilio/sms", data=params, headers=headers).status_code == 503
            assert client.post("/webhooks/email?secret=mail-secret", data=mail(), content_type="message/rfc822").status_code == 503
            assert client.post("/api/v1/board/posts", json={"post_id": "B1", "title": "t", "text": "路灯不亮"}).status_code == 503
            assert _process_message(rt, mail(), "li@example.com", ["12345@example.wuhan.gov.cn"]).startswith("451")
            assert client.get("/readyz").status_code in (200, 503)  # reads may still work under WAL
            holder.execute("ROLLBACK")
            for model in (Report, Case, Outbox, Unparsed):
                assert count(rt, model) == 0, model
            # the providers' retries now go through, once each
            assert client.post("/api/v1/reports", json=STREET_LIGHT).status_code == 201
            assert client.post("/webhooks/twilio/sms", data=params, headers=headers).status_code == 200
            assert client.post("/webhooks/email?secret=mail-secret", data=mail(), content_type="message/rfc822").status_code == 201
            assert count(rt, Report) == 3
    finally:
        holder.close()
        for queue in rt.broker.queues.values():
            queue.empty()
        rt.engine.dispose()


def test_sqlite_writers_queue_behind_our_own_transaction_and_time_out_into_503(config, tmp_path):
    """One of our connections holds a write transaction: other threads and processes wait in the write queue,
    give up after the busy timeout like SQLite (503), and write as soon as it ends."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from gateway.db import write_queue
    from gateway.models import Report

    db_file = tmp_path / "queued.db"
    app = create_app({**config, "DATABASE_URL": f"sqlite:///{db_file}", "DATABASE_SCHEMA": None, "DB_BUSY_MS": 300})
    rt = app.extensions["hotline"]

    # Once the transaction ends, eight writers at once queue and all write: on a busy machine a writer may wait
    # longer than 300 ms behind the others, so they run in an app that waits as long as the tests do.
    patient = create_app({**config, "DATABASE_URL": f"sqlite:///{db_file}", "DATABASE_SCHEMA": None,
                          "DB_BUSY_MS": PATIENCE * 1000})

    def post(n: int, where: Any = app) -> int:
        return where.test_client().post("/api/v1/reports", json={"text": f"江岸区中山大道{n}号路灯不亮",
                                                                   "external_id": f"q-{n}"}).status_code

    other_process = [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
                     "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)", write_queue(str(db_file)).path]
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this thread is at the head of the queue
            with ThreadPoolExecutor(max_workers=1) as pool:
                assert pool.submit(post, 1).result() == 503
            assert subprocess.run(other_process, capture_output=True).returncode != 0  # held for other processes too
            conn.commit()
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert sorted(pool.map(lambda n: post(n, patient), range(2, 10))) == [201] * 8
        assert subprocess.run(other_process, capture_output=True).returncode == 0  # free once nobody writes
        assert count(rt, Report) == 8
    finally:
        rt.engine.dispose()
        patient.extensions["hotline"].engine.dispose()


def test_an_unreachable_database_server_answers_503_not_500(client, rt):
    """The engine points at a closed port (a database server that is down): 503 JSON, and /readyz says so."""
    import socket

    from gateway.db import make_engine

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    real = rt.engine
    rt.engine = make_engine(f"postgresql://postgres@127.0.0.1:{port}/down", "", busy_ms=1000)
    try:
        resp = client.post("/api/v1/reports", json=STREET_LIGHT)
        assert resp.status_code == 503 and "retry" in resp.get_json()["error"]["message"]
        assert client.get("/readyz").get_json()["database"] is False
    finally:
        rt.engine.dispose()
        rt.engine = real


def verify(secret: str, headers: dict[str, str], body: bytes, now: float, tolerance: float = 300) -> bool:
    """What a department's system does with a webhook (the README's snippet): recompute, compare, check the age."""
    import hashlib
    import hmac

    stamp = headers.get("X-Hotline-Timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = stamp.isdigit() and abs(now - int(stamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers.get("X-Hotline-Signature", ""))


def test_department_webhooks_are_signed_with_each_units_key_and_verify(config):
    import time

    from gateway.models import Department as Dept
    from tests.conftest import run_jobs

    first, second = Department(200), Department(200)
    app = create_app({**config, "WEBHOOK_SECRETS": {"WH-LIGHT": "light-key-1", "*": "default-key-2"}})
    rt = app.extensions["hotline"]
    try:
        with app.app_context():
            _, ids = _dispatch_to_two_webhooks(rt, app.test_client(), first, second)
            rt.broker.queue("dispatch").empty()
            run_jobs(app)
            with Session(rt.engine) as session:
                codes = {url: session.get(Dept, dept_id).code for url, dept_id in ids.items()}
            for peer in (first, second):
                [(headers, body)] = peer.raw
                key = "light-key-1" if codes[peer.url] == "WH-LIGHT" else "default-key-2"
                assert verify(key, headers, body, time.time()), codes[peer.url]
                assert not verify("wrong-key", headers, body, time.time())
                assert not verify(key, headers, body + b" ", time.time())  # a changed body fails
                assert not verify(key, headers, body, time.time() + 3600)  # a replay an hour later fails
    finally:
        first.close()
        second.close()
        for queue in rt.broker.queues.values():
            queue.empty()
        rt.engine.dispose()
