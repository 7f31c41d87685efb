"""Learning from the office: the labelled pairs its decisions left (``DedupeLabel``), scored again with the
current matcher, and what the profile's ``auto`` and ``grey`` thresholds would have done with them.

A pair is a report and the reports of the case it was put with or taken from. Its score is recomputed the way
the matcher compares a report with a case: the report's features against the merged features of the other
reports (those received before it, when there are any: what the matcher saw), through ``dedupe.decide``
with a single candidate. A pair no rule can take (a veto, the text gate, the windows) is never attached,
whatever the thresholds.

Nothing here changes the profile: ``calibrate`` proposes thresholds for a person to read and decide on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from sqlmodel import Session, col, select

from dedupe.decide import NEW, Candidate, Thresholds, decide
from dedupe.features import merge_features
from gateway.clock import as_utc
from gateway.intake.matching import dedupe_of
from gateway.models import DedupeLabel, Report
from gateway.runtime import Runtime

GRID = 0.01
AUTO_MARGIN = 0.02  # the proposed auto stays this far above the highest-scoring pair the office kept apart
MAX_STEP = 0.10  # a proposal moves a threshold at most this far from the profile's value
MIN_LABELS = 5  # with fewer pairs of a side, the thresholds are not moved on that side's evidence


@dataclass(frozen=True)
class Pair:
    label_id: int
    report_id: int
    other_report_id: int
    same: bool
    source: str
    actor: str
    decided_at: str
    score: float  # the current matcher's score
    takeable: bool  # a rule applies (not vetoed, past the gate, within the windows)
    rule: str | None
    then_score: float | None  # what the matcher said when the office decided


def latest_labels(session: Session) -> list[DedupeLabel]:
    """Each pair's latest word (a proposal accepted, then undone, counts as kept apart)."""
    latest: dict[tuple[int, int], DedupeLabel] = {}
    for label in session.exec(select(DedupeLabel).order_by(col(DedupeLabel.created_at), col(DedupeLabel.id))):
        latest[(label.report_id, label.other_report_id)] = label
    return sorted(latest.values(), key=lambda lab: lab.id or 0)


def score_pairs(rt: Runtime, session: Session, labels: Iterable[DedupeLabel]) -> list[Pair]:
    dedupe = dedupe_of(rt)
    open_ended = replace(dedupe.thresholds, auto=1.0, grey=0.0)  # every pair a rule takes comes back with its score
    pairs = []
    for label in labels:
        report = session.get(Report, label.report_id)
        others = [r for r in (session.get(Report, i) for i in label.other_reports) if r is not None]
        if report is None or not others:
            continue
        before = [r for r in others if as_utc(r.received_at) <= as_utc(report.received_at)] or others
        before.sort(key=lambda r: (as_utc(r.received_at), r.id or 0))
        merged = dedupe.extract(before[0])
        for other in before[1:]:
            merged = merge_features(merged, dedupe.extract(other))
        candidate = Candidate(label.other_case_id or 0, merged, is_open=True,
                              last_report_at=as_utc(before[-1].received_at))
        decision = decide(dedupe.extract(report), [candidate], open_ended)
        pairs.append(Pair(label.id or 0, label.report_id, label.other_report_id, label.same, label.source,
                          label.actor, as_utc(label.created_at).isoformat(), round(decision.score, 4),
                          decision.action != NEW, decision.rule, label.score))
    return pairs


def outcome(pair: Pair, auto: float, grey: float) -> str:
    """attach, propose or new: what the thresholds do with the pair's current score."""
    if not pair.takeable:
        return "new"
    return "attach" if pair.score >= auto else "propose" if pair.score >= grey else "new"


def tally(pairs: list[Pair], auto: float, grey: float) -> dict[str, Any]:
    """Same pairs: attached, proposed, missed. Different pairs: attached wrongly, proposed, kept apart."""
    same = {"attached": 0, "proposed": 0, "missed": 0}
    different = {"attached_wrongly": 0, "proposed": 0, "kept_apart": 0}
    for pair in pairs:
        result = outcome(pair, auto, grey)
        if pair.same:
            same[{"attach": "attached", "propose": "proposed", "new": "missed"}[result]] += 1
        else:
            different[{"attach": "attached_wrongly", "propose": "proposed", "new": "kept_apart"}[result]] += 1
    return {"auto": auto, "grey": grey, "same": same, "different": different}


