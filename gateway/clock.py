"""The gateway's notion of now: UTC, aware; overridable in tests through the app config."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """Return the current time, or the frozen time set in config["NOW"] (a callable or datetime)."""
    if has_app_context():
        override = current_app.config.get("NOW")
        if callable(override):
            return as_utc(override())
        if override is not None:
            return as_utc(override)
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive datetime (SQLite returns naive ones) and convert aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
