"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests and tokens, in XML or JSON.

The format is the path's extension (``requests.xml``, ``requests.json``) as the spec does.
Errors use the spec's bodies (<errors><error><code/><description/></error></errors> or its
JSON array): 403 for a missing or wrong api_key, 404 for an unknown service, request or token,
400 for anything else wrong in the input.

Decisions: service codes are the city profile's category codes, their attributes the
category's ``attributes``; service_request_id is the case number; a successful POST answers
200 with service_request_id *and* a token (tokens/{token} answers even after a merge); a
request cannot be replayed idempotently (the spec has no idempotency key); only public
cases are listed by GET requests, while a private case asked for by number shows its
status without description or place. A merged case shows as closed with status_notes
naming the surviving case, as in the spec's "Duplicate request." example.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Literal
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for
from sqlmodel import Session, col, select

from adapters.base import AdapterError, RawInbound
from adapters.open311 import AttributeDef, ServiceDef, parse_request, render_error, to_json, to_xml, to_xml_document
from adapters.values import datetime_value
from gateway.casework.photos import public_photos
from gateway.clock import as_utc, utcnow
from gateway.intake import quarantine
from gateway.intake.ingest import ingest, resolve_case
from gateway.models import CLOSED_STATUSES, Assignment, Case, Department, Report
from gateway.profile import Profile
from gateway.runtime import current
from gateway.trust.privacy import mask_text, reporter_names
from gateway.views.common import parse_or_keep, raw_inbound

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMAT = "<any(xml, json):fmt>"
MIME = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
SPEC = "http://wiki.open311.org/GeoReport_v2"
_API_KEY = re.compile(rb"(^|&)api_key=[^&]*")


