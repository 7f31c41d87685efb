"""The caller's history for a call-centre system's screen-pop: `GET /api/v1/operator/caller?phone=`.

Who may ask: a call-centre system with its token from HOTLINE_SYSTEM_TOKENS (``Authorization: Bearer`` or
the signed headers of the ticket push, signing an empty body), or a signed-in operator, office or admin.
Every answer is throttled per system or account (HOTLINE_RATE_LIMIT_CALLER) and written to the audit log.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session

from gateway.casework.caller import History, history
from gateway.errors import ApiError
from gateway.runtime import current
from gateway.trust import audit, auth
from gateway.trust.privacy import mask_phone
from gateway.views.machine.hotline import authenticate
from gateway.views.presenters import case_row, iso

bp = Blueprint("caller", __name__)
STAFF = ("operator", "office", "admin")
MAX_PHONE = 64
SYSTEM = "hotline.caller_system"


def system() -> str | None:
    """The call-centre system this request authenticates as (checked once per request, kept in its environ: the
    throttle asks first); None without its headers. Raises ApiError 403 for credentials that do not check out."""
    if SYSTEM not in request.environ:
        sent = request.headers.get("Authorization") or request.headers.get("X-Hotline-System")
        try:
            request.environ[SYSTEM] = authenticate(current().settings.system_tokens, request.headers,
                                                   request.get_data(cache=True), time.time()) if sent else None
        except ApiError as error:
            request.environ[SYSTEM] = error
    found = request.environ[SYSTEM]
    if isinstance(found, ApiError):
        raise found
    return found if isinstance(found, str) else None


def as_json(found: History) -> dict[str, Any]:
    """The history as the screen-pop reads it, with the address of the operator form opened for this caller."""
    def row(case: Any) -> dict[str, Any]:
        return {**case_row(case), "address": case.address, "closed_at": iso(case.closed_at),
                "last_report_at": iso(case.last_report_at)}

    return {"phone": found.phone, "open_cases": [row(c) for c in found.open],
            "recent_cases": [row(c) for c in found.recent],
            "followups": [{"case": case.number, "channel": visit.channel, "status": visit.status, "round": visit.round,
                           "ask_at": iso(visit.ask_at), "asked_at": iso(visit.asked_at)}
                          for visit, case in found.followups],
            "operator_form": url_for("operator.entry_form", _external=True) + "?" + urlencode({"phone": found.phone})}


def record(found: History, via: str, actor: str | None = None) -> None:
    """The look-up in the audit log: who asked for which number (masked) and which cases it showed."""
    audit.record("caller_viewed", f"phone:{mask_phone(found.phone or '')}", actor=actor, via=via,
                 cases=[c.number for c in [*found.open, *found.recent]],
                 followups=len(found.followups))


@bp.get("/api/v1/operator/caller")
def lookup() -> ResponseReturnValue:
    """The caller's open and recent cases and waiting follow-ups, for a system's token or a staff session."""
    name = system()
    if name is None:
        user = auth.current_user()
        if user is None:
            raise ApiError(401, "send the call-centre system's token (Authorization: Bearer) or sign in",
                           field="Authorization")
        if user.role not in STAFF:
            raise ApiError(403, "operators, the office and admins may look callers up", field="role")
    phone = (request.args.get("phone") or "").strip()
    if not phone:
        raise ApiError(400, "required", field="phone")
    if len(phone) > MAX_PHONE:
        raise ApiError(422, f"longer than {MAX_PHONE} characters", field="phone")
    rt = current()
    with Session(rt.engine) as session:
        found = history(session, rt, phone)
        if found.phone is None:
            raise ApiError(422, f"not a phone number: {phone!r}", field="phone")
        body = as_json(found)
    record(found, "api", actor=f"system:{name}" if name else None)
    return jsonify(body)
