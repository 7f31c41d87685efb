"""One log format for every process of the gateway: the time in UTC with its offset written
(2026-12-07T05:07:57.123+00:00), the level, the logger and the message. The city's time is for pages and
messages to people; logs of the web server, the workers and the cron scheduler (which runs in the city's
time zone for RQ's cron strings) read the same clock. Records are masked before any handler sees them
(gateway.trust.privacy installs the record factory)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import IO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    """asctime as ISO 8601 in UTC with the offset, whatever the process's TZ."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


def configure(level: str | int = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Give the root logger the gateway's handler once (RQ then adds none of its own, whose times are local)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, UTCFormatter):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(UTCFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else str(level).upper())
    return handler
