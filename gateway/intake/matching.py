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
from typing import Any, Callable, Iterable, Optional, cast

from sqlalchemy import Table, delete, insert, text
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlmodel import Session, col, select

from dedupe.decide import ATTACH, PROPOSE, Candidate, Decision, Thresholds, another_matter, decide
from dedupe.features import (
    MAX_PLACE_KEYS,
    Features,
    block_keys,
    case_keys,
    exact_places,
    extract,
    key_id,
    merge_features,
    place_keys,
)
from dedupe.place import Gazetteer
from dedupe.text import normalize
from gateway.clock import as_utc, utcnow
from gateway.config import ConfigError
from gateway.intake.ingest import Match, opened_here
from gateway.models import OPEN_STATUSES, Case, CaseFeatures, Contact, DedupeKey, MergeRecord, Report
from gateway.profile import Profile
from gateway.runtime import Runtime

OTHER_KEYS = ("per_key_limit", "max_candidates", "topics")
DEFAULTS = {"per_key_limit": 40, "max_candidates": 150}
_STASH = "dedupe_features"
# The index's Core table, for the bulk statements (SQLModel's classes do not declare __table__ for the checker)
DEDUPE_KEYS: Table = DedupeKey.metadata.tables["dedupekey"]


def thresholds_of(profile: Profile) -> Thresholds:
    """Read [dedupe] of the city profile into decide.Thresholds; an unknown key fails start-up."""
    known = {f.name for f in fields(Thresholds) if f.name != "idf"}
    section = dict(profile.dedupe)
    unknown = set(section) - known - set(OTHER_KEYS)
    if unknown:
        raise ConfigError(f"HOTLINE_PROFILE={profile.path!r}: unknown [dedupe] keys {sorted(unknown)}")
    try:
        values: dict[str, Any] = {k: float(v) for k, v in section.items() if k in known}
        return Thresholds(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"HOTLINE_PROFILE={profile.path!r}: [dedupe] {exc}") from None


@functools.lru_cache(maxsize=8)
def _gazetteer(territory_json: str) -> Gazetteer:
    return Gazetteer.from_profile(json.loads(territory_json))


def gazetteer_of(profile: Profile) -> Gazetteer:
    """The profile's gazetteer, built once per process (configuration, not data)."""
    return _gazetteer(json.dumps(profile.territory, sort_keys=True, ensure_ascii=False))


def topics_of(profile: Profile) -> dict[str, str]:
    """The profile's [dedupe.topics] (kind of problem -> words) as normalized word -> kind."""
    table = profile.dedupe.get("topics") or {}
    if not isinstance(table, dict) or not all(isinstance(words, list) for words in table.values()):
        raise ConfigError(f"HOTLINE_PROFILE={profile.path!r}: [dedupe.topics] maps a kind of problem to a list of words")
    return {normalize(str(word)): kind for kind, words in table.items() for word in words if normalize(str(word))}


