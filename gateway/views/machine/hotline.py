"""12345 call-centre systems push tickets here: one or a batch, authenticated per system.

Authentication, per system named in HOTLINE_SYSTEM_TOKENS ("name:token,..."), either
- ``Authorization: Bearer <token>``, or
- ``X-Hotline-System: <name>``, ``X-Hotline-Timestamp: <unix seconds>`` and
  ``X-Hotline-Signature: hex(hmac_sha256(token, timestamp + "." + body))``; a timestamp more
  than 5 minutes off is refused (replay protection).
No credentials: 401. Credentials that do not check out: 403. Both with a JSON error.

Answers: a single ticket (a JSON object) is answered like /api/v1/reports: 201 new, 200 replay
of the same ticket number, 422 naming the field. A batch (an array, or {"tickets": [...]})
is answered 200 with one result per ticket, in order:
``{"index", "ticket_no", "status": 201|200|422, "case": {...}}`` or ``..., "error": {field, message}}``,
plus counts; a body that is not a batch at all is 400/422.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Mapping

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from adapters import hotline as hotline_adapter
from adapters.base import AdapterError, InboundReport, RawInbound
from adapters.values import decode_text
from gateway.errors import ApiError
from gateway.intake import quarantine
from gateway.intake.ingest import ingest
from gateway.runtime import current
from gateway.views import presenters
from gateway.views.common import answer, raw_inbound

bp = Blueprint("hotline", __name__)

MAX_SKEW_SECONDS = 300


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(tokens: Mapping[str, str], headers: Any, body: bytes, now: float) -> str:
    """Return the calling system's name, or raise ApiError 401 (no credentials) / 403 (wrong ones)."""
    bearer = _bearer(headers.get("Authorization", ""))
    system = headers.get("X-Hotline-System", "").strip()
    if bearer is None and not system:
        raise ApiError(401, "send Authorization: Bearer <token> or an X-Hotline-Signature", field="Authorization")
    if bearer is not None:
        found = None
        for name, known in tokens.items():  # compare with every token so timing does not tell which matched
            if hmac.compare_digest(bearer.encode(), known.encode()):
                found = name
        if found is None:
            raise ApiError(403, "unknown token", field="Authorization")
        return found
    stamp = headers.get("X-Hotline-Timestamp", "").strip()
    signature = headers.get("X-Hotline-Signature", "").strip().lower()
    if not stamp or not signature:
        raise ApiError(401, "X-Hotline-System needs X-Hotline-Timestamp and X-Hotline-Signature",
                       field="X-Hotline-Signature")
    try:
        moment = int(stamp)
    except ValueError:
        raise ApiError(403, "X-Hotline-Timestamp must be unix seconds", field="X-Hotline-Timestamp") from None
    if abs(now - moment) > MAX_SKEW_SECONDS:
        raise ApiError(403, "timestamp is more than 5 minutes off; check the clock or do not replay",
                       field="X-Hotline-Timestamp")
    token = tokens.get(system)
    expected = sign(token or "no such system", stamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()) or token is None:
        raise ApiError(403, "signature does not match", field="X-Hotline-Signature")
    return system


def sign(token: str, timestamp: str, body: bytes) -> str:
    """The signature a call-centre system sends: hex HMAC-SHA256 of "timestamp.body" keyed by its token."""
    return hmac.new(token.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _batch_items(body: bytes) -> list[Any] | None:
    """The items of a batch body, or None for a single ticket (or a body the adapter will reject)."""
    try:
        data = json.loads(decode_text(body))
    except (ValueError, RecursionError, AdapterError):
        return None
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        return data["tickets"]
    return data if isinstance(data, list) else None


@bp.post("/api/v1/hotline/tickets")
def push_tickets() -> ResponseReturnValue:
    """Take one ticket or a batch from an authenticated call-centre system through the intake path."""
    rt = current()
    raw = raw_inbound("hotline")
    try:
        system = authenticate(rt.settings.system_tokens, request.headers, raw.body, time.time())
    except ApiError as error:
        quarantine.keep(rt, "hotline", raw, f"{error.field}: {error.message}", status=error.status)
        raise
    try:
        parsed = hotline_adapter.parse_batch(raw.body, rt.profile.appeal_aliases, rt.settings.recording_hosts)
    except AdapterError as error:
        quarantine.keep(rt, "hotline", raw, error, system=system)
        raise
    items = _batch_items(raw.body)
    if items is None:
        item = parsed[0]
        if isinstance(item, AdapterError):
            quarantine.keep(rt, "hotline", raw, item, system=system)
            raise item
        return answer(ingest(rt, _tag(item, system), actor=f"system:{system}"))
    results = []
    for index, (item, source) in enumerate(zip(parsed, items)):
        results.append(_one(rt, index, item, source, raw, system))
    counts = {"created": sum(r["status"] == 201 for r in results), "replayed": sum(r["status"] == 200 for r in results),
              "failed": sum(r["status"] == 422 for r in results)}
    return jsonify({"results": results, **counts}), 200


def _tag(report: InboundReport, system: str) -> InboundReport:
    report.extra["system"] = system
    return report


def _one(rt: Any, index: int, item: InboundReport | AdapterError, source: Any, raw: RawInbound,
         system: str) -> dict[str, Any]:
    if isinstance(item, AdapterError):
        body = json.dumps(source, ensure_ascii=False).encode("utf-8", "surrogatepass")
        quarantine.keep(rt, "hotline", RawInbound(channel="hotline", body=body, headers=raw.headers,
                                                  received_at=raw.received_at), item, system=system, index=index)
        ticket_no = source.get("ticket_no") if isinstance(source, dict) else None
        return {"index": index, "ticket_no": ticket_no if isinstance(ticket_no, (str, int)) else None,
                "status": 422, "error": item.as_dict()}
    result = ingest(rt, _tag(item, system), actor=f"system:{system}")
    case = presenters.case_summary(result.case, result.report)
    return {"index": index, "ticket_no": item.external_id, "status": 201 if result.created else 200,
            "case": case, "link": result.link}
