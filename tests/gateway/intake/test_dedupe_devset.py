"""The dedupe development set replayed through the real intake path (issue 18): no hard negative may end up
in another matter's case, and the B-cubed F1 of the cases against the labelled matters keeps its floor.

tests/fixtures/dedupe_dev.jsonl: hand-written board posts, SMS, operator tickets, e-mails and follow-ups about
100+ matters, each line with a `kind` (docs/labelling/dedupe.md); hard negatives are the same place with
another problem, or the same wording about another named place. Every report is ingested in time order by
`gateway.intake.ingest.ingest`, the one create path, with the city profile's dedupe as configured.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from dedupe.metrics import bcubed
from gateway.cli.evaluation import read_items
from gateway.intake.ingest import ingest
from gateway.models import Case, Report

DEV = Path(__file__).resolve().parents[2] / "fixtures" / "dedupe_dev.jsonl"
# Measured with this code: 0.938 (README "Deduplication"); a floor a little under it, so that a change that
# loses recall fails here while the order of equal-time reports or a database's ties cannot.
F1_FLOOR = 0.925


def final_case(case_id: int, merged_into: dict[int, int | None]) -> int:
    seen = set()
    while merged_into.get(case_id) and case_id not in seen:
        seen.add(case_id)
        case_id = merged_into[case_id]  # type: ignore[assignment]
    return case_id


def test_the_dev_set_joins_no_hard_negative_and_keeps_its_f1(rt: Any) -> None:
    items = read_items(DEV.read_text(encoding="utf-8").splitlines())
    kinds = {item.id: item.kind for item in items}
    assert len(items) >= 400 and sum(k.startswith("hard_negative") for k in kinds.values()) >= 50
    report_of = {item.id: ingest(rt, item.inbound).report.id for item in items}
    with Session(rt.engine) as session:
        case_of = dict(session.exec(select(Report.id, Report.case_id)).all())
        merged_into = {c.id: c.merged_into_id for c in session.exec(select(Case))}
    gold = {item.id: item.group for item in items}
    cases = {i: final_case(case_of[r], merged_into) for i, r in report_of.items()}
    members: dict[int, list[str]] = defaultdict(list)
    for item_id, case in cases.items():
        members[case].append(item_id)
    joined = {i: sorted(j for j in members[cases[i]] if gold[j] != gold[i])
              for i in gold if kinds[i].startswith("hard_negative")}
    assert {i: others for i, others in joined.items() if others} == {}
    score = bcubed(gold, cases)
    assert score.f1 >= F1_FLOOR, score.as_dict()