class Open311Error(Exception):
    """An error answered in the spec's shape and the request's format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _fmt() -> Literal["xml", "json"]:
    fmt = (request.view_args or {}).get("fmt")
    return "json" if fmt == "json" else "xml"


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error) -> Response:
    return Response(render_error(exc.status, exc.description, _fmt()), exc.status, content_type=MIME[_fmt()])


@bp.errorhandler(AdapterError)
def _bad_input(exc: AdapterError) -> Response:
    return _open311_error(Open311Error(400, f"{exc.field}: {exc.message}"))


def _respond(fmt: str, data: Any, root: str, item: str | None = None, status: int = 200) -> Response:
    if fmt == "json":
        body = to_json(data)
    elif item is None:
        body = to_xml_document(root, data)
    else:
        body = to_xml(root, item, data)
    return Response(body, status, content_type=MIME[fmt])


def services(profile: Profile) -> dict[str, ServiceDef]:
    """The city's categories as Open311 services; a category's ``attributes`` are its questions."""
    out = {}
    for cat in profile.categories:
        attributes = [
            AttributeDef(code=str(a["code"]), datatype=str(a.get("datatype", "string")),
                         required=bool(a.get("required", False)), description=str(a.get("description", "")),
                         order=int(a.get("order", index + 1)),
                         values=[(str(v["key"]), str(v["name"])) for v in a.get("values", [])],
                         variable=bool(a.get("variable", True)))
            for index, a in enumerate(cat.attributes)
        ]
        out[cat.code] = ServiceDef(code=cat.code, name=cat.name, description=cat.description, attributes=attributes,
                                   group=cat.group, keywords=", ".join(cat.keywords))
    return out


@bp.get(f"/discovery.{FORMAT}")
def discovery(fmt: str) -> Response:
    """Describe this endpoint (the spec's service discovery)."""
    profile = current().profile
    changeset = datetime.fromtimestamp(Path(profile.path).stat().st_mtime, profile.tz).isoformat()
    data = {
        "changeset": changeset,
        "contact": f"{profile.city.get('name', '')} 12345 政务服务便民热线",
        "key_service": "api_key 由 12345 热线管理办公室发放",
        "endpoints": [{"specification": SPEC, "url": request.url_root.rstrip("/") + (bp.url_prefix or ""),
                       "changeset": changeset, "type": "production", "formats": ["text/xml", "application/json"]}],
    }
    return _respond(fmt, data, "discovery")


@bp.get(f"/services.{FORMAT}")
def service_list(fmt: str) -> Response:
    """List the services (the city's categories)."""
    return _respond(fmt, [s.as_service() for s in services(current().profile).values()], "services", "service")


@bp.get(f"/services/<code>.{FORMAT}")
def service_definition(code: str, fmt: str) -> Response:
    """One service's definition with its attributes."""
    service = services(current().profile).get(code)
    if service is None:
        raise Open311Error(404, f"unknown service_code {code!r}")
    return _respond(fmt, service.as_definition(), "service_definition")


def _check_api_key(raw: RawInbound) -> None:
    given = request.form.get("api_key", "")
    keys = current().settings.open311_api_keys
    ok = False
    for key in keys:  # compare with every key so timing does not tell which one matched
        ok |= hmac.compare_digest(given.encode(), str(key).encode())
    if not given or not ok:
        quarantine.keep(current(), "open311", raw, "api_key: missing or invalid")
        raise Open311Error(403, "无效的 api_key，无法创建请求 (invalid api_key received, can't proceed with create_request)")


def _raw_without_key() -> RawInbound:
    """The request as received, with the api_key value blanked: credentials are not stored."""
    raw = raw_inbound("open311")
    if request.mimetype == "application/x-www-form-urlencoded":
        body = _API_KEY.sub(rb"\1api_key=[redacted]", raw.body)
    else:
        body = urlencode([(k, v) for k, vs in raw.form.items() if k != "api_key" for v in vs]).encode()
    form = {k: v for k, v in raw.form.items() if k != "api_key"}
    return RawInbound(channel="open311", body=body, headers=raw.headers, form=form, received_at=raw.received_at)


@bp.post(f"/requests.{FORMAT}")
def create_request(fmt: str) -> Response:
    """Create a service request from the spec's form-encoded POST, through the one intake path."""
    raw = _raw_without_key()
    _check_api_key(raw)
    rt = current()
    report = parse_or_keep(raw, lambda r: parse_request(r.form, services(rt.profile), r.body))
    token = f"311-{secrets.token_urlsafe(12)}"
    report.external_id = token
    result = ingest(rt, report, actor="open311")
    account_id = report.extra.get("account_id")
    notice = rt.profile.message("ack", number=result.case.number, code=result.report.retrieval_code)
    return _respond(fmt, [{"service_request_id": result.case.number, "token": token, "service_notice": notice,
                           "account_id": account_id}], "service_requests", "request")


def _local(profile: Profile, moment: datetime | None) -> str | None:
    return as_utc(moment).astimezone(profile.tz).replace(microsecond=0).isoformat() if moment else None


def _rows(session: Session, profile: Profile, cases: Iterable[Case]) -> list[dict[str, Any]]:
    cases = list(cases)
    ids = [c.id for c in cases]
    leads: dict[int, tuple[Assignment, Department]] = {}
    if ids:
        for assignment, dept in session.exec(
            select(Assignment, Department).join(Department)
            .where(col(Assignment.case_id).in_(ids), Assignment.role == "lead")
        ).all():
            leads[assignment.case_id] = (assignment, dept)
    names = {c.code: c.name for c in profile.categories}
    reporters = reporter_names(session, [i for i in ids if i is not None])
    photos = public_photos(session, [i for i in ids if i is not None])
    base = (current().settings.public_base_url or request.host_url).rstrip("/")
    rows = []
    for case in cases:
        shown = photos.get(case.id or 0) if case.public and case.merged_into_id is None else None
        lead = leads.get(case.id or 0)
        closed = case.status in CLOSED_STATUSES or case.merged_into_id is not None
        notes = None
        if case.merged_into_id is not None:
            survivor = resolve_case(session, case)
            notes = f"重复诉求，已并入工单 {survivor.number} (duplicate request, merged into {survivor.number})"
        elif closed and lead is not None and case.public:  # what the board shows: masked, and only when public
            notes = mask_text(lead[0].reply_text, reporters.get(case.id or 0, ()))
        rows.append({
            "service_request_id": case.number,
            "status": "closed" if closed else "open",
            "status_notes": notes,
            "service_name": names.get(case.category or ""),
            "service_code": case.category,
            "description": mask_text(case.summary, reporters.get(case.id or 0, ())) if case.public else None,
            "agency_responsible": lead[1].name if lead else None,
            "service_notice": None,
            "requested_datetime": _local(profile, case.created_at),
            "updated_datetime": _local(profile, case.updated_at),
            "expected_datetime": _local(profile, case.due_at),
            "address": case.address if case.public else None,
            "address_id": None,
            "zipcode": None,
            "lat": case.lat if case.public else None,
            "long": case.lon if case.public else None,
            # the first photo the office approved for the public (the board serves it), else none
            "media_url": base + url_for("board.photo", report_id=shown[0][0], position=shown[0][1]) if shown else None,
        })
    return rows


def _listed(name: str) -> list[str]:
    return [item.strip() for item in (request.args.get(name) or "").split(",") if item.strip()]


def _window() -> tuple[datetime, datetime]:
    start = datetime_value(request.args.get("start_date"), "start_date")
    end = datetime_value(request.args.get("end_date"), "end_date")
    if start is None and end is None:
        end = utcnow()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > WINDOW:
        raise Open311Error(400, "start_date to end_date may not span more than 90 days")
    return start, end


@bp.get(f"/requests.{FORMAT}")
def list_requests(fmt: str) -> Response:
    """Public requests, newest first: by service_request_id, or by service_code, dates and status (90 days, 1000 at most)."""
    rt = current()
    numbers = [n.upper() for n in _listed("service_request_id")][:MAX_RESULTS]
    query = select(Case)
    if numbers:
        query = query.where(col(Case.number).in_(numbers))
    else:
        start, end = _window()
        query = query.where(col(Case.public).is_(True), Case.created_at >= start, Case.created_at <= end)
        codes = _listed("service_code")
        if codes:
            query = query.where(col(Case.category).in_(codes))
        statuses = set(_listed("status"))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status: expected open, closed or both")
        if statuses == {"open"}:
            query = query.where(col(Case.status).notin_(CLOSED_STATUSES), col(Case.merged_into_id).is_(None))
        elif statuses == {"closed"}:
            query = query.where(col(Case.status).in_(CLOSED_STATUSES) | (col(Case.merged_into_id).isnot(None)))
    with Session(rt.engine) as session:
        cases = session.exec(query.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(MAX_RESULTS)).all()
        return _respond(fmt, _rows(session, rt.profile, cases), "service_requests", "request")


@bp.get(f"/requests/<number>.{FORMAT}")
def get_request(number: str, fmt: str) -> Response:
    """One request by its service_request_id (the case number); a merged one shows as closed."""
    rt = current()
    with Session(rt.engine) as session:
        case = session.exec(select(Case).where(Case.number == number.strip().upper())).first()
        if case is None:
            raise Open311Error(404, f"no service request {number!r}")
        return _respond(fmt, _rows(session, rt.profile, [case]), "service_requests", "request")


@bp.get(f"/tokens/<token>.{FORMAT}")
def get_token(token: str, fmt: str) -> Response:
    """The service_request_id a POST's token stands for."""
    with Session(current().engine) as session:
        report = session.exec(select(Report).where(Report.channel == "open311", Report.external_id == token)).first()
        case = session.get(Case, report.case_id) if report is not None and report.case_id else None
        if case is None:
            raise Open311Error(404, f"unknown token {token!r}")
        return _respond(fmt, [{"service_request_id": case.number, "token": token}], "service_requests", "request")
