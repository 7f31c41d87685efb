"""The normalized report every channel adapter produces, and the adapters' shared errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

CHANNELS = ("web", "board", "hotline", "sms", "email", "open311", "voice")

APPEAL_TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬", "其他")


class AdapterError(ValueError):
    """Raised by an adapter when a payload cannot become a report.

    ``field`` names what is wrong so that a transport can answer 400/422 with it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class Ignored(Exception):
    """Raised by an adapter for a well-formed payload that carries no report (status callback, bounce)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RawInbound:
    """What a transport received, before any interpretation."""

    channel: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, list[str]] = field(default_factory=dict)
    received_at: datetime | None = None


@dataclass
class Attachment:
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    url: str | None = None  # to fetch later (MMS media)
    data: bytes | None = None  # inline content (mail parts)


@dataclass
class InboundReport:
    """One inbound message, normalized; the only thing `gateway.intake.ingest` accepts."""

    channel: str
    text: str
    external_id: str | None = None
    title: str | None = None
    received_at: datetime | None = None
    # the reporter
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    board_user: str | None = None
    anonymous: bool = False
    # the matter
    address: str | None = None
    district: str | None = None
    lat: float | None = None
    lon: float | None = None
    category_hint: str | None = None
    appeal_type: str | None = None
    addressed_unit: str | None = None
    urgency: str | None = None  # normal | urgent (紧急)
    complexity: str | None = None  # normal | complex (特别复杂): the especially-complex deadline rule
    public: bool | None = None  # what the citizen chose; None: not asked (the city profile decides, default private)
    # the call (hotline): the call-centre system's id of the call and where its recording can be played
    call_id: str | None = None
    recording_url: str | None = None
    # threading
    case_ref: str | None = None  # a case number the citizen quoted
    in_reply_to: list[str] = field(default_factory=list)  # message ids (mail)
    message_id: str | None = None
    # what came with it
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-serializable channel details
    raw: bytes = b""

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise AdapterError("channel", f"unknown channel {self.channel!r}")
