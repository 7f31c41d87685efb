"""Who may see what: every route tried with every role and anonymously; log-in, CSRF, user admin, the CLI."""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from gateway.cli import main
from gateway.models import User
from tests.conftest import logged_in, make_user, subprocess_env
from tests.kits.case_kit import merged_case

ROLES = ("admin", "office", "department", "operator")
OFFICE = {"admin", "office"}
EVERYONE = {None, *ROLES}

# route -> roles allowed (None: anonymous). {n}: the merged case's number, {a}: its WH-LIGHT assignment.
ROUTES: list[tuple[str, set[Any]]] = [
    ("/console/", OFFICE),
    ("/console/cases/{n}", OFFICE),
    ("/console/merges", OFFICE),
    ("/console/triage", OFFICE),
    ("/console/supervision", OFFICE),
    ("/console/reports", OFFICE),
    ("/console/users", {"admin"}),
    ("/console/operator", {"operator", "admin"}),
    ("/workbench/", {"department"}),
    ("/workbench/assignments/{a}", {"department"}),
    ("/api/v1/cases", {"admin", "office", "department"}),
    ("/api/v1/cases/{n}", {"admin", "office", "department"}),
    ("/board/", EVERYONE),
    ("/board/cases/{n}", EVERYONE),
    ("/board/lookup", EVERYONE),
    ("/board/post", EVERYONE),
    ("/operator/", {"operator", "office", "admin"}),
    ("/api/v1/operator/suggest?phone=13800138001", {"operator", "office", "admin"}),
    ("/open311/v2/services.json", EVERYONE),
    ("/login", {None}),  # a logged-in user is sent on to their start page
    ("/healthz", EVERYONE),
]

POSTS: list[tuple[str, set[str]]] = [
    ("/console/cases/{n}/dispatch", OFFICE),
    ("/console/merges/{m}/accept", OFFICE),
    ("/console/merges/{m}/reject", OFFICE),
    ("/console/merges/{m}/undo", OFFICE),
    ("/console/users", {"admin"}),
    ("/workbench/assignments/{a}/sign", {"department"}),
    ("/workbench/assignments/{a}/reply", {"department"}),
    ("/workbench/assignments/{a}/return", {"department"}),
    ("/workbench/assignments/{a}/extension", {"department"}),
]


@pytest.fixture
def ids(rt: Any) -> dict[str, Any]:
    m = merged_case(rt)
    return {"n": m.survivor.number, "a": m.assignment.id, "m": m.record.id}


def _client(app: Any, role: str | None) -> Any:
    return app.test_client() if role is None else logged_in(app, role)


@pytest.mark.parametrize(("route", "allowed"), ROUTES, ids=[r for r, _ in ROUTES])
def test_each_role_gets_each_page_only_when_allowed(app, ids, route, allowed):
    clients = {role: _client(app, role) for role in (None, *ROLES)}
    for role, client in clients.items():
        _check(route, route.format(**ids), allowed, role, client.get(route.format(**ids)))


def _check(route: str, url: str, allowed: set[Any], role: str | None, resp: Any) -> None:
    if role in allowed:
        assert resp.status_code == 200, resp.data[:300]
    elif role is None and url.startswith("/api/"):
        assert resp.status_code == 401
        assert resp.get_json()["error"]["message"] == "login required"
    elif role is None:
        assert resp.status_code == 302
        assert resp.location.startswith("/login?next=")
    elif route == "/login":
        assert resp.status_code == 302  # already logged in: on to the start page
    elif url.startswith("/api/"):
        assert resp.status_code == 403
        assert resp.get_json()["error"]["status"] == 403
    else:
        assert resp.status_code == 403
        assert "无权访问" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("route", "allowed"), POSTS, ids=[r for r, _ in POSTS])
def test_actions_refuse_other_roles_and_anonymous_before_doing_anything(app, ids, route, allowed):
    url = route.format(**ids)
    for role in ROLES:
        if role in allowed:
            continue
        resp = logged_in(app, role).post(url, data={"csrf_token": "test-csrf-token"})
        assert resp.status_code == 403, (role, resp.status_code)
    resp = app.test_client().post(url, data={})
    assert resp.status_code in (302, 400)  # to the login page, or stopped by the missing CSRF token first


