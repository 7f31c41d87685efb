"""The gateway's notion of now: UTC, aware; frozen in tests by the test-only setting `now`."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """Return the current time, or the app's frozen one (settings.now: a datetime or a callable)."""
    rt = current_app.extensions.get("hotline") if has_app_context() else None
    if rt is not None:
        override = rt.settings.now
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
