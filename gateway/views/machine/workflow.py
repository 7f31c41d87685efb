"""The dispatch workflow's JSON API: departments sign, reply, return, ask for time; the office dispatches and decides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from gateway.casework import followup, workflow
from gateway.errors import ApiError, WorkflowError
from gateway.intake.ingest import find_by_number
from gateway.models import Assignment, DailyReport, Department, Extension, Reply
from gateway.runtime import current
from gateway.trust import auth
from gateway.views import presenters
from gateway.views.common import json_body

bp = Blueprint("workflow", __name__)

OFFICE = ("office", "admin")
UNITS = ("department", "office", "admin")


def actor() -> str:
    user = auth.current_user()
    return user.username if user else "api"


def own_assignment(assignment_id: int) -> None:
    """Department staff act only on their own unit's assignments (another unit's reads as not found)."""
    user = auth.current_user()
    if user is None or user.role != "department":
        return
    with Session(current().engine) as session:
        assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.department_id != user.department_id:
        raise ApiError(404, f"no assignment {assignment_id} for your unit", field="assignment_id")


def _text(data: Any, field: str, max_len: int = 4000) -> str:
    value = data.get(field) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{field} must be a non-empty string", field=field)
    if len(value) > max_len:
        raise ApiError(422, f"{field} is longer than {max_len} characters", field=field)
    return value.strip()


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except WorkflowError as exc:
        raise ApiError(409, exc.message) from None
    except LookupError as exc:
        raise ApiError(404, str(exc).strip("'")) from None


def _assignment_body(assignment: Assignment) -> Any:
    with Session(current().engine) as session:
        dept = session.get(Department, assignment.department_id)
        return jsonify({"assignment": {**presenters.assignment(assignment, dept),
                                       "supervision_level": assignment.supervision_level,
                                       "case_id": assignment.case_id}})


@bp.post("/api/v1/assignments/<int:assignment_id>/sign")
@auth.require_role(*UNITS)
def sign(assignment_id: int) -> ResponseReturnValue:
    """Sign for an assignment (签收)."""
    own_assignment(assignment_id)
    return _assignment_body(_run(lambda: workflow.sign(current(), assignment_id, actor())))


@bp.post("/api/v1/assignments/<int:assignment_id>/reply")
@auth.require_role(*UNITS)
def reply(assignment_id: int) -> ResponseReturnValue:
    """Reply: the lead's reply answers the citizens; an assisting unit's is input for the lead."""
    own_assignment(assignment_id)
    data = json_body()
    text = _text(data, "text")
    kind = data.get("kind", "final") if isinstance(data, dict) else "final"
    if kind not in workflow.REPLY_KINDS:
        raise ApiError(422, f"kind must be one of {', '.join(workflow.REPLY_KINDS)}", field="kind")
    reason = _text(data, "reason", 1000) if kind in workflow.NEEDS_REASON else None
    until = _until(data) if kind == "interim" else None
    return _assignment_body(_run(lambda: workflow.reply(current(), assignment_id, text, actor(), kind, reason, until)))


@bp.post("/api/v1/assignments/<int:assignment_id>/return")
@auth.require_role(*UNITS)
def return_(assignment_id: int) -> ResponseReturnValue:
    """Return a case that is not the department's (退单), with a reason."""
    own_assignment(assignment_id)
    reason = _text(json_body(), "reason", 1000)
    return _assignment_body(_run(lambda: workflow.return_assignment(current(), assignment_id, reason, actor())))


def _until(data: Any) -> datetime:
    raw = _text(data, "until", 64)
    try:
        until = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "until must be an ISO 8601 date-time with a UTC offset", field="until") from None
    if until.tzinfo is None:
        raise ApiError(422, "until needs a UTC offset (e.g. +08:00)", field="until")
    try:
        return until.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+00:01 is ISO 8601, but before year 1 in UTC
        raise ApiError(422, "until is outside the dates a deadline can hold", field="until") from None


@bp.post("/api/v1/assignments/<int:assignment_id>/extension")
@auth.require_role(*UNITS)
def extension(assignment_id: int) -> ResponseReturnValue:
    """Ask for more time before the deadline (延期: moves 办结 only)."""
    own_assignment(assignment_id)
    data = json_body()
    reason, until = _text(data, "reason", 1000), _until(data)
    ext = _run(lambda: workflow.request_extension(current(), assignment_id, until, reason, actor()))
    return jsonify({"extension": _extension(ext)}), 201


