"""What dedupe remembers about a report, and the keys that find its candidate cases.

The gateway stores ``Features.to_dict()`` with the case (JSON) and one index row per
``(key, case_id)`` for ``block_keys(features)``; to find candidates for a new report it looks
up the same function's keys for the new report. Index and query use the same keys, so a
case within the time window always shares at least one territory key with the new report.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .identity import normalize_board_user, normalize_email, normalize_phone
from .place import (
    COMPANY,
    EMPTY_GAZETTEER,
    ENTITY_KINDS,
    HOUSE,
    PROJECT,
    ROAD,
    SITE,
    VETO_KINDS,
    Gazetteer,
    Place,
    PlaceToken,
)
from .problem import EMPTY, Signature, signature
from .text import MAX_SHINGLE_CHARS, band_keys, minhash, normalize, shingles, stable_hash

FEATURES_VERSION = 1
# Joins shingles in the compact form (one string splits faster than a JSON list parses). A shingle
# holds CJK characters, [a-z0-9'] and single spaces only, so "|" never occurs in one; it is one byte
# in JSON, where the older "\x1f" (key "sh", still read) took six.
_SEP = "|"
_OLD_SEP = "\x1f"
COMPACT_TEXT = 300  # the compact form keeps this much text (enough to find a place name mentioned)

# Key budget per report: persons 3 + territory-time 4 + places 4 + mentions 4 + LSH bands 8 = 23 keys,
# each under ~40 bytes, so an index row set stays well under 1 KB per case.
MAX_PERSON_KEYS = 3
MAX_PLACE_KEYS = 4
LSH_PERM = 32
LSH_BANDS = 8  # 4 rows per band: a pair with shingle Jaccard 0.5 shares a band with p ~ 0.4, 0.7 with p ~ 0.9


@dataclass(frozen=True)
class Features:
    """The comparable essence of one report; JSON-serializable through ``to_dict``."""

    text: str
    shingles: frozenset[str] = field(default_factory=frozenset, repr=False)
    place: Place = field(default_factory=Place)
    category: str | None = None
    contacts: tuple[str, ...] = ()
    time: datetime | None = None
    channel: str | None = None
    point: tuple[float, float] | None = None  # (lat, lon) when the channel gave coordinates
    source: str = field(default="", repr=False, compare=False)  # the text the shingles were cut from
    topics: frozenset[str] = frozenset()  # kinds of problem named (the words of the profile's [dedupe.topics])
    problem: Signature = EMPTY  # the objects and faults named (dedupe/problem.py); a case's: all its reports'

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """Return a JSON-able dict. ``compact`` stores no shingles (they are cut again when read): only
        the text when the shingles' source is that text without its place names (a single report's
        case, the usual one), else the first ``COMPACT_TEXT`` characters and the source; or the
        shingles joined by "|" when the source no longer yields them all (a case whose reports' texts
        outgrew the source)."""
        text, stored = (self.text, {"shingles": sorted(self.shingles)}) if not compact else self._compact()
        return {
            "v": FEATURES_VERSION,
            "text": text,
            **stored,
            "place": self.place.to_dict(),
            "category": self.category,
            "contacts": list(self.contacts),
            "time": self.time.isoformat() if self.time else None,
            "channel": self.channel,
            "point": list(self.point) if self.point else None,
            **({"tp": sorted(self.topics)} if self.topics else {}),
            "pb": self.problem.to_list(),  # even when empty: a case read back need not look again
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Features:
        text = data.get("text") or ""
        stored = data.get("shingles")
        source = data.get("source") or ""
        if stored is None and "s" in data:
            stored = data["s"].split(_SEP) if data["s"] else ()
        if stored is None and "sh" in data:
            stored = data["sh"].split(_OLD_SEP) if data["sh"] else ()
        place = Place.from_dict(data.get("place") or {})
        if stored is None:
            source = source or source_of(text, place)
            stored = shingles(source, normalized=True)
        return cls(
            text=text,
            shingles=frozenset(stored),
            source=source,
            place=place,
            category=data.get("category"),
            contacts=tuple(data.get("contacts") or ()),
            time=parse_time(data.get("time")),
            channel=data.get("channel"),
            point=_point(data.get("point")),
            topics=frozenset(data.get("tp") or ()),
            # stored before problem signatures existed: read from the stored text
            problem=Signature.from_list(data["pb"]) if "pb" in data else signature(text),
        )

    def _compact(self) -> tuple[str, dict[str, Any]]:
        """The stored text and the stored form of the shingles (see ``to_dict``)."""
        if not self.source or shingles(self.source, normalized=True) != self.shingles:
            return self.text[:COMPACT_TEXT], {"s": _SEP.join(sorted(self.shingles))}
        for cut in (COMPACT_TEXT, MAX_SHINGLE_CHARS):
            if source_of(self.text[:cut], self.place) == self.source:
                return self.text[:cut], {}
            if len(self.text) <= cut:
                break
        return self.text[:COMPACT_TEXT], {"source": self.source}


def _point(value: Any) -> tuple[float, float] | None:
    if not value:
        return None
    lat, lon = float(value[0]), float(value[1])
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def parse_time(value: Any) -> datetime | None:
    """Return an aware UTC datetime from a datetime or an ISO / "2019/9/5 12:29:01" string; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("/", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            date_part, _, time_part = text.partition(" ")
            y, m, d = (int(x) for x in date_part.split("-"))
            hh, mm, ss = ([int(x) for x in time_part.split(":")] + [0, 0, 0])[:3] if time_part else (0, 0, 0)
            moment = datetime(y, m, d, hh, mm, ss)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _get(report: Any, *names: str) -> Any:
    mapping = isinstance(report, dict) or isinstance(report, Mapping)  # a dict first: no ABC check
    for name in names:
        value = report.get(name) if mapping else getattr(report, name, None)
        if value not in (None, ""):
            return value
    return None


def contact_ids(report: Any) -> tuple[str, ...]:
    """Return the reporter's identities as prefixed ids: the gateway's contact id, phone, e-mail, board user."""
    ids: list[str] = []
    contact = _get(report, "contact_id")
    if contact is not None:
        ids.append(f"c:{contact}")
    phone = normalize_phone(_get(report, "phone"))
    if phone:
        ids.append(f"tel:{phone}")
    email = normalize_email(_get(report, "email"))
    if email:
        ids.append(f"mail:{email}")
    board = normalize_board_user(_get(report, "board_user"))
    if board:
        ids.append(f"board:{board}")
    return tuple(ids)


def extract(report_like: Any, gazetteer: Gazetteer | None = None, topics: Mapping[str, str] | None = None) -> Features:
    """Return the features of a report given as a dict (or an ``InboundReport``-like object).

    ``topics`` maps the city's problem words to a kind of problem ("油烟" -> the city-management
    category); the kinds a text names let two differently worded complaints about one place meet.

    Reads ``title``, ``text`` (or ``detail``/``body``), ``address``, ``district``, ``category``
    (or ``category_hint``), ``contact_id``, ``phone``, ``email``, ``board_user``,
    ``received_at`` (or ``time``) and ``channel``.
    """
    if is_dataclass(report_like) and not isinstance(report_like, type):
        report_like = {f.name: getattr(report_like, f.name) for f in fields(report_like)}
    title = _get(report_like, "title") or ""
    body = _get(report_like, "text", "detail", "body") or ""
    joined = f"{title}。{body}" if title else str(body)
    text = normalize(joined)
    place = (gazetteer or EMPTY_GAZETTEER).extract_place(
        joined, address=_get(report_like, "address"), district_hint=_get(report_like, "district")
    )
    source = source_of(text, place)
    return Features(
        text=text,
        shingles=frozenset(shingles(source, normalized=True)),
        source=source,
        place=place,
        category=_get(report_like, "category", "category_hint"),
        contacts=contact_ids(report_like),
        time=parse_time(_get(report_like, "received_at", "time")),
        channel=_get(report_like, "channel"),
        point=_point((lat, lon)) if (lat := _get(report_like, "lat")) is not None
        and (lon := _get(report_like, "lon")) is not None else None,
        topics=topics_in(text, topics),
        problem=signature(text),
    )


def topics_in(text: str, topics: Mapping[str, str] | None) -> frozenset[str]:
    """The kinds of problem whose words occur in a normalized text."""
    if not topics:
        return frozenset()
    return frozenset(kind for word, kind in topics.items() if word in text)


def source_of(text: str, place: Place) -> str:
    """The text a report's shingles are cut from: the head of its normalized text, without place names
    (so the stored head of the text gives it back)."""
    return without_place_names(text[:MAX_SHINGLE_CHARS], place)


def without_place_names(text: str, place: Place) -> str:
    """Blank the place names out of a normalized text, so that text similarity measures the matter.

    Place agreement is scored on its own; left in, a long estate name makes two different
    complaints about one estate look alike, and a template about two estates look different.
    """
    names = [t.name.lower() for t in place.tokens] + [n.lower() for n in (place.city, place.district, place.street) if n]
    for name in sorted(set(names), key=len, reverse=True):
        if len(name) >= 2:
            text = text.replace(name, " ")
    return text


def top_category(category: str | None) -> str:
    if not category:
        return "*"
    for separator in ("/", ">", "|"):
        category = category.split(separator)[0]
    return category.strip() or "*"


def time_bucket(moment: datetime, window_hours: float) -> int:
    """Return the index of the ``window_hours``-wide bucket (rounded up to whole days) holding ``moment``."""
    days = max(1, math.ceil(window_hours / 24))
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).days // days


