"""Keep what could not become a report, raw, for a person to look at (never lose a message)."""

from __future__ import annotations

from sqlmodel import Session

from gateway.models import Unparsed


def keep(session: Session, channel: str, body: bytes, headers: dict, error: str) -> Unparsed:
    """Store the raw message with its headers and the reason it was not parsed; the caller commits."""
    row = Unparsed(channel=channel[:16], body=bytes(body or b""), headers={str(k): str(v) for k, v in (headers or {}).items()},
                   error=str(error)[:2000])
    session.add(row)
    session.flush()
    return row
