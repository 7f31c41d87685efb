"""The hotline operator's entry form: type the ticket during the call, see open cases, attach or create."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, TimestampSigner
from redis.exceptions import RedisError
from sqlmodel import Session

from adapters import hotline as hotline_adapter
from adapters.base import APPEAL_TYPES, AdapterError
from dedupe.decide import Scored
from gateway.casework import oncall
from gateway.casework.caller import History, history
from gateway.casework.routing import locate
from gateway.casework.workflow import REPLY_KINDS
from gateway.clock import utcnow
from gateway.errors import ApiError, WorkflowError
from gateway.intake.hint import hint
from gateway.intake.ingest import Resolver, find_by_number, ingest
from gateway.messaging import knowledge
from gateway.models import Case, KnowledgeAnswer
from gateway.runtime import Runtime, current
from gateway.trust import audit, auth
from gateway.trust.privacy import mask_phone
from gateway.views.common import category_name, parse_or_keep, raw_inbound
from gateway.views.machine.caller import record
from gateway.views.presenters import iso

bp = Blueprint("operator", __name__)
STAFF = ("operator", "office", "admin")

FORM_FIELDS = ("ticket_no", "caller_number", "caller_name", "appeal_type", "category", "district", "address",
               "title", "content", "urgency", "complexity", "public", "operator_id", "call_id", "recording_url")
MAX_QUERY = 2000
ON_CALL_FIELDS = ("answer", "reply_kind", "knowledge_id")  # 即时办: the answer given on the call
FORM_MAX_AGE = 12 * 3600  # a form open longer than this (a tab left overnight) measures nothing


def _choices() -> dict[str, Any]:
    profile = current().profile
    return {"appeal_types": APPEAL_TYPES, "categories": [c.name for c in profile.categories],
            "districts": profile.district_names(),
            "reply_kinds": {kind: REPLY_KINDS[kind] for kind in oncall.ON_CALL_KINDS}}


class _Stamper(TimestampSigner):
    """itsdangerous's timestamp signer on the gateway's clock (gateway.clock: the one the tests can set)."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _signer() -> TimestampSigner:
    return _Stamper(current_app.config["SECRET_KEY"], salt="operator-form-opened")


def opened_stamp(ticket_no: str) -> str:
    """The form's ticket number signed with the moment the form was opened (it comes back with the form)."""
    return _signer().sign(ticket_no).decode()