class Dedupe:
    """Rules 2 and 3 of docs/ARCHITECTURE.md "Dedupe, in three rules" over the shared index: ``__call__`` is the matcher, ``record`` the indexer."""

    def __init__(self, profile: Profile) -> None:
        self.thresholds = thresholds_of(profile)
        self.gazetteer = gazetteer_of(profile)
        self.topics = topics_of(profile)
        self.per_key_limit = int(profile.dedupe.get("per_key_limit", DEFAULTS["per_key_limit"]))
        self.max_candidates = int(profile.dedupe.get("max_candidates", DEFAULTS["max_candidates"]))

    # -- features ---------------------------------------------------------------------------
    def features(self, session: Session, report: Report) -> Features:
        """The report's features, computed once per session and report."""
        stash = session.info.setdefault(_STASH, {})
        key = id(report)
        if key not in stash:
            stash[key] = (report, self.extract(report))
        return stash[key][1]

    def extract(self, report: Any) -> Features:
        """A report's (or a report-like dict's) features with this city's places and kinds of problem."""
        return extract(report, self.gazetteer, self.topics)

    def index_keys(self, features: Features) -> list[str]:
        return block_keys(features, self.thresholds.same_problem_hours, query=False)

    # -- the decision ---------------------------------------------------------------------
    def candidates(self, session: Session, features: Features, exclude: Iterable[int] = (),
                   open_only: bool = False) -> list[Candidate]:
        """One indexed query: the newest cases under each of the report's keys, open or recently closed
        (``open_only``: open; the closed ones are left out before their features are decoded)."""
        weighed = sorted({(key_weight(k), key_id(k)) for k in block_keys(features, self.thresholds.same_problem_hours)})
        if not weighed:
            return []
        weights, ids = tuple(w for w, _ in weighed), [i for _, i in weighed]
        now = features.time or utcnow()
        since = now - timedelta(days=self.thresholds.same_person_days)
        recent = now - timedelta(hours=self.thresholds.same_problem_hours)
        dialect = session.get_bind().dialect.name
        naive = dialect == "sqlite"
        params: dict[str, Any] = (
            {"keys": ids, "weights": list(weights)} if dialect == "postgresql" else {f"k{i}": v for i, v in enumerate(ids)}
        )
        params.update(limit=self.per_key_limit, most=self.max_candidates, person=KEY_WEIGHTS["p"],
                      since=since.replace(tzinfo=None) if naive else since,
                      recent=recent.replace(tzinfo=None) if naive else recent)
        skip = set(exclude)
        out = []
        statement = _candidate_sql(() if dialect == "postgresql" else weights, dialect)
        if naive:
            # SQLite: the statement goes to the driver as written (named parameters, the times as SQLAlchemy
            # binds them), without compiling it and binding 40-odd keys again for every report (about a third
            # of the query's CPU). After the autoflush session.execute would do, on the session's connection.
            if session.autoflush:
                session.flush()
            params.update(since=_SQLITE_TIME(params["since"]), recent=_SQLITE_TIME(params["recent"]))
            rows: Iterable[Any] = session.connection().exec_driver_sql(statement.text, params)
        else:
            rows = session.execute(statement, params)
        for case_id, status, last, stored in rows:
            if case_id in skip or (open_only and status not in OPEN_STATUSES):
                continue
            out.append(_candidate(case_id, status, last, stored))
        return out

    def place_candidates(self, session: Session, features: Features, limit: int) -> list[Candidate]:
        """The newest ``limit`` open cases at the very place a report names (an entity, estate or site, house
        number: ``place_keys(exact=True)``, never a road's key), whose address names one of those places; read
        without the per-key limit of ``candidates``, which keeps a busy estate's newest cases only."""
        names = sorted(exact_places(features))
        keys = [key_id(k) for k in place_keys(features, exact=True)]
        if not names or not keys:
            return []
        params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(keys)}
        params.update({f"n{i}": "%" + _like(n) + "%" for i, n in enumerate(names)}, limit=limit)
        rows = session.execute(_place_sql(len(keys), len(names)), params)
        return [Candidate(case_id, stored_features(stored), is_open=True, last_report_at=as_time(last))
                for case_id, last, stored in rows]

    def decide(self, session: Session, report: Report, exclude: Iterable[int] = ()) -> Decision:
        features = self.features(session, report)
        return decide(features, self.candidates(session, features, exclude), self.thresholds)

    def __call__(self, session: Session, rt: Runtime, report: Report, contact: Optional[Contact]) -> Match:
        decision = self.decide(session, report)
        return as_match(decision)

    def names_another_matter(self, session: Session, case_id: int, report: Any) -> bool:
        """Whether a report (or an InboundReport) clearly names another problem or place than the case's
        reports (``dedupe.decide.another_matter``); a case with no stored features says nothing against it."""
        row = session.get(CaseFeatures, case_id)
        return row is not None and another_matter(self.extract(report), Features.from_dict(row.features))

    # -- the index ------------------------------------------------------------------------
    def record(self, session: Session, rt: Runtime, case: Case, report: Report) -> None:
        """After a report joined a case: update the case's features and index; record a merge or a proposal."""
        features = self.features(session, report)
        assert case.id is not None
        # A case intake opened in this transaction has no stored features yet: no need to look.
        row = None if opened_here(session, case.id) else session.get(CaseFeatures, case.id, with_for_update=True)
        if row is None:
            store_case_features(session, case.id, features, self.index_keys(features), [])
        else:
            merged = merge_features(Features.from_dict(row.features), features)
            keys = case_keys(list(row.keys), self.index_keys(features))
            store_case_features(session, case.id, merged, keys, list(row.keys), row=row)
        decision = report.decision or {}
        if decision.get("action") == PROPOSE and decision.get("case_id") is not None:
            session.add(MergeRecord(survivor_case_id=decision["case_id"], absorbed_case_id=case.id, report_id=report.id,
                                    status="proposed", origin="auto", score=decision.get("score", 0.0),
                                    rule=decision.get("rule"), reasons=decision.get("reasons", [])))
        elif decision.get("action") == ATTACH and report.link in ("same_person", "same_problem"):
            session.add(MergeRecord(survivor_case_id=case.id, report_id=report.id, status="applied", origin="auto",
                                    score=decision.get("score", 0.0), rule=decision.get("rule"),
                                    reasons=decision.get("reasons", [])))

    def rebuild_case(self, session: Session, case_id: int, indexed: bool = True) -> None:
        """Recompute a case's features and index rows from its reports (after a report left it);
        ``indexed=False``: its index rows were deleted already (a reindex), so all of them are inserted."""
        reports = session.exec(
            select(Report).where(Report.case_id == case_id).order_by(col(Report.received_at), col(Report.id))
        ).all()
        row = session.get(CaseFeatures, case_id, with_for_update=True)
        old = list(row.keys) if row and indexed else []
        if not reports:
            _drop_index(session, case_id, row)
            return
        merged = self.extract(reports[0])
        keys = self.index_keys(merged)
        for r in reports[1:]:
            f = self.extract(r)
            merged, keys = merge_features(merged, f), case_keys(keys, self.index_keys(f))
        store_case_features(session, case_id, merged, keys, old, row=row)


