"""Subcommands beyond run/worker/cron: the demo, imports, parsers, evaluations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def register_all(main: click.Group) -> None:
    for command in (demo, import_group):
        main.add_command(command)


@click.group("import")
def import_group() -> None:
    """Import saved message-board pages or a hotline CSV export through the intake path."""


def _print_summary(summary: Any) -> None:
    for where, number in summary.created:
        click.echo(f"created  {where} -> {number}")
    for where, number in summary.replayed:
        click.echo(f"known    {where} -> {number}")
    for where, why in summary.skipped:
        click.echo(f"skipped  {where}: {why}")
    for where, reason in summary.errors:
        click.echo(f"error    {where}: {reason}", err=True)
    click.echo(f"{len(summary.created)} created, {len(summary.replayed)} already known, "
               f"{len(summary.skipped)} skipped, {len(summary.errors)} rejected (kept for review)")


@import_group.command("board")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
def import_board(target: Path) -> None:
    """Import saved board detail pages (a file or a folder); idempotent on the post id."""
    from gateway.cli import build_app
    from gateway.imports import import_board_pages

    app = build_app()
    with app.app_context():
        summary = import_board_pages(app.extensions["hotline"], target)
    _print_summary(summary)
    if summary.errors and not (summary.created or summary.replayed):
        raise SystemExit(1)


@import_group.command("hotline")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_hotline(csv_file: Path) -> None:
    """Import a 12345 CSV export (UTF-8 or GBK/GB18030); bad rows are listed by line and kept."""
    from gateway.cli import build_app
    from gateway.imports import import_hotline_csv

    app = build_app()
    with app.app_context():
        summary = import_hotline_csv(app.extensions["hotline"], csv_file.read_bytes(), source=csv_file.name)
    _print_summary(summary)
    if summary.errors and not (summary.created or summary.replayed):
        raise SystemExit(1)


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
