"""Mail intake without the web: the SMTP listener, an IMAP poller, and parsing saved messages."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from gateway import logs
from gateway.cli.common import build_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
def smtp(host: str, port: int) -> None:
    """Receive citizens' mail over SMTP for the HOTLINE_MAIL_DOMAINS (Ctrl-C stops)."""
    logs.configure()  # a long-running listener: its log in UTC with the offset
    import signal
    import threading

    from gateway.channels.smtp_listener import listener

    app = build_app()
    rt = app.extensions["hotline"]
    server = listener(rt, host, port)
    server.start()
    click.echo(f"hotline smtp listening on {host}:{port} for {', '.join(rt.settings.mail_domains)}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        rt.close()


@click.command()
@click.option("--host", required=True)
@click.option("--port", type=int, default=None, help="default 993 (SSL) or 143 (--no-ssl)")
@click.option("--user", required=True)
@click.option("--password-env", default="HOTLINE_IMAP_PASSWORD", show_default=True,
              help="environment variable holding the password")
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--ssl/--no-ssl", default=True, show_default=True)
@click.option("--loop", "interval", type=float, default=None, help="poll every N seconds instead of once")
def imap(host: str, port: int | None, user: str, password_env: str, folder: str, ssl: bool,
         interval: float | None) -> None:
    """Read new mail from an IMAP folder (one pass, or --loop N); UID checkpoints live in the database."""
    logs.configure()
    import time

    from gateway.channels.imap_poller import connect, poll_once

    password = os.environ.get(password_env)
    if password is None:
        raise click.ClickException(f"{password_env} is not set")
    app = build_app()
    rt = app.extensions["hotline"]
    try:
        while True:
            conn = connect(host, port, user, password, ssl=ssl)
            try:
                result = poll_once(rt, conn, user, folder)
            finally:
                try:
                    conn.logout()
                except OSError:
                    pass
            click.echo(json.dumps(result.__dict__))
            if interval is None:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


@click.group()
def parse() -> None:
    """Show what an adapter makes of saved payloads (nothing is stored)."""


@parse.command("email")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
def parse_email(files: tuple[str, ...]) -> None:
    """Print one JSON line per mail file: sender, subject, text, attachments, thread reference, defects."""
    from adapters import email as email_adapter
    from adapters.base import AdapterError, RawInbound

    for name in files:
        line: dict[str, Any] = {"file": name}
        try:
            with open(name, "rb") as fh:
                data = fh.read(email_adapter.MAX_BYTES + 1)
            report = email_adapter.parse(RawInbound(channel="email", body=data))
        except OSError as exc:
            line["error"] = {"field": "file", "message": exc.strerror or str(exc)}
        except AdapterError as exc:
            line["error"] = exc.as_dict()
        else:
            line.update(
                sender={"name": report.name, "email": report.email}, subject=report.title, text=report.text,
                attachments=[{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                             for a in report.attachments],
                thread={"case_ref": report.case_ref, "in_reply_to": report.in_reply_to},
                message_id=report.message_id,
                date=report.received_at.isoformat() if report.received_at else None,
                auto_generated=report.extra.get("auto_generated"), defects=report.defects,
            )
        click.echo(json.dumps(line, ensure_ascii=False))