@pytest.mark.parametrize(("route", "allowed"), POSTS, ids=[r for r, _ in POSTS])
def test_actions_without_the_csrf_token_are_refused(app, ids, route, allowed):
    client = logged_in(app, sorted(allowed)[0])
    for data in ({}, {"csrf_token": "forged"}):
        resp = client.post(route.format(**ids), data=data)
        assert resp.status_code == 400
        assert "CSRF" in resp.get_data(as_text=True)


def _csrf(client: Any, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_logging_in_with_the_right_password_lands_on_the_role_start_page(app):
    make_user(app, "office", username="duban", password="right-password")
    client = app.test_client()
    token = _csrf(client)
    wrong = client.post("/login", data={"username": "duban", "password": "wrong-password", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.get_data(as_text=True)
    ok = client.post("/login", data={"username": "duban", "password": "right-password", "csrf_token": token})
    assert ok.status_code == 302 and ok.location == "/console/"
    assert client.get("/console/").status_code == 200


def test_login_goes_back_to_the_page_asked_for_but_never_to_another_site(app):
    make_user(app, "office", username="duban", password="right-password")
    for target, expected in [("/console/triage", "/console/triage"), ("//evil.example/x", "/console/"),
                             ("https://evil.example/", "/console/"), ("/\\evil.example", "/console/")]:
        client = app.test_client()
        resp = client.post("/login", data={"username": "duban", "password": "right-password", "next": target,
                                           "csrf_token": _csrf(client)})
        assert resp.location == expected, target


def test_login_form_needs_the_csrf_token(app):
    make_user(app, "office", username="duban", password="right-password")
    resp = app.test_client().post("/login", data={"username": "duban", "password": "right-password"})
    assert resp.status_code == 400


def test_passwords_are_stored_hashed(app, rt):
    make_user(app, "office", username="duban", password="right-password")
    with Session(rt.engine) as db:
        stored = db.exec(select(User.password_hash).where(User.username == "duban")).one()
    assert "right-password" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_logging_out_ends_the_session(app):
    client = logged_in(app, "office")
    assert client.post("/logout", data={"csrf_token": "test-csrf-token"}).status_code == 302
    assert client.get("/console/").status_code == 302


def test_a_deactivated_user_is_logged_out_at_the_next_request(app, rt):
    client = logged_in(app, "office")
    with Session(rt.engine) as db:
        user = db.get(User, client.user.id)
        user.active = False
        db.add(user)
        db.commit()
    assert client.get("/console/").status_code == 302


def test_an_admin_creates_a_department_user_who_then_sees_the_unit_queue(app, ids):
    admin = logged_in(app, "admin")
    refused = admin.post("/console/users", data={"username": "light1", "password": "long-enough", "role": "department",
                                                 "csrf_token": "test-csrf-token"})
    assert refused.status_code == 422 and "必须指定所属单位" in refused.get_data(as_text=True)
    made = admin.post("/console/users", data={"username": "light1", "password": "long-enough", "role": "department",
                                              "department": "WH-LIGHT", "display_name": "路灯处", "csrf_token": "test-csrf-token"})
    assert made.status_code == 302
    client = app.test_client()
    client.post("/login", data={"username": "light1", "password": "long-enough", "csrf_token": _csrf(client)})
    page = client.get("/workbench/").get_data(as_text=True)
    assert ids["n"] in page


def test_an_admin_moves_a_user_to_another_unit_and_cannot_demote_themself(app, rt):
    admin = logged_in(app, "admin")
    staff = make_user(app, "department", "WH-LIGHT")
    resp = admin.post(f"/console/users/{staff.id}", data={"role": "department", "department": "WH-WATER", "active": "on",
                                                          "csrf_token": "test-csrf-token"})
    assert resp.status_code == 302
    admin.post(f"/console/users/{admin.user.id}", data={"role": "office", "active": "on", "csrf_token": "test-csrf-token"})
    with Session(rt.engine) as db:
        from gateway.models import Department

        water = db.exec(select(Department.id).where(Department.code == "WH-WATER")).one()
        assert db.get(User, staff.id).department_id == water
        assert db.get(User, admin.user.id).role == "admin"


def test_department_staff_read_only_their_unit_cases_through_the_api(app, rt, ids):
    from tests.kits.case_kit import add_assignment, add_case

    with Session(rt.engine) as db:
        other = add_case(db, "WH20260301-000009", title="停水")
        add_assignment(db, other, "WH-WATER")
        db.commit()
    light = logged_in(app, "department", "WH-LIGHT")
    assert [c["number"] for c in light.get("/api/v1/cases").get_json()["cases"]] == [ids["n"]]
    assert light.get(f"/api/v1/cases/{ids['n']}").status_code == 200
    assert light.get("/api/v1/cases/WH20260301-000009").status_code == 404
    assert light.get("/api/v1/cases?department=WH-WATER").status_code == 403
    assert logged_in(app, "office").get("/api/v1/cases").get_json()["total"] == 3  # with the absorbed case


def test_posting_a_report_stays_open_to_citizens(client):
    assert client.post("/api/v1/reports", json={"text": "路灯不亮"}).status_code == 201


def test_the_cli_creates_the_first_admin_from_an_environment_variable_or_a_prompt(config, rt):
    env = subprocess_env(config)
    env.pop("PYTHONPATH")
    runner = CliRunner()
    made = runner.invoke(main, ["user", "create", "--admin", "chief", "--password-env", "CHIEF_PW"],
                         env={**env, "CHIEF_PW": "first-admin-pw"})
    assert made.exit_code == 0, made.output
    prompted = runner.invoke(main, ["user", "create", "--role", "department", "--department", "WH-LIGHT", "light"],
                             env=env, input="light-password\nlight-password\n")
    assert prompted.exit_code == 0, prompted.output
    again = runner.invoke(main, ["user", "create", "--admin", "chief", "--password-env", "CHIEF_PW"],
                          env={**env, "CHIEF_PW": "first-admin-pw"})
    assert again.exit_code != 0 and "already" not in again.output and "已存在" in again.output
    missing = runner.invoke(main, ["user", "create", "--admin", "x", "--password-env", "NOPE_PW"], env=env)
    assert missing.exit_code != 0 and "NOPE_PW" in missing.output
    with Session(rt.engine) as db:
        users = {u.username: u for u in db.exec(select(User)).all()}
    assert users["chief"].role == "admin" and users["light"].role == "department" and users["light"].department_id


def test_changing_an_unknown_user_is_a_404_page(app):
    resp = logged_in(app, "admin").post("/console/users/999", data={"role": "office", "csrf_token": "test-csrf-token"})
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)


# The JSON API's staff routes: role -> allowed (department staff are further limited to their own unit's
# assignments, tested in test_workflow.py). Tried with every role and anonymously.
API_POSTS: list[tuple[str, set[str]]] = [
    ("/api/v1/assignments/{a}/sign", {"department", "office", "admin"}),
    ("/api/v1/assignments/{a}/reply", {"department", "office", "admin"}),
    ("/api/v1/assignments/{a}/return", {"department", "office", "admin"}),
    ("/api/v1/assignments/{a}/extension", {"department", "office", "admin"}),
    ("/api/v1/assignments/{a}/overrule", OFFICE),
    ("/api/v1/extensions/1/decide", OFFICE),
    ("/api/v1/cases/{n}/dispatch", OFFICE),
    ("/api/v1/cases/{n}/merge", OFFICE),
    ("/api/v1/merges/{m}/undo", OFFICE),
    ("/api/v1/merges/{m}/accept", OFFICE),
    ("/api/v1/merges/{m}/reject", OFFICE),
    ("/api/v1/reports/1/split", OFFICE),
]
API_GETS: list[tuple[str, set[str]]] = [
    ("/api/v1/merges?status=proposed", OFFICE),
    ("/api/v1/reports/latest", OFFICE),
]


@pytest.mark.parametrize(("route", "allowed"), API_POSTS + API_GETS, ids=[r for r, _ in API_POSTS + API_GETS])
def test_each_api_route_refuses_other_roles_and_anonymous(app, ids, route, allowed):
    url = route.format(**ids)
    method = "get" if (route, allowed) in API_GETS else "post"
    assert getattr(app.test_client(), method)(url, json={}).status_code == 401
    for role in ROLES:
        resp = getattr(logged_in(app, role), method)(url, json={})
        if role in allowed:
            assert resp.status_code not in (401, 403), (role, resp.status_code)  # let through (then 2xx/4xx on the data)
        else:
            assert resp.status_code == 403, (role, resp.status_code)


def test_the_new_user_form_starts_with_the_least_privileged_role(app):
    from tests.conftest import logged_in

    page = logged_in(app, "admin").get("/console/users").get_data(as_text=True)
    create = page.split('action="/console/users"', 1)[1]  # the creation form (the edit forms post to /users/<id>)
    assert re.search(r'<option value="department"\s+selected>', create) and 'value="admin" selected' not in create
