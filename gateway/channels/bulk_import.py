"""File imports through the one intake path: saved message-board pages and hotline CSV exports."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from adapters import board_import
from adapters import hotline as hotline_adapter
from adapters.base import AdapterError, RawInbound
from adapters.values import decode_text
from gateway.intake import quarantine
from gateway.intake.ingest import ingest
from gateway.runtime import Runtime

PAGE_SUFFIXES = (".html", ".htm", ".shtml")


@dataclass
class ImportSummary:
    """What an import did: one line per imported item, one per rejected item (with where and why)."""

    created: list[tuple[str, str]] = field(default_factory=list)  # (where, case number)
    replayed: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why): e.g. list pages


def page_files(target: Path) -> Iterator[Path]:
    """The saved pages of a file or folder (recursively), in name order."""
    if target.is_file():
        yield target
        return
    for path in sorted(target.rglob("*")):
        if path.is_file() and path.suffix.lower() in PAGE_SUFFIXES:
            yield path


def import_board_pages(rt: Runtime, target: Path) -> ImportSummary:
    """Ingest saved board detail pages as board reports, idempotent on the post id; list pages are skipped."""
    summary = ImportSummary()
    for path in page_files(target):
        data = path.read_bytes()
        raw = RawInbound(channel="board", body=data, headers={"x-source": str(path)})
        try:
            post = board_import.parse_detail_page(data, source=str(path))
        except AdapterError as error:
            entries = _list_entries(data)
            if entries:
                summary.skipped.append((str(path), f"list page with {len(entries)} posts; import their detail pages"))
                continue
            quarantine.keep(rt, "board", raw, error, source=path.name)
            summary.errors.append((str(path), str(error)))
            continue
        if not post.get("post_id"):
            # Without a post id, the page's own content keys it, so importing it twice stays one report.
            digest = hashlib.sha256(f"{post.get('title')}|{post.get('time')}|{post['body']}".encode()).hexdigest()
            post["post_id"] = f"page-{digest[:20]}"
            post["defects"] = [*post.get("defects", []), "no post id on the page; keyed by content"]
        try:
            report = board_import.to_report(post, data)
        except AdapterError as error:
            quarantine.keep(rt, "board", raw, error, source=path.name)
            summary.errors.append((str(path), str(error)))
            continue
        result = ingest(rt, report, actor="import")
        assert result.case.number is not None
        (summary.created if result.created else summary.replayed).append((str(path), result.case.number))
    return summary


def _list_entries(data: bytes) -> list[dict]:
    try:
        return board_import.parse_list_page(data)
    except AdapterError:
        return []


def _row_sources(text: str, starts: list[int]) -> dict[int, bytes]:
    """The physical lines of each CSV record, keyed by the line it starts on (records may span lines)."""
    lines = io.StringIO(text, newline="").readlines()
    ordered = sorted(set(starts))
    out = {}
    for index, start in enumerate(ordered):
        end = ordered[index + 1] if index + 1 < len(ordered) else len(lines) + 1
        out[start] = "".join(lines[start - 1:end - 1]).rstrip("\r\n").encode("utf-8", "surrogatepass")
    return out


def import_hotline_csv(rt: Runtime, data: bytes, source: str = "") -> ImportSummary:
    """Ingest the good rows of a hotline CSV export; report and keep each bad row with its line number."""
    summary = ImportSummary()
    try:
        good, bad = hotline_adapter.read_csv(data, rt.profile.appeal_aliases, rt.settings.recording_hosts)
    except AdapterError as error:
        quarantine.keep(rt, "hotline", RawInbound(channel="hotline", body=data, headers={"x-source": source}), error,
                        source=source)
        summary.errors.append((f"{source}", str(error)))
        return summary
    if bad:
        sources = _row_sources(decode_text(data), [line for line, _ in good] + [line for line, _ in bad])
        for line, reason in bad:
            raw = RawInbound(channel="hotline", body=sources.get(line, b""), headers={"x-source": source})
            quarantine.keep(rt, "hotline", raw, f"line {line}: {reason}", source=source, line=line)
            summary.errors.append((f"line {line}", reason))
    for line, report in good:
        report.extra["import"] = {"source": source, "line": line}
        result = ingest(rt, report, actor="import")
        assert result.case.number is not None
        (summary.created if result.created else summary.replayed).append((f"line {line}", result.case.number))
    return summary
