"""The dedupe matcher behind intake's seam: candidates from the shared key index, a decision, the index kept current.

Per new report: its features are computed once; one indexed query fetches the candidate cases
(per block key the newest ``per_key_limit`` cases, then open cases or cases closed within the
person window, newest first, at most ``max_candidates``) with their stored features; ``decide``
picks attach / propose / new. After the report joins a case, ``record`` updates the case's
stored features and its index rows, and writes the MergeRecord of an automatic merge or a proposal.
"""

from __future__ import annotations

import functools
import json
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from sqlalchemy import delete, insert, text
from sqlmodel import Session, select

from dedupe.decide import ATTACH, PROPOSE, Candidate, Decision, Thresholds, decide
from dedupe.features import MAX_PLACE_KEYS, Features, block_keys, case_keys, extract, key_id, merge_features
from dedupe.place import Gazetteer
from gateway.clock import as_utc, utcnow
from gateway.config import ConfigError
from gateway.intake import Match, opened_here
from gateway.models import OPEN_STATUSES, Case, CaseFeatures, Contact, DedupeKey, MergeRecord, Report
from gateway.profile import Profile
from gateway.runtime import Runtime

LIMIT_KEYS = ("per_key_limit", "max_candidates")
DEFAULTS = {"per_key_limit": 40, "max_candidates": 150}
_STASH = "dedupe_features"


