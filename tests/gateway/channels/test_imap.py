"""The IMAP poller against a scripted IMAP4rev1 peer on a loopback socket: UIDs read once, checkpoints kept."""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import replace
from typing import Any, Iterator

import pytest
from sqlmodel import Session, select

from gateway.channels.imap_poller import connect, poll_once
from gateway.models import Case, MailCheckpoint, Report, Unparsed
from tests.gateway.channels.test_email_webhook import mail


class Mailbox:
    """What the scripted server serves: UIDVALIDITY and {uid: raw message}; it logs the commands it got."""

    def __init__(self) -> None:
        self.uidvalidity = 1700000000
        self.messages: dict[int, bytes] = {}
        self.commands: list[str] = []


def _handler(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: bytes) -> None:
            self.wfile.write(line + b"\r\n")

        def handle(self) -> None:
            self.send(b"* OK [CAPABILITY IMAP4rev1] scripted peer ready")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                tag, _, rest = line.decode().strip().partition(" ")
                command = rest.upper()
                box.commands.append(command)
                if command.startswith("CAPABILITY"):
                    self.send(b"* CAPABILITY IMAP4rev1")
                elif command.startswith("LOGIN"):
                    if "SECRET" not in command:
                        self.send(f"{tag} NO [AUTHENTICATIONFAILED] bad password".encode())
                        continue
                elif command.startswith(("SELECT", "EXAMINE")):
                    self.send(f"* {len(box.messages)} EXISTS".encode())
                    self.send(f"* OK [UIDVALIDITY {box.uidvalidity}] UIDs valid".encode())
                elif command.startswith("UID SEARCH"):
                    low = int(re.search(r"UID (\d+):\*", command).group(1))  # type: ignore[union-attr]
                    uids = [u for u in sorted(box.messages) if u >= low] or sorted(box.messages)[-1:]
                    self.send(("* SEARCH " + " ".join(map(str, uids))).strip().encode())
                elif command.startswith("UID FETCH"):
                    uid = int(command.split()[2])
                    body = box.messages[uid]
                    seq = sorted(box.messages).index(uid) + 1
                    self.wfile.write(f"* {seq} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
                elif command.startswith("LOGOUT"):
                    self.send(b"* BYE bye")
                    self.send(f"{tag} OK LOGOUT completed".encode())
                    return
                else:
                    self.send(f"{tag} BAD unknown command".encode())
                    continue
                self.send(f"{tag} OK done".encode())

    return Handler


@pytest.fixture
def imap_peer() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box, server.server_address[1]
    server.shutdown()
    server.server_close()


def poll(rt: Any, port: int) -> Any:
    conn = connect("127.0.0.1", port, "hotline", "secret", ssl=False)
    try:
        return poll_once(rt, conn, "hotline")
    finally:
        conn.logout()


def reports(rt: Any) -> list[Report]:
    with Session(rt.engine) as session:
        return list(session.exec(select(Report).order_by(Report.id)).all())


def test_each_message_is_read_once_and_later_ones_are_picked_up_next_pass(rt, imap_peer):
    box, port = imap_peer
    box.messages = {3: mail(message_id="<a@x>"), 7: mail(subject="路灯不亮", body="中山大道路灯坏了", message_id="<b@x>")}
    first = poll(rt, port)
    assert (first.read, first.last_uid, first.uidvalidity) == (2, 7, box.uidvalidity)
    again = poll(rt, port)  # "UID 8:*" still answers UID 7: the poller must not read it twice
    assert (again.read, again.last_uid) == (0, 7)
    box.messages[9] = mail(subject="噪音扰民", body="夜里施工噪音", message_id="<c@x>")
    assert poll(rt, port).read == 1
    assert [r.external_id for r in reports(rt)] == ["a@x", "b@x", "c@x"]
    assert not any("STORE" in c for c in box.commands)  # read-only: the citizen's flags are untouched
    with Session(rt.engine) as session:
        point = session.exec(select(MailCheckpoint)).one()
    assert (point.mailbox, point.uidvalidity, point.last_uid) == ("hotline@127.0.0.1/INBOX", box.uidvalidity, 9)


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicating_reports(rt, imap_peer):
    box, port = imap_peer
    box.messages = {1: mail(message_id="<a@x>")}
    poll(rt, port)
    box.uidvalidity += 1
    box.messages = {1: mail(message_id="<a@x>"), 2: mail(subject="新问题", body="公交站牌倒了", message_id="<d@x>")}
    result = poll(rt, port)
    assert (result.read, result.last_uid) == (2, 2)
    assert [r.external_id for r in reports(rt)] == ["a@x", "d@x"]


def test_a_garbage_or_oversized_message_is_kept_for_a_person_and_the_poller_goes_on(rt, imap_peer):
    box, port = imap_peer
    rt.settings = replace(rt.settings, mail_max_bytes=50_000)
    box.messages = {1: b"\x00\x01 garbage", 2: mail() + b"x" * 60_000, 3: mail(message_id="<ok@x>")}
    assert poll(rt, port).last_uid == 3
    with Session(rt.engine) as session:
        kept = session.exec(select(Unparsed)).all()
        assert len(kept) + len(session.exec(select(Case)).all()) >= 2
    assert any("too large" in k.error for k in kept)
    assert "ok@x" in [r.external_id for r in reports(rt)]


def test_a_refused_login_raises_a_clear_error(rt, imap_peer):
    import imaplib

    _, port = imap_peer
    with pytest.raises(imaplib.IMAP4.error):
        connect("127.0.0.1", port, "hotline", "wrong", ssl=False)