GRID_DEGREES = 0.005  # a ~550 m cell (latitude); a report looks in its own and the eight neighbouring cells


def grid_cell(point: tuple[float, float]) -> tuple[int, int]:
    return math.floor(point[0] / GRID_DEGREES), math.floor(point[1] / GRID_DEGREES)


def block_keys(
    features: Features, window_hours: float = 72, lsh_bands: int = LSH_BANDS, *, query: bool = True
) -> list[str]:
    """Return the short keys under which a case is indexed (``query=False``) or a new report looks.

    - ``p:<contact>``: the same person, any time;
    - ``t:<d|s>:<district or street>|<top category>|<bucket>``: the same territory and category;
      a bucket is as wide as the window; a case is indexed under its bucket and a query looks in
      its own and the previous one, so two reports less than ``window_hours`` apart always meet;
    - ``g:<i>:<j>``: a ~550 m grid cell of the coordinates (a query looks in the 3x3 around it);
    - ``pl:<name>``: a named entity, estate/site, house number or road, any time (``place_keys``);
    - ``b<i>:<hash>``: MinHash LSH bands for near-verbatim copies, any time.
    """
    keys: list[str] = [f"p:{c}" for c in features.contacts[:MAX_PERSON_KEYS]]
    if features.time is not None:
        bucket = time_bucket(features.time, window_hours)
        buckets = (bucket, bucket - 1) if query else (bucket,)
        category = top_category(features.category)
        for level, name in (("d", features.place.district), ("s", features.place.street)):
            if name:
                keys.extend(f"t:{level}:{name}|{category}|{b}" for b in buckets)
    if features.point is not None:
        i, j = grid_cell(features.point)
        cells = [(i + di, j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)] if query else [(i, j)]
        keys.extend(f"g:{a}:{b}" for a, b in cells)
    keys.extend(place_keys(features))
    keys.extend(mention_keys(features, query=query))
    if features.shingles and lsh_bands:
        keys.extend(band_keys(minhash(features.shingles, LSH_PERM), bands=lsh_bands))
    return keys


