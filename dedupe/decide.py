"""Decide whether a new report belongs to a candidate case: attach, propose to the office, or open a new case.

Rules (docs/ARCHITECTURE.md, "Dedupe, in three rules"; rule 1, provider retries, is a unique key upstream):

- rule 2 ``same_person``: the same contact, a similar text, the same named place or the same problem,
  while the case is open or within ``same_person_days`` of its last report;
- rule 3 ``same_problem``: different people, the same territory, a compatible category and a
  similar text or the same problem, within ``same_problem_hours`` of the case's last report or while
  it is open.

Both rules are vetoed when the two reports name different named places of one kind (estates, schools,
roads, companies, projects, bus routes) or different districts: the same complaint template about
another place is another case; and when their problem signatures share nothing (``dedupe.problem``):
another problem at the same place, or the same person about another matter, is another case. Rule 3
attaches automatically only with a place in common (a named place or close coordinates, not a district)
or a copied text, and with the same problem; otherwise it proposes (``Scored.auto``).

The score adds up evidence: ``sqrt(text cosine)`` (so that a paraphrase's low cosine still
counts) plus fixed weights for a shared place, contact, district, street, category, problem and a
short time gap; the same person about the same problem or named place is a follow-up and reaches ``auto``. Weights and thresholds were calibrated with ``tools/calibrate_dedupe.py``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Hashable, Mapping, Sequence

from .features import Features, top_category
from .place import ENTITY_KINDS, SITE, PlaceComparison, compare_places
from .problem import CONFLICT, SAME, Signature, relation
from .text import similarity

ATTACH, PROPOSE, NEW = "attach", "propose", "new"
SAME_PERSON, SAME_PROBLEM = "same_person", "same_problem"

WEIGHT_SITE = 0.35
WEIGHT_ROAD = 0.2
WEIGHT_STREET = 0.1
WEIGHT_CONTACT = 0.25
WEIGHT_DISTRICT = 0.05
WEIGHT_CATEGORY = 0.05
WEIGHT_RECENT = 0.05
WEIGHT_TOPIC = 0.1
WEIGHT_PROBLEM = 0.1


@dataclass(frozen=True)
class Thresholds:
    """Where a score becomes an automatic merge or a proposal, and how long the windows are."""

    auto: float = 0.55
    grey: float = 0.45
    same_person_days: float = 30
    same_problem_hours: float = 72
    min_text: float = 0.04  # below this cosine the texts share nothing worth a merge, whatever else agrees
    radius_m: float = 300  # two reports with coordinates this close are about one spot
    copy_text: float = 0.6  # at or above this cosine a text is a copy: it may attach with no named place in common
    idf: Mapping[str, float] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.grey <= self.auto <= 1:
            raise ValueError("need 0 <= grey <= auto <= 1")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Candidate:
    """A case the gateway found by block keys, with what it stored about it.

    ``features`` describes the case (usually its first report); ``more_features`` may carry its
    other reports, and the best-matching one counts. ``shares_contact`` is the gateway's
    answer after resolving Contacts across channels; shared contact ids in the features count too.
    """

    case_id: Hashable
    features: Features
    is_open: bool = True
    last_report_at: datetime | None = None
    shares_contact: bool = False
    more_features: tuple[Features, ...] = ()


@dataclass(frozen=True)
class Decision:
    action: str  # "attach", "propose" or "new"
    case_id: Hashable | None
    score: float
    rule: str | None  # "same_person", "same_problem" or None
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "case_id": self.case_id,
            "score": self.score,
            "rule": self.rule,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class Scored:
    """One candidate's score, the rule that would apply (None: none applies) and why."""

    case_id: Hashable
    score: float
    rule: str | None
    vetoed: bool
    reasons: list[dict[str, Any]]
    # The same evidence summed without the 1.0 ceiling: among candidates that all reach the ceiling
    # (a template reported at many places), the one that also shares the place or the exact words has more.
    evidence: float = 0.0
    # Whether the score may attach on its own; False: at most a proposal (see ``_why_not_auto``).
    auto: bool = True


