"""Photos sent by e-mail: thumbnails (upright, bounded, no EXIF) for staff and the reporter at once; the public
board and Open311 only after the office approves each one (audited); what is not a sane image is never rendered."""

from __future__ import annotations

import io
import struct
import zlib
from email.message import EmailMessage
from typing import Any

import pytest
from PIL import Image
from sqlmodel import Session, select

from gateway.models import AuditEntry, Event, PhotoReview, Report
from tests.gateway.views.test_public_board import csrf

SECRET = "photo-inbound-secret"
CSRF = "test-csrf-token"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "INBOUND_MAIL_SECRET": SECRET}


@pytest.fixture
def public_mail(app: Any) -> None:
    """This city publishes mailed reports (profile `[city] public_channels`); the default keeps them private."""
    app.extensions["hotline"].profile.city["public_channels"] = ["email"]


def camera_jpeg(size: tuple[int, int] = (640, 480), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: the picture stored sideways, EXIF saying how to turn it, and personal data."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue: the turn is visible
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SecretCam"
    exif[0x9286] = "home 13800138001"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A small PNG whose header announces ten billion pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def mail_with(files: list[tuple[str, str, bytes]], message_id: str = "<photo-1@example.com>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "王五 <wang.wu@example.com>"
    msg["To"] = "12345@example.wuhan.gov.cn"
    msg["Subject"] = "中山大道888号路灯不亮"
    msg["Message-ID"] = message_id
    msg.set_content("江岸区中山大道888号路灯不亮，附照片。")
    for name, ctype, data in files:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


def send(client: Any, files: list[tuple[str, str, bytes]], **kw: Any) -> dict[str, Any]:
    resp = client.post("/webhooks/email", data=mail_with(files, **kw), content_type="message/rfc822",
                       headers={"X-Hotline-Secret": SECRET})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def the_report(rt: Any) -> Report:
    with Session(rt.engine) as db:
        return db.exec(select(Report).order_by(Report.id.desc())).first()  # type: ignore[union-attr]


def test_a_mailed_photo_gets_an_upright_bounded_thumbnail_without_its_exif(client, rt, office_client):
    send(client, [("路灯.jpg", "image/jpeg", camera_jpeg((1600, 1200)))])
    report = the_report(rt)
    [row] = report.attachments
    assert (row["width"], row["height"]) == (1600, 1200) and row["thumb"].endswith("/thumbs/01.jpg")
    resp = office_client.get(f"/console/photos/{report.id}/1")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    thumb = Image.open(io.BytesIO(resp.data))
    assert thumb.size == (360, 480)  # turned upright (orientation 6) and bounded to 480 px
    assert thumb.getpixel((180, 10))[2] > 150  # the blue half is on top now, as the camera was held
    assert not thumb.getexif() and b"SecretCam" not in resp.data and b"13800138001" not in resp.data
    original = office_client.get(f"/console/attachments/{report.id}/1")
    assert original.status_code == 200 and original.mimetype == "application/octet-stream"
    assert original.headers["Content-Disposition"].startswith("attachment") and original.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/console/photos/{report.id}/1").status_code in (302, 401)  # staff only


def test_a_bomb_and_a_non_image_are_kept_as_downloads_and_never_rendered(client, rt, office_client):
    result = send(client, [("bomb.png", "image/png", bomb_png()), ("fake.jpg", "image/jpeg", b"<script>alert(1)</script>"),
                           ("notes.pdf", "application/pdf", b"%PDF-1.4 hello")])
    report = the_report(rt)
    assert [("thumb" in a, "path" in a) for a in report.attachments] == [(False, True)] * 3
    page = office_client.get(f"/console/cases/{result['case']}").get_data(as_text=True)
    assert f"/console/photos/{report.id}/" not in page and "<img" not in page.split("来件时间线")[1].split("</section>")[0]
    for position in (1, 2, 3):
        assert f"/console/attachments/{report.id}/{position}" in page
        got = office_client.get(f"/console/attachments/{report.id}/{position}")
        assert got.mimetype == "application/octet-stream" and got.headers["Content-Disposition"].startswith("attachment")
        assert office_client.get(f"/console/photos/{report.id}/{position}").status_code == 404


def test_the_board_shows_a_photo_only_after_the_office_approves_it_and_the_decision_is_audited(
        app, client, rt, office_client, public_mail):
    number = send(client, [("a.jpg", "image/jpeg", camera_jpeg()), ("b.jpg", "image/jpeg", camera_jpeg())])["case"]
    report = the_report(rt)
    public_url = f"/board/photos/{report.id}/1.jpg"
    assert public_url not in client.get(f"/board/cases/{number}").get_data(as_text=True)
    assert client.get(public_url).status_code == 404
    [request] = client.get(f"/open311/v2/requests/{number}.json").get_json()
    assert request["media_url"] is None

    for position, approve in ((1, "1"), (2, "0")):
        resp = office_client.post(f"/console/photos/{report.id}/{position}/review",
                                  data={"approve": approve, "csrf_token": CSRF})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/console/cases/{number}")
    board = client.get(f"/board/cases/{number}").get_data(as_text=True)
    assert public_url in board and f"/board/photos/{report.id}/2.jpg" not in board
    shown = client.get(public_url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and b"SecretCam" not in shown.data
    assert client.get(f"/board/photos/{report.id}/2.jpg").status_code == 404
    [request] = client.get(f"/open311/v2/requests/{number}.json").get_json()
    assert request["media_url"] == f"http://localhost{public_url}"
    with Session(rt.engine) as db:
        audits = db.exec(select(AuditEntry).where(AuditEntry.action == "photo_reviewed")).all()
        events = db.exec(select(Event).where(Event.kind == "photo_reviewed")).all()
        reviews = {r.position: r.status for r in db.exec(select(PhotoReview)).all()}
    assert [(a.target, a.detail["position"], a.detail["status"]) for a in audits] == [
        (f"report:{report.id}", 1, "approved"), (f"report:{report.id}", 2, "rejected")]
    assert len(events) == 2 and reviews == {1: "approved", 2: "rejected"}
    page = office_client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "已公开" in page and "不公开" in page

    office_client.post(f"/console/photos/{report.id}/1/review", data={"approve": "0", "csrf_token": CSRF})
    assert client.get(public_url).status_code == 404  # withdrawn
    office_client.post(f"/console/cases/{number}/unpublish", data={"csrf_token": CSRF})
    office_client.post(f"/console/photos/{report.id}/1/review", data={"approve": "1", "csrf_token": CSRF})
    assert client.get(public_url).status_code == 404  # approved, but the post is no longer public
    refused = client.post(f"/console/photos/{report.id}/2/review", data={"approve": "1", "csrf_token": CSRF})
    assert refused.status_code in (302, 400, 401, 403)  # no staff session: refused
    with Session(rt.engine) as db:
        assert db.exec(select(PhotoReview.status).where(PhotoReview.position == 2)).one() == "rejected"
    assert office_client.post(f"/console/photos/{report.id}/9/review", data={"approve": "1", "csrf_token": CSRF}).status_code == 404


def test_the_reporter_sees_their_own_photo_in_their_look_up_before_any_approval(client, rt):
    number = send(client, [("a.jpg", "image/jpeg", camera_jpeg())])["case"]
    report = the_report(rt)
    page = client.post("/board/lookup", data={"number": number, "code": report.retrieval_code, "csrf_token": csrf(client)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "我上传的照片" in html and "待审核" in html
    url = html.split('src="/board/my-photos/')[1].split('"')[0]
    got = client.get(f"/board/my-photos/{url}")
    assert got.status_code == 200 and got.mimetype == "image/jpeg" and not Image.open(io.BytesIO(got.data)).getexif()
    assert client.get(f"/board/my-photos/{url[:-2]}xx").status_code == 404  # a tampered link
    assert client.get(f"/board/photos/{report.id}/1.jpg").status_code == 404  # still not public
