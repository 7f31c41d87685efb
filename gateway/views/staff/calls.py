"""The operators' phone work list (回访电话): the page /operator/calls and its JSON twin under /api/v1/calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from gateway.casework import calllist
from gateway.channels import voice_inbound
from gateway.clock import utcnow
from gateway.errors import ApiError
from gateway.messaging.calls import KIND_LABELS, WHY_LABELS
from gateway.models import CallItem, Report
from gateway.runtime import current
from gateway.trust import audit, auth
from gateway.views.common import json_body, playable
from gateway.views.presenters import iso

bp = Blueprint("calls", __name__)
STAFF = ("operator", "office", "admin")
MAX_WORDS = 20000


def _actor() -> str:
    user = auth.current_user()
    assert user is not None  # require_role ran first
    return user.actor


def _recordings(session: Session, items: list[CallItem]) -> dict[int, str]:
    """The voice message to listen to, per call-back item (staff only: this page needs an operator's role), when
    its host is one HOTLINE_RECORDING_HOSTS allows (as on the case page)."""
    ids = [i.report_id for i in items if i.kind == "callback" and i.report_id is not None]
    if not ids:
        return {}
    rows = session.exec(select(Report.id, Report.recording_url).where(col(Report.id).in_(ids))).all()
    by_report = dict(rows)
    return {i.id: by_report[i.report_id] for i in items  # type: ignore[misc]
            if i.id is not None and i.report_id in by_report and playable(by_report[i.report_id])}


@bp.get("/operator/calls")
@auth.require_role(*STAFF)
def page() -> ResponseReturnValue:
    """Due items (take one, call, record the outcome), items waiting for another attempt, and the latest done."""
    rt = current()
    now = utcnow()
    with Session(rt.engine, expire_on_commit=False) as session:
        due, later, done = calllist.due_items(session, now), calllist.later_items(session, now), calllist.finished_items(session)
        numbers = calllist.case_numbers(session, due + later + done)
        recordings = _recordings(session, due)
        hours = calllist.window(session, rt, now)
    return render_template("operator/calls.html", due=due, later=later, done=done, numbers=numbers, hours=hours,
                           recordings=recordings, me=_actor(), now=now, policy=rt.profile.call_policy,
                           outcomes=calllist.OUTCOMES, kinds=KIND_LABELS, whys=WHY_LABELS,
                           statuses=calllist.STATUS_LABELS, held_by_other=calllist.held_by_other)


def _form_step(item_id: int, step: Any, done: str) -> ResponseReturnValue:
    auth.check_csrf()
    try:
        step()
        flash(done, "ok")
    except (calllist.CallError, LookupError, ValueError) as exc:
        flash(f"操作未完成：{exc}", "error")
    return redirect(url_for("calls.page") + f"#call-{item_id}")


@bp.post("/operator/calls/<int:item_id>/claim")
@auth.require_role(*STAFF)
def claim_form(item_id: int) -> ResponseReturnValue:
    return _form_step(item_id, lambda: _claim(item_id), "已领取，请拨打电话")


@bp.post("/operator/calls/<int:item_id>/release")
@auth.require_role(*STAFF)
def release_form(item_id: int) -> ResponseReturnValue:
    return _form_step(item_id, lambda: calllist.release(current(), item_id, _actor()), "已放回待呼叫列表")


@bp.post("/operator/calls/<int:item_id>/outcome")
@auth.require_role(*STAFF)
def outcome_form(item_id: int) -> ResponseReturnValue:
    outcome = request.form.get("outcome", "").strip()
    note, words = request.form.get("note", ""), request.form.get("words", "")
    return _form_step(item_id, lambda: _record(item_id, outcome, note, words), f"已记录：{outcome}")


def _claim(item_id: int) -> CallItem:
    item = calllist.claim(current(), item_id, _actor())
    audit.record("call_claimed", f"call:{item_id}", case_id=item.case_id, kind=item.kind)
    return item


def _record(item_id: int, outcome: str, note: str, words: str = "") -> CallItem:
    """Record the call; on a call-back, what the operator heard (the voice message's words) goes on its report."""
    rt = current()
    item = calllist.record_outcome(rt, item_id, outcome, _actor(), note)
    audit.record("call_recorded", f"call:{item_id}", case_id=item.case_id, outcome=outcome, attempt=item.attempts)
    if words.strip() and item.kind == "callback" and item.report_id is not None:
        with Session(rt.engine) as session:
            report = session.get(Report, item.report_id)
            call_sid = report.external_id if report is not None else None
        if call_sid:
            voice_inbound.add_transcript(rt, call_sid, words[:MAX_WORDS], "operator", actor=_actor())
    return item


# ---------------------------------------------------------------------------------------------------- JSON


def present(item: CallItem, number: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "case": number, "phone": item.phone, "name": item.name, "why": item.why,
            "script": item.script, "status": item.status, "attempts": item.attempts,
            "max_attempts": item.max_attempts, "next_attempt_at": iso(item.next_attempt_at),
            "held_by": item.held_by, "held_until": iso(item.held_until), "outcome": item.outcome,
            "done_by": item.done_by, "done_at": iso(item.done_at),
            "outcomes": list(calllist.OUTCOMES.get(item.kind, ()))}


def _api(step: Any) -> Any:
    try:
        return step()
    except calllist.CallError as exc:
        raise ApiError(409, exc.message) from None
    except LookupError as exc:
        raise ApiError(404, str(exc).strip("'"), field="item_id") from None
    except ValueError as exc:
        raise ApiError(422, str(exc), field="outcome") from None


@bp.get("/api/v1/calls")
@auth.require_role(*STAFF)
def list_json() -> ResponseReturnValue:
    """The due items and those waiting for another attempt, with whether calls may be made now."""
    rt = current()
    now = utcnow()
    with Session(rt.engine) as session:
        due, later = calllist.due_items(session, now), calllist.later_items(session, now)
        numbers = calllist.case_numbers(session, due + later)
        hours = calllist.window(session, rt, now)
    return jsonify({"calling_hours": {"open": hours.open, "next_start": iso(hours.next_start)},
                    "due": [present(i, numbers.get(i.case_id)) for i in due],
                    "later": [present(i, numbers.get(i.case_id)) for i in later]})


def _shown(item: CallItem) -> ResponseReturnValue:
    with Session(current().engine) as session:
        number = calllist.case_numbers(session, [item]).get(item.case_id)
    return jsonify(present(item, number))


@bp.post("/api/v1/calls/<int:item_id>/claim")
@auth.require_role(*STAFF)
def claim_json(item_id: int) -> ResponseReturnValue:
    return _shown(_api(lambda: _claim(item_id)))


@bp.post("/api/v1/calls/<int:item_id>/release")
@auth.require_role(*STAFF)
def release_json(item_id: int) -> ResponseReturnValue:
    if not calllist.release(current(), item_id, _actor()):
        raise ApiError(409, "you do not hold this item", field="item_id")
    return jsonify({"id": item_id, "released": True})


@bp.post("/api/v1/calls/<int:item_id>/outcome")
@auth.require_role(*STAFF)
def outcome_json(item_id: int) -> ResponseReturnValue:
    data = json_body()
    if not isinstance(data, dict) or not isinstance(data.get("outcome"), str):
        raise ApiError(422, "outcome must be a string", field="outcome")
    note, words = data.get("note", ""), data.get("words", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ApiError(422, "note must be a string of at most 500 characters", field="note")
    if not isinstance(words, str) or len(words) > MAX_WORDS:
        raise ApiError(422, f"words must be a string of at most {MAX_WORDS} characters", field="words")
    return _shown(_api(lambda: _record(item_id, data["outcome"], note, words)))
