"""The city profile: departments, categories, territory, SLA and schedules, from one TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.config import ConfigError


@dataclass
class Category:
    code: str
    name: str
    keywords: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    description: str = ""
    group: str = ""
    board_category: str = ""  # the board's top-level category (the learned router's label) this belongs to
    # Questions asked when reporting this category (Open311 service definition attributes):
    # {code, datatype, required, description, order, values = [{key, name}], variable}.
    attributes: list[dict[str, Any]] = field(default_factory=list)
    national_class: str = ""  # its GB/T 39666-2020 major class, by name (gateway/data/gbt39666.toml); checked at load


@dataclass(frozen=True)
class NationalClass:
    """A major class (大类) of GB/T 39666-2020 政府热线服务分类与代码."""

    name: str
    code: str | None = None  # two digits; None where it is not verified against the standard text


NATIONAL_CLASSES = Path(__file__).resolve().parent / "data" / "gbt39666.toml"


@cache
def national_classes() -> tuple[NationalClass, ...]:
    """The twelve major classes, in the order of the data file (read once)."""
    with open(NATIONAL_CLASSES, "rb") as fh:
        rows = tomllib.load(fh)["classes"]
    return tuple(NationalClass(str(row["name"]), str(row["code"]) if row.get("code") else None) for row in rows)


@dataclass
class Profile:
    path: str
    city: dict[str, Any]
    messages: dict[str, str]
    dedupe: dict[str, Any]
    sla: dict[str, Any]
    schedule: dict[str, Any]
    territory: dict[str, Any]
    categories: list[Category]
    departments: list[dict[str, Any]]
    router: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.city.get("timezone", "Asia/Shanghai"))

    @property
    def code(self) -> str:
        return str(self.city.get("code", "GW"))

    @property
    def appeal_aliases(self) -> dict[str, str]:
        """`[city] appeal_aliases`: the city's own names of appeal types (谏言 = "建议"), checked at load."""
        return dict(self.city.get("appeal_aliases") or {})

    @property
    def infer_appeal_type(self) -> bool:
        """`[city] infer_appeal_type` (default true): guess the appeal type of a board, web, SMS, e-mail or Open311
        report from its words (adapters/appeal.py); off, such reports keep no type, as the hotline's never guessed."""
        return bool(self.city.get("infer_appeal_type", True))

    @property
    def retention_days(self) -> int | None:
        """`[city] retention_days`: how long after a case closes its reporters' personal data is kept (None: for ever)."""
        days = self.city.get("retention_days")
        return int(days) if days else None

    @property
    def repeat_window(self) -> timedelta:
        """`[schedule] repeat_window_hours`: a second report by the same person this soon is a repeat call."""
        return timedelta(hours=float(self.schedule.get("repeat_window_hours", 72)))

    @property
    def call_policy(self) -> CallPolicy:
        """`[calls]`: when and how often operators call citizens back (the phone work list)."""
        return call_policy(self.calls)

    def public_by_default(self, channel: str) -> bool:
        """Whether a report whose citizen was not asked is public: only on the channels `[city] public_channels`
        names (none by default: nothing is public unless the citizen chose it)."""
        return channel in (self.city.get("public_channels") or ())

    def category(self, key: str | None) -> Category | None:
        """Find a category by code or by its Chinese name."""
        if not key:
            return None
        for cat in self.categories:
            if key in (cat.code, cat.name):
                return cat
        return None

    def national_class(self, key: str | None) -> NationalClass | None:
        """The GB/T 39666-2020 major class of a category (by code or name); None without a known category."""
        cat = self.category(key)
        return next((n for n in national_classes() if cat and n.name == cat.national_class), None)

    def department(self, code: str | None) -> dict[str, Any] | None:
        """Find a department by code or by its name (a board post names the unit it writes to)."""
        if not code:
            return None
        wanted = code.strip()
        return next((d for d in self.departments if wanted in (d["code"], d.get("name"))), None)

    def district_names(self) -> list[str]:
        return [d["name"] for d in self.territory.get("districts", [])]

    def message(self, key: str, **values: Any) -> str:
        return self.messages.get(key, key).format(**values)


