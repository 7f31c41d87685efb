"""The audit log (trust issue): logins, user changes, staff opening personal data, merges; the admin's page."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner
from sqlmodel import Session, select

from gateway.cli import main
from gateway.models import AuditEntry
from tests.conftest import logged_in, subprocess_env
from tests.kits.case_kit import merged_case


def entries(rt: Any, action: str | None = None) -> list[AuditEntry]:
    with Session(rt.engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)  # type: ignore[arg-type]
        return list(session.exec(query.where(AuditEntry.action == action) if action else query).all())


def login(client: Any, username: str, password: str, address: str) -> Any:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_logins_user_changes_and_case_views_are_recorded_with_who_and_where(app, rt, config):
    made = CliRunner().invoke(main, ["user", "create", "--admin", "chief", "--password-env", "PW"],
                              env={**subprocess_env(config), "PW": "s3cret-pass"})
    assert made.exit_code == 0, made.output
    client = app.test_client()
    assert login(client, "chief", "wrong-pass", "203.0.113.5").status_code == 401
    assert login(client, "chief", "s3cret-pass", "203.0.113.5").status_code == 302
    [created] = entries(rt, "user_created")
    assert (created.actor, created.target, created.detail["role"]) == ("cli", "user:chief", "admin")
    [failed] = entries(rt, "login_failed")
    assert (failed.actor, failed.target, failed.address) == ("anonymous", "user:chief", "203.0.113.5")
    [ok] = entries(rt, "login")
    assert (ok.actor, ok.address) == ("user:chief", "203.0.113.5")

    form = client.get("/console/users").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    assert client.post("/console/users", data={"username": "clerk", "password": "clerk-pass-1", "role": "office",
                                               "csrf_token": token}).status_code == 302
    clerk = next(e for e in entries(rt, "user_created") if e.target == "user:clerk")
    assert clerk.actor == "user:chief"
    with Session(rt.engine) as session:
        from gateway.models import User

        clerk_id = session.exec(select(User.id).where(User.username == "clerk")).one()
    client.post(f"/console/users/{clerk_id}", data={"role": "operator", "active": "on", "csrf_token": token})
    [changed] = entries(rt, "user_changed")
    assert changed.target == "user:clerk" and changed.detail["changed"] == ["role"]

    m = merged_case(rt)
    assert client.get(f"/console/cases/{m.survivor.number}").status_code == 200
    assert client.get(f"/api/v1/cases/{m.survivor.number}").status_code == 200
    viewed = entries(rt, "case_viewed")
    assert [(v.actor, v.target, v.detail["via"]) for v in viewed] == [
        ("user:chief", f"case:{m.survivor.number}", "console"), ("user:chief", f"case:{m.survivor.number}", "api")]


def test_merge_undo_and_split_are_recorded(app, rt):
    m = merged_case(rt)
    office = logged_in(app, "office")
    assert office.post(f"/api/v1/merges/{m.record.id}/undo").status_code == 200
    [undone] = entries(rt, "merge_undone")
    assert undone.actor == office.user.actor and undone.target == f"merge:{m.record.id}"
    resp = office.post(f"/api/v1/reports/{m.reports[3].id}/split")
    assert resp.status_code == 201
    [split] = entries(rt, "report_split")
    assert split.target == f"case:{resp.get_json()['case']['number']}" and split.detail["report_id"] == m.reports[3].id


def test_only_an_admin_reads_the_audit_log_and_its_filters_work(app, rt):
    m = merged_case(rt)
    office = logged_in(app, "office")
    office.get(f"/console/cases/{m.survivor.number}")
    assert office.get("/console/audit").status_code == 403
    admin = logged_in(app, "admin")
    page = admin.get("/console/audit").get_data(as_text=True)
    assert "查看工单个人信息" in page and m.survivor.number in page and office.user.actor in page
    assert m.survivor.number not in admin.get("/console/audit?action=login").get_data(as_text=True)
    assert m.survivor.number in admin.get(f"/console/audit?target={m.survivor.number}").get_data(as_text=True)
    assert admin.get("/console/audit?since=not-a-date").status_code == 200
    assert m.survivor.number not in admin.get("/console/audit?until=2000-01-01").get_data(as_text=True)


def test_the_date_filters_are_the_citys_days(app, rt):
    from datetime import datetime, timezone

    with Session(rt.engine) as session:  # 2026-04-28 01:30 in Wuhan is 04-27 17:30 UTC, stored in UTC
        session.add(AuditEntry(at=datetime(2026, 4, 27, 17, 30, tzinfo=timezone.utc), actor="user:night",
                               action="login", target="user:night"))
        session.commit()
    admin = logged_in(app, "admin")
    assert "user:night" in admin.get("/console/audit?since=2026-04-28&until=2026-04-28").get_data(as_text=True)
    assert "user:night" not in admin.get("/console/audit?since=2026-04-27&until=2026-04-27").get_data(as_text=True)