# How SQLAlchemy binds a datetime for SQLite (text, "2026-06-01 12:00:00.000000"), for the driver-level query.
_SQLITE_TIME = cast(Callable[[datetime], str], SQLITE_DATETIME().bind_processor(sqlite_dialect()))

KEY_WEIGHTS = {"p": 8, "t": 4, "g": 4, "pl": 2, "m": 2}  # any other (the LSH bands "b<i>"): 1


def key_weight(key: str) -> int:
    """How much sharing this kind of key says about a candidate: person > territory in the window > named place > LSH band."""
    return KEY_WEIGHTS.get(key.split(":", 1)[0], 1)


@functools.lru_cache(maxsize=256)
def _candidate_sql(weights: tuple[int, ...], dialect: str) -> Any:
    """The candidate query: per key the newest cases (an index range scan), then of the open or
    recently closed ones the ``:most`` best: first those a rule can still take (open, a report within
    the problem window, or the same person), then by the sum of the distinct kinds of key shared
    (person 8, territory and time bucket 4, named place 2, LSH band 1), then newest. Copies of a text
    template at other places (LSH bands only) no longer crowd out the cases of the same place,
    territory or person.

    On PostgreSQL one statement serves every report (the keys and their weights are arrays, each
    key's scan a LATERAL subquery), so it is planned once per connection and then runs prepared; on
    SQLite, where planning is cheap and there is no LATERAL, it is a UNION ALL of one scan per key.
    """
    if dialect == "postgresql":
        per_key = ("SELECT s.case_id, q.w FROM unnest(CAST(:keys AS integer[]), CAST(:weights AS integer[])) AS q(key, w) "
                   "CROSS JOIN LATERAL (SELECT case_id FROM dedupekey WHERE \"key\" = q.key "
                   "ORDER BY case_id DESC LIMIT :limit) AS s")
    else:
        per_key = " UNION ALL ".join(
            f"SELECT case_id, {w} AS w FROM (SELECT case_id FROM dedupekey WHERE \"key\" = :k{i} "
            f"ORDER BY case_id DESC LIMIT :limit) AS s{i}"
            for i, w in enumerate(weights)
        )
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    # The stored features (the wide rows) are read only for the chosen cases, after the LIMIT.
    return text(
        f"SELECT t.id, t.status, t.last_report_at, CAST(f.features AS TEXT) FROM ("
        f"SELECT c.id, c.status, c.last_report_at, r.strength, "
        f"CASE WHEN c.status IN ({statuses}) OR c.last_report_at >= :recent OR r.strength >= :person "
        f"THEN 1 ELSE 0 END AS eligible FROM ("
        f"SELECT k.case_id, SUM(DISTINCT k.w) AS strength FROM ({per_key}) AS k GROUP BY k.case_id) AS r "
        f'JOIN "case" AS c ON c.id = r.case_id '
        f"WHERE c.status IN ({statuses}) OR (c.status = 'closed' AND c.closed_at >= :since) "
        f"ORDER BY eligible DESC, r.strength DESC, c.id DESC LIMIT :most) AS t "
        f"JOIN casefeatures AS f ON f.case_id = t.id ORDER BY t.eligible DESC, t.strength DESC, t.id DESC"
    )


def _like(name: str) -> str:
    """A name as a LIKE pattern's literal part."""
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


PLACE_SCAN = 2000  # cases read under a ticket's exact place keys, newest first (a busy estate's key holds hundreds)