@bp.post("/api/v1/assignments/<int:assignment_id>/pass")
@auth.require_role(*UNITS)
def pass_on(assignment_id: int) -> ResponseReturnValue:
    """Pass the assignment on to sub-units {"units": ["CODE", ...], "note"}; their clocks end inside this one's."""
    own_assignment(assignment_id)
    data = json_body()
    units = data.get("units") if isinstance(data, dict) else None
    if not isinstance(units, list) or not units or not all(isinstance(u, str) and u for u in units) or len(units) > 50:
        raise ApiError(422, "units must be a non-empty list of unit codes", field="units")
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > 1000:
        raise ApiError(422, "note must be text of at most 1000 characters", field="note")
    made = _run(lambda: workflow.pass_on(current(), assignment_id, units, actor(), note))
    with Session(current().engine) as session:
        depts = {d.id: d for d in session.exec(select(Department)).all()}
        return jsonify({"assignments": [presenters.assignment(a, depts.get(a.department_id)) for a in made]}), 201


@bp.post("/api/v1/assignments/<int:assignment_id>/suspend")
@auth.require_role(*UNITS)
def suspend(assignment_id: int) -> ResponseReturnValue:
    """Ask the office to pause both clocks (挂起) until a date at the latest, with a reason."""
    own_assignment(assignment_id)
    data = json_body()
    reason, until = _text(data, "reason", 1000), _until(data)
    ext = _run(lambda: workflow.request_suspension(current(), assignment_id, until, reason, actor()))
    return jsonify({"extension": _extension(ext)}), 201


@bp.post("/api/v1/assignments/<int:assignment_id>/resume")
@auth.require_role(*UNITS)
def resume(assignment_id: int) -> ResponseReturnValue:
    """End a pause: both clocks run again, moved on by the time paused."""
    own_assignment(assignment_id)
    return _assignment_body(_run(lambda: workflow.resume(current(), assignment_id, actor())))


@bp.post("/api/v1/assignments/<int:assignment_id>/contact")
@auth.require_role(*UNITS)
def contact(assignment_id: int) -> ResponseReturnValue:
    """Record that the unit reached the citizen (回告), with a note of when and how."""
    own_assignment(assignment_id)
    note = _text(json_body(), "note", 1000)
    return _assignment_body(_run(lambda: workflow.record_contact(current(), assignment_id, note, actor())))


def _extension(ext: Extension) -> dict[str, Any]:
    return {"id": ext.id, "assignment_id": ext.assignment_id, "kind": ext.kind,
            "until": presenters.iso(ext.requested_until), "reason": ext.reason, "status": ext.status,
            "decided_by": ext.decided_by}


def reply_row(row: Reply) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "assignment_id": row.assignment_id, "role": row.role,
            "kind": row.kind, "text": row.text, "reason": row.reason, "until": presenters.iso(row.until),
            "status": row.status, "round": row.round, "written_by": row.written_by,
            "written_at": presenters.iso(row.written_at), "reviewed_by": row.reviewed_by,
            "review_comment": row.review_comment}


@bp.get("/api/v1/replies")
@auth.require_role(*OFFICE)
def list_replies() -> ResponseReturnValue:
    """Replies by review status (default: pending, the office's 审核 queue), oldest first."""
    status = request.args.get("status", "pending")
    if status not in ("pending", "approved", "returned", "input"):
        raise ApiError(422, "status must be pending, approved, returned or input", field="status")
    with Session(current().engine) as session:
        rows = session.exec(select(Reply).where(Reply.status == status).order_by(col(Reply.id)).limit(200)).all()
        return jsonify({"replies": [reply_row(r) for r in rows]})


@bp.post("/api/v1/replies/<int:reply_id>/review")
@auth.require_role(*OFFICE)
def review(reply_id: int) -> ResponseReturnValue:
    """Approve a reply (it goes to the citizens) or send it back with a comment."""
    data = json_body()
    approve = data.get("approve") if isinstance(data, dict) else None
    if not isinstance(approve, bool):
        raise ApiError(422, "approve must be true or false", field="approve")
    comment = "" if approve else _text(data, "comment", 1000)
    row = _run(lambda: workflow.review_reply(current(), reply_id, approve, actor(), comment))
    return jsonify({"reply": reply_row(row)})


