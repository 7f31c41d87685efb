"""Open cases an operator should see before creating a new one: the caller's own, and similar ones nearby."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Any, Callable

from sqlmodel import Session, col, select

from dedupe.identity import normalize_phone
from gateway.casework.routing import locate
from gateway.clock import utcnow
from gateway.intake.ingest import resolve_case
from gateway.models import OPEN_STATUSES, Case, Identity, Report
from gateway.runtime import Runtime
from gateway.views.presenters import iso

NEARBY_DAYS = 30
NEARBY_SCAN = 300  # newest open cases of the district looked at, by the (district, status) indexes
MIN_SHARE = 0.2  # share of the typed text's character pairs that a similar case must contain
LIMIT = 5

# The seam for the dedupe engine: (session, rt, text=, address=, district=, exclude=) ->
# [{"case_id": int, "score": float, "reasons": [...]}]; registered as rt.services["suggest"].
SimilarFinder = Callable[..., list[dict[str, Any]]]

_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    """Character pairs of the text without spaces and punctuation (Chinese has no word breaks)."""
    flat = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())
    return {flat[i:i + 2] for i in range(len(flat) - 1)}


def _row(case: Case, why: str, score: float | None = None, shared: list[str] | None = None) -> dict[str, Any]:
    return {"number": case.number, "title": case.title, "status": case.status, "district": case.district,
            "address": case.address, "category": case.category, "report_count": case.report_count,
            "created_at": iso(case.created_at), "why": why, "score": score, "shared": shared or []}


def callers_open_cases(session: Session, phone: str | None, region: str) -> list[Case]:
    """Open cases with a report from the contact behind this phone number, newest first."""
    e164 = normalize_phone(phone, region) if phone else None
    if not e164:
        return []
    identity = session.exec(select(Identity).where(Identity.kind == "phone", Identity.value == e164)).first()
    if identity is None:
        return []
    case_ids = select(Report.case_id).where(Report.contact_id == identity.contact_id)
    rows = session.exec(select(Case).where(col(Case.id).in_(case_ids)).order_by(col(Case.id).desc()).limit(50)).all()
    seen: dict[int, Case] = {}
    for case in rows:
        case = resolve_case(session, case)
        if case.status in OPEN_STATUSES and case.id is not None:
            seen.setdefault(case.id, case)
    return list(seen.values())[:LIMIT * 2]


def similar_open_cases(session: Session, district: str, text: str, exclude: set[int]) -> list[dict[str, Any]]:
    """Open cases of the last 30 days in the district whose text shares character pairs with ``text``."""
    wanted = bigrams(text)
    if not wanted:
        return []
    since = utcnow() - timedelta(days=NEARBY_DAYS)
    rows = session.exec(
        select(Case).where(Case.district == district, col(Case.status).in_(OPEN_STATUSES), Case.created_at >= since)
        .order_by(col(Case.id).desc()).limit(NEARBY_SCAN)
    ).all()
    scored: list[dict[str, Any]] = []
    for case in rows:
        if case.id in exclude:
            continue
        shared = wanted & bigrams(f"{case.title or ''} {case.summary} {case.address or ''}")
        score = len(shared) / len(wanted)
        if score >= MIN_SHARE:
            scored.append({"case_id": case.id, "score": round(score, 3),
                           "reasons": [{"rule": "same_district_shared_text", "shared": sorted(shared)[:8]}]})
    scored.sort(key=lambda item: -item["score"])
    return scored[:LIMIT]


def suggest(session: Session, rt: Runtime, *, phone: str | None, text: str | None, address: str | None
            ) -> dict[str, Any]:
    """The caller's open cases and similar open cases in the same district, for the operator form."""
    region = str(rt.profile.city.get("phone_region", "CN"))
    own = callers_open_cases(session, phone, region)
    district, _street = locate(rt.profile, text or "", address)
    exclude = {case.id for case in own if case.id is not None}
    similar: list[dict[str, Any]] = []
    if district and (text or address):
        finder: SimilarFinder | None = rt.services.get("suggest")
        query = f"{text or ''} {address or ''}"
        if finder is not None:
            similar = finder(session, rt, text=query, address=address, district=district, exclude=exclude)
        else:
            similar = similar_open_cases(session, district, query, exclude)
    nearby = []
    for item in similar:
        case = session.get(Case, item["case_id"])
        if case is not None:
            shared = next((r.get("shared") for r in item.get("reasons", []) if r.get("shared")), None)
            nearby.append(_row(case, "nearby_similar", item.get("score"), shared))
    return {"phone": normalize_phone(phone, region) if phone else None, "district": district,
            "caller_cases": [_row(case, "same_phone") for case in own], "nearby_cases": nearby}
