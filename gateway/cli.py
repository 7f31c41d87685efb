"""The `hotline` command: run the gateway, its workers, imports, evaluations."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gateway.config import ConfigError


def _say(line: str) -> None:
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
@click.option("--threads", default=8, show_default=True, help="web server threads (per web process)")
@click.option("--web-processes", type=int, default=None,
              help="web server processes sharing the port (default: HOTLINE_WEB_PROCESSES, else 1)")
def run(host: str, port: int, workers: int, threads: int, web_processes: int | None) -> None:
    """Start the web server, the worker pool and the scheduler together; Ctrl-C stops them all."""
    from gateway import webserver
    from gateway.children import Supervisor

    app = build_app()
    rt = app.extensions["hotline"]
    processes = web_processes if web_processes is not None else int(app.config.get("WEB_PROCESSES") or 1)
    if processes < 1:
        raise click.BadParameter("must be at least 1", param_hint="--web-processes")
    env = {**os.environ, "REDIS_URL": rt.broker.url, "HOTLINE_DATA_DIR": app.config["DATA_DIR"],
           "HOTLINE_PROFILE": app.config["PROFILE_PATH"], "HOTLINE_QUEUE_PREFIX": app.config["QUEUE_PREFIX"]}
    if app.config.get("DATABASE_URL"):
        env["DATABASE_URL"] = app.config["DATABASE_URL"]
    # Every child is watched and restarted with back-off when it dies (a Redis outage, a crash); stopping
    # `run` stops them and everything they started.
    children = Supervisor(lambda line: click.echo(f"run: {line}", err=True))
    children.add("workers", _worker_command("-n", str(workers)), env)
    children.add("cron", _worker_command("--cron"), env)

    def ready(bound: int) -> None:
        click.echo(f"hotline gateway listening on http://{host}:{bound}/  (Ctrl-C to stop)")
        click.echo(f"  database: {rt.engine.url.render_as_string(hide_password=True)}")
        click.echo(f"  redis:    {rt.broker.url}  workers: {workers}  web processes: {processes} x {threads} threads")

    sock = None
    try:
        if processes == 1:
            children.start()
            webserver.serve(app, threads=threads, host=host, port=port, ready=ready)
        else:  # the web children build their own app; this process keeps the embedded Redis, if any
            sock = webserver.listen(host, port)
            command = [sys.executable, "-m", "gateway.cli", "web", "--threads", str(threads)]
            webserver.serve_processes(children, command, sock, processes, env=env, ready=ready)
    finally:
        _say("stopping ...")  # the terminal or pipe may be gone already: stopping the children comes first
        children.stop()
        if sock is not None:
            sock.close()
        rt.close()
        _say("stopped.")


@main.command(hidden=True)
@click.option("--threads", default=8, type=int)
@click.option("--fd", required=True, type=int, help="the listening socket inherited from `hotline run`")
def web(threads: int, fd: int) -> None:
    """One web server process of `hotline run --web-processes N`."""
    from gateway import webserver

    app = build_app()
    try:
        webserver.serve(app, threads=threads, fd=fd)
    finally:
        app.extensions["hotline"].close()


def register(command: click.Command) -> None:
    main.add_command(command)


from gateway import commands  # noqa: E402  (the other subcommands register themselves)

commands.register_all(main)

if __name__ == "__main__":
    main()
