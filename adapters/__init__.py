"""Channel adapters: raw channel payload -> InboundReport. Pure: no Flask, database or queue."""

from __future__ import annotations

from adapters.base import AdapterError, Attachment, Ignored, InboundReport, RawInbound

__all__ = ["AdapterError", "Attachment", "Ignored", "InboundReport", "RawInbound"]
