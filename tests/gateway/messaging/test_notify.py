"""Notifications: recorded once, delivered by a job, retried per recipient, final failures kept."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import pytest
from sqlmodel import Session, select

from gateway import outbox
from gateway.messaging.notify import deliver, queue_notification
from gateway.messaging.senders import DeliveryError
from gateway.models import Notification


@pytest.fixture
def department_webhook() -> Iterator[dict]:
    """A real HTTP server on loopback that answers with the statuses queued in state["answers"]."""
    state: dict = {"answers": [], "received": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers["Content-Length"])
            state["received"].append(json.loads(self.rfile.read(length)))
            self.send_response(state["answers"].pop(0) if state["answers"] else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield state
    server.shutdown()


def _queue(rt, key: str, url: str) -> int:
    with Session(rt.engine) as session:
        row = queue_notification(session, dedupe_key=key, channel="webhook", kind="dispatch", body="新工单", address=url)
        session.commit()
        again = queue_notification(session, dedupe_key=key, channel="webhook", kind="dispatch", body="新工单", address=url)
        assert row is not None and again is None
        note = session.exec(select(Notification).where(Notification.dedupe_key == key)).one()
        return note.id


def test_a_notification_is_recorded_once_and_sent_once(rt, department_webhook):
    note_id = _queue(rt, "dispatch-1-WH-LIGHT", department_webhook["url"])
    assert deliver(note_id) == "sent"
    assert deliver(note_id) == "sent"  # a retried job does not send twice
    assert len(department_webhook["received"]) == 1
    assert department_webhook["received"][0]["body"] == "新工单"


def test_a_server_error_raises_for_retry_and_a_client_error_fails_for_good(rt, department_webhook):
    department_webhook["answers"] = [503, 404]
    note_id = _queue(rt, "dispatch-2-WH-LIGHT", department_webhook["url"])
    with pytest.raises(DeliveryError):
        deliver(note_id)
    assert deliver(note_id) == "failed"
    with Session(rt.engine) as session:
        note = session.get(Notification, note_id)
        assert (note.status, note.attempts, note.error) == ("failed", 2, "webhook answered 404")


def test_the_delivery_job_is_enqueued_after_commit_and_run_by_a_worker(rt, app, jobs, department_webhook):
    with Session(rt.engine) as session:
        row = queue_notification(session, dedupe_key="k-3", channel="webhook", kind="dispatch", body="x",
                                 address=department_webhook["url"])
        session.commit()
        outbox.deliver(session, rt.broker, [row])
    jobs()
    assert len(department_webhook["received"]) == 1


def test_many_notifications_in_one_statement_keep_every_column_and_skip_the_known_keys(rt):
    from gateway.messaging.notify import queue_notifications

    def note(i: int, channel: str = "webhook") -> dict:
        return dict(dedupe_key=f"many-{i}", channel=channel, kind="reminder", body=f"第{i}条 提醒", address=f"http://x/{i}",
                    subject=None if i % 2 else f"[WH-{i}] 提醒", case_id=None, department_id=None)

    with Session(rt.engine) as session:
        first = queue_notifications(session, [note(0)])
        session.commit()
        rows = queue_notifications(session, [note(i, "inapp" if i == 3 else "webhook") for i in range(6)])
        session.commit()
        stored = {n.dedupe_key: n for n in session.exec(select(Notification).where(
            Notification.dedupe_key.startswith("many-"))).all()}
    assert len(first) == 1 and len(rows) == 4  # many-0 known; many-3 is stored in the app, not sent by a job
    assert sorted(stored) == [f"many-{i}" for i in range(6)]
    assert stored["many-2"].subject == "[WH-2] 提醒" and stored["many-1"].subject is None
    assert stored["many-4"].body == "第4条 提醒" and stored["many-4"].status == "pending"
    assert stored["many-3"].status == "sent" and stored["many-3"].sent_at is not None and stored["many-3"].attempts == 1
    assert stored["many-5"].created_at is not None and stored["many-5"].case_id is None