@functools.lru_cache(maxsize=4096)
def _category_relation(a: str | None, b: str | None) -> str:
    if not a or not b:
        return "unknown"
    if a == b or a.startswith(b) or b.startswith(a) or top_category(a) == top_category(b):
        return "same"
    return "different"


def _hours_between(new: Features, candidate: Candidate, reference: Features) -> float | None:
    last = candidate.last_report_at or reference.time
    if new.time is None or last is None:
        return None
    if last.tzinfo is None and new.time.tzinfo is not None:
        last = last.replace(tzinfo=new.time.tzinfo)
    return abs((new.time - last).total_seconds()) / 3600


def _cosine(a: Features, b: Features, idf: Mapping[str, float] | None) -> float:
    """``similarity(a, b, idf)``; without an IDF, the binary cosine of two shingle sets computed here
    (the same arithmetic), once per candidate."""
    mine, theirs = a.shingles, b.shingles
    if idf is not None or not isinstance(mine, (set, frozenset)) or not isinstance(theirs, (set, frozenset)):
        return similarity(a, b, idf)
    if not mine or not theirs:
        return 0.0
    common = len(mine & theirs) if len(mine) <= len(theirs) else len(theirs & mine)
    return common / math.sqrt(len(mine) * len(theirs))


def _best_text(new: Features, candidate: Candidate, idf: Mapping[str, float] | None) -> tuple[float, Features]:
    best_text, reference = _cosine(new, candidate.features, idf), candidate.features
    for features in candidate.more_features:
        value = _cosine(new, features, idf)
        if value > best_text:
            best_text, reference = value, features
    return best_text, reference


def score_candidate(
    new: Features,
    candidate: Candidate,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    _text: tuple[float, Features] | None = None,
) -> Scored:
    """Score one candidate case against a new report, with reasons; pure and deterministic."""
    return _explain(_assess(new, candidate, thresholds, _text))


@dataclass(slots=True)
class _Assessment:
    """A candidate's score and rule with the evidence they came from. ``decide`` assesses every
    candidate but writes the reasons out (``_explain``) only for the one it reports."""

    new: Features
    candidate: Candidate
    reference: Features
    text: float
    places: PlaceComparison
    matched_kind: str | None
    street_same: bool
    meters: float | None
    category: str
    topics: frozenset[str]
    problem: str
    same_contact: bool
    hours: float | None
    score: float
    evidence: float
    rule: str | None
    vetoed: bool
    auto: bool
    tail: list[dict[str, Any]]  # the reasons after "case_open": a veto, the gate, no automatic attachment, a follow-up

    @property
    def case_id(self) -> Hashable:
        return self.candidate.case_id


