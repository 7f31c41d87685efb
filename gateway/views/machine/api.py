"""The JSON API: generic web posts, cases, health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from adapters import web as web_adapter
from gateway import heartbeat
from gateway.casework import calendars
from gateway.errors import ApiError
from gateway.intake.ingest import find_by_number, ingest
from gateway.models import Assignment, Case, Department
from gateway.runtime import current
from gateway.trust import audit, auth
from gateway.views import presenters
from gateway.views.common import MAX_PAGE_NUMBER, answer, json_body

bp = Blueprint("api", __name__)

MAX_PAGE = 200


@bp.post("/api/v1/reports")
def post_report() -> ResponseReturnValue:
    """Take a generic web post (JSON) through the one intake path."""
    data = json_body()
    report = web_adapter.parse_json(data, raw=request.get_data(cache=True))
    return answer(ingest(current(), report))


@bp.get("/api/v1/cases")
@auth.require_role("admin", "office", "department")
def list_cases() -> ResponseReturnValue:
    """List cases, newest first; filter by status and department, paged (department staff: their unit's)."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError:
        raise ApiError(400, "page and per_page must be whole numbers", field="page") from None
    if not 1 <= page <= MAX_PAGE_NUMBER:
        raise ApiError(400, f"page must be between 1 and {MAX_PAGE_NUMBER}", field="page")
    if not 1 <= per_page <= MAX_PAGE:
        raise ApiError(400, f"per_page must be between 1 and {MAX_PAGE}", field="per_page")
    query = select(Case)
    count = select(func.count()).select_from(Case)
    status = request.args.get("status")
    if status:
        query = query.where(Case.status == status)
        count = count.where(Case.status == status)
    department = request.args.get("department")
    user = auth.current_user()
    with Session(current().engine) as session:
        if user is not None and user.role == "department":
            mine = session.get(Department, user.department_id)
            if department and (mine is None or department != mine.code):
                raise ApiError(403, "department staff may list only their own unit's cases", field="department")
            department = mine.code if mine else department
        if department:
            dept = session.exec(select(Department).where(Department.code == department)).first()
            if dept is None:
                raise ApiError(404, f"unknown department {department!r}", field="department")
            sub = select(Assignment.case_id).where(Assignment.department_id == dept.id)
            query = query.where(col(Case.id).in_(sub))
            count = count.where(col(Case.id).in_(sub))
        total = session.exec(count).one()
        rows = session.exec(query.order_by(col(Case.id).desc()).offset((page - 1) * per_page).limit(per_page)).all()
        return jsonify({"cases": [presenters.case_row(c) for c in rows], "page": page, "per_page": per_page, "total": total})


@bp.get("/api/v1/cases/<number>")
@auth.require_role("admin", "office", "department")
def get_case(number: str) -> ResponseReturnValue:
    """One case with its reports, events and assignments; an absorbed number resolves to its survivor."""
    user = auth.current_user()
    with Session(current().engine) as session:
        case = find_by_number(session, number)
        if case is not None and user is not None and user.role == "department":
            assigned = session.exec(select(Assignment.id).where(Assignment.case_id == case.id,
                                                                Assignment.department_id == user.department_id)).first()
            case = case if assigned is not None else None  # not theirs: the same 404 as a missing case
        if case is None:
            raise ApiError(404, f"no case numbered {number!r}", field="number")
        body = presenters.case_detail(session, case, requested=number)
    audit.record("case_viewed", f"case:{body['number']}", via="api")  # staff opened a case's personal data
    return jsonify(body)


OPENAPI = Path(__file__).resolve().parents[2] / "data" / "openapi.json"


@bp.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    """Describe the JSON API (OpenAPI 3)."""
    return Response(OPENAPI.read_bytes(), 200, mimetype="application/json")


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: the database and Redis answer; details name a missing calendar notice (no outage)."""
    rt = current()
    checks = {"database": False, "redis": rt.broker.ping()}
    details: dict[str, Any] = {}
    try:
        with Session(rt.engine) as session:
            session.execute(text("SELECT 1"))
            checks["database"] = True
            details["calendar"] = calendars.status(session, rt)
    except Exception:  # any failure to reach the database means "not ready"
        checks["database"] = False
    silent = heartbeat.missing(rt)  # the worker pool or the scheduler stopped beating: work stalls unseen
    checks.update({kind: kind not in silent for kind in heartbeat.KINDS})
    if silent:
        details["missing"] = [f"{kind}: no heartbeat within {heartbeat.max_age(rt)} s" for kind in silent]
    ok = all(checks.values())
    return jsonify({"status": "ok" if ok else "unavailable", **checks, "details": details}), 200 if ok else 503
