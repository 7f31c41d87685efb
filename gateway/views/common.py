"""What every view shares: reading a request (JSON body, raw inbound input, keeping what an adapter refuses),
answering a new report, and for the HTML pages their Chinese labels, template filters and paging."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable
from urllib.parse import urlencode

from flask import Flask, abort, g, jsonify, request, send_file
from markupsafe import Markup
from sqlmodel import Session

from adapters.base import AdapterError, InboundReport, RawInbound
from adapters.hotline import recording_url
from adapters.values import load_json
from gateway.casework import calendars
from gateway.clock import as_utc, utcnow
from gateway.errors import ApiError
from gateway.intake import quarantine
from gateway.intake.attachments import stored_file
from gateway.runtime import current
from gateway.views import presenters


def json_body() -> Any:
    """Parse the request body as JSON or raise a 400/415 naming the problem."""
    if not request.is_json:
        raise ApiError(415, "expected Content-Type: application/json", field="body")
    raw = request.get_data(cache=True)
    try:
        return load_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "body is not UTF-8", field="body") from None
    except AdapterError as exc:  # too deep, too many digits, not JSON: 400; a field that is not text: 422
        raise ApiError(400 if exc.field == "body" else 422,
                       exc.message if exc.field == "body" else f"{exc.field}: {exc.message}", field=exc.field) from None


def raw_inbound(channel: str) -> RawInbound:
    return RawInbound(
        channel=channel,
        body=request.get_data(cache=True),
        headers={k: v for k, v in request.headers.items()},
        form={k: request.form.getlist(k) for k in request.form},
        received_at=utcnow(),
    )


def parse_or_keep(raw: RawInbound, parse: Callable[[RawInbound], InboundReport]) -> InboundReport:
    """Run an adapter; when it rejects the input, keep the raw input (Unparsed) and re-raise."""
    try:
        return parse(raw)
    except AdapterError as error:
        quarantine.keep(current(), raw.channel, raw, error)
        raise


def answer(result: Any) -> Any:
    """201 for a new report, 200 with the same body for a replay."""
    body = {"case": presenters.case_summary(result.case, result.report), "report": presenters.report(result.report),
            "link": result.link}
    return jsonify(body), 201 if result.created else 200


CASE_STATUS = {"new": "新建", "dispatched": "已派单", "in_progress": "办理中", "replied": "已答复", "reopened": "重新办理",
               "triage": "待分拣", "closed": "已办结", "merged": "已合并"}
ASSIGNMENT_STATUS = {"dispatched": "待签收", "signed": "办理中", "replied": "已答复", "returned": "已退回",
                     "overdue": "已超期", "cancelled": "已撤销"}
ROLE = {"lead": "主办", "assist": "协办", "sub": "下级承办"}
CHANNEL = {"web": "网上留言", "board": "留言板", "hotline": "12345热线", "sms": "短信", "email": "电子邮件",
           "open311": "Open311", "voice": "语音留言"}
MERGE_STATUS = {"proposed": "待确认", "applied": "已合并", "rejected": "已驳回", "undone": "已撤销"}
SUPERVISION = {0: "正常", 1: "已提醒", 2: "已超期", 3: "已催办", 4: "已升级"}
EVENT = {"created": "创建工单", "appeal_type_inferred": "推断诉求类型", "report_attached": "并入来件", "dispatched": "派单", "signed": "签收", "replied": "答复",
         "returned": "退回", "merged": "合并", "unmerged": "撤销合并", "redispatched": "重新派单",
         "extension_requested": "申请延期", "extension_decided": "延期审批", "followup": "回访", "closed": "办结",
         "call_made": "电话告知/回访", "followup_unreachable": "回访多次未接通", "followup_refused": "拒访",
         "transcript_added": "补入语音留言内容", "transcript_failed": "语音转写失败",
         "closed_on_call": "即时办结"}

# Small line icons (24x24, stroke) per channel; inline so the pages need nothing from outside.
_ICON_PATHS = {
    "web": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18"/>',
    "board": '<rect x="4" y="3" width="16" height="18" rx="2"/><path d="M8 8h8M8 12h8M8 16h5"/>',
    "hotline": '<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"/>',
    "sms": '<path d="M4 5h16v11H9l-5 4z"/><path d="M8 10h8"/>',
    "email": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3 7 9 6 9-6"/>',
    "open311": '<path d="M8 6 3 12l5 6M16 6l5 6-5 6M14 4l-4 16"/>',
    "voice": '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
}


def channel_icon(channel: str | None) -> Markup:
    """An inline SVG icon for a channel, labelled for screen readers."""
    key = channel if channel in _ICON_PATHS else "web"
    label = CHANNEL.get(channel or "", channel or "")
    return Markup(
        f'<svg class="icon icon-{key}" viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" '
        f'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" role="img" aria-label="{Markup.escape(label)}">'
        f"<title>{Markup.escape(label)}</title>{_ICON_PATHS[key]}</svg>"
    )


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the city's time zone."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(current().profile.tz).strftime(fmt)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def category_name(code: str | None) -> str:
    cat = current().profile.category(code)
    return cat.name if cat else (code or "未分类")


@dataclass
class Page:
    """One page of a listing: the rows, where we are, and links to the neighbours."""

    rows: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    def url(self, page: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page" and v}
        args["page"] = str(page)
        return f"{request.path}?{urlencode(args)}"


MAX_PAGE_NUMBER = 100_000  # beyond it a page number is noise (and its OFFSET would overflow the database)


DAYS = (date(1900, 1, 1), date(9998, 12, 31))  # a day filter outside these is a typo: far from any case, and
# at year 1 or 9999 a day in the city's zone is a time UTC cannot hold


def day_arg(value: str) -> date | None:
    """A yyyy-mm-dd filter as a day, or None for anything else (a bad filter is ignored, never a 500)."""
    try:
        day = date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        return None
    return day if day is not None and DAYS[0] <= day <= DAYS[1] else None


def page_args(default_per_page: int = 50) -> tuple[int, int]:
    """The requested page number (bad or missing values mean page 1)."""
    try:
        page = min(max(1, int(request.args.get("page", 1))), MAX_PAGE_NUMBER)
    except ValueError:
        page = 1
    return page, default_per_page


def is_late(assignment: Any) -> bool:
    """An assignment that still owes an answer and whose time has run out."""
    if assignment.status == "overdue":
        return True
    return (assignment.status in ("dispatched", "signed") and assignment.due_at is not None
            and getattr(assignment, "suspended_at", None) is None and as_utc(assignment.due_at) < utcnow())


def is_ack_late(assignment: Any) -> bool:
    """An assignment whose first answer (回告: signed, contact made) is late: unsigned, no contact, time run out."""
    return (assignment.status == "dispatched" and assignment.acknowledged_at is None
            and assignment.suspended_at is None and assignment.ack_due_at is not None
            and as_utc(assignment.ack_due_at) < utcnow())


def _names() -> dict[str, str]:
    city = str(current().profile.city.get("name", ""))
    # 武汉市 -> 武汉市民留言板 (the board's real name), not 武汉市市民留言板
    return {"city_name": city, "board_name": (city + "民留言板") if city.endswith("市") else (city + "市民留言板")}


def _joined(value: Any) -> str:
    return "、".join(str(v) for v in value if v) if isinstance(value, (list, tuple)) else str(value)


# How dedupe's reasons (dedupe/decide.py) read to the office: one Chinese phrase each.
REASON_TEXT: dict[str, Any] = {
    "text_similarity": lambda r: f"文本相似度 {float(r['value']):.0%}",
    "place_match": lambda r: f"同一地点：{_joined(r['value'])}" + ("（简称）" if r.get("partial") else ""),
    "place_mismatch": lambda r: f"地点不同：{' / '.join(str(v) for v in r['value'])}",
    "district_match": lambda r: f"同一区：{r['value']}",
    "district_mismatch": lambda r: f"不同区：{' / '.join(str(v) for v in r['value'])}",
    "street_match": lambda r: f"同一街道：{r['value']}",
    "distance_m": lambda r: f"相距约 {r['value']} 米",
    "category": lambda r: {"same": "同一类别", "different": "类别不同"}.get(str(r["value"]), f"类别：{r['value']}"),
    "topic_match": lambda r: f"同一问题：{_joined(r['value'])}",
    "same_contact": lambda r: "同一诉求人",
    "time_gap_hours": lambda r: f"相隔 {r['value']} 小时",
    "case_open": lambda r: "工单在办" if r["value"] else "工单已办结",
    "veto": lambda r: "地点不同，不予合并",
    "gate": lambda r: "文字差别过大",
    "candidates": lambda r: f"候选工单 {r['value']} 件",
    "nearest_case": lambda r: f"最相近的工单 #{r['value']}",
}


def reason_text(reason: Any) -> str:
    """A merge or dedupe reason as the office reads it: a person's label as written, dedupe's in Chinese."""
    if not isinstance(reason, dict):
        return str(reason)
    if reason.get("label") or reason.get("reason"):
        return str(reason.get("label") or reason.get("reason"))
    phrase = REASON_TEXT.get(str(reason.get("feature")))
    try:
        return phrase(reason) if phrase else str(reason.get("rule") or reason.get("feature") or "")
    except (KeyError, TypeError, ValueError):
        return str(reason.get("feature") or "")


def playable(url: str | None) -> bool:
    """Whether a stored recording's address is on a host HOTLINE_RECORDING_HOSTS still allows (a host taken off
    the list stops being embedded in staff pages at once)."""
    try:
        return recording_url(url, current().settings.recording_hosts) is not None
    except AdapterError:
        return False


STAFF_BLUEPRINTS = ("console", "workbench", "operator", "account")


def _calendar_status() -> None:
    """Before a staff page's own session opens (SQLite has one writer): which holiday notices are missing."""
    if request.blueprint in STAFF_BLUEPRINTS:
        rt = current()
        with Session(rt.engine) as session:
            g.calendar_missing = calendars.status(session, rt)["missing"]