def _assess(
    new: Features, candidate: Candidate, thresholds: Thresholds, _text: tuple[float, Features] | None = None
) -> _Assessment:
    """The score, rule, veto and automatic attachment of one candidate (``score_candidate`` without the reasons)."""
    text, reference = _text or _best_text(new, candidate, thresholds.idf)
    places = compare_places(new.place, reference.place, new.text, reference.text)
    if places.relation != "match" and reference is not candidate.features:
        # Another report of the case may name the place even if the best text match does not.
        for features in (candidate.features, *candidate.more_features):
            other = compare_places(new.place, features.place, new.text, features.text)
            if other.relation == "match":
                places = other
                break
    same_contact = _shares_contact(new, candidate)
    category = _category_relation(new.category, reference.category)
    hours = _hours_between(new, candidate, reference)
    street_same = bool(new.place.street and new.place.street == reference.place.street)
    meters = _distance_m(new, candidate)
    topics = _shared_topics(new, candidate)
    problem = relation(new.problem, _case_problem(candidate))

    # Every term below has its reason in ``_explain``, under the same condition.
    score = math.sqrt(text)
    matched_kind = None
    if places.relation == "match":
        matched_kind = _kind_of(places.matched, new, reference)
        weight = WEIGHT_SITE if matched_kind in (SITE, *ENTITY_KINDS) else WEIGHT_ROAD if matched_kind else WEIGHT_STREET
        if not places.detail and _same_house(new, reference):
            weight = WEIGHT_SITE  # "解放大道1388号" on both: one spot of the road
        if places.partial:  # a short form of the name: weak, unless both are about the same kind of problem
            weight = WEIGHT_ROAD if topics else WEIGHT_STREET
        score += weight
    if places.district == "same":
        score += WEIGHT_DISTRICT
    if street_same and places.matched != (new.place.street, reference.place.street):
        score += WEIGHT_STREET / 2
    if meters is not None and meters <= thresholds.radius_m and places.relation != "match":
        score += WEIGHT_ROAD
    if category == "same":
        score += WEIGHT_CATEGORY
    if topics:
        score += WEIGHT_TOPIC
    if problem == SAME:
        score += WEIGHT_PROBLEM
    if same_contact:
        score += WEIGHT_CONTACT
    if hours is not None and hours <= thresholds.same_problem_hours:
        score += WEIGHT_RECENT
    evidence, score = round(score, 4), round(min(score, 1.0), 4)

    tail: list[dict[str, Any]] = []
    vetoed = places.veto
    rule: str | None = None
    same_site = matched_kind == SITE and not places.partial
    named = places.relation == "match" and not places.partial
    if vetoed:
        tail.append({"feature": "veto", "value": "different_place"})
    elif problem == CONFLICT:
        # Another problem at the same place (a garage's leak, the roof terrace built over), or the same
        # person about another matter: another case, whatever the place and the person.
        vetoed = True
        tail.append({"feature": "veto", "value": "different_problem"})
    elif text < thresholds.min_text and not (
        category != "different" and places.relation == "match"
        and (same_contact or (same_site and topics) or (named and problem == SAME))
    ):
        # The same person naming the same place about the same kind of problem is a chase even in
        # other words ("还是没水"); so is anyone naming the same estate, firm or road with the same
        # problem in other words (its shops' smoke, then their noise at night). About another kind of
        # problem there - water after a street light - it is not.
        tail.append({"feature": "gate", "value": "text_below_minimum"})
    else:
        person_window = hours is not None and hours <= thresholds.same_person_days * 24
        problem_window = hours is not None and hours <= thresholds.same_problem_hours
        if same_contact and (candidate.is_open or person_window):
            rule = SAME_PERSON
        elif category != "different" and (candidate.is_open or problem_window):
            rule = SAME_PROBLEM
        else:
            tail.append({"feature": "gate", "value": "outside_window" if category != "different" else "category"})
    auto = True
    if rule is not None:
        close = meters is not None and meters <= thresholds.radius_m
        # a short form of the name ("经济学院" in "涉外经济学院") counts as the place only for the same problem
        short_form = places.relation == "match" and places.partial and problem == SAME
        why_not = _why_not_auto(rule, text, problem, named or close or short_form, places.detail, thresholds)
        if why_not:
            auto = False
            tail.append({"feature": "no_auto", "value": why_not})
        elif rule == SAME_PERSON and (problem == SAME or named) and score < thresholds.auto:
            # The same person about the same problem or the same named place, neither contradicted: a
            # short follow-up ("520路今天还是不停", "恒通达那边还是没人给说法").
            tail.append({"feature": "follow_up", "value": True})
            score = thresholds.auto
    return _Assessment(new, candidate, reference, text, places, matched_kind, street_same, meters, category, topics,
                       problem, same_contact, hours, score, evidence, rule, vetoed, auto, tail)


