"""Routing (派单): territory first, then duty, from the city profile's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.profile import Profile


@dataclass
class Route:
    category: str
    departments: list[tuple[str, str]]  # (department code, role)
    district: str | None
    street: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    triage: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "departments": [{"code": c, "role": r} for c, r in self.departments],
            "district": self.district,
            "street": self.street,
            "reasons": self.reasons,
            "triage": self.triage,
        }


def locate(profile: Profile, text: str, address: str | None = None, hint: str | None = None) -> tuple[str | None, str | None]:
    """Find the district and street named in the hint, the address, then the text."""
    for source in (hint, address, text):
        if not source:
            continue
        for district in profile.territory.get("districts", []):
            names = [district["name"], *district.get("aliases", [])]
            street = next((s for s in district.get("streets", []) if s in source or s.removesuffix("街道") + "街" in source), None)
            if any(n and n in source for n in names) or street:
                return district["name"], street
    return None, None


def classify(profile: Profile, text: str, hint: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Pick a category by the profile's keywords; the reporter's or operator's hint wins when known."""
    known = profile.category(hint)
    if known is not None:
        return known.code, [{"rule": "category_hint", "value": hint}]
    best, best_hits = None, []
    for cat in profile.categories:
        hits = [k for k in cat.keywords if k in text]
        if len(hits) > len(best_hits):
            best, best_hits = cat, hits
    if best is None:
        return "other", [{"rule": "no_keyword"}]
    return best.code, [{"rule": "keywords", "category": best.code, "hits": best_hits}]


def district_government(profile: Profile, district: str | None) -> str | None:
    for dept in profile.departments:
        if dept.get("kind") == "district" and dept.get("district") == district:
            return str(dept["code"])
    return None


def route(profile: Profile, text: str, *, category_hint: str | None = None, address: str | None = None,
          district_hint: str | None = None) -> Route:
    """Decide category and departments: the first duty department leads, the others assist."""
    district, street = locate(profile, text, address, district_hint)
    category, reasons = classify(profile, text, category_hint)
    cat = profile.category(category)
    codes: list[str] = []
    for code in (cat.departments if cat else ["DISTRICT"]):
        resolved = district_government(profile, district) if code == "DISTRICT" else code
        if resolved and resolved not in codes:
            codes.append(resolved)
        if code == "DISTRICT" and not resolved:
            reasons.append({"rule": "no_district", "detail": "place unknown; district government cannot be chosen"})
    triage = not codes
    if triage:
        office = next((d["code"] for d in profile.departments if d.get("kind") == "office"), None)
        codes = [office] if office else []
        reasons.append({"rule": "triage", "detail": "no owner found; the coordinating office decides"})
    departments = [(code, "lead" if i == 0 else "assist") for i, code in enumerate(codes)]
    return Route(category, departments, district, street, reasons, triage)