@bp.post("/api/v1/extensions/<int:extension_id>/decide")
@auth.require_role(*OFFICE)
def decide(extension_id: int) -> ResponseReturnValue:
    """Approve or reject an extension request."""
    data = json_body()
    approve = data.get("approve") if isinstance(data, dict) else None
    if not isinstance(approve, bool):
        raise ApiError(422, "approve must be true or false", field="approve")
    return jsonify({"extension": _extension(_run(lambda: workflow.decide_extension(current(), extension_id, approve, actor())))})


@bp.post("/api/v1/assignments/<int:assignment_id>/overrule")
@auth.require_role(*OFFICE)
def overrule(assignment_id: int) -> ResponseReturnValue:
    """Refuse a return: the department handles the case after all."""
    return _assignment_body(_run(lambda: workflow.overrule_return(current(), assignment_id, actor())))


@bp.post("/api/v1/cases/<number>/dispatch")
@auth.require_role(*OFFICE)
def dispatch(number: str) -> ResponseReturnValue:
    """Dispatch or re-dispatch a case: {"departments": [{"code", "role": "lead"|"assist"}]}."""
    data = json_body()
    items = data.get("departments") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not all(
            isinstance(i, dict) and isinstance(i.get("code"), str) and i.get("role") in ("lead", "assist") for i in items):
        raise ApiError(422, 'departments must be a list of {"code": str, "role": "lead"|"assist"}', field="departments")
    rt = current()
    case_id = _case_id(number)
    _run(lambda: workflow.redispatch(rt, case_id, [(i["code"], i["role"]) for i in items], actor()))
    return jsonify({"assignments": _assignments(case_id)})


def _case_id(number: str) -> int:
    """The id of the case a number leads to, or 404 naming the number."""
    with Session(current().engine) as session:
        case = find_by_number(session, number)
        if case is None or case.id is None:
            raise ApiError(404, f"no case numbered {number!r}", field="number")
        return case.id


def _assignments(case_id: int) -> list[dict[str, Any]]:
    with Session(current().engine) as session:
        rows = session.exec(select(Assignment, Department).join(Department).where(Assignment.case_id == case_id)).all()
        return [presenters.assignment(a, d) for a, d in rows]


@bp.post("/api/v1/cases/<number>/complexity")
@auth.require_role(*OFFICE)
def complexity(number: str) -> ResponseReturnValue:
    """Mark a case especially complex, or not: {"complex": true|false}; open assignments move to the rule."""
    data = json_body()
    flag = data.get("complex") if isinstance(data, dict) else None
    if not isinstance(flag, bool):
        raise ApiError(422, "complex must be true or false", field="complex")
    case_id = _case_id(number)
    case = _run(lambda: workflow.set_complexity(current(), case_id, flag, actor()))
    return jsonify({"case": presenters.case_row(case), "complexity": case.complexity,
                    "assignments": _assignments(case_id)})


@bp.post("/api/v1/cases/<number>/urgency")
@auth.require_role(*OFFICE)
def urgency(number: str) -> ResponseReturnValue:
    """Mark a case urgent (紧急), or not: {"urgent": true|false}; open assignments move to the rule."""
    data = json_body()
    flag = data.get("urgent") if isinstance(data, dict) else None
    if not isinstance(flag, bool):
        raise ApiError(422, "urgent must be true or false", field="urgent")
    case_id = _case_id(number)
    case = _run(lambda: workflow.set_urgency(current(), case_id, flag, actor()))
    return jsonify({"case": presenters.case_row(case), "urgency": case.urgency or "normal",
                    "assignments": _assignments(case_id)})


@bp.post("/api/v1/cases/<number>/satisfaction")
def satisfaction(number: str) -> ResponseReturnValue:
    """A reporter's follow-up answer from the board or web form, with the case's retrieval code."""
    data = json_body()
    code = _text(data, "retrieval_code", 16)
    answer = _text(data, "answer", 30)
    try:
        row = _run(lambda: followup.answer_board(current(), number, code, answer))
    except ValueError as exc:
        raise ApiError(422, str(exc), field="answer") from None
    return jsonify({"followup": {"id": row.id, "satisfaction": row.satisfaction, "solved": row.solved,
                                 "status": row.status}})


@bp.get("/api/v1/reports/latest")
@auth.require_role(*OFFICE)
def latest_report() -> ResponseReturnValue:
    """The latest twice-daily report (JSON)."""
    with Session(current().engine) as session:
        row = session.exec(select(DailyReport).order_by(col(DailyReport.id).desc())).first()
        if row is None:
            raise ApiError(404, "no report has been made yet")
        return jsonify({"id": row.id, "generated_at": presenters.iso(row.generated_at), **row.data})
