"""Routing (派单): territory first, then duty, from the city profile's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.profile import Category, Profile


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


def classify(profile: Profile, text: str, hint: str | None = None,
             prediction: tuple[str, float] | None = None) -> tuple[str | None, list[dict[str, Any]]]:
    """Pick a category: the reporter's or operator's hint, a confident model, the keywords; None means triage.

    ``prediction`` is the learned router's (board label, probability) when a model is loaded.
    """
    known = profile.category(hint)
    if known is not None:
        return known.code, [{"rule": "category_hint", "value": hint}]
    reasons: list[dict[str, Any]] = []
    candidates = profile.categories
    if prediction is not None:
        label, score = prediction
        threshold = model_threshold(profile)
        default = profile.router.get("labels", {}).get(label)
        narrowed = [c for c in profile.categories if c.board_category == label]
        if score >= threshold and (default or narrowed):
            code, hits = _by_keywords(narrowed or candidates, text)
            code = code or default or narrowed[0].code
            return code, [{"rule": "model", "label": label, "score": round(score, 4), "category": code,
                           "keyword_hits": hits}]
        reasons.append({"rule": "model_low_confidence", "label": label, "score": round(score, 4),
                        "threshold": threshold})
    code, hits = _by_keywords(candidates, text)
    if code is not None:
        return code, [*reasons, {"rule": "keywords", "category": code, "hits": hits}]
    if prediction is not None:
        return None, reasons  # a model that is unsure and no rule that decides: a person triages
    return "other", [{"rule": "no_keyword"}]


def model_threshold(profile: Profile) -> float:
    """The learned router's confidence at or above which its category is used (profile ``[router] threshold``)."""
    return float(profile.router.get("threshold", 0.6))


def _by_keywords(categories: list[Category], text: str) -> tuple[str | None, list[str]]:
    best: Category | None = None
    best_hits: list[str] = []
    for cat in categories:
        hits = [k for k in cat.keywords if k in text]
        if len(hits) > len(best_hits):
            best, best_hits = cat, hits
    return (best.code if best else None), best_hits


def district_government(profile: Profile, district: str | None) -> str | None:
    for dept in profile.departments:
        if dept.get("kind") == "district" and dept.get("district") == district:
            return str(dept["code"])
    return None


def office(profile: Profile) -> str | None:
    """The coordinating office's department code (督办)."""
    return next((str(d["code"]) for d in profile.departments if d.get("kind") == "office"), None)


def route(profile: Profile, text: str, *, category_hint: str | None = None, address: str | None = None,
          district_hint: str | None = None, addressed_unit: str | None = None,
          prediction: tuple[str, float] | None = None) -> Route:
    """Decide category and departments: territory first, then duty; the first duty department leads.

    The unit a citizen addressed is a suggestion: it leads when it is a known department that
    handles the category (or the district government of a category handled by districts), and
    it decides alone only when nothing else does.
    """
    district, street = locate(profile, text, address, district_hint)
    category, reasons = classify(profile, text, category_hint, prediction)
    cat = profile.category(category)
    codes: list[str] = []
    for code in (cat.departments if cat else []):
        resolved = district_government(profile, district) if code == "DISTRICT" else code
        if resolved and resolved not in codes:
            codes.append(resolved)
        if code == "DISTRICT" and not resolved:
            reasons.append({"rule": "no_district", "detail": "place unknown; district government cannot be chosen"})
    suggested = profile.department(addressed_unit)
    if addressed_unit:
        note: dict[str, Any] = {"rule": "addressed_unit", "value": addressed_unit,
                                "known": suggested is not None, "used": False}
        reasons.append(note)
        if suggested is not None and suggested.get("kind") != "office":
            code = str(suggested["code"])
            compatible = code in codes or (cat is not None and code in cat.departments) or (
                suggested.get("kind") == "district" and cat is not None and "DISTRICT" in cat.departments)
            if compatible or not codes:
                codes = [code, *[c for c in codes if c != code and not _same_duty(profile, c, code)]]
                note.update(used=True, why="compatible with the category" if compatible else "nothing else decided")
                if suggested.get("kind") == "district" and not district:
                    district = suggested.get("district")
                category = category or "other"
    triage = not codes
    if triage:
        codes = [head] if (head := office(profile)) else []
        reasons.append({"rule": "triage", "detail": "no owner found; the coordinating office decides"})
    departments = [(code, "lead" if i == 0 else "assist") for i, code in enumerate(codes)]
    return Route(category or "other", departments, district, street, reasons, triage)


def _same_duty(profile: Profile, a: str, b: str) -> bool:
    """Two district governments stand for the same duty (属地): the addressed one replaces the guessed one."""
    kinds = {d["code"]: d.get("kind") for d in profile.departments}
    return kinds.get(a) == kinds.get(b) == "district"
