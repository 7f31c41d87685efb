"""Staff sessions (trust issue, 4 and 6): cookie flags, lifetime, server-side revocation, cross-site requests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from gateway import create_app
from gateway.models import User
from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, report


def form_login(app: Any, username: str, password: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    return client, resp


def make(app: Any, username: str, role: str = "office", password: str = "s3cret-pass") -> User:
    from gateway.trust.auth import create_user

    with Session(app.extensions["hotline"].engine, expire_on_commit=False) as db:
        user = create_user(db, username, password, role)
        db.commit()
        return user


def test_the_session_cookie_is_lax_httponly_and_lives_twelve_hours(app):
    make(app, "chief")
    _, resp = form_login(app, "chief", "s3cret-pass")
    cookie = resp.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_behind_a_trusted_proxy_the_cookie_is_secure(config):
    app = create_app({**config, "TRUST_PROXY": 1, "SECURE_COOKIES": True})
    with app.app_context():
        make(app, "chief")
        _, resp = form_login(app, "chief", "s3cret-pass")
    assert "Secure" in resp.headers["Set-Cookie"]
    app.extensions["hotline"].close()


def test_a_copied_cookie_stops_working_after_logout(app):
    make(app, "chief")
    client, _ = form_login(app, "chief", "s3cret-pass")
    cookie = client.get_cookie("session").value
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/api/v1/cases").status_code == 200
    page = client.get("/console/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert copy.get("/api/v1/cases").status_code == 401


@pytest.mark.parametrize("change", [{"password": "another-pass-1"}, {"role": "operator"}, {"active": None}])
def test_a_password_role_or_active_change_revokes_the_users_sessions(app, change):
    user = make(app, "clerk")
    client, _ = form_login(app, "clerk", "s3cret-pass")
    assert client.get("/api/v1/cases").status_code == 200
    admin = logged_in(app, "admin")
    form = {"role": "office", "active": "on", "csrf_token": "test-csrf-token", **change}
    form = {k: v for k, v in form.items() if v is not None}
    assert admin.post(f"/console/users/{user.id}", data=form).status_code == 302
    assert client.get("/api/v1/cases").status_code == 401


def test_an_unchanged_user_keeps_their_session(app):
    user = make(app, "clerk")
    client, _ = form_login(app, "clerk", "s3cret-pass")
    admin = logged_in(app, "admin")
    admin.post(f"/console/users/{user.id}", data={"role": "office", "active": "on", "csrf_token": "test-csrf-token"})
    assert client.get("/api/v1/cases").status_code == 200


def test_a_cross_site_post_with_a_staff_cookie_is_refused(app, client, jobs):
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯不亮", phone="13800138001")
    jobs()
    light = assignments(app.extensions["hotline"], number)["WH-LIGHT"]
    unit = logged_in(app, "department", "WH-LIGHT")
    attack = {"Content-Type": "text/plain", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = unit.post(f"/api/v1/assignments/{light.id}/sign", data="x=1", headers=attack)
    assert refused.status_code == 403 and "cross-site" in refused.get_json()["error"]["message"]
    only_origin = unit.post(f"/api/v1/assignments/{light.id}/sign", headers={"Origin": "https://evil.example"})
    assert only_origin.status_code == 403
    assert assignments(app.extensions["hotline"], number)["WH-LIGHT"].status == "dispatched"
    ours = unit.post(f"/api/v1/assignments/{light.id}/sign", headers={"Sec-Fetch-Site": "same-origin",
                                                                      "Origin": "http://localhost"})
    assert ours.status_code == 200 and ours.get_json()["assignment"]["status"] == "signed"