# The order place keys are taken in, up to MAX_PLACE_KEYS: named entities need no district (a company, a
# project, a bus route), then sites, then house numbers on a road, then roads (a road's key holds every case on it).
PLACE_KEY_ORDER = (*ENTITY_KINDS, SITE, HOUSE, ROAD)


def place_keys(features: Features, *, exact: bool = False) -> list[str]:
    """``pl:<name>``: the report's named places, the most specific first; a site's or road's last four
    characters too, so that "万科魅力之城小区" and "魅力之城小区" meet. ``exact``: only the places named more
    closely than a road (entities, sites, house numbers: "京汉大道209号" has a key of its own), whose keys
    hold few cases each."""
    tokens = sorted((t for t in features.place.tokens if t.kind in PLACE_KEY_ORDER and not (exact and t.kind == ROAD)),
                    key=lambda t: PLACE_KEY_ORDER.index(t.kind))
    keys: list[str] = []
    for token in tokens:
        for candidate in _key_names(token):
            key = f"pl:{candidate}"
            if key not in keys and len(keys) < MAX_PLACE_KEYS:
                keys.append(key)
    return keys


def _key_names(token: PlaceToken) -> tuple[str, ...]:
    name = token.core.lower() if token.kind in (COMPANY, PROJECT) else token.name.lower()
    short = name[-4:] if token.kind in VETO_KINDS and len(name) > 4 and not name.isascii() else None
    return (name, short) if short else (name,)


def exact_places(features: Features) -> set[str]:
    """The places a report names more closely than a road: entities, estates and sites, buildings, house numbers."""
    return {t.name.lower() for t in features.place.tokens if t.kind != ROAD}


MAX_MENTION_KEYS = 4  # per case: the first and last three characters of its first named places
MENTION_CHARS = 40  # a new report looks up every three characters of this much of its text
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{3,}")


