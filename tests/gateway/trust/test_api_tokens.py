"""Per-unit API tokens (trust issue): a department's system acts on its own unit's assignments without a cookie."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from gateway.models import ApiToken, AuditEntry
from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, report


def new_token(admin: Any, unit: str, name: str) -> str:
    resp = admin.post("/console/tokens", data={"department": unit, "name": name, "csrf_token": "test-csrf-token"})
    assert resp.status_code == 201
    return re.search(r'<code class="new-token">([^<]+)</code>', resp.get_data(as_text=True)).group(1)  # type: ignore[union-attr]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_units_token_signs_and_replies_to_its_own_assignments_only(app, client, rt, jobs):
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯不亮", phone="13800138001")
    jobs()
    light = assignments(rt, number)["WH-LIGHT"]
    admin = logged_in(app, "admin")
    token = new_token(admin, "WH-LIGHT", "照明处业务系统")
    other = new_token(admin, "WH-WATER", "水务系统")
    system = app.test_client()  # no cookie at all
    assert system.post(f"/api/v1/assignments/{light.id}/sign", headers=bearer(other)).status_code == 404
    signed = system.post(f"/api/v1/assignments/{light.id}/sign", headers=bearer(token))
    assert signed.status_code == 200 and signed.get_json()["assignment"]["status"] == "signed"
    listed = system.get("/api/v1/cases", headers=bearer(token)).get_json()
    assert [c["number"] for c in listed["cases"]] == [number]
    replied = system.post(f"/api/v1/assignments/{light.id}/reply", json={"text": "已修复"}, headers=bearer(token))
    assert replied.status_code == 200
    with Session(rt.engine) as session:
        rows = session.exec(select(ApiToken)).all()
        events = session.exec(select(AuditEntry.action).where(AuditEntry.action == "token_created")).all()
    assert all(token not in (r.digest + r.prefix + r.name) for r in rows)  # only a digest and a prefix are kept
    used = {r.name: r.last_used_at for r in rows}
    assert used["照明处业务系统"] is not None and len(events) == 2
    page = admin.get("/console/tokens").get_data(as_text=True)
    assert "照明处业务系统" in page and token not in page  # shown once, never again


def test_a_revoked_or_wrong_token_is_refused_and_a_token_opens_nothing_else(app, client, rt, jobs):
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯不亮", phone="13800138001")
    jobs()
    light = assignments(rt, number)["WH-LIGHT"]
    admin = logged_in(app, "admin")
    token = new_token(admin, "WH-LIGHT", "照明处")
    system = app.test_client()
    for path in ("/console/", "/console/users", "/console/tokens", f"/api/v1/cases/{number}/dispatch"):
        resp = system.post(path, headers=bearer(token)) if "dispatch" in path else system.get(path, headers=bearer(token))
        assert resp.status_code in (302, 401), path  # not signed in: a token is for its unit's assignments only
    assert system.post(f"/api/v1/assignments/{light.id}/sign", headers=bearer(token + "x")).status_code == 401
    with Session(rt.engine) as session:
        token_id = session.exec(select(ApiToken.id)).one()
    assert admin.post(f"/console/tokens/{token_id}/revoke", data={"csrf_token": "test-csrf-token"}).status_code == 302
    assert system.post(f"/api/v1/assignments/{light.id}/sign", headers=bearer(token)).status_code == 401
    assert logged_in(app, "office").get("/console/tokens").status_code == 403