@functools.lru_cache(maxsize=64)
def _place_sql(keys: int, names: int) -> Any:
    """Open cases under any of ``keys`` place keys whose address names any of ``names`` places, newest first.

    The keys' cases are read first, in a subquery with a LIMIT that neither database flattens: written as
    ``c.id IN (SELECT ...)``, PostgreSQL walked the whole case table backwards by id, filtering each row, to
    find 20 matches (about 100 ms at 100,000 cases when none matched)."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    under = ", ".join(f":k{i}" for i in range(keys))
    named = " OR ".join(f"lower(c.address) LIKE :n{i} ESCAPE '\\'" for i in range(names))
    return text(
        f'SELECT c.id, c.last_report_at, CAST(f.features AS TEXT) FROM '
        f'(SELECT DISTINCT case_id FROM dedupekey WHERE "key" IN ({under}) ORDER BY case_id DESC LIMIT {PLACE_SCAN}) '
        f'AS k JOIN "case" AS c ON c.id = k.case_id JOIN casefeatures AS f ON f.case_id = c.id '
        f"WHERE c.status IN ({statuses}) AND ({named}) ORDER BY c.id DESC LIMIT :limit"
    )


@functools.lru_cache(maxsize=4096)
def stored_features(stored: str) -> Features:
    """A case's stored features from their JSON text, decoded once per process while they stay the same.

    The cases a district's new reports are compared with are mostly the same few hundred recent
    ones, so most decisions find their candidates decoded already; the key is the text itself,
    so a case whose features changed is decoded afresh (Features are immutable). 4,096 of them take about
    25 MB per process (6 KB each, measured at 100,000 cases): the operator hint's district scan reads the
    200 newest open cases of any of the city's districts, and with 2,048 most of its decodes missed.
    """
    return Features.from_dict(json.loads(stored))


@functools.lru_cache(maxsize=2048)
def _candidate(case_id: int, status: str, last: Any, stored: str) -> Candidate:
    """A candidate from its row, made once while the row stays the same (a Candidate is immutable, and the
    recent cases come back decision after decision)."""
    return Candidate(case_id, stored_features(stored), is_open=status in OPEN_STATUSES, last_report_at=as_time(last))


def as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return as_utc(value) if value else None
    return _parsed_time(value)


@functools.lru_cache(maxsize=4096)
def _parsed_time(value: str) -> datetime:
    """A time as SQLite returns it (text), parsed once while the same candidates keep coming back."""
    return as_utc(datetime.fromisoformat(value))


def as_match(decision: Decision) -> Match:
    """The intake seam's view of a decision (a "new" keeps its nearest case for the record)."""
    nearest = next((r["value"] for r in decision.reasons if r.get("feature") == "nearest_case"), None)
    # the gateway's candidates and nearest case are ids of cases (int): dedupe only asks for Hashable
    case_id = cast(Optional[int], decision.case_id if decision.case_id is not None else nearest)
    return Match(action=decision.action, case_id=case_id, rule=decision.rule or "", score=decision.score,
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
    table = DEDUPE_KEYS
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


def reindex(rt: Runtime, full: bool = False, batch: int = 2000) -> int:
    """Rebuild every case's index rows from its stored keys (``full``: recompute its features and keys
    from its reports first, e.g. after the profile's topics or gazetteer changed). Returns the cases done.

    Runs in batches, each its own transaction, so intake goes on meanwhile; a case that changes
    under it is indexed by intake as usual.
    """
    dedupe = dedupe_of(rt)
    done, after = 0, 0
    while True:
        with Session(rt.engine) as session:
            rows = session.exec(
                select(CaseFeatures.case_id, CaseFeatures.keys).where(CaseFeatures.case_id > after)
                .order_by(col(CaseFeatures.case_id)).limit(batch)
            ).all()
            if not rows:
                return done
            table = DEDUPE_KEYS
            ids = [case_id for case_id, _ in rows]
            session.execute(delete(table).where(table.c.case_id.in_(ids)))
            if full:
                for case_id in ids:
                    dedupe.rebuild_case(session, case_id, indexed=False)
            else:
                pairs = {(key_id(k), case_id) for case_id, keys in rows for k in keys}
                if pairs:
                    session.execute(insert(table), [{"key": k, "case_id": c} for k, c in sorted(pairs)])
            session.commit()
            done, after = done + len(rows), ids[-1]


def dedupe_of(rt: Runtime) -> Dedupe:
    """The running matcher, or one for the profile where none is wired in (merging, the hint, a reindex)."""
    return rt.matcher if isinstance(rt.matcher, Dedupe) else Dedupe(rt.profile)


def install(rt: Runtime) -> None:
    """Wire dedupe into intake: the matcher seam and the indexer seam."""
    matcher = Dedupe(rt.profile)
    rt.matcher = matcher
    rt.dedupe_index = matcher.record
