"""Saved message-board HTML pages (detail and list pages) -> post dicts -> InboundReport.

Fields are found by their Chinese labels (留言标题, 留言时间, 回复内容 ...) in <th>/<td>,
<dt>, label-like spans or inline "标签：值" text, and by a few common class names, so
that pages of different government boards parse without a per-site template.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from datetime import datetime
from typing import Any, Iterable
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

from adapters.base import AdapterError, InboundReport
from adapters.board import clean_html
from adapters.values import MAX_TEXT, datetime_value, decode_text, one_line, text_value, type_name

LABELS: dict[str, tuple[str, ...]] = {
    "post_id": ("留言编号", "信件编号", "受理编号", "留言ID", "编号"),
    "title": ("留言标题", "信件标题", "留言主题", "来信标题", "标题", "主题"),
    "time": ("留言时间", "来信时间", "发布时间", "提交时间", "发表时间", "写信时间"),
    "author": ("留言人", "留言用户", "来信人", "写信人", "发帖人", "留言者", "网友"),
    "body": ("留言内容", "来信内容", "留言详情", "信件内容", "问题描述", "诉求内容"),
    "unit": ("留言对象", "写信对象", "受理单位", "主送单位", "来信对象"),
    "reply_unit": ("回复单位", "答复单位", "回复部门", "答复部门", "办理单位", "答复机构"),
    "reply_time": ("回复时间", "答复时间", "办结时间"),
    "reply_text": ("回复内容", "答复内容", "答复意见", "回复意见", "办理结果"),
}
CLASSES: dict[str, tuple[str, ...]] = {
    "post_id": ("msg-id", "post-id", "mail-id"),
    "title": ("msg-title", "mail-title", "post-title", "letter-title", "liuyan-title"),
    "time": ("msg-time", "post-time", "mail-time"),
    "author": ("msg-author", "post-author", "mail-author"),
    "body": ("msg-content", "mail-content", "post-content", "letter-content", "liuyan-content"),
    "unit": ("msg-unit", "to-unit", "mail-unit"),
    "reply_unit": ("reply-unit", "reply-dept", "answer-unit"),
    "reply_time": ("reply-time", "answer-time"),
    "reply_text": ("reply-content", "reply-text", "answer-content"),
}
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "post_id": ("编号", "留言编号", "信件编号"),
    "title": ("留言标题", "标题", "主题", "信件标题", "留言主题"),
    "author": ("留言人", "来信人", "留言用户", "网友", "发帖人"),
    "time": ("留言时间", "时间", "发布时间", "来信时间", "日期"),
    "status": ("状态", "办理状态", "回复状态", "处理状态"),
}
NO_REPLY = re.compile(r"^(暂无|尚未|未)(回复|答复|办理)|^(无|待回复|待答复)$")
STATUS_WORDS = re.compile(r"已回复|已答复|已办结|未回复|未答复|办理中|处理中|已受理|待受理|待回复")
DETAIL_KEYS = ("post_id", "title", "time", "author", "body", "unit", "reply_text", "reply_time", "reply_unit")

_ALL_LABELS = sorted({label for labels in LABELS.values() for label in labels}, key=len, reverse=True)
_NEXT_LABEL = re.compile("(?:" + "|".join(map(re.escape, _ALL_LABELS)) + r")\s*[:：]")
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}\s*[:时]\s*\d{1,2}(?:\s*[:分]\s*\d{1,2})?\s*[秒分]?)?"
)
_ID_IN_URL = re.compile(r"[?&](?:id|msgid|tid|letterid|postid|mid)=([A-Za-z0-9_-]{1,64})", re.I)
_ID_IN_PATH = re.compile(r"/([A-Za-z0-9_-]*\d[A-Za-z0-9_-]*?)(?:\.s?html?|\.aspx?|\.jsp|\.php)?/?$", re.I)


def _soup(page: str | bytes) -> BeautifulSoup:
    if isinstance(page, bytes):
        page = decode_text(page, "html", html=True)
    elif not isinstance(page, str):
        raise AdapterError("html", f"expected text or bytes, got {type_name(page)}")
    if len(page) > 2_000_000:
        raise AdapterError("html", "page is too large")
    try:
        return BeautifulSoup(page, "html.parser")
    except Exception:  # bs4 rejects some malformed markup with its own exception types
        raise AdapterError("html", "markup could not be parsed") from None


def _norm_label(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s:：【】\[\]·•*]+", "", text)


def _text_of(fragment: str, multiline: bool = False) -> str | None:
    text = clean_html(fragment)
    if not multiline:
        text = one_line(text)
    return text or None


def _siblings_html(nodes: Iterable[Any]) -> str:
    return "".join(
        htmllib.escape(str(node)) if isinstance(node, NavigableString) else str(node) for node in nodes
    )


def _by_label(soup: BeautifulSoup, labels: tuple[str, ...]) -> str | None:
    """Return the HTML of the value next to the first label found, in label priority order."""
    wanted = {label: rank for rank, label in enumerate(labels)}
    best: tuple[int, str] | None = None
    for element in soup.find_all(["th", "td", "dt", "span", "label", "strong", "b", "em", "i", "div", "p", "li", "font"]):
        text = element.get_text()
        if len(text) > 40:
            continue
        rank = wanted.get(_norm_label(text))
        if rank is None or (best is not None and best[0] <= rank):
            continue
        value = _value_after(element)
        if value is not None:
            best = (rank, value)
    for string in soup.find_all(string=True):
        stripped = unicodedata.normalize("NFKC", str(string)).lstrip()
        for label in labels:
            if best is not None and best[0] <= wanted[label]:
                break
            match = re.search(r"(?:^|(?<=\s))" + re.escape(label) + r"\s*:\s*", stripped)
            if match:
                rest = htmllib.escape(stripped[match.end():]) + _siblings_html(string.next_siblings)
                best = (wanted[label], rest)
                break
    return best[1] if best else None


def _value_after(element: Tag) -> str | None:
    name = element.name
    if name in ("th", "td"):
        cell = element.find_next_sibling(["td", "th"])
        return cell.decode_contents() if cell else None
    if name == "dt":
        dd = element.find_next_sibling("dd")
        return dd.decode_contents() if dd else None
    following = [node for node in element.next_siblings]
    if any(str(node).strip() for node in following):
        # A run of "label value label value" spans: take only up to the next label-like span.
        picked: list[Any] = []
        for node in following:
            if isinstance(node, Tag) and "label" in (node.get("class") or []):
                break
            picked.append(node)
        return _siblings_html(picked)
    parent_next = element.parent.find_next_sibling() if element.parent else None
    return parent_next.decode_contents() if parent_next else None


def _by_class(soup: BeautifulSoup, classes: tuple[str, ...]) -> str | None:
    for name in classes:
        found = soup.find(class_=name) or soup.find(id=name)
        if isinstance(found, Tag):
            return found.decode_contents()
    return None


def _single(value: str | None) -> str | None:
    """Cut an inline value at the next "label：" on the same line (多字段同行)."""
    if value is None:
        return None
    text = _text_of(value)
    if text is None:
        return None
    match = _NEXT_LABEL.search(text)
    return (text[: match.start()].strip() or None) if match else text


def _time(value: str | None, field: str, defects: list[str]) -> datetime | None:
    if not value:
        return None
    match = _DATE.search(unicodedata.normalize("NFKC", value))
    if not match:
        defects.append(f"{field} not understood")
        return None
    try:
        return datetime_value(match.group(0), field)
    except AdapterError:
        defects.append(f"{field} not understood")
        return None


def _id_from_url(url: str) -> str | None:
    match = _ID_IN_URL.search(url) or _ID_IN_PATH.search(url.split("?", 1)[0].split("#", 1)[0])
    return match.group(1) if match else None


def parse_detail_page(html: str | bytes, source: str = "") -> dict[str, Any]:
    """Read one saved detail page into {post_id, title, time, author, body, unit, reply_*}.

    Also returns "source" and "defects" (what could not be read). Times are aware UTC
    datetimes or None. A page without message content raises AdapterError("body", ...).
    """
    soup = _soup(html)
    for junk in soup(["script", "style", "noscript", "template"]):
        junk.decompose()
    found: dict[str, str | None] = {}
    for key in DETAIL_KEYS:
        found[key] = _by_label(soup, LABELS[key]) or _by_class(soup, CLASSES[key])
    defects: list[str] = []
    body = _text_of(found["body"], multiline=True) if found["body"] is not None else None
    if not body:
        raise AdapterError("body", "no message content found on the page")
    title = _single(found["title"])
    if title is None:
        heading = soup.find("h1")
        title = one_line(heading.get_text()) or None if isinstance(heading, Tag) else None
    post_id = _single(found["post_id"])
    if post_id is None:
        holder = soup.find(None, {"data-post-id": True}) or soup.find(None, {"data-id": True})
        if isinstance(holder, Tag):
            post_id = str(holder.get("data-post-id") or holder.get("data-id") or "").strip() or None
    if post_id is None:
        canonical = soup.find("link", rel="canonical")
        href = canonical.get("href") if isinstance(canonical, Tag) else None
        post_id = _id_from_url(source) or (_id_from_url(str(href)) if href else None)
    reply_text = _text_of(found["reply_text"], multiline=True) if found["reply_text"] else None
    if reply_text and NO_REPLY.match(reply_text):
        reply_text = None
    return {
        "post_id": post_id[:64] if post_id else None,
        "title": title,
        "time": _time(_single(found["time"]) if found["time"] else None, "time", defects),
        "author": _single(found["author"]),
        "body": body,
        "unit": _single(found["unit"]),
        "reply_text": reply_text,
        "reply_time": _time(_single(found["reply_time"]) if found["reply_time"] else None, "reply_time", defects),
        "reply_unit": _single(found["reply_unit"]),
        "source": source,
        "defects": defects,
    }


def _join(base_url: str, href: str) -> str:
    try:
        return urljoin(base_url, href) if base_url else href
    except ValueError:
        return href


def _column_map(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _norm_label(cell)
        for key, labels in LIST_COLUMNS.items():
            if name in labels and key not in columns:
                columns[key] = index
                break
    return columns


def _entry(post_id: str | None, title: str | None, time_text: str | None, author: str | None,
           url: str | None, status: str | None) -> dict[str, Any]:
    defects: list[str] = []
    return {
        "post_id": (post_id or (_id_from_url(url) if url else None) or None),
        "title": title or None,
        "time": _time(time_text, "time", defects),
        "author": author or None,
        "url": url or None,
        "status": status or None,
    }


def _table_entries(soup: BeautifulSoup, base_url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for table in soup.find_all("table"):
        rows = table.find_all("tr")
        columns: dict[str, int] | None = None
        for row in rows:
            cells = row.find_all(["th", "td"])
            texts = [one_line(cell.get_text()) for cell in cells]
            if columns is None:
                candidate = _column_map(texts)
                if "title" in candidate:
                    columns = candidate
                continue
            if not cells or all(not text for text in texts):
                continue
            link = row.find("a", href=True)
            title_cell = cells[columns["title"]] if columns["title"] < len(cells) else None
            title_link = title_cell.find("a") if title_cell else None
            title = (title_link.get("title") if isinstance(title_link, Tag) else None) or (
                texts[columns["title"]] if title_cell else None
            )

            def cell(key: str) -> str | None:
                index = columns.get(key) if columns else None
                return texts[index] if index is not None and index < len(texts) else None

            url = _join(base_url, str(link["href"])) if isinstance(link, Tag) else None
            entries.append(_entry(cell("post_id") or str(row.get("data-id") or "") or None, one_line(str(title)) if title else None,
                                  cell("time"), cell("author"), url, cell("status")))
    return entries


def _item_entries(soup: BeautifulSoup, base_url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for item in soup.find_all(["li", "div", "dl"]):
        link = item.find("a", href=True)
        if not isinstance(link, Tag) or item.find(["li", "tr"]) or item.find(class_="item"):
            continue

        def part(*names: str) -> str | None:
            for name in names:
                found = item.find(class_=name)
                if isinstance(found, Tag):
                    return one_line(found.get_text()) or None
            return None

        text = one_line(item.get_text(" "))
        status = part("status", "state")
        if status is None:
            match = STATUS_WORDS.search(text)
            status = match.group(0) if match else None
        time_text = part("time", "date")
        if time_text is None:
            match = _DATE.search(text)
            time_text = match.group(0) if match else None
        title = str(link.get("title") or "") or one_line(link.get_text())
        entries.append(_entry(str(item.get("data-id") or "") or None, title, time_text,
                              part("author", "user", "name"), _join(base_url, str(link["href"])), status))
    return entries


def parse_list_page(html: str | bytes, base_url: str = "") -> list[dict[str, Any]]:
    """Read a saved list page into entries {post_id, title, time, author, url, status}."""
    soup = _soup(html)
    for junk in soup(["script", "style", "noscript", "template"]):
        junk.decompose()
    entries = _table_entries(soup, base_url)
    if not entries:
        entries = _item_entries(soup, base_url)
    return [entry for entry in entries if entry["title"] and entry["url"]]


def to_report(post: dict[str, Any], raw: bytes) -> InboundReport:
    """Turn a parsed detail-page dict into a board report; the official reply goes to extra."""
    if not isinstance(post, dict):
        raise AdapterError("post", f"expected an object, got {type_name(post)}")
    body = text_value(post.get("body"), "body", max_len=MAX_TEXT, multiline=True)
    if body is None:
        raise AdapterError("body", "required")
    extra: dict[str, Any] = {"source": text_value(post.get("source"), "source", max_len=2000) or "", "imported": True}
    reply = {
        "text": text_value(post.get("reply_text"), "reply_text", max_len=MAX_TEXT, multiline=True),
        "time": _iso(datetime_value(post.get("reply_time"), "reply_time")),
        "unit": text_value(post.get("reply_unit"), "reply_unit", max_len=200),
    }
    if any(reply.values()):
        extra["reply"] = reply
    defects = post.get("defects") or []
    if not isinstance(defects, list) or not all(isinstance(item, str) for item in defects):
        raise AdapterError("defects", "expected a list of strings")
    return InboundReport(
        channel="board",
        text=body,
        external_id=text_value(post.get("post_id"), "post_id", max_len=64, numbers=True),
        title=text_value(post.get("title"), "title", max_len=200),
        received_at=datetime_value(post.get("time"), "time"),
        board_user=text_value(post.get("author"), "author", max_len=100),
        addressed_unit=text_value(post.get("unit"), "unit", max_len=200),
        public=True,
        defects=list(defects),
        extra=extra,
        raw=raw if isinstance(raw, bytes) else b"",
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
