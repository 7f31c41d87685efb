"""What `create_app` builds and every request or job uses: settings, engine, broker, profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.engine import Engine

from gateway.broker import Broker, EmbeddedRedis
from gateway.config import Settings
from gateway.profile import Profile


@dataclass
class Runtime:
    """One app's shared parts. `settings` is replaced whole (dataclasses.replace), never changed in place."""

    settings: Settings
    engine: Engine
    broker: Broker
    profile: Profile
    embedded_redis: EmbeddedRedis | None = None
    services: dict[str, Any] = field(default_factory=dict)  # channel senders, router model, ...

    def close(self) -> None:
        self.engine.dispose()
        if self.embedded_redis is not None:
            self.embedded_redis.shutdown()


def current() -> Runtime:
    """The runtime of the current app (inside a request, a CLI command or a worker job)."""
    return current_app.extensions["hotline"]
