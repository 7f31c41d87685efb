"""Subcommands beyond run/worker/cron: the demo, imports, parsers, evaluations."""

from __future__ import annotations

import json
from typing import Any

import click


def register_all(main: click.Group) -> None:
    for command in (demo, evaluate):
        main.add_command(command)


@click.group(name="eval")
def evaluate() -> None:
    """Measure parts of the gateway against labelled data."""


@evaluate.command(name="dedupe")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL: id, group, time, channel, title, text, phone, email, user, address")
@click.option("--auto", type=float, default=None, help="override the profile's automatic-merge threshold")
@click.option("--grey", type=float, default=None, help="override the profile's proposal threshold")
def eval_dedupe(data: str, auto: float | None, grey: float | None) -> None:
    """Replay labelled reports through the real intake path; print merge precision/recall and B-cubed."""
    import os

    from gateway.evaluation import EvalDataError, evaluate as run_eval, read_items

    try:
        with open(data, encoding="utf-8") as handle:
            items = read_items(handle)
    except (EvalDataError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{data}: {exc}") from None
    overrides = {k: v for k, v in (("auto", auto), ("grey", grey)) if v is not None}
    result = run_eval(items, redis_url=os.environ.get("REDIS_URL") or None, overrides=overrides or None)
    pw, b3 = result["pairwise"], result["bcubed"]
    click.echo(f"{result['reports']} reports, {result['groups']} matters -> {result['cases']} cases; "
               f"{result['proposals']} proposals left for the office")
    click.echo(f"merged pairs  P {pw['precision']:.3f}  R {pw['recall']:.3f}  F1 {pw['f1']:.3f}")
    click.echo(f"B-cubed       P {b3['precision']:.3f}  R {b3['recall']:.3f}  F1 {b3['f1']:.3f}")
    click.echo(json.dumps(result, ensure_ascii=False))


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
