"""Running the gateway: web server, worker pool and scheduler together (`hotline run`), or one of them."""

from __future__ import annotations

import os
import sys

import click

from gateway import logs
from gateway.broker import QUEUES
from gateway.cli.common import build_app, say, worker_command


@click.command()
@click.option("-n", "--workers", type=int, default=None, help="worker processes (default: HOTLINE_WORKERS)")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUES),
              help="take jobs from this queue only (repeat for more; default: all)")
def worker(workers: int | None, burst: bool, queues: tuple[str, ...]) -> None:
    """Run the RQ worker pool."""
    build_app()  # fail early, with a clear message, on bad configuration
    args = (["-n", str(workers)] if workers is not None else []) + (["--burst"] if burst else [])
    args += [option for name in queues for option in ("--queue", name)]
    os.execv(sys.executable, worker_command(*args))


@click.command()
def cron() -> None:
    """Run RQ's cron scheduler for the periodic jobs (sweeps, reports, follow-ups)."""
    build_app()
    os.execv(sys.executable, worker_command("--cron"))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, default=None, help="RQ worker processes (default: HOTLINE_WORKERS)")
@click.option("--threads", default=8, show_default=True, help="web server threads (per web process)")
@click.option("--web-processes", type=int, default=None,
              help="web server processes sharing the port (default: HOTLINE_WEB_PROCESSES)")
@click.option("--web-only", is_flag=True,
              help="only the web server: the worker pool and the scheduler run elsewhere (docs/DEPLOY.md)")
def run(host: str, port: int, workers: int | None, threads: int, web_processes: int | None, web_only: bool) -> None:
    """Start the web server, the worker pool and the scheduler together; Ctrl-C stops them all."""
    logs.configure()  # the web server's log in UTC with the offset, like the workers' and the scheduler's
    from gateway.cli import webserver
    from gateway.cli.supervisor import Supervisor

    app = build_app()
    rt = app.extensions["hotline"]
    settings = rt.settings
    processes = web_processes if web_processes is not None else settings.web_processes
    workers = workers if workers is not None else settings.workers
    if processes < 1:
        raise click.BadParameter("must be at least 1", param_hint="--web-processes")
    env = {**os.environ, "REDIS_URL": rt.broker.url, "HOTLINE_DATA_DIR": settings.data_dir,
           "HOTLINE_PROFILE": settings.profile_path, "HOTLINE_QUEUE_PREFIX": settings.queue_prefix}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    # Every child is watched and restarted with back-off when it dies (a Redis outage, a crash); stopping
    # `run` stops them and everything they started.
    children = Supervisor(lambda line: click.echo(f"run: {line}", err=True))
    if not web_only:
        children.add("workers", worker_command("-n", str(workers)), env)
        children.add("cron", worker_command("--cron"), env)

    def ready(bound: int) -> None:
        click.echo(f"hotline gateway listening on http://{host}:{bound}/  (Ctrl-C to stop)")
        click.echo(f"  database: {rt.engine.url.render_as_string(hide_password=True)}")
        click.echo(f"  redis:    {rt.broker.url}  workers: {0 if web_only else workers}  "
                   f"web processes: {processes} x {threads} threads")

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
        say("stopping ...")  # the terminal or pipe may be gone already: stopping the children comes first
        children.stop()
        if sock is not None:
            sock.close()
        rt.close()
        say("stopped.")


@click.command(hidden=True)
@click.option("--threads", default=8, type=int)
@click.option("--fd", required=True, type=int, help="the listening socket inherited from `hotline run`")
def web(threads: int, fd: int) -> None:
    """One web server process of `hotline run --web-processes N`."""
    logs.configure()
    from gateway.cli import webserver

    app = build_app()
    try:
        webserver.serve(app, threads=threads, fd=fd)
    finally:
        app.extensions["hotline"].close()
