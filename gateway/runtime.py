"""What `create_app` builds and every request or job uses: settings, engine, broker, profile, and the rooms' seams.

A seam is a function a lower room calls and a higher one provides (intake calls dedupe and the
acknowledgement; the board calls casework's satisfaction figures), wired by
`create_app`; None means the gateway runs without it. The platform imports no room, so a seam whose
value is a room's type is typed here by what the platform can name, and by that room where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Hashable, Optional

from flask import current_app
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway.broker import Broker, EmbeddedRedis
from gateway.config import Settings
from gateway.models import Case, Contact, Outbox, Report
from gateway.profile import Profile

if TYPE_CHECKING:
    from twilio.http import HttpClient

# (session, runtime, report, its contact) -> a gateway.intake.ingest.Match, or None: which case a new report joins.
Matcher = Callable[[Session, "Runtime", Report, Optional[Contact]], Any]
# (session, runtime, case, report) after the report joined the case.
Indexer = Callable[[Session, "Runtime", Case, Report], None]
# (session, runtime, case, report, link) -> outbox rows to send after the commit.
AfterIngest = Callable[[Session, "Runtime", Case, Report, str], list[Outbox]]
# (session, case ids) -> case id -> the latest satisfaction label.
CaseSatisfaction = Callable[[Session, list[int]], dict[int, str]]


@dataclass
class Runtime:
    """One app's shared parts. `settings` is replaced whole (dataclasses.replace), never changed in place."""

    settings: Settings
    engine: Engine
    broker: Broker
    profile: Profile
    embedded_redis: EmbeddedRedis | None = None
    # Intake's seams (gateway.intake.matching.install): the dedupe matcher (a Dedupe) and its indexer.
    matcher: Matcher | None = None
    dedupe_index: Indexer | None = None
    after_ingest: AfterIngest | None = None  # the citizen's acknowledgement on the channel they used (messaging)
    # Casework's follow-up answers (gateway.casework.followup) for the public board.
    case_satisfaction: CaseSatisfaction | None = None
    twilio_http_client: HttpClient | None = None  # replaces the SMS sender's HTTP edge (tests, proxies)
    # Read once per process, again when their stamp changes (casework's types: WorkCalendar, RouterModel).
    calendar: tuple[Hashable, Any] | None = None  # (notices' count and last import, the calendar)
    router_model: tuple[Hashable, Any] | None = None  # ((model path, mtime), the model)

    def close(self) -> None:
        self.engine.dispose()
        if self.embedded_redis is not None:
            self.embedded_redis.shutdown()


def current() -> Runtime:
    """The runtime of the current app (inside a request, a CLI command or a worker job)."""
    return current_app.extensions["hotline"]
