"""The operator's duplicate hint, through the dedupe matcher: the caller's open cases and similar open cases.

While the operator types a ticket, the typed phone, text and address are read as a new report
would be (``Dedupe.extract``) and compared with open cases as intake compares them
(``dedupe.decide``): the caller's cases are the candidates that share a person with it (the phone in
any notation, or the contact behind it), the similar ones those a dedupe rule would take.

The open cases at the very place the ticket names (the same estate, site, building or house number,
not only the same road) come first, even in other words than the ticket's: a caller re-reporting a
matter seldom repeats its wording, and an operator asks "is this the one at 京汉大道209号?" before "is
this the same complaint elsewhere?". They are read from the index's keys of those places (a house
number has its own; a road's key, which holds every case on the road, is not read) without the matcher's per-key
limit, kept to those whose address names the place (``Dedupe.place_candidates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any, Hashable

from sqlalchemy import text as sql
from sqlmodel import Session, select

from dedupe.decide import Candidate, Scored, matches, score_candidate
from dedupe.features import Features, exact_places
from dedupe.identity import normalize_phone
from dedupe.place import address_key, same_address
from gateway.clock import utcnow
from gateway.intake.matching import Dedupe, as_time, dedupe_of, stored_features
from gateway.models import OPEN_STATUSES, Case, Identity
from gateway.runtime import Runtime

# The index finds a case by its person, places and near-verbatim text at any age, but by its
# territory only within days and in the same category, which a half-typed ticket does not have yet:
# so the district's newest open cases of the last SCAN_DAYS are compared too. SCAN_LIMIT: with the
# old engine's 300, decoding their features made a lookup slower than that engine's; with 200 it is
# faster and lists the case a call re-reports more often (docs/BENCHMARKS.md, bench/operator_hint.py).
SCAN_DAYS = 30
SCAN_LIMIT = 200
PLACE_LIMIT = 20  # open cases at the ticket's very place read beyond the matcher's candidates
LIMIT = 5  # similar cases shown
OWN_LIMIT = 10  # the caller's cases shown


@dataclass
class Hint:
    """What the operator sees: the caller's number, their open cases, and similar open cases."""

    phone: str | None  # E.164, or None without a usable number
    own: list[Case] = field(default_factory=list)  # newest first
    similar: list[tuple[Case, Scored]] = field(default_factory=list)  # the strongest evidence first


def hint(session: Session, rt: Runtime, *, phone: str | None, text: str | None, address: str | None,
         district: str | None) -> Hint:
    """The caller's open cases and the open cases a dedupe rule would take for the typed ticket.

    ``district``: where the ticket is, as dispatch locates it (its district's recent open cases are compared too).
    """
    dedupe = dedupe_of(rt)
    e164 = normalize_phone(phone, str(rt.profile.city.get("phone_region", "CN"))) if phone else None
    query = dedupe.extract({"text": text or "", "address": address, "phone": e164, "received_at": utcnow(),
                            "contact_id": _contact_of(session, e164), "channel": "hotline"})
    typed = bool(text or address)
    candidates = open_candidates(session, dedupe, query, district if typed else None)
    mine = set(query.contacts)
    own = [c.case_id for c in candidates if mine.intersection(c.features.contacts)]
    others = [c for c in candidates if not mine.intersection(c.features.contacts)]
    taken = matches(query, others, dedupe.thresholds) if typed else []
    cases = _cases(session, [*own, *(s.case_id for s in taken)])  # one read: the caller's and those a rule takes
    similar = _ranked(query, others, taken, dedupe, address, cases) if typed else []
    cases.update(_cases(session, [s.case_id for s in similar if s.case_id not in cases]))  # at the place, no rule
    newest_first = sorted((cases[i] for i in own if i in cases), key=lambda case: -(case.id or 0))
    return Hint(phone=e164, own=newest_first[:OWN_LIMIT],
                similar=[(cases[s.case_id], s) for s in similar if s.case_id in cases])


def _ranked(query: Features, others: list[Candidate], taken: list[Scored], dedupe: Dedupe, address: str | None,
            cases: dict[Hashable, Case]) -> list[Scored]:
    """The similar cases shown: those at the ticket's very place first (unless dedupe vetoes the place), the
    strongest evidence first; then the others a dedupe rule would take (``taken``, their rows in ``cases``)."""
    names = exact_places(query)
    here = {c.case_id for c in others if names and names & exact_places(c.features)}
    typed = address_key(address)
    if typed:  # places the gazetteer does not know ("星城佳园B区"): the address as typed and as stored
        here |= {s.case_id for s in taken
                 if s.case_id in cases and same_address(typed, address_key(cases[s.case_id].address))}
    at_place = [s for s in (score_candidate(query, c, dedupe.thresholds) for c in others if c.case_id in here)
                if not s.vetoed]
    at_place.sort(key=lambda s: (s.rule is not None, s.evidence, s.score, str(s.case_id)), reverse=True)
    return [*at_place, *(s for s in taken if s.case_id not in here)][:LIMIT]


def _addresses(session: Session, ids: list[Hashable]) -> dict[Hashable, str | None]:
    if not ids:
        return {}
    return dict(session.exec(select(Case.id, Case.address).where(Case.id.in_(ids))).all())  # type: ignore[union-attr]


def _cases(session: Session, ids: list[Hashable]) -> dict[Hashable, Case]:
    """The cases with these ids, in one query."""
    if not ids:
        return {}
    return {case.id: case for case in session.exec(select(Case).where(Case.id.in_(ids)))}  # type: ignore[union-attr]


def _contact_of(session: Session, e164: str | None) -> int | None:
    """The contact behind a phone number: their reports on other channels count as theirs too."""
    if not e164:
        return None
    return session.exec(select(Identity.contact_id).where(Identity.kind == "phone", Identity.value == e164)).first()


def open_candidates(session: Session, dedupe: Dedupe, query: Features, district: str | None) -> list[Candidate]:
    """The index's open candidates for the query, the open cases at its very place it did not return, then the
    district's recent open cases."""
    found = dedupe.candidates(session, query, open_only=True)
    seen = {c.case_id for c in found}
    found.extend(c for c in dedupe.place_candidates(session, query, PLACE_LIMIT) if c.case_id not in seen)
    if not district:
        return found
    seen = {c.case_id for c in found}
    since = utcnow() - timedelta(days=SCAN_DAYS)
    if session.get_bind().dialect.name == "sqlite":  # SQLite stores naive UTC
        since = since.replace(tzinfo=None)
    rows = session.execute(_scan_sql(), {"district": district, "since": since, "limit": SCAN_LIMIT})
    found.extend(Candidate(case_id, stored_features(stored), is_open=True, last_report_at=as_time(last))
                 for case_id, last, stored in rows if case_id not in seen)
    return found


@lru_cache(maxsize=1)
def _scan_sql() -> Any:
    """The district's newest open cases since a moment, with their stored features."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    return sql(
        f'SELECT c.id, c.last_report_at, CAST(f.features AS TEXT) FROM "case" AS c '
        f"JOIN casefeatures AS f ON f.case_id = c.id "
        f"WHERE c.district = :district AND c.status IN ({statuses}) AND c.created_at >= :since "
        f"ORDER BY c.id DESC LIMIT :limit"
    )
