"""Keep what a channel received but could not turn into a report, for a person to look at."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.base import RawInbound
from gateway.clock import as_utc, utcnow
from gateway.models import Unparsed
from gateway.runtime import Runtime
from gateway.trust.privacy import SECRET_HEADERS, without_secrets

MAX_KEPT_BYTES = 2_000_000


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy headers as strings, with credentials replaced by a marker (credentials never go into the database,
    not even inside a rejected request): the secret headers, and any configured secret in another header."""
    return {str(k): ("[redacted]" if str(k).lower() in SECRET_HEADERS else without_secrets(str(v)[:2000]))
            for k, v in headers.items()}


def keep(target: Runtime | Engine | Session, channel: str, raw: RawInbound, error: Any,
         **context: Any) -> int:
    """Store the raw input and why it failed as an Unparsed row; return its id.

    ``target`` is a runtime or engine (the row is committed here) or an open session (the
    caller commits). ``error`` may be an AdapterError, an exception or a message; ``context``
    (file name, line number ...) is kept with the headers.
    """
    message = error.as_dict() if hasattr(error, "as_dict") else None
    text = f"{message['field']}: {message['message']}" if message else str(error)
    headers = redacted_headers(raw.headers)
    headers.update({f"x-context-{k}": str(v) for k, v in context.items()})
    row = Unparsed(
        channel=channel[:16],
        error=text.replace("\x00", "")[:4000],  # PostgreSQL text cannot hold NUL
        headers=headers,
        body=bytes(raw.body[:MAX_KEPT_BYTES]),
        received_at=as_utc(raw.received_at) if raw.received_at else utcnow(),
    )
    if isinstance(target, Session):
        target.add(row)
        target.flush()
        assert row.id is not None
        return row.id
    engine = target.engine if isinstance(target, Runtime) else target
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id