def mention_keys(features: Features, *, query: bool = True) -> list[str]:
    """``m:<three characters>``: a named place written short, without its kind ("南湖名都没气了",
    "华侨城南门那几家烧烤") still meets the case that named it in full ("南湖名都小区", "华侨城小区").

    A case is indexed under the first and the last three characters of its named places' cores; a
    new report looks under every three consecutive Chinese characters of the head of its text."""
    if query:
        grams = dict.fromkeys(run[i:i + 3] for run in _CJK_RUN.findall(features.text[:MENTION_CHARS])
                              for i in range(len(run) - 2))
        return [f"m:{g}" for g in grams]
    keys: list[str] = []
    for token in features.place.specific:
        core = token.core.lower()
        if token.kind == ROAD or len(core) < 3 or not _CJK_RUN.fullmatch(core):
            continue
        for gram in (core[:3], core[-3:]):
            if f"m:{gram}" not in keys and len(keys) < MAX_MENTION_KEYS:
                keys.append(f"m:{gram}")
    return keys


@functools.lru_cache(maxsize=1 << 14)  # territory, place and mention keys recur from report to report
def key_id(key: str) -> int:
    """Return a signed 32-bit id of a block key: what the gateway's index table stores (4 bytes, not ~30).

    Two keys may share an id (about one pair in 4 billion); that only adds a candidate, which
    the decision then scores like any other.
    """
    return (stable_hash(key) >> 32) - (1 << 31)


MAX_CASE_SHINGLES = 1500
MAX_CASE_CONTACTS = 8


def merge_features(case: Features, report: Features) -> Features:
    """Return one Features for a whole case: the union of its reports' shingles, places and contacts.

    Stored per case, so that ``decide`` compares one set per case (plus the first report's) instead
    of one per report. The first report's place stays the subject; the latest time counts.
    """
    shingles_ = case.shingles
    source = case.source
    if len(shingles_) < MAX_CASE_SHINGLES and report.shingles - shingles_:
        shingles_ = shingles_ | report.shingles
        if report.source and len(source) + len(report.source) < MAX_SHINGLE_CHARS:
            source = f"{source} {report.source}".strip()  # separate runs: the source's shingles stay the union
    names = {t.name for t in case.place.tokens}
    tokens = case.place.tokens + tuple(t for t in report.place.tokens if t.name not in names)
    place = Place(
        city=case.place.city or report.place.city,
        district=case.place.district or report.place.district,
        street=case.place.street or report.place.street,
        tokens=tokens[:12],
    )
    contacts = tuple(dict.fromkeys((*case.contacts, *report.contacts)))[:MAX_CASE_CONTACTS]
    times = [t for t in (case.time, report.time) if t is not None]
    return Features(
        text=case.text if len(case.text) >= 400 else f"{case.text} {report.text}"[:400],
        shingles=shingles_,
        place=place,
        category=case.category or report.category,
        contacts=contacts,
        time=max(times) if times else None,
        channel=case.channel,
        point=case.point or report.point,
        source=source,
        topics=case.topics | report.topics,
        problem=case.problem.union(report.problem),
    )


def case_keys(current: list[str], report_keys: list[str], max_place_keys: int = MAX_PLACE_KEYS) -> list[str]:
    """Return a case's index keys after one more report joins it, keeping the index small.

    Person keys accumulate (a case with several reporters finds each one's next report);
    territory-time keys are replaced by the newest report's, so an active case stays in the
    current window; place keys accumulate up to ``max_place_keys``; LSH band keys stay those of
    the first report. With one report, the result is its own keys. The gateway deletes the
    rows it no longer returns and inserts the new ones.
    """
    if not current:
        return list(report_keys)
    person = [k for k in current if k.startswith("p:")]
    person += [k for k in report_keys if k.startswith("p:") and k not in person]
    time_keys = [k for k in report_keys if k.startswith("t:")] or [k for k in current if k.startswith("t:")]
    time_keys += [k for k in report_keys if k.startswith("g:")] or [k for k in current if k.startswith("g:")]
    places = [k for k in current if k.startswith("pl:")]
    places += [k for k in report_keys if k.startswith("pl:") and k not in places]
    mentions = [k for k in current if k.startswith("m:")]
    mentions += [k for k in report_keys if k.startswith("m:") and k not in mentions]
    bands = [k for k in current if k.startswith("b")]
    return (person[: 2 * MAX_PERSON_KEYS] + time_keys + places[:max_place_keys]
            + mentions[: MAX_MENTION_KEYS * max_place_keys // MAX_PLACE_KEYS] + bands)
