"""`hotline eval dedupe`: replay a labelled JSONL file through the real intake path and score the merges.

Lines: id, group (the matter; empty = its own), kind (optional: original, duplicate, follow_up, unrelated,
hard_negative_*; docs/labelling/dedupe.md), time, channel, title/text, phone/email/user, address, district.
Fields the reader does not use (person, near, ...) are kept in the file for people and ignored here.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from sqlmodel import Session, select

from adapters.base import CHANNELS, InboundReport
from dedupe.features import parse_time
from dedupe.metrics import bcubed, pairwise
from gateway.intake.ingest import ingest
from gateway.intake.matching import dedupe_of
from gateway.models import Case, MergeRecord, Report

CHANNEL_ALIASES = {"call": "hotline", "phone": "hotline", "ticket": "hotline", "mail": "email", "post": "board"}


class EvalDataError(ValueError):
    """A line of the evaluation file is not usable; the message names the line and field."""


HARD_NEGATIVE = "hard_negative"  # the prefix of the kinds that must never be joined to another matter


@dataclass
class Item:
    id: str
    group: str
    inbound: InboundReport
    kind: str = ""


def read_items(lines: Iterable[str]) -> list[Item]:
    """Parse JSONL lines: id, group (empty = its own), kind, time, and channel/title/text/phone/email/user/address."""
    items = []
    seen = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not str(row.get("id") or "").strip():
            raise EvalDataError(f"line {number}: needs an object with an id")
        item_id = str(row["id"])
        if item_id in seen:
            raise EvalDataError(f"line {number}: id {item_id} repeats")
        seen.add(item_id)
        channel = CHANNEL_ALIASES.get(str(row.get("channel") or "web"), str(row.get("channel") or "web"))
        if channel not in CHANNELS:
            raise EvalDataError(f"line {number}: unknown channel {channel!r}")
        try:
            when = parse_time(row.get("time"))
        except (ValueError, TypeError):
            raise EvalDataError(f"line {number}: time {row.get('time')!r} is not a date/time") from None
        text = str(row.get("text") or row.get("title") or "").strip()
        if not text:
            raise EvalDataError(f"line {number}: needs a text or a title")
        inbound = InboundReport(channel=channel, text=text, external_id=f"eval-{item_id}", title=row.get("title") or None,
                                received_at=when, phone=row.get("phone") or None, email=row.get("email") or None,
                                board_user=row.get("user") or None, address=row.get("address") or None,
                                district=row.get("district") or None)
        group = str(row.get("group") or "").strip()
        kind = row.get("kind") or ""
        if not isinstance(kind, str):
            raise EvalDataError(f"line {number}: kind {kind!r} is not a word")
        items.append(Item(item_id, group or f"own:{item_id}", inbound, kind.strip()))
    items.sort(key=lambda i: (i.inbound.received_at is None, i.inbound.received_at or 0, i.id))
    return items


def evaluate(items: list[Item], redis_url: str | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest every item in time order into a fresh temporary SQLite database; compare cases with groups."""
    from gateway import create_app

    with tempfile.TemporaryDirectory(prefix="hotline-eval-") as tmp:
        config: dict[str, Any] = {"DATA_DIR": str(Path(tmp) / "var"), "DATABASE_URL": f"sqlite:///{Path(tmp) / 'eval.db'}",
                                  "DATABASE_SCHEMA": None, "QUEUE_PREFIX": f"eval-{uuid.uuid4().hex[:10]}"}
        if redis_url:
            config["REDIS_URL"] = redis_url
        app = create_app(config)
        rt = app.extensions["hotline"]
        try:
            if overrides:
                from dataclasses import replace

                dedupe = dedupe_of(rt)
                dedupe.thresholds = replace(dedupe.thresholds, **overrides)
            with app.app_context():
                report_ids = {item.id: ingest(rt, item.inbound).report.id for item in items}
            return _score(rt, items, report_ids)
        finally:
            for queue in rt.broker.queues.values():
                queue.empty()
            rt.close()


def _score(rt: Any, items: list[Item], report_ids: dict[str, int | None]) -> dict[str, Any]:
    with Session(rt.engine) as session:
        reports = {r.id: r for r in session.exec(select(Report))}
        cases = {c.id: c for c in session.exec(select(Case))}
        proposals = session.exec(select(MergeRecord).where(MergeRecord.status == "proposed")).all()
    case_of = {i: r.case_id for i, r in reports.items()}
    merged_into = {i: c.merged_into_id for i, c in cases.items()}
    gold = {item.id: item.group for item in items}
    predicted = {i: _final(case_of[r], merged_into) for i, r in report_ids.items()}
    proposed_case = {r.report_id: r.survivor_case_id for r in proposals}
    accepted = {i: _final(proposed_case.get(r, case_of[r]), merged_into) for i, r in report_ids.items()}
    pw, b3, pw_accepted = pairwise(gold, predicted), bcubed(gold, predicted), pairwise(gold, accepted)
    groups_in_case: dict[int | None, set[str]] = {}
    for item_id, case_id in predicted.items():
        groups_in_case.setdefault(case_id, set()).add(gold[item_id])
    members: dict[tuple[int | None, str], int] = {}
    for item_id, case_id in predicted.items():
        members[(case_id, gold[item_id])] = members.get((case_id, gold[item_id]), 0) + 1
    assignments: list[dict[str, Any]] = []
    kinds: dict[str, dict[str, int]] = {}
    for item in items:
        report = reports[report_ids[item.id]]
        case_id = predicted[item.id]
        decision = report.decision or {}
        proposal = proposed_case.get(report.id)
        joined_other = len(groups_in_case[case_id]) > 1  # its case holds another matter's report
        joined_own = members[(case_id, item.group)] > 1
        assignments.append({
            "id": item.id, "group": item.group, "kind": item.kind, "case": cases[case_id].number if case_id else None,
            "link": report.link, "rule": decision.get("rule") or report.link, "score": decision.get("score"),
            "action": decision.get("action"),
            "proposed": cases[_final(proposal, merged_into)].number if proposal else None,
            "joined_other": joined_other,
        })
        figures = kinds.setdefault(item.kind or "(none)", {"reports": 0, "with_own_matter": 0, "joined_other": 0,
                                                             "proposed": 0, "alone": 0})
        figures["reports"] += 1
        figures["with_own_matter"] += joined_own
        figures["joined_other"] += joined_other
        figures["proposed"] += proposal is not None
        figures["alone"] += not joined_own and not joined_other
    negatives = [a for a in assignments if str(a["kind"]).startswith(HARD_NEGATIVE)]
    return {
        "reports": len(items), "groups": len(set(gold.values())), "cases": len(set(predicted.values())),
        "proposals": len(proposals),
        "pairwise": {k: round(v, 4) for k, v in pw.as_dict().items()},
        "bcubed": {k: round(v, 4) for k, v in b3.as_dict().items()},
        "pairwise_if_proposals_accepted": {k: round(v, 4) for k, v in pw_accepted.as_dict().items()},
        "hard_negatives": {"reports": len(negatives), "joined": sum(a["joined_other"] for a in negatives),
                           "proposed": sum(a["proposed"] is not None for a in negatives),
                           "joined_ids": [a["id"] for a in negatives if a["joined_other"]]},
        "kinds": dict(sorted(kinds.items())),
        "assignments": assignments,
    }


def _final(case_id: int | None, merged_into: dict[int | None, int | None]) -> int | None:
    seen = set()
    while merged_into.get(case_id) and case_id not in seen:
        seen.add(case_id)
        case_id = merged_into[case_id]
    return case_id