def load_profile(path: str | Path) -> Profile:
    """Read and check a profile file; a broken file fails start-up naming HOTLINE_PROFILE."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: {exc}") from None
    try:
        categories = [Category(**c) for c in data.get("categories", [])]
        departments = list(data.get("departments", []))
        codes = {d["code"] for d in departments}
    except (TypeError, KeyError) as exc:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: bad category or department entry ({exc})") from None
    for cat in categories:
        _check_attributes(path, cat)
        unknown = [d for d in cat.departments if d != "DISTRICT" and d not in codes]
        if unknown:
            raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: category {cat.code} names unknown departments {unknown}")
        _check_national_class(path, cat)
    _check_parents(path, departments)
    router = dict(data.get("router", {}))
    known = {c.code for c in categories}
    bad = {label: code for label, code in dict(router.get("labels", {})).items() if code not in known}
    if bad:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: [router.labels] maps to unknown categories {bad}")
    from adapters.base import APPEAL_TYPES

    wrong = {k: v for k, v in dict(data.get("city", {}).get("appeal_aliases") or {}).items() if v not in APPEAL_TYPES}
    if wrong:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: [city] appeal_aliases must name one of "
                          f"{'/'.join(APPEAL_TYPES)}, not {wrong}")
    if not isinstance(data.get("city", {}).get("infer_appeal_type", True), bool):
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: [city] infer_appeal_type must be true or false")
    return Profile(
        path=str(path),
        city=data.get("city", {}),
        messages=data.get("messages", {}),
        dedupe=data.get("dedupe", {}),
        sla=data.get("sla", {}),
        schedule=data.get("schedule", {}),
        territory=data.get("territory", {}),
        categories=categories,
        departments=departments,
        router=router,
        calls=_checked_calls(path, data.get("calls", {})),
    )


@dataclass(frozen=True)
class CallPolicy:
    """The phone work list's rules: calls between `start` and `end` (city time) on working days, `attempts` tries
    spread over `over_working_days`, an item held by its operator for `lease_minutes`."""

    start: time = time(8, 0)
    end: time = time(21, 0)
    attempts: int = 3
    over_working_days: float = 2.0
    lease_minutes: int = 15


def call_policy(calls: dict[str, Any]) -> CallPolicy:
    default = CallPolicy()
    start, end = default.start, default.end
    if calls.get("hours"):
        first, _, last = str(calls["hours"]).partition("-")
        start, end = time.fromisoformat(first.strip().zfill(5)), time.fromisoformat(last.strip().zfill(5))
    return CallPolicy(start=start, end=end, attempts=int(calls.get("attempts", default.attempts)),
                      over_working_days=float(calls.get("over_working_days", default.over_working_days)),
                      lease_minutes=int(calls.get("lease_minutes", default.lease_minutes)))


def _checked_calls(path: str | Path, calls: Any) -> dict[str, Any]:
    """`[calls]` as given, once it reads: hours "HH:MM-HH:MM" (start before end), positive numbers."""
    try:
        policy = call_policy(dict(calls))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: [calls] cannot be read ({exc}); "
                          'expected hours = "08:00-21:00", attempts = 3, over_working_days = 2, lease_minutes = 15') from None
    if policy.start >= policy.end or policy.attempts < 1 or policy.over_working_days <= 0 or policy.lease_minutes < 1:
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: [calls] needs hours whose start is before their end, "
                          "attempts >= 1, over_working_days > 0 and lease_minutes >= 1")
    return dict(calls)


def _check_parents(path: str | Path, departments: list[dict[str, Any]]) -> None:
    """A department's `parent` names another department of the profile, and no unit is its own ancestor."""
    parents = {d["code"]: d.get("parent") for d in departments}
    for code, parent in parents.items():
        seen = {code}
        while parent:
            if parent not in parents:
                raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: department {code} has an unknown parent {parent!r}")
            if parent in seen:
                raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: department {code} is its own ancestor")
            seen.add(parent)
            parent = parents[parent]


def _check_national_class(path: str | Path, cat: Category) -> None:
    """Fail start-up on a category without one of the twelve GB/T 39666-2020 major classes: a figure filed under
    no class, or a misspelt one, would be missing from what a province's platform reads."""
    names = [n.name for n in national_classes()]
    if cat.national_class not in names:
        given = f"national_class {cat.national_class!r}" if cat.national_class else "no national_class"
        raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: category {cat.code} has {given}; "
                          f"expected one of the GB/T 39666-2020 major classes: {'、'.join(names)}")


ATTRIBUTE_TYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def _check_attributes(path: str | Path, cat: Category) -> None:
    """Fail start-up on a category attribute the Open311 service definition could not show."""
    for attribute in cat.attributes:
        if not isinstance(attribute, dict) or not str(attribute.get("code") or "").strip():
            raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: category {cat.code} has an attribute without a code")
        datatype = attribute.get("datatype", "string")
        if datatype not in ATTRIBUTE_TYPES:
            raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: category {cat.code} attribute {attribute['code']} "
                              f"has datatype {datatype!r}; expected one of {', '.join(ATTRIBUTE_TYPES)}")
        if datatype.endswith("valuelist") and not attribute.get("values"):
            raise ConfigError(f"HOTLINE_PROFILE={str(path)!r}: category {cat.code} attribute {attribute['code']} "
                              "is a list without values")