def form_seconds(stamp: str, ticket_no: str) -> tuple[str | None, float] | None:
    """When this ticket's form was opened and how many seconds ago, from its signed stamp; None for a stamp
    that is missing, forged, of another ticket or older than FORM_MAX_AGE."""
    try:
        value, opened = _signer().unsign(stamp, max_age=FORM_MAX_AGE, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if value.decode() != ticket_no:
        return None
    return iso(opened), float(max(_signer().get_timestamp() - int(opened.timestamp()), 0))


def _page(values: dict[str, Any], error: AdapterError | None = None, hints: dict[str, Any] | None = None,
          status: int = 200, caller: History | None = None) -> Any:
    return render_template("operator/entry.html", values=values, error=error, hints=hints, caller=caller,
                           **_choices()), status


def suggest(session: Session, rt: Runtime, *, phone: str | None, text: str | None, address: str | None
            ) -> dict[str, Any]:
    """The duplicate hint as the page shows it: the caller's open cases, similar open cases in the ticket's district."""
    district, _street = locate(rt.profile, text or "", address)
    found = hint(session, rt, phone=phone, text=text, address=address, district=district)
    return {"phone": found.phone, "district": district,
            "caller_cases": [_row(case, "same_phone") for case in found.own],
            "nearby_cases": [_row(case, "nearby_similar", scored) for case, scored in found.similar]}


HINT_AUDIT_SECONDS = 600  # one audit row per account and number in this time: the form asks at every keystroke


def audit_hint(hints: dict[str, Any]) -> None:
    """A number's open cases the hint showed, in the audit log as a caller look-up (``via: hint``): once per
    account and number in HINT_AUDIT_SECONDS. Call it after the request's session has closed."""
    phone = hints.get("phone")
    if not phone:
        return
    user = auth.current_user()
    actor = user.actor if user is not None else "anonymous"
    try:
        first = bool(current().broker.redis.set(f"{current().settings.queue_prefix}-audit-hint:{actor}:{phone}", 1, nx=True,
                                                ex=HINT_AUDIT_SECONDS))
    except RedisError:
        first = True  # without Redis: a row too many rather than a look-up unrecorded
    if first:
        audit.record("caller_viewed", f"phone:{mask_phone(phone)}", actor=actor, via="hint",
                     cases=[c["number"] for c in hints["caller_cases"]])


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
    ticket_no = f"OP-{secrets.token_hex(8)}"
    return {"ticket_no": ticket_no, "opened": opened_stamp(ticket_no), "appeal_type": "投诉", "urgency": "一般",
            "complexity": "一般", "reply_kind": ""}


@bp.get("/operator/")
@auth.require_role(*STAFF)
def entry_form() -> ResponseReturnValue:
    """Show an empty ticket form; its ticket number makes a double submission idempotent.

    A call-centre system's screen-pop opens it with the call: ``?phone=`` shows the caller's history first
    (throttled and audited like the API), ``call_id`` and ``recording_url`` are carried into the ticket."""
    values = {**_fresh(), **{key: request.args.get(key, "").strip()[:limit]
                             for key, limit in (("operator_id", 64), ("call_id", 128), ("recording_url", 2000))}}
    phone = request.args.get("phone", "").strip()[:64]
    if not phone:
        return _page(values)
    rt = current()
    with Session(rt.engine) as session:
        found = history(session, rt, phone)
    values["caller_number"] = found.phone or phone
    if found.phone is not None:
        record(found, "operator")
    return _page(values, caller=found)


@bp.post("/operator/")
@auth.require_role(*STAFF)
def submit() -> ResponseReturnValue:
    """Create the ticket, attach it to the chosen case, close it on the call (action=resolve, 即时办), or
    (action=check) show open cases without JS."""
    raw = raw_inbound("hotline")  # first: reading the form would consume the body we keep
    auth.check_csrf()
    values = {key: request.form.get(key, "").strip() for key in (*FORM_FIELDS, *ON_CALL_FIELDS, "opened")}
    values["public"] = "1" if request.form.get("public") else ""
    attach_to = request.form.get("attach_to", "").strip()
    action = request.form.get("action", "create")
    rt = current()
    if action == "check" and not attach_to:
        with Session(rt.engine) as session:
            hints = suggest(session, rt, phone=values["caller_number"], text=values["content"] or values["title"],
                            address=values["address"])
        audit_hint(hints)
        return _page(values, hints=hints)
    ticket: dict[str, Any] = {key: values[key] or None for key in FORM_FIELDS}
    ticket["public"] = bool(values["public"])
    user = auth.current_user()
    operator_id = values["operator_id"] or (user.username if user else "unknown")
    resolve: Resolver | None = None
    try:
        report = parse_or_keep(raw, lambda r: hotline_adapter.parse_ticket(ticket, r.body, rt.profile.appeal_aliases,
                                                                            rt.settings.recording_hosts))
        chosen = None
        if attach_to:
            with Session(rt.engine) as session:
                case = find_by_number(session, attach_to)
            if case is None:
                raise AdapterError("attach_to", f"没有工单 {attach_to}")
            report.case_ref, chosen = case.number, case.id
        elif action == "resolve":
            resolve = _resolver(rt, values, report.appeal_type, f"operator:{operator_id}")
    except AdapterError as error:
        return _page(values, error=error, status=422)
    report.extra.update(entered_by="operator_form", operator_id=operator_id)
    if user is not None:
        report.extra["operator_user"] = user.username
    timed = form_seconds(values["opened"], values["ticket_no"])
    if timed is not None:
        report.extra["form_opened_at"], report.extra["form_seconds"] = timed
    result = ingest(rt, report, actor=f"operator:{operator_id}", attach_to=chosen, resolve=resolve)
    on_call = bool(resolve) and result.case.closed_on_call
    if on_call and result.created:
        audit.record("closed_on_call", f"case:{result.case.number}", ticket=values["ticket_no"],
                     knowledge_answer_id=values["knowledge_id"] or None, reply_kind=values["reply_kind"] or None)
    return render_template("operator/done.html", case=result.case, code=result.report.retrieval_code, link=result.link,
                           created=result.created, on_call=on_call, answer=values["answer"],
                           next_values=urlencode({"operator_id": values["operator_id"]})), 201 if result.created else 200


def _resolver(rt: Runtime, values: dict[str, Any], appeal_type: str | None, actor: str) -> Resolver:
    """即时办's resolver for ingest, or an AdapterError naming the field the operator must fill."""
    if not values["answer"]:
        raise AdapterError("answer", "即时办结须填写答复内容")
    if not values["category"]:
        raise AdapterError("category", "即时办结须选择问题分类")
    kind = values["reply_kind"] or oncall.default_kind(appeal_type)
    if kind not in oncall.ON_CALL_KINDS:
        raise AdapterError("reply_kind", f"答复类型应为{'或'.join(REPLY_KINDS[k] for k in oncall.ON_CALL_KINDS)}")
    used = values["knowledge_id"]
    # The browser's hidden field: ASCII digits only ('²'.isdigit() too, and int() refuses it or 5,000 digits).
    answer_id = int(used) if used.isascii() and used.isdigit() and len(used) <= 10 else None
    try:
        with Session(rt.engine) as session:
            oncall.office_unit(session, rt)
            if used and (answer_id is None or session.get(KnowledgeAnswer, answer_id) is None):
                raise AdapterError("knowledge_id", f"知识库中没有答复 {used[:20]}")
        return oncall.closer(rt, values["answer"], kind, actor, answer_id)
    except WorkflowError as exc:
        raise AdapterError("action", str(exc)) from exc


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
        hints = suggest(session, rt, **args)
    audit_hint(hints)
    return jsonify(hints)




@bp.get("/api/v1/operator/knowledge")
@auth.require_role(*STAFF)
def knowledge_json() -> ResponseReturnValue:
    """The knowledge base's answers that best cover what the operator typed (office entries and past replies,
    masked), best first."""
    q = (request.args.get("q") or "").strip()
    if not q:
        raise ApiError(400, "send q, the words to look for", field="q")
    if len(q) > MAX_QUERY:
        raise ApiError(400, f"longer than {MAX_QUERY} characters", field="q")
    category = (request.args.get("category") or "").strip() or None
    code = current().profile.category(category) if category else None
    if category and code is None:
        raise ApiError(422, f"no category {category[:40]!r} in this city's profile", field="category")
    with Session(current().engine) as session:
        hits = knowledge.search(session, q, category=code.code if code else None)
        answers = [{**hit.as_dict(), "category_name": category_name(hit.answer.category)} for hit in hits]
    return jsonify({"answers": answers})
