"""The hotline operator's entry form: type the ticket during the call, see open cases, attach or create."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session

from adapters import hotline as hotline_adapter
from adapters.base import APPEAL_TYPES, AdapterError
from dedupe.decide import Scored
from gateway.casework.routing import locate
from gateway.errors import ApiError
from gateway.intake.hint import hint
from gateway.intake.ingest import find_by_number, ingest
from gateway.models import Case
from gateway.runtime import Runtime, current
from gateway.trust import auth
from gateway.views.common import parse_or_keep, raw_inbound
from gateway.views.presenters import iso

bp = Blueprint("operator", __name__)
STAFF = ("operator", "office", "admin")

FORM_FIELDS = ("ticket_no", "caller_number", "caller_name", "appeal_type", "category", "district", "address",
               "title", "content", "urgency", "complexity", "public", "operator_id")
MAX_QUERY = 2000


def _choices() -> dict[str, Any]:
    profile = current().profile
    return {"appeal_types": APPEAL_TYPES, "categories": [c.name for c in profile.categories],
            "districts": profile.district_names()}


def _page(values: dict[str, Any], error: AdapterError | None = None, hints: dict[str, Any] | None = None,
          status: int = 200) -> Any:
    return render_template("operator/entry.html", values=values, error=error, hints=hints, **_choices()), status


def suggest(session: Session, rt: Runtime, *, phone: str | None, text: str | None, address: str | None
            ) -> dict[str, Any]:
    """The duplicate hint as the page shows it: the caller's open cases, similar open cases in the ticket's district."""
    district, _street = locate(rt.profile, text or "", address)
    found = hint(session, rt, phone=phone, text=text, address=address, district=district)
    return {"phone": found.phone, "district": district,
            "caller_cases": [_row(case, "same_phone") for case in found.own],
            "nearby_cases": [_row(case, "nearby_similar", scored) for case, scored in found.similar]}


def _row(case: Case, why: str, scored: Scored | None = None) -> dict[str, Any]:
    return {"number": case.number, "title": case.title, "status": case.status, "district": case.district,
            "address": case.address, "category": case.category, "report_count": case.report_count,
            "created_at": iso(case.created_at), "why": why, "score": scored.score if scored else None,
            "shared": shared(scored) if scored else []}


def shared(scored: Scored) -> list[str]:
    """What the ticket and the case have in common, as dedupe found it: places, street, district, kinds of problem."""
    found: list[str] = []
    for reason in scored.reasons:
        value = reason.get("value")
        if reason["feature"] in ("place_match", "topic_match"):
            found.extend(value or ())
        elif reason["feature"] in ("street_match", "district_match") and value:
            found.append(value)
    return list(dict.fromkeys(found))


def _fresh() -> dict[str, Any]:
    return {"ticket_no": f"OP-{secrets.token_hex(8)}", "appeal_type": "投诉", "urgency": "一般", "complexity": "一般"}


@bp.get("/operator/")
@auth.require_role(*STAFF)
def entry_form() -> ResponseReturnValue:
    """Show an empty ticket form; its ticket number makes a double submission idempotent."""
    return _page({**_fresh(), "operator_id": request.args.get("operator_id", "")[:64]})


@bp.post("/operator/")
@auth.require_role(*STAFF)
def submit() -> ResponseReturnValue:
    """Create the ticket, attach it to the chosen case, or (action=check) show open cases without JS."""
    raw = raw_inbound("hotline")  # first: reading the form would consume the body we keep
    auth.check_csrf()
    values = {key: request.form.get(key, "").strip() for key in FORM_FIELDS}
    values["public"] = "1" if request.form.get("public") else ""
    attach_to = request.form.get("attach_to", "").strip()
    rt = current()
    if request.form.get("action") == "check" and not attach_to:
        with Session(rt.engine) as session:
            hints = suggest(session, rt, phone=values["caller_number"], text=values["content"] or values["title"],
                            address=values["address"])
        return _page(values, hints=hints)
    ticket: dict[str, Any] = {key: value or None for key, value in values.items()}
    ticket["public"] = bool(values["public"])
    try:
        report = parse_or_keep(raw, lambda r: hotline_adapter.parse_ticket(ticket, r.body, rt.profile.appeal_aliases))
        chosen = None
        if attach_to:
            with Session(rt.engine) as session:
                case = find_by_number(session, attach_to)
            if case is None:
                raise AdapterError("attach_to", f"没有工单 {attach_to}")
            report.case_ref, chosen = case.number, case.id
    except AdapterError as error:
        return _page(values, error=error, status=422)
    report.extra["entered_by"] = "operator_form"
    user = auth.current_user()
    operator_id = values["operator_id"] or (user.username if user else "unknown")
    result = ingest(rt, report, actor=f"operator:{operator_id}", attach_to=chosen)
    return render_template("operator/done.html", case=result.case, code=result.report.retrieval_code, link=result.link,
                           created=result.created,
                           next_values=urlencode({"operator_id": values["operator_id"]})), 201 if result.created else 200


@bp.get("/api/v1/operator/suggest")
@auth.require_role(*STAFF)
def suggest_json() -> ResponseReturnValue:
    """The caller's open cases (same phone) and similar open cases in the same district, as JSON."""
    args = {key: (request.args.get(key) or "").strip() or None for key in ("phone", "text", "address")}
    if not any(args.values()):
        raise ApiError(400, "send phone, text or address", field="phone")
    for key, value in args.items():
        if value and len(value) > MAX_QUERY:
            raise ApiError(400, f"longer than {MAX_QUERY} characters", field=key)
    rt = current()
    with Session(rt.engine) as session:
        return jsonify(suggest(session, rt, **args))


