"""Per-unit API tokens: a department's system signs, replies, returns and asks for extensions over the JSON
API without a browser session. Created and revoked by an admin; stored as a SHA-256 digest (a token is
random, 256 bits: no slow hash is needed); the last use is recorded."""

from __future__ import annotations

import hashlib
import secrets

from flask import Request
from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway.clock import utcnow
from gateway.models import ApiToken, Department, User, id_of
from gateway.runtime import current

PREFIX = "hlt_"
# What a token may do: its unit's assignments, and reading its unit's cases. Nothing else answers to one.
ENDPOINTS = frozenset({"workflow.sign", "workflow.reply", "workflow.return_", "workflow.extension",
                       "workflow.contact", "workflow.suspend", "workflow.resume", "workflow.pass_on",
                       "api.list_cases", "api.get_case"})


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, department: Department, name: str, actor: str) -> tuple[ApiToken, str]:
    """A new token for the unit: (row, the token itself, to be shown once). The caller commits."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(department_id=id_of(department), name=name.strip()[:100] or department.code, digest=digest(token),
                   prefix=token[:12], created_by=actor)
    session.add(row)
    return row, token


def user_for(request: Request) -> User | None:
    """Flask-Login's request loader: the unit behind `Authorization: Bearer hlt_...`, on the endpoints a token
    may use; a transient department user named after the token (never stored)."""
    if request.endpoint not in ENDPOINTS:
        return None
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 100:
        return None
    with Session(current().engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.digest == digest(token.strip()),
                                                  col(ApiToken.revoked_at).is_(None))).first()
        if row is None:
            return None
        session.exec(update(ApiToken).where(col(ApiToken.id) == row.id).values(last_used_at=utcnow()))
        session.commit()
        return User(id=None, username=f"token:{row.name}", display_name=row.name, password_hash="", role="department",
                    department_id=row.department_id)
