"""Make the database's departments match the city profile."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.models import Department
from gateway.profile import Profile

FIELDS = ("name", "kind", "district", "delivery", "email", "webhook")


def seed_departments(engine: Engine, profile: Profile) -> None:
    """Insert or update every department of the profile (idempotent; safe from several processes)."""
    with Session(engine) as session:
        existing = {d.code: d for d in session.exec(select(Department)).all()}
        for spec in profile.departments:
            dept = existing.get(spec["code"]) or Department(code=spec["code"], name=spec["name"])
            for key in FIELDS:
                setattr(dept, key, spec.get(key, getattr(dept, key) if key in ("kind", "delivery") else None))
            dept.calendar = spec.get("calendar", "working")
            dept.sla = dict(spec.get("sla", {}))
            session.add(dept)
            existing[spec["code"]] = dept
        session.flush()
        for spec in profile.departments:  # parents by code, once every unit has its id
            parent = existing.get(spec.get("parent") or "")
            existing[spec["code"]].parent_id = parent.id if parent is not None else None
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process seeded at the same moment