def calendar_missing() -> list[int]:
    """The years whose holiday notice is due and not imported (the console's banner)."""
    return list(g.get("calendar_missing", []))


def init_templates(app: Flask) -> None:
    app.context_processor(_names)
    app.before_request(_calendar_status)
    app.jinja_env.globals.update(calendar_missing=calendar_missing)
    app.jinja_env.globals.update(is_late=is_late, is_ack_late=is_ack_late)
    app.jinja_env.filters.update(localtime=localtime, percent=percent, category_name=category_name, reason=reason_text,
                                 channel_icon=channel_icon, playable=playable)
    app.jinja_env.globals.update(CASE_STATUS=CASE_STATUS, ASSIGNMENT_STATUS=ASSIGNMENT_STATUS, ROLE=ROLE,
                                 CHANNEL=CHANNEL, MERGE_STATUS=MERGE_STATUS, SUPERVISION=SUPERVISION, EVENT=EVENT)


def send_stored(row: dict[str, Any], key: str, *, download: bool = False) -> Any:
    """A stored attachment file (`path`) or its thumbnail (`thumb`); 404 when it is not there. A thumbnail is a
    JPEG we made; anything else goes as a download the browser never renders (octet-stream, nosniff)."""
    found = stored_file(current().settings.data_dir, row, key)
    if found is None:
        abort(404)
    if key == "thumb" and not download:
        resp = send_file(found, mimetype="image/jpeg", max_age=0)
    else:
        resp = send_file(found, mimetype="application/octet-stream", as_attachment=True,
                         download_name=str(row.get("filename") or found.name)[:200], max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