def thresholds_of(profile: Profile) -> Thresholds:
    """Read [dedupe] of the city profile into decide.Thresholds; an unknown key fails start-up."""
    known = {f.name for f in fields(Thresholds) if f.name != "idf"}
    section = dict(profile.dedupe)
    unknown = set(section) - known - set(LIMIT_KEYS)
    if unknown:
        raise ConfigError(f"HOTLINE_PROFILE={profile.path!r}: unknown [dedupe] keys {sorted(unknown)}")
    try:
        return Thresholds(**{k: float(v) for k, v in section.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"HOTLINE_PROFILE={profile.path!r}: [dedupe] {exc}") from None


@functools.lru_cache(maxsize=8)
def _gazetteer(territory_json: str) -> Gazetteer:
    return Gazetteer.from_profile(json.loads(territory_json))


def gazetteer_of(profile: Profile) -> Gazetteer:
    """The profile's gazetteer, built once per process (configuration, not data)."""
    return _gazetteer(json.dumps(profile.territory, sort_keys=True, ensure_ascii=False))


class Dedupe:
    """Rules 2 and 3 of DESIGN.md over the shared index: ``__call__`` is the matcher, ``record`` the indexer."""

    def __init__(self, profile: Profile) -> None:
        self.thresholds = thresholds_of(profile)
        self.gazetteer = gazetteer_of(profile)
        self.per_key_limit = int(profile.dedupe.get("per_key_limit", DEFAULTS["per_key_limit"]))
        self.max_candidates = int(profile.dedupe.get("max_candidates", DEFAULTS["max_candidates"]))

    # -- features ---------------------------------------------------------------------------
    def features(self, session: Session, report: Report) -> Features:
        """The report's features, computed once per session and report."""
        stash = session.info.setdefault(_STASH, {})
        key = id(report)
        if key not in stash:
            stash[key] = (report, extract(report, self.gazetteer))
        return stash[key][1]

    def index_keys(self, features: Features) -> list[str]:
        return block_keys(features, self.thresholds.same_problem_hours, query=False)

    # -- the decision ---------------------------------------------------------------------
    def candidates(self, session: Session, features: Features, exclude: Iterable[int] = ()) -> list[Candidate]:
        """One indexed query: the newest cases under each of the report's keys, open or recently closed."""
        weighed = sorted({(key_weight(k), key_id(k)) for k in block_keys(features, self.thresholds.same_problem_hours)})
        if not weighed:
            return []
        weights, ids = tuple(w for w, _ in weighed), [i for _, i in weighed]
        now = features.time or utcnow()
        since = now - timedelta(days=self.thresholds.same_person_days)
        recent = now - timedelta(hours=self.thresholds.same_problem_hours)
        naive = session.get_bind().dialect.name == "sqlite"
        params: dict[str, Any] = {f"k{i}": v for i, v in enumerate(ids)}
        params.update(limit=self.per_key_limit, most=self.max_candidates, person=KEY_WEIGHTS["p"],
                      since=since.replace(tzinfo=None) if naive else since,
                      recent=recent.replace(tzinfo=None) if naive else recent)
        skip = set(exclude)
        out = []
        for case_id, status, last, stored in session.execute(_candidate_sql(weights), params):
            if case_id in skip:
                continue
            data = json.loads(stored) if isinstance(stored, str) else stored
            out.append(Candidate(case_id, Features.from_dict(data), is_open=status in OPEN_STATUSES,
                                 last_report_at=_as_time(last)))
        return out

    def decide(self, session: Session, report: Report, exclude: Iterable[int] = ()) -> Decision:
        features = self.features(session, report)
        return decide(features, self.candidates(session, features, exclude), self.thresholds)

    def __call__(self, session: Session, rt: Runtime, report: Report, contact: Optional[Contact]) -> Match:
        decision = self.decide(session, report)
        return as_match(decision)

    # -- the index ------------------------------------------------------------------------
    def record(self, session: Session, rt: Runtime, case: Case, report: Report) -> None:
        """After a report joined a case: update the case's features and index; record a merge or a proposal."""
        features = self.features(session, report)
        # A case intake opened in this transaction has no stored features yet: no need to look.
        row = None if opened_here(session, case.id) else session.get(CaseFeatures, case.id, with_for_update=True)
        if row is None:
            store_case_features(session, case.id, features, self.index_keys(features), [])  # type: ignore[arg-type]
        else:
            merged = merge_features(Features.from_dict(row.features), features)
            keys = case_keys(list(row.keys), self.index_keys(features))
            store_case_features(session, case.id, merged, keys, list(row.keys), row=row)  # type: ignore[arg-type]
        decision = report.decision or {}
        if decision.get("action") == PROPOSE and decision.get("case_id") is not None:
            session.add(MergeRecord(survivor_case_id=decision["case_id"], absorbed_case_id=case.id, report_id=report.id,
                                    status="proposed", origin="auto", score=decision.get("score", 0.0),
                                    rule=decision.get("rule"), reasons=decision.get("reasons", [])))
        elif decision.get("action") == ATTACH and report.link in ("same_person", "same_problem"):
            session.add(MergeRecord(survivor_case_id=case.id, report_id=report.id, status="applied", origin="auto",
                                    score=decision.get("score", 0.0), rule=decision.get("rule"),
                                    reasons=decision.get("reasons", [])))

    def rebuild_case(self, session: Session, case_id: int) -> None:
        """Recompute a case's features and index rows from its reports (after a report left it)."""
        reports = session.exec(
            select(Report).where(Report.case_id == case_id).order_by(Report.received_at, Report.id)  # type: ignore[arg-type]
        ).all()
        row = session.get(CaseFeatures, case_id, with_for_update=True)
        old = list(row.keys) if row else []
        if not reports:
            _drop_index(session, case_id, row)
            return
        merged = extract(reports[0], self.gazetteer)
        keys = self.index_keys(merged)
        for r in reports[1:]:
            f = extract(r, self.gazetteer)
            merged, keys = merge_features(merged, f), case_keys(keys, self.index_keys(f))
        store_case_features(session, case_id, merged, keys, old, row=row)


KEY_WEIGHTS = {"p": 8, "t": 4, "g": 4, "pl": 2}  # any other (the LSH bands "b<i>"): 1


def key_weight(key: str) -> int:
    """How much sharing this kind of key says about a candidate: person > territory in the window > named place > LSH band."""
    return KEY_WEIGHTS.get(key.split(":", 1)[0], 1)


@functools.lru_cache(maxsize=256)
def _candidate_sql(weights: tuple[int, ...]) -> Any:
    """The candidate query for keys of these weights: per key the newest cases (an index range scan),
    then of the open or recently closed ones the ``:most`` best: first those a rule can still take
    (open, a report within the problem window, or the same person), then by the sum of the distinct
    kinds of key shared (person 8, territory and time bucket 4, named place 2, LSH band 1), then newest. Copies of
    a text template at other places (LSH bands only) no longer crowd out the cases of the same
    place, territory or person.
    """
    per_key = " UNION ALL ".join(
        f"SELECT case_id, {w} AS w FROM (SELECT case_id FROM dedupekey WHERE \"key\" = :k{i} "
        f"ORDER BY case_id DESC LIMIT :limit) AS s{i}"
        for i, w in enumerate(weights)
    )
    kinds = " + ".join(f"MAX(CASE WHEN k.w = {w} THEN {w} ELSE 0 END)" for w in sorted(set(weights), reverse=True))
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    # The stored features (the wide rows) are read only for the chosen cases, after the LIMIT.
    return text(
        f"SELECT t.id, t.status, t.last_report_at, f.features FROM ("
        f"SELECT c.id, c.status, c.last_report_at, r.strength, "
        f"CASE WHEN c.status IN ({statuses}) OR c.last_report_at >= :recent OR r.strength >= :person "
        f"THEN 1 ELSE 0 END AS eligible FROM ("
        f"SELECT k.case_id, {kinds} AS strength FROM ({per_key}) AS k GROUP BY k.case_id) AS r "
        f'JOIN "case" AS c ON c.id = r.case_id '
        f"WHERE c.status IN ({statuses}) OR (c.status = 'closed' AND c.closed_at >= :since) "
        f"ORDER BY eligible DESC, r.strength DESC, c.id DESC LIMIT :most) AS t "
        f"JOIN casefeatures AS f ON f.case_id = t.id ORDER BY t.eligible DESC, t.strength DESC, t.id DESC"
    )


def _as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return as_utc(value) if value else None
    return as_utc(datetime.fromisoformat(value))


def as_match(decision: Decision) -> Match:
    """The intake seam's view of a decision (a "new" keeps its nearest case for the record)."""
    nearest = next((r["value"] for r in decision.reasons if r.get("feature") == "nearest_case"), None)
    case_id = decision.case_id if decision.case_id is not None else nearest
    return Match(action=decision.action, case_id=case_id, rule=decision.rule or "", score=decision.score,  # type: ignore[arg-type]
                 reasons=decision.reasons)


def store_case_features(session: Session, case_id: int, features: Features, keys: list[str],
                        old_keys: list[str], row: CaseFeatures | None = None) -> None:
    """Write a case's stored features and bring its index rows from ``old_keys`` to ``keys``."""
    if row is None:
        row = CaseFeatures(case_id=case_id)
    row.features = features.to_dict(compact=True)
    row.keys = list(keys)
    session.add(row)
    set_index(session, case_id, old_keys, keys)


def set_index(session: Session, case_id: int, old_keys: list[str], keys: list[str]) -> None:
    """Delete the index rows a case no longer has and insert the new ones."""
    old, new = {key_id(k) for k in old_keys}, {key_id(k) for k in keys}
    table = DedupeKey.__table__  # type: ignore[attr-defined]
    if old - new:
        session.execute(delete(table).where(table.c.case_id == case_id, table.c.key.in_(sorted(old - new))))
    if new - old:
        session.execute(insert(table), [{"key": i, "case_id": case_id} for i in sorted(new - old)])


def _drop_index(session: Session, case_id: int, row: CaseFeatures | None) -> None:
    if row is not None:
        set_index(session, case_id, list(row.keys), [])
        session.delete(row)


def merge_index(session: Session, survivor_id: int, absorbed_id: int) -> None:
    """The survivor's index now covers the absorbed case's reports; the absorbed case leaves the index."""
    a = session.get(CaseFeatures, absorbed_id, with_for_update=True)
    s = session.get(CaseFeatures, survivor_id, with_for_update=True)
    if a is None:
        return
    if s is None:
        store_case_features(session, survivor_id, Features.from_dict(a.features), list(a.keys), [])
    else:
        merged = merge_features(Features.from_dict(s.features), Features.from_dict(a.features))
        keys = case_keys(list(s.keys), list(a.keys), max_place_keys=2 * MAX_PLACE_KEYS)  # both cases' places
        store_case_features(session, survivor_id, merged, keys, list(s.keys), row=s)
    _drop_index(session, absorbed_id, a)


def install(rt: Runtime) -> None:
    """Wire dedupe into intake: the matcher seam and the indexer seam."""
    matcher = Dedupe(rt.profile)
    rt.services["matcher"] = matcher
    rt.services["dedupe_index"] = matcher.record
