"""Outbound e-mail through the SMTP relay of HOTLINE_SMTP_URL, with a Message-ID we choose so replies thread."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from gateway.messaging.senders import DeliveryError, register
from gateway.models import Notification, Report
from gateway.runtime import Runtime


def message_id_for(rt: Runtime, notification: Notification) -> str:
    """A Message-ID (without brackets) that is the same on every retry of one notification."""
    domain = rt.settings.mail_from.rsplit("@", 1)[-1]
    digest = hashlib.sha256(f"{rt.settings.queue_prefix}:{notification.dedupe_key}".encode()).hexdigest()[:16]
    return f"hotline.{notification.id}.{digest}@{domain}"


def _thread_of(rt: Runtime, notification: Notification) -> list[str]:
    """The citizen's latest message ids on this case, for In-Reply-To/References."""
    if notification.case_id is None or not notification.address:
        return []
    # The delivery job's own session (SQLite allows one writer: a second session would wait for it).
    session = object_session(notification)
    if not isinstance(session, Session):  # none (the sessions this app opens are all SQLModel ones)
        with Session(rt.engine) as own:
            return _latest(own, notification)
    return _latest(session, notification)


def _latest(session: Session, notification: Notification) -> list[str]:
    report = session.exec(
        select(Report).where(Report.case_id == notification.case_id, Report.channel == "email",
                             Report.email == (notification.address or "").lower(), Report.message_id != None)  # noqa: E711
        .order_by(col(Report.id).desc())
    ).first()
    if report is None or not report.message_id:
        return []
    return [*(report.extra.get("in_reply_to") or [])[-5:], report.message_id]


def one_line(value: str | None) -> str:
    """A header value from a citizen's mail (a subject, an address, a Message-ID) without CR, LF or runs of
    spaces: a decoded subject may hold a line break, and a header with one cannot be sent at all."""
    return " ".join((value or "").split())


def build_message(rt: Runtime, notification: Notification) -> EmailMessage:
    """The mail: our Message-ID, In-Reply-To the citizen's mail, and Auto-Submitted so robots do not answer."""
    msg = EmailMessage()
    msg["From"] = formataddr((str(rt.profile.city.get("name", "")) + "12345", rt.settings.mail_from))
    msg["To"] = one_line(notification.address)
    msg["Subject"] = one_line(notification.subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{message_id_for(rt, notification)}>"
    thread = [one_line(m).replace(" ", "") for m in _thread_of(rt, notification)]
    if thread:
        msg["In-Reply-To"] = f"<{thread[-1]}>"
        msg["References"] = " ".join(f"<{m}>" for m in thread)
    msg["Auto-Submitted"] = "auto-replied" if notification.kind == "ack" else "auto-generated"  # RFC 3834
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(notification.body)
    return msg


def relay(rt: Runtime) -> smtplib.SMTP:
    """Connect (and log in) to the relay named by HOTLINE_SMTP_URL: smtp[s]://user:pass@host:port[?starttls=1]."""
    url = rt.settings.smtp_url
    if not url:
        raise DeliveryError("HOTLINE_SMTP_URL is not set", permanent=True)
    parts = urlparse(url)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=15)
    else:
        server = smtplib.SMTP(host, port or 25, timeout=15)
        if parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true"):
            server.starttls()
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


@register("email")
def send_email(rt: Runtime, notification: Notification) -> str | None:
    """Send one mail through the relay; return the Message-ID we gave it."""
    if not notification.address or "@" not in notification.address:
        raise DeliveryError("no e-mail address to send to", permanent=True)
    msg = build_message(rt, notification)
    try:
        with relay(rt) as server:
            server.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(f"relay refused the recipient: {codes}", permanent=all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"relay answered {exc.smtp_code}: {exc.smtp_error!r}"[:500], permanent=exc.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"relay unreachable: {exc}"[:500]) from None
    return message_id_for(rt, notification)
