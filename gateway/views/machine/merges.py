"""The office's merge API: merge two cases, undo, split a report out, and decide grey-zone proposals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from gateway.casework import merging
from gateway.errors import ApiError
from gateway.intake.ingest import find_by_number
from gateway.models import Case, MergeRecord, id_of
from gateway.runtime import current
from gateway.trust import audit, auth
from gateway.views.common import json_body
from gateway.views.presenters import iso

bp = Blueprint("merges", __name__)

STATUSES = ("proposed", "applied", "rejected", "undone")


def _actor() -> str:
    user = auth.current_user()
    return user.username if user else "office"


def merge_record(session: Session, m: MergeRecord) -> dict[str, Any]:
    numbers = {c.id: c.number for c in session.exec(select(Case).where(
        col(Case.id).in_([i for i in (m.survivor_case_id, m.absorbed_case_id) if i is not None])))}
    return {"id": m.id, "status": m.status, "origin": m.origin, "rule": m.rule, "score": m.score, "reasons": m.reasons,
            "survivor_case_id": m.survivor_case_id, "survivor": numbers.get(m.survivor_case_id),
            "absorbed_case_id": m.absorbed_case_id, "absorbed": numbers.get(m.absorbed_case_id),
            "report_id": m.report_id, "created_by": m.created_by, "created_at": iso(m.created_at),
            "decided_by": m.decided_by, "decided_at": iso(m.decided_at)}


def _answer(record: MergeRecord, status: int = 200, action: str | None = None) -> Any:
    """The record as JSON; with an action, the change goes into the audit log too."""
    with Session(current().engine) as session:
        body = merge_record(session, record)
    if action is not None:
        audit.record(action, f"merge:{record.id}", survivor=body.get("survivor"), absorbed=body.get("absorbed"))
    return jsonify(body), status


def _case_id(number: str, field: str) -> int:
    with Session(current().engine) as session:
        case = session.exec(select(Case).where(Case.number == number.strip().upper())).first()
        if case is None:
            raise ApiError(404, f"no case {number}", field=field)
        return id_of(case)


@bp.post("/api/v1/cases/<number>/merge")
@auth.require_role("office", "admin")
def merge(number: str) -> ResponseReturnValue:
    """Merge this case into the case named by {"into": number}."""
    body = json_body()
    into = body.get("into") if isinstance(body, dict) else None
    if not isinstance(into, str) or not into.strip():
        raise ApiError(400, "give the surviving case's number as a string", field="into")
    absorbed = _case_id(number, "number")
    with Session(current().engine) as session:
        survivor = find_by_number(session, into)
    if survivor is None:
        raise ApiError(404, f"no case {into}", field="into")
    reasons = body.get("reasons") if isinstance(body.get("reasons"), list) else []
    return _answer(merging.merge_cases(current(), id_of(survivor), absorbed, _actor(), reasons), 201, "merged")


@bp.post("/api/v1/merges/<int:record_id>/undo")
@auth.require_role("office", "admin")
def undo(record_id: int) -> ResponseReturnValue:
    """Undo an applied merge."""
    return _answer(merging.unmerge(current(), record_id, _actor()), action="merge_undone")


@bp.post("/api/v1/reports/<int:report_id>/split")
@auth.require_role("office", "admin")
def split(report_id: int) -> ResponseReturnValue:
    """Take a report out of its case into a new case."""
    case = merging.split_report(current(), report_id, _actor())
    audit.record("report_split", f"case:{case.number}", report_id=report_id)
    return jsonify({"case": {"number": case.number, "id": case.id}, "report_id": report_id}), 201


@bp.get("/api/v1/merges")
@auth.require_role("office", "admin")
def list_merges() -> ResponseReturnValue:
    """List merge records, newest first, by status (e.g. ?status=proposed for the office's queue)."""
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}", field="status")
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise ApiError(400, "limit must be a whole number", field="limit") from None
    if not 1 <= limit <= 500:
        raise ApiError(400, "limit must be between 1 and 500", field="limit")
    with Session(current().engine) as session:
        query = select(MergeRecord).order_by(col(MergeRecord.id).desc()).limit(limit)
        if status:
            query = query.where(MergeRecord.status == status)
        return jsonify({"merges": [merge_record(session, m) for m in session.exec(query)]})


@bp.post("/api/v1/merges/<int:record_id>/accept")
@auth.require_role("office", "admin")
def accept(record_id: int) -> ResponseReturnValue:
    """Accept a grey-zone proposal: merge."""
    return _answer(merging.accept_proposal(current(), record_id, _actor()), action="merge_accepted")


@bp.post("/api/v1/merges/<int:record_id>/reject")
@auth.require_role("office", "admin")
def reject(record_id: int) -> ResponseReturnValue:
    """Reject a grey-zone proposal: the cases stay apart."""
    return _answer(merging.reject_proposal(current(), record_id, _actor()), action="merge_rejected")
