"""12345 hotline work orders (API push, JSON batches, Excel CSV exports) -> InboundReport."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from typing import Any, Collection, Mapping
from urllib.parse import urlsplit

from adapters.base import APPEAL_TYPES, AdapterError, InboundReport
from adapters.values import MAX_TEXT, bool_value, datetime_value, decode_text, load_json, text_value, type_name

APPEAL_ALIASES: dict[str, str] = {
    "consult": "咨询", "consultation": "咨询", "help": "求助", "complaint": "投诉",
    "report": "举报", "suggestion": "建议", "praise": "表扬", "other": "其他",
}
URGENCY_ALIASES: dict[str, str] = {
    "normal": "normal", "一般": "normal", "普通": "normal",
    "urgent": "urgent", "紧急": "urgent",
}
COMPLEXITY_ALIASES: dict[str, str] = {
    "normal": "normal", "一般": "normal", "简单": "normal",
    "complex": "complex", "复杂": "complex", "特别复杂": "complex",
}
FIELDS = (
    "ticket_no", "caller_number", "caller_name", "call_time", "appeal_type", "content", "title",
    "address", "district", "operator_id", "urgency", "complexity", "category", "public", "call_id", "recording_url",
)
# Column headers as 12345 call-centre systems export them to Excel, mapped to field names.
CSV_HEADERS: dict[str, str] = {
    "工单编号": "ticket_no", "工单号": "ticket_no", "来电号码": "caller_number",
    "来电人": "caller_name", "来电人姓名": "caller_name", "来电时间": "call_time",
    "诉求类型": "appeal_type", "诉求内容": "content", "地址": "address", "事发地址": "address",
    "所属区": "district", "所属区县": "district", "话务员": "operator_id", "话务员工号": "operator_id",
    "紧急程度": "urgency", "复杂程度": "complexity", "问题分类": "category", "标题": "title", "是否公开": "public",
    "通话编号": "call_id", "通话ID": "call_id", "呼叫编号": "call_id", "录音地址": "recording_url", "录音链接": "recording_url",
}
MAX_URL = 2000
MAX_BATCH = 1000
MAX_CSV_ROWS = 100_000


def _appeal_type(value: Any, aliases: Mapping[str, str] | None = None) -> str | None:
    """One of the seven appeal types, from itself, an English alias or the city's own (谏言 -> 建议)."""
    text = text_value(value, "appeal_type", max_len=20)
    if text is None:
        return None
    if text in APPEAL_TYPES:
        return text
    chinese = APPEAL_ALIASES.get(text.lower()) or (aliases or {}).get(text)
    if chinese is None:
        raise AdapterError("appeal_type", f"unknown appeal type {text!r}; expected one of {'/'.join(APPEAL_TYPES)}")
    return chinese


def _urgency(value: Any) -> str | None:
    return _level(value, "urgency", URGENCY_ALIASES, "normal/urgent/一般/紧急")


def _complexity(value: Any) -> str | None:
    return _level(value, "complexity", COMPLEXITY_ALIASES, "normal/complex/一般/复杂/特别复杂")


def _level(value: Any, field: str, aliases: Mapping[str, str], expected: str) -> str | None:
    """A ticket's urgency or complexity in our two words, from either language."""
    text = text_value(value, field, max_len=20)
    if text is None:
        return None
    level = aliases.get(text.lower())
    if level is None:
        raise AdapterError(field, f"unknown {field} {text!r}; expected {expected}")
    return level


