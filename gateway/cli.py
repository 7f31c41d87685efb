"""The `hotline` command: run the gateway, its workers, imports, evaluations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from gateway.config import ConfigError


def build_app() -> Any:
    from gateway import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """The city's unified intake gateway (12345 hotline, message board, SMS, email, Open311)."""


def _worker_command(*args: str) -> list[str]:
    root = Path(__file__).resolve().parent.parent
    return [sys.executable, str(root / "worker.py"), *args]


@main.command()
@click.option("-n", "--workers", default=2, show_default=True, help="worker processes")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(workers: int, burst: bool) -> None:
    """Run the RQ worker pool."""
    build_app()  # fail early, with a clear message, on bad configuration
    args = ["-n", str(workers)] + (["--burst"] if burst else [])
    os.execv(sys.executable, _worker_command(*args))


@main.command()
def cron() -> None:
    """Run RQ's cron scheduler for the periodic jobs (sweeps, reports, follow-ups)."""
    build_app()
    os.execv(sys.executable, _worker_command("--cron"))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, help="RQ worker processes")
@click.option("--threads", default=8, show_default=True, help="web server threads")
def run(host: str, port: int, workers: int, threads: int) -> None:
    """Start the web server, the worker pool and the scheduler together; Ctrl-C stops them all."""
    from waitress import create_server

    app = build_app()
    rt = app.extensions["hotline"]
    env = {**os.environ, "REDIS_URL": rt.broker.url, "HOTLINE_DATA_DIR": app.config["DATA_DIR"],
           "HOTLINE_PROFILE": app.config["PROFILE_PATH"], "HOTLINE_QUEUE_PREFIX": app.config["QUEUE_PREFIX"]}
    if app.config.get("DATABASE_URL"):
        env["DATABASE_URL"] = app.config["DATABASE_URL"]
    children = [
        subprocess.Popen(_worker_command("-n", str(workers)), env=env),
        subprocess.Popen(_worker_command("--cron"), env=env),
    ]
    server = create_server(app, host=host, port=port, threads=threads)

    def _stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"hotline gateway listening on http://{host}:{server.effective_port}/  (Ctrl-C to stop)")
    click.echo(f"  database: {rt.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"  redis:    {rt.broker.url}  workers: {workers}")
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopping ...")
    finally:
        server.close()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        rt.close()
        click.echo("stopped.")


def register(command: click.Command) -> None:
    main.add_command(command)


from gateway import commands  # noqa: E402  (the other subcommands register themselves)

commands.register_all(main)

if __name__ == "__main__":
    main()
