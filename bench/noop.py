"""An empty job: RQ's own ceiling on a worker class, with no gateway work inside."""

from __future__ import annotations


def noop() -> None:
    """Do nothing."""