def _grid(value: float, up: bool) -> float:
    steps = value / GRID
    rounded = int(steps) + (1 if up and steps != int(steps) else 0)
    return round(min(1.0, max(0.0, rounded * GRID)), 2)


def propose(pairs: list[Pair], current: Thresholds) -> dict[str, Any]:
    """Thresholds the labels argue for, precision first, and why (a person decides; nothing is applied).

    ``auto``: raised to just above (``AUTO_MARGIN``) the highest score of a pair the office kept apart when
    that pair would be attached; lowered, at most ``MAX_STEP``, only when at least ``MIN_LABELS`` pairs were
    kept apart, none of them scores that high, and same pairs below ``auto`` would gain. ``grey``: lowered, at
    most ``MAX_STEP``, so that the same pairs a rule takes are at least proposed (with ``MIN_LABELS`` same
    pairs or more); never above ``auto``.
    """
    different = [p.score for p in pairs if not p.same and p.takeable]
    same = [p.score for p in pairs if p.same and p.takeable]
    kept_apart, joined = sum(1 for p in pairs if not p.same), sum(1 for p in pairs if p.same)
    floor = _grid(max(different) + AUTO_MARGIN, up=True) if different else 0.0
    why = []
    auto = current.auto
    if different and max(different) >= current.auto:
        auto = floor
        why.append(f"auto up: {sum(1 for s in different if s >= current.auto)} pair(s) the office kept apart "
                   f"score at or above {current.auto:.2f} (highest {max(different):.3f})")
    elif kept_apart < MIN_LABELS:
        why.append(f"auto stays: {kept_apart} pair(s) kept apart, at least {MIN_LABELS} needed to lower it")
    else:
        gain = [s for s in same if max(floor, current.auto - MAX_STEP) <= s < current.auto]
        if gain:
            auto = _grid(min(gain), up=False)
            why.append(f"auto down: no pair kept apart scores above {max(different, default=0.0):.3f}; "
                       f"{len(gain)} same pair(s) from {min(gain):.3f} would attach instead of waiting")
        else:
            why.append("auto stays: lowering it would attach no further same pair")
    grey = current.grey
    low = min(auto, current.grey)
    below = [s for s in same if current.grey - MAX_STEP <= s < low]
    if below and joined >= MIN_LABELS:
        grey = _grid(min(below), up=False)
        why.append(f"grey down: {len(below)} same pair(s) score below {low:.2f} (lowest {min(below):.3f})")
    elif below:
        why.append(f"grey stays: {joined} same pair(s), at least {MIN_LABELS} needed to lower it")
    else:
        why.append("grey stays: every same pair a rule takes within reach already reaches it")
    return {"auto": round(auto, 2), "grey": round(min(grey, auto), 2), "why": why}


def calibrate(rt: Runtime) -> dict[str, Any]:
    """The labelled pairs, their current scores, and the current and proposed thresholds' outcomes on them."""
    current = dedupe_of(rt).thresholds
    with Session(rt.engine) as session:
        labels = latest_labels(session)
        pairs = score_pairs(rt, session, labels)
    proposed = propose(pairs, current)
    sources: dict[str, dict[str, int]] = {}
    for pair in pairs:
        row = sources.setdefault(pair.source, {"same": 0, "different": 0})
        row["same" if pair.same else "different"] += 1
    wrong = [p for p in pairs if not p.same and outcome(p, current.auto, current.grey) == "attach"]
    missed = [p for p in pairs if p.same and outcome(p, current.auto, current.grey) == "new"]
    return {
        "labels": len(labels), "pairs": len(pairs),
        "same": sum(1 for p in pairs if p.same), "different": sum(1 for p in pairs if not p.same),
        "sources": dict(sorted(sources.items())),
        "current": tally(pairs, current.auto, current.grey),
        "proposed": {**tally(pairs, proposed["auto"], proposed["grey"]), "why": proposed["why"]},
        "attached_wrongly": [_brief(p) for p in wrong],
        "missed": [_brief(p) for p in missed],
        "pair_scores": [_brief(p) for p in pairs],
    }


def _brief(pair: Pair) -> dict[str, Any]:
    return {"label": pair.label_id, "report": pair.report_id, "other_report": pair.other_report_id,
            "same": pair.same, "source": pair.source, "by": pair.actor, "at": pair.decided_at,
            "score": pair.score, "rule": pair.rule, "takeable": pair.takeable, "score_then": pair.then_score}