def _explain(a: _Assessment) -> Scored:
    """The assessment with its reasons, in the order of its terms."""
    new, reference, places = a.new, a.reference, a.places
    reasons: list[dict[str, Any]] = [{"feature": "text_similarity", "value": round(a.text, 3)}]
    if places.relation == "match":
        reasons.append({"feature": "place_match", "value": list(places.matched or ()), "kind": a.matched_kind,
                        **({"partial": True} if places.partial else {})})
    elif places.relation == "mismatch":
        reasons.append({"feature": "place_mismatch", "value": list(places.conflict or ())})
    if places.district == "different":
        reasons.append({"feature": "district_mismatch", "value": [new.place.district, reference.place.district]})
    elif places.district == "same":
        reasons.append({"feature": "district_match", "value": new.place.district})
    if a.street_same and places.matched != (new.place.street, reference.place.street):
        reasons.append({"feature": "street_match", "value": new.place.street})
    if a.meters is not None:
        reasons.append({"feature": "distance_m", "value": round(a.meters)})
    if a.category != "unknown":
        reasons.append({"feature": "category", "value": a.category})
    if a.topics:
        reasons.append({"feature": "topic_match", "value": sorted(a.topics)})
    if new.problem or a.problem != "unknown":
        reasons.append({"feature": "problem", "value": a.problem, "signature": new.problem.to_list()})
    if a.same_contact:
        reasons.append({"feature": "same_contact", "value": True})
    if a.hours is not None:
        reasons.append({"feature": "time_gap_hours", "value": round(a.hours, 1)})
    reasons.append({"feature": "case_open", "value": a.candidate.is_open})
    reasons.extend(dict(r) for r in a.tail)
    return Scored(a.case_id, a.score, a.rule, a.vetoed, reasons, a.evidence, a.auto)


def _why_not_auto(rule: str, text: float, problem: str, place: bool, detail: tuple[str, str] | None,
                  thresholds: Thresholds) -> str | None:
    """Why a candidate a rule takes may only be proposed, not attached; None: it may be attached.

    Other people's reports attach only with a place in common (a named estate, firm, project, route
    or road, or coordinates within ``radius_m``) or a copied text, never on a district and a topic
    word; and with the same problem, or a text that says so in many of the same words. Different
    buildings of one estate or house numbers on one road are for the office to judge."""
    if detail is not None:
        return "different_building_or_number"
    if rule == SAME_PROBLEM and not place and text < thresholds.copy_text:
        return "no_common_place"
    if rule == SAME_PROBLEM and problem != SAME and text < thresholds.copy_text / 2:
        return "problem_not_shown"
    return None


def _same_house(new: Features, reference: Features) -> bool:
    return not new.place.houses.isdisjoint(reference.place.houses)


def _case_problem(candidate: Candidate) -> Signature:
    """The problems a case's reports name, together."""
    found = candidate.features.problem
    for features in candidate.more_features:
        found = found.union(features.problem)
    return found


def _distance_m(new: Features, candidate: Candidate) -> float | None:
    """The shortest distance between the new report's point and any point the case has (haversine)."""
    if new.point is None:
        return None
    best = None
    for features in (candidate.features, *candidate.more_features):
        if features.point is None:
            continue
        (la1, lo1), (la2, lo2) = (math.radians(x) for x in new.point), (math.radians(x) for x in features.point)
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        meters = 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))
        best = meters if best is None else min(best, meters)
    return best


def _shared_topics(new: Features, candidate: Candidate) -> frozenset[str]:
    """The kinds of problem both name (any report of the case counts)."""
    if not new.topics:
        return frozenset()
    if not candidate.more_features:
        return new.topics & candidate.features.topics
    return new.topics & frozenset().union(*(f.topics for f in (candidate.features, *candidate.more_features)))


def _shares_contact(new: Features, candidate: Candidate) -> bool:
    if candidate.shares_contact:
        return True
    mine = new.contacts  # a few ids at most
    if not mine:
        return False
    if not candidate.more_features:
        return any(c in mine for c in candidate.features.contacts)
    return any(c in mine for f in (candidate.features, *candidate.more_features) for c in f.contacts)


def _kind_of(matched: tuple[str, str] | None, new: Features, reference: Features) -> str | None:
    if not matched:
        return None
    for token in (*new.place.tokens, *reference.place.tokens):
        if token.name in matched:
            return token.kind
    return None  # an administrative street


def _below_gate(new: Features, candidate: Candidate, text: float, thresholds: Thresholds) -> bool:
    """Whether no rule can take the candidate whatever its place: too little shared text, no shared person,
    topic or problem."""
    return (text < thresholds.min_text and not _shares_contact(new, candidate) and not _shared_topics(new, candidate)
            and not (_may_share_place(new, candidate) and relation(new.problem, _case_problem(candidate)) == SAME))


