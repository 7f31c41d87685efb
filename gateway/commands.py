"""Subcommands beyond run/worker/cron: the demo, imports, parsers, evaluations."""

from __future__ import annotations

import json
from typing import Any

import click


def register_all(main: click.Group) -> None:
    for command in (demo, user):
        main.add_command(command)


DEMO_WEB_POSTS: list[dict[str, Any]] = [
    {"title": "中山大道路灯不亮", "text": "江岸区中山大道888号附近的路灯已经连续三天晚上不亮了，夜里很黑，行人很不安全。",
     "name": "张先生", "phone": "13800138001", "address": "江岸区中山大道888号"},
    {"title": "小区楼下餐馆油烟扰民", "text": "武昌区积玉桥街道万达公馆小区临街门面的餐馆油烟直排，噪音大，严重扰民，希望环保部门处理。",
     "name": "李女士", "email": "li.nvshi@example.com", "address": "武昌区积玉桥万达公馆"},
    {"title": "咨询孩子入学政策", "text": "请问今年洪山区小学入学需要准备哪些材料？户口在外地可以入学吗？",
     "phone": "+86 139 0013 9002"},
    {"title": "公司拖欠工资", "text": "我在东西湖区一家物流公司上班，公司已经拖欠工资三个月了，请劳动部门帮忙。",
     "phone": "027-85551234"},
    {"title": "路灯还是不亮", "text": "中山大道888号附近路灯依然不亮，上次反映后还没有人来修。",
     "phone": "138 0013 8001"},
]


@click.command()
@click.option("--wait", default=10.0, show_default=True, help="seconds to wait for the workers to dispatch")
def demo(wait: float) -> None:
    """Send a realistic stream of citizen messages through every channel and print the cases."""
    import time

    from sqlmodel import Session, select

    from gateway import presenters
    from gateway.cli import build_app
    from gateway.models import Assignment, Case

    app = build_app()
    client = app.test_client()
    numbers = []
    for post in DEMO_WEB_POSTS:
        resp = client.post("/api/v1/reports", json=post)
        body = resp.get_json()
        numbers.append(body["case"]["number"])
        click.echo(f"web   {resp.status_code} -> {body['case']['number']} ({body['link']}) {post['title']}")
    rt = app.extensions["hotline"]
    deadline = time.monotonic() + wait
    with Session(rt.engine) as session:
        while time.monotonic() < deadline:
            cases = session.exec(select(Case).where(Case.number.in_(numbers))).all()  # type: ignore[attr-defined]
            if all(session.exec(select(Assignment).where(Assignment.case_id == c.id)).first() for c in cases):
                break
            time.sleep(0.5)
            session.expire_all()
        for number in dict.fromkeys(numbers):
            case = session.exec(select(Case).where(Case.number == number)).one()
            detail = presenters.case_detail(session, case)
            depts = ", ".join(f"{a['department_name']}({a['role']})" for a in detail["assignments"]) or "not dispatched yet"
            click.echo(json.dumps({"number": number, "status": case.status, "category": case.category,
                                   "reports": len(detail["reports"]), "departments": depts}, ensure_ascii=False))


@click.group()
def user() -> None:
    """Manage staff accounts."""


@user.command("create")
@click.argument("username")
@click.option("--admin", "is_admin", is_flag=True, help="make the user an administrator")
@click.option("--role", type=click.Choice(["admin", "office", "department", "operator"]), default=None,
              help="the user's role (default: admin with --admin, else office)")
@click.option("--department", default=None, help="unit code (e.g. WH-LIGHT); required for department staff")
@click.option("--name", "display_name", default="", help="display name")
@click.option("--password-env", default=None, metavar="VAR", help="read the password from this environment variable")
def create_user_command(username: str, is_admin: bool, role: str | None, department: str | None,
                        display_name: str, password_env: str | None) -> None:
    """Create a user (the first admin: `hotline user create --admin NAME`); the password is prompted for."""
    import os

    from sqlmodel import Session, select

    from gateway.auth import AccountError, create_user
    from gateway.cli import build_app
    from gateway.models import Department

    if is_admin and role not in (None, "admin"):
        raise click.UsageError("--admin conflicts with --role " + str(role))
    role = "admin" if is_admin else (role or "office")
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.ClickException(f"environment variable {password_env} is not set or empty")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = build_app()
    rt = app.extensions["hotline"]
    try:
        with app.app_context(), Session(rt.engine) as db:
            dept_id = None
            if department:
                dept_id = db.exec(select(Department.id).where(Department.code == department)).first()
                if dept_id is None:
                    raise click.ClickException(f"unknown department {department!r}")
            try:
                create_user(db, username, password, role, display_name=display_name, department_id=dept_id)
                db.commit()
            except AccountError as exc:
                raise click.ClickException(f"{exc.field}: {exc.message}") from None
    finally:
        rt.close()
    click.echo(f"created {role} user {username}")