def recording_url(value: Any, hosts: Collection[str]) -> str | None:
    """A call recording's http(s) address, on one of the allowed hosts (none allowed: every recording is refused)."""
    text = text_value(value, "recording_url", max_len=MAX_URL)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise AdapterError("recording_url", "not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host or " " in text:
        raise AdapterError("recording_url", "expected an http:// or https:// address")
    if parts.username is not None or parts.password is not None:
        raise AdapterError("recording_url", "credentials in the address are not accepted")
    if host not in {h.lower() for h in hosts}:
        allowed = ", ".join(sorted(hosts)) or "none (HOTLINE_RECORDING_HOSTS is empty)"
        raise AdapterError("recording_url", f"recordings from {host} are not accepted; allowed hosts: {allowed}")
    return text


def parse_ticket(data: Mapping[str, Any], raw: bytes = b"", aliases: Mapping[str, str] | None = None,
                 recording_hosts: Collection[str] = ()) -> InboundReport:
    """Translate one hotline work order into a report; wrong or missing fields raise AdapterError.

    ``recording_hosts``: the hosts a ticket's ``recording_url`` may point at (the gateway's setting).
    """
    if not isinstance(data, Mapping):
        raise AdapterError("ticket", f"expected an object, got {type_name(data)}")
    ticket_no = text_value(data.get("ticket_no"), "ticket_no", max_len=64, numbers=True)
    if ticket_no is None:
        raise AdapterError("ticket_no", "required")
    content = text_value(data.get("content"), "content", max_len=MAX_TEXT, multiline=True)
    if content is None:
        raise AdapterError("content", "required")
    extra: dict[str, Any] = {}
    operator = text_value(data.get("operator_id"), "operator_id", max_len=64, numbers=True)
    if operator:
        extra["operator_id"] = operator
    unknown = sorted(str(key)[:60] for key in data if key not in FIELDS)[:20]
    if unknown:
        extra["unknown_fields"] = unknown
    return InboundReport(
        channel="hotline",
        text=content,
        external_id=ticket_no,
        title=text_value(data.get("title"), "title", max_len=200),
        received_at=datetime_value(data.get("call_time"), "call_time"),
        name=text_value(data.get("caller_name"), "caller_name", max_len=100),
        phone=text_value(data.get("caller_number"), "caller_number", max_len=40, numbers=True),
        address=text_value(data.get("address"), "address"),
        district=text_value(data.get("district"), "district", max_len=100),
        category_hint=text_value(data.get("category"), "category", max_len=100),
        appeal_type=_appeal_type(data.get("appeal_type"), aliases),
        urgency=_urgency(data.get("urgency")),
        complexity=_complexity(data.get("complexity")),
        public=None if data.get("public") in (None, "") else bool_value(data.get("public"), "public", False),
        call_id=text_value(data.get("call_id"), "call_id", max_len=128, numbers=True),
        recording_url=recording_url(data.get("recording_url"), recording_hosts),
        extra=extra,
        raw=raw,
    )


def _dump(item: Any) -> bytes:
    try:
        return json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return b""


def parse_batch(body: bytes, aliases: Mapping[str, str] | None = None,
                recording_hosts: Collection[str] = ()) -> list[InboundReport | AdapterError]:
    """Parse a JSON body holding one ticket, a list, or {"tickets": [...]}; one result per ticket.

    A body that is not JSON, or not one of those shapes, raises AdapterError; a bad ticket
    inside a good batch becomes an AdapterError in its place so the rest still import.
    """
    text = decode_text(body, "body")
    if not text.strip():
        raise AdapterError("body", "empty request")
    data = load_json(text)
    if isinstance(data, dict) and "tickets" in data:
        items = data["tickets"]
        if not isinstance(items, list):
            raise AdapterError("tickets", f"expected an array, got {type_name(items)}")
    elif isinstance(data, dict):
        return [_parse_or_error(data, body, aliases, recording_hosts)]
    elif isinstance(data, list):
        items = data
    else:
        raise AdapterError("body", f"expected an object or an array, got {type_name(data)}")
    if len(items) > MAX_BATCH:
        raise AdapterError("tickets", f"more than {MAX_BATCH} tickets in one batch")
    return [_parse_or_error(item, _dump(item), aliases, recording_hosts) for item in items]


def _parse_or_error(item: Any, raw: bytes, aliases: Mapping[str, str] | None,
                    recording_hosts: Collection[str]) -> InboundReport | AdapterError:
    try:
        return parse_ticket(item, raw, aliases, recording_hosts)
    except AdapterError as error:
        return error


def _header_field(cell: str) -> str | None:
    name = unicodedata.normalize("NFKC", cell).strip().strip("*").strip()
    name = re.sub(r"[(\[].*?[)\]]$", "", name).strip()
    return CSV_HEADERS.get(name) or (name.lower() if name.lower() in FIELDS else None)


def _cell(value: str) -> str:
    # Excel exports keep long numbers as text with ="..." or a leading apostrophe.
    value = value.strip()
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        return value[2:-1]
    if value.startswith("'"):
        return value[1:]
    return value


def read_csv(data: bytes, aliases: Mapping[str, str] | None = None, recording_hosts: Collection[str] = ()
             ) -> tuple[list[tuple[int, InboundReport]], list[tuple[int, str]]]:
    """Import a hotline CSV export; return good rows and bad rows, each with its line number.

    Encoding is UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (GBK/GB2312).
    Headers may be Chinese as exported or the English field names. A file without a header
    naming the ticket number and content raises AdapterError("header", ...).
    """
    text = decode_text(data, "body")
    if not text.strip():
        raise AdapterError("body", "empty file")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    good: list[tuple[int, InboundReport]] = []
    bad: list[tuple[int, str]] = []
    columns: list[str | None] | None = None
    line = 1
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = [_header_field(cell) for cell in row]
                missing = {"ticket_no", "content"} - set(columns)
                if missing:
                    raise AdapterError("header", f"missing column(s): {', '.join(sorted(missing))}")
                continue
            if len(good) + len(bad) >= MAX_CSV_ROWS:
                bad.append((start, f"more than {MAX_CSV_ROWS} rows; the rest was not read"))
                break
            record = {
                name: _cell(value) or None
                for name, value in zip(columns, row)
                if name is not None
            }
            raw = _csv_line(row, delimiter)
            try:
                good.append((start, parse_ticket(record, raw, aliases, recording_hosts)))
            except AdapterError as error:
                bad.append((start, str(error)))
    except csv.Error as exc:
        bad.append((line, f"csv: {exc}; the rest was not read"))
    if columns is None:
        raise AdapterError("header", "no header row")
    return good, bad


def _csv_line(row: list[str], delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(row)
    return out.getvalue().encode("utf-8", "surrogatepass")