def _may_share_place(new: Features, candidate: Candidate) -> bool:
    """A cheap first look (substrings, no comparison of places): whether a named place of one side appears in
    the other's text. Below the text gate only a shared place with the same problem can take a candidate."""
    for features in (candidate.features, *candidate.more_features):
        if any(len(core := t.core_lower) >= 2 and core in new.text for t in features.place.specific):
            return True
        if any(len(core := t.core_lower) >= 2 and core in features.text for t in new.place.specific):
            return True
    return False


def _rank(scored: Scored | _Assessment, candidate: Candidate) -> tuple[Any, ...]:
    """(may attach, score, open, latest report, case id): higher is better, whatever order the candidates came in."""
    last = candidate.last_report_at.timestamp() if candidate.last_report_at else 0.0
    return (scored.auto, scored.score, candidate.is_open, last, str(candidate.case_id))


def decide(
    new: Features, candidates: Sequence[Candidate], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Decision:
    """Return what to do with a new report given its candidate cases: attach, propose or new.

    The best candidate by (score, open, latest report, case id) wins, so the answer does not
    depend on the order the database returned the candidates in.
    """
    best: _Assessment | None = None
    best_key: tuple[Any, ...] | None = None
    nearest: _Assessment | None = None  # the best-scoring candidate even if vetoed, to explain a "new"
    pruned: tuple[float, Hashable] | None = None
    for candidate in candidates:
        text = _best_text(new, candidate, thresholds.idf)
        if _below_gate(new, candidate, text[0], thresholds):
            # No rule can apply below the text gate: skip the place comparison (most candidates).
            if pruned is None or (text[0], str(candidate.case_id)) > (pruned[0], str(pruned[1])):
                pruned = (text[0], candidate.case_id)
            continue
        scored = _assess(new, candidate, thresholds, text)
        # (score, str(case id)) > the nearest's, the ids compared only on a tie
        if nearest is None or scored.score > nearest.score or (
                scored.score == nearest.score and str(scored.case_id) > str(nearest.case_id)):
            nearest = scored
        if scored.rule is None:
            continue
        key = _rank(scored, candidate)
        if best_key is None or key > best_key:
            best, best_key = scored, key
    if best is None or best.score < thresholds.grey:
        reasons: list[dict[str, Any]] = [{"feature": "candidates", "value": len(candidates)}]
        if nearest is not None:
            reasons = [{"feature": "nearest_case", "value": nearest.case_id}, *_explain(nearest).reasons, *reasons]
        elif pruned is not None:
            reasons = [
                {"feature": "nearest_case", "value": pruned[1]},
                {"feature": "text_similarity", "value": round(pruned[0], 3)},
                {"feature": "gate", "value": "text_below_minimum"},
                *reasons,
            ]
        return Decision(NEW, None, nearest.score if nearest else 0.0, None, reasons)
    action = ATTACH if best.score >= thresholds.auto and best.auto else PROPOSE
    return Decision(action, best.case_id, best.score, best.rule, _explain(best).reasons)


def another_matter(new: Features, case: Features) -> bool:
    """Whether a text clearly names another problem or another named place than a case's reports: what
    stops threading a sender's text onto their open case by time alone ("还有个事, 门口那个大坑")."""
    if relation(new.problem, case.problem) == CONFLICT:
        return True
    return compare_places(new.place, case.place, new.text, case.text).relation == "mismatch"


def matches(
    new: Features, candidates: Sequence[Candidate], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Scored]:
    """Return every candidate a rule would take (not vetoed, past the text gate), the strongest first.

    For a person who chooses among them (the operator's duplicate hint), not for a decision: no
    threshold, and ranked by the evidence before the 1.0 ceiling, then as ``decide`` ranks.
    """
    found = []
    for candidate in candidates:
        text = _best_text(new, candidate, thresholds.idf)
        if _below_gate(new, candidate, text[0], thresholds):
            continue
        assessed = _assess(new, candidate, thresholds, text)
        if assessed.rule is not None:
            scored = _explain(assessed)
            found.append(((scored.evidence, *_rank(scored, candidate)), scored))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [scored for _, scored in found]
