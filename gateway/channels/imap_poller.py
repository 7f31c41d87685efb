"""The IMAP poller: read new mail by UID, checkpointed (UIDVALIDITY + last UID) in the database."""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from gateway.channels.mail_inbound import process_message
from gateway.clock import utcnow
from gateway.models import MailCheckpoint
from gateway.runtime import Runtime

log = logging.getLogger(__name__)


class ImapError(RuntimeError):
    """The IMAP server refused a command; the message says which."""


@dataclass
class PassResult:
    mailbox: str
    uidvalidity: int
    read: int
    last_uid: int


def _ok(answer: tuple[str, list], what: str) -> list:
    status, data = answer
    if status != "OK":
        raise ImapError(f"IMAP {what} failed: {data!r}"[:300])
    return data


def _checkpoint(rt: Runtime, mailbox: str) -> MailCheckpoint:
    with Session(rt.engine, expire_on_commit=False) as session:
        row = session.exec(select(MailCheckpoint).where(MailCheckpoint.mailbox == mailbox)).first()
        if row is not None:
            return row
        session.add(MailCheckpoint(mailbox=mailbox))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        return session.exec(select(MailCheckpoint).where(MailCheckpoint.mailbox == mailbox)).one()


def _advance(rt: Runtime, mailbox: str, uidvalidity: int, uid: int) -> None:
    with Session(rt.engine) as session:
        row = session.exec(select(MailCheckpoint).where(MailCheckpoint.mailbox == mailbox)).one()
        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, uid, utcnow()
        session.add(row)
        session.commit()


def poll_once(rt: Runtime, conn: imaplib.IMAP4, user: str, folder: str = "INBOX") -> PassResult:
    """Read every message above the checkpoint, oldest first; the checkpoint moves after each one is stored."""
    mailbox = f"{user}@{conn.host}/{folder}"
    _ok(conn.select(folder, readonly=True), f"SELECT {folder}")
    validity = conn.response("UIDVALIDITY")[1]  # imaplib keeps the [UIDVALIDITY n] code of the SELECT answer
    uidvalidity = int(validity[-1]) if validity and validity[-1] else 0
    point = _checkpoint(rt, mailbox)
    last = point.last_uid if point.uidvalidity == uidvalidity else 0  # a new UIDVALIDITY: every UID is new
    if point.uidvalidity != uidvalidity and point.uidvalidity:
        log.warning("%s: UIDVALIDITY changed %s -> %s; reading the folder again (replays are ignored)",
                    mailbox, point.uidvalidity, uidvalidity)
    data = _ok(conn.uid("SEARCH", f"UID {last + 1}:*"), "UID SEARCH")
    uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last)  # "n:*" always matches the last one
    read = 0
    for uid in uids:
        fetched = _ok(conn.uid("FETCH", str(uid), "(UID BODY.PEEK[])"), f"UID FETCH {uid}")
        body = next((part[1] for part in fetched if isinstance(part, tuple)), None)
        if body is None:
            log.warning("%s: UID %s has no body; skipped", mailbox, uid)
        else:
            process_message(rt, bytes(body), None, [user], transport="imap")
            read += 1
        _advance(rt, mailbox, uidvalidity, uid)
        last = uid
    if not uids:
        _advance(rt, mailbox, uidvalidity, last)
    return PassResult(mailbox=mailbox, uidvalidity=uidvalidity, read=read, last_uid=last)


def connect(host: str, port: int | None, user: str, password: str, ssl: bool = True) -> imaplib.IMAP4:
    conn = imaplib.IMAP4_SSL(host, port or 993) if ssl else imaplib.IMAP4(host, port or 143)
    _ok(conn.login(user, password), "LOGIN")
    return conn
