"""Masking of personal data (phones, e-mails, names) in anything the public board shows."""

from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import or_
from sqlmodel import Session, select

from gateway.models import Case, Contact, Report

# A phone or ID-like run of 7+ digits (separators allowed), not glued to letters or digits: case numbers
# such as WH20261128-000042 start with letters and are left alone.
_DIGITS = re.compile(r"(?<![A-Za-z0-9])(?:\+?86[\s-]?)?\d(?:[\s-]?\d){6,}[\dXx]?(?![A-Za-z0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits of a number: 138****8001."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(value: str) -> str:
    """Keep the first letter of the mailbox and the domain: z***@example.com."""
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """Keep the family name: 张先生 -> 张**."""
    value = value.strip()
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


def mask_text(text: str | None, names: Iterable[str] = ()) -> str:
    """Mask every phone number, e-mail address and known name in a text shown to the public."""
    if not text:
        return ""
    out = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    out = _DIGITS.sub(lambda m: mask_phone(m.group(0)), out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def reporter_names(db: Session, case_ids: list[int]) -> dict[int, set[str]]:
    """Every name a reporter gave on these cases, so that it can be masked wherever it appears."""
    names: dict[int, set[str]] = {i: set() for i in case_ids}
    # Reports still on a case merged into one of these count too (one level: merges point at survivors).
    rows = db.exec(select(Report.case_id, Case.merged_into_id, Report.name, Contact.name)
                   .join(Case, Case.id == Report.case_id)  # type: ignore[arg-type]
                   .outerjoin(Contact, Contact.id == Report.contact_id)  # type: ignore[arg-type]
                   .where(or_(Report.case_id.in_(case_ids), Case.merged_into_id.in_(case_ids)))).all()  # type: ignore[union-attr]
    for case_id, merged_into, report_name, contact_name in rows:
        names[case_id if case_id in names else merged_into].update(n for n in (report_name, contact_name) if n)
    return names
