"""What every `hotline` subcommand shares: building the app with a clear error, printing to a gone terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gateway.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]  # the checkout or installation holding worker.py


def say(line: str) -> None:
    """Print a line if anyone still reads our output."""
    try:
        click.echo(line)
    except OSError:
        pass


def build_app() -> Any:
    from gateway import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "worker.py"), *args]
