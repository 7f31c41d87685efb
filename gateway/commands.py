"""Subcommands beyond run/worker/cron: the demo, imports, parsers, evaluations."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click


def register_all(main: click.Group) -> None:
    for command in (demo, import_group, smtp, imap, parse, user, router_group, eval_group, bench, dedupe_group,
                    calendar_group, db_group, retention):
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


DEMO_CSRF = "demo-csrf"


def _demo_operator_session(app: Any, client: Any) -> None:
    """Log the demo's client in as the operator `demo-operator` (created on first use with a random password)."""
    import secrets

    from sqlmodel import Session, select

    from gateway.auth import User, create_user

    rt = app.extensions["hotline"]
    with Session(rt.engine, expire_on_commit=False) as db:
        user = db.exec(select(User).where(User.username == "demo-operator")).first()
        if user is None:
            user = create_user(db, "demo-operator", secrets.token_urlsafe(16), "operator", display_name="演示话务员")
            db.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()  # Flask-Login's session key
        sess["csrf"] = DEMO_CSRF


def _demo_channels(app: Any, client: Any) -> list[str]:
    """Send one message on each further channel (board, pushed ticket, operator form, Open311); return the numbers."""
    import re
    import secrets

    rt = app.extensions["hotline"]
    token, key = secrets.token_hex(16), secrets.token_hex(16)
    rt.config["SYSTEM_TOKENS"] = {**(rt.config.get("SYSTEM_TOKENS") or {}), "demo": token}
    rt.config["OPEN311_API_KEYS"] = [*(rt.config.get("OPEN311_API_KEYS") or []), key]
    _demo_operator_session(app, client)
    numbers = []
    resp = client.post("/api/v1/board/posts", json=DEMO_BOARD_POST)
    numbers.append(resp.get_json()["case"]["number"])
    click.echo(f"board {resp.status_code} -> {numbers[-1]} {DEMO_BOARD_POST['title']}")
    resp = client.post("/api/v1/hotline/tickets", json=DEMO_TICKET, headers={"Authorization": f"Bearer {token}"})
    numbers.append(resp.get_json()["case"]["number"])
    click.echo(f"push  {resp.status_code} -> {numbers[-1]} ticket {DEMO_TICKET['ticket_no']}")
    hints = client.get("/api/v1/operator/suggest", query_string={"phone": DEMO_OPERATOR_ENTRY["caller_number"]}).get_json()
    entry = dict(DEMO_OPERATOR_ENTRY)
    if hints["caller_cases"]:  # the caller already has an open case: attach, as an operator would
        entry["attach_to"] = hints["caller_cases"][0]["number"]
    resp = client.post("/operator/", data={**entry, "csrf_token": DEMO_CSRF})
    found = re.search(r'class="case-number">([^<]+)<', resp.get_data(as_text=True))
    numbers.append(found.group(1) if found else "?")
    click.echo(f"desk  {resp.status_code} -> {numbers[-1]} ({'attached' if 'attach_to' in entry else 'new'})")
    resp = client.post("/open311/v2/requests.json", data={"api_key": key, **DEMO_OPEN311})
    numbers.append(resp.get_json()[0]["service_request_id"])
    click.echo(f"311   {resp.status_code} -> {numbers[-1]} {DEMO_OPEN311['description']}")
    return numbers


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
    numbers.extend(_demo_channels(app, client))
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


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
def smtp(host: str, port: int) -> None:
    """Receive citizens' mail over SMTP for the HOTLINE_MAIL_DOMAINS (Ctrl-C stops)."""
    import signal
    import threading

    from gateway.cli import build_app
    from gateway.smtp import listener

    app = build_app()
    rt = app.extensions["hotline"]
    server = listener(rt, host, port)
    server.start()
    click.echo(f"hotline smtp listening on {host}:{port} for {', '.join(rt.config['MAIL_DOMAINS'])}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        rt.close()


@click.command()
@click.option("--host", required=True)
@click.option("--port", type=int, default=None, help="default 993 (SSL) or 143 (--no-ssl)")
@click.option("--user", required=True)
@click.option("--password-env", default="HOTLINE_IMAP_PASSWORD", show_default=True,
              help="environment variable holding the password")
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--ssl/--no-ssl", default=True, show_default=True)
@click.option("--loop", "interval", type=float, default=None, help="poll every N seconds instead of once")
def imap(host: str, port: int | None, user: str, password_env: str, folder: str, ssl: bool,
         interval: float | None) -> None:
    """Read new mail from an IMAP folder (one pass, or --loop N); UID checkpoints live in the database."""
    import os
    import time

    from gateway.cli import build_app
    from gateway.imap import connect, poll_once

    password = os.environ.get(password_env)
    if password is None:
        raise click.ClickException(f"{password_env} is not set")
    app = build_app()
    rt = app.extensions["hotline"]
    try:
        while True:
            conn = connect(host, port, user, password, ssl=ssl)
            try:
                result = poll_once(rt, conn, user, folder)
            finally:
                try:
                    conn.logout()
                except OSError:
                    pass
            click.echo(json.dumps(result.__dict__))
            if interval is None:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


@click.group()
def parse() -> None:
    """Show what an adapter makes of saved payloads (nothing is stored)."""


@parse.command("email")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
def parse_email(files: tuple[str, ...]) -> None:
    """Print one JSON line per mail file: sender, subject, text, attachments, thread reference, defects."""
    from adapters import email as email_adapter
    from adapters.base import AdapterError, RawInbound

    for name in files:
        line: dict[str, Any] = {"file": name}
        try:
            with open(name, "rb") as fh:
                data = fh.read(email_adapter.MAX_BYTES + 1)
            report = email_adapter.parse(RawInbound(channel="email", body=data))
        except OSError as exc:
            line["error"] = {"field": "file", "message": exc.strerror or str(exc)}
        except AdapterError as exc:
            line["error"] = exc.as_dict()
        else:
            line.update(
                sender={"name": report.name, "email": report.email}, subject=report.title, text=report.text,
                attachments=[{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                             for a in report.attachments],
                thread={"case_ref": report.case_ref, "in_reply_to": report.in_reply_to},
                message_id=report.message_id,
                date=report.received_at.isoformat() if report.received_at else None,
                auto_generated=report.extra.get("auto_generated"), defects=report.defects,
            )
        click.echo(json.dumps(line, ensure_ascii=False))


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

    from gateway import audit
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
        with app.app_context():
            audit.record("user_created", f"user:{username.strip()}", actor="cli", role=role, department=department)
    finally:
        rt.close()
    click.echo(f"created {role} user {username}")




@click.command()
@click.option("--older-than", "days", type=click.IntRange(min=1), default=None, metavar="DAYS",
              help="cases closed more than DAYS ago (default: the profile's [city] retention_days)")
@click.option("--dry-run", is_flag=True, help="list what would be masked, change nothing")
def retention(days: int | None, dry_run: bool) -> None:
    """Mask personal data of cases closed long ago (names, phones, e-mails, addresses, raw payloads, attachments)."""
    from gateway import audit
    from gateway import retention as policy
    from gateway.cli import build_app

    app = build_app()
    rt = app.extensions["hotline"]
    try:
        days = days or rt.profile.retention_days
        if not days:
            raise click.UsageError("give --older-than DAYS, or set [city] retention_days in the city profile")
        with app.app_context():
            outcome = policy.run(rt, days, dry_run=dry_run)
            if not dry_run:
                audit.record("retention", f"cases:{len(outcome.cases)}", actor="cli", older_than_days=days,
                             reports=outcome.reports, attachments=outcome.attachments,
                             contacts=outcome.contacts_forgotten)
    finally:
        rt.close()
    verb = "would mask" if dry_run else "masked"
    click.echo(f"{verb} {len(outcome.cases)} cases closed more than {days} days ago ({outcome.reports} reports"
               + ("" if dry_run else f", {outcome.attachments} attachments deleted, "
                  f"{outcome.contacts_forgotten} contacts forgotten") + ")")
    for number in outcome.cases[:50]:
        click.echo(f"  {number}")


@click.group("db")
def db_group() -> None:
    """The database schema: where it stands, and the upgrade that a new version of the gateway needs."""


def _engine() -> Any:
    from gateway import db
    from gateway.config import ConfigError, from_environment

    try:
        config = from_environment()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return db.make_engine(config.get("DATABASE_URL"), config["DATA_DIR"], config.get("DATABASE_SCHEMA"))


@db_group.command("status")
def db_status() -> None:
    """Print the database's schema revision and this code's; exit 1 when an upgrade is needed."""
    from gateway import db

    engine = _engine()
    try:
        current, head = db.schema_revision(engine), db.head_revision()
    finally:
        engine.dispose()
    click.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"schema revision: {current or 'none (empty database)'}; this code: {head}")
    if current not in (None, head):
        click.echo("behind: run `hotline db upgrade`")
        raise SystemExit(1)


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks (a database made before migrations starts at 0001)."""
    from gateway import db

    engine = _engine()
    try:
        before, after = db.upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"schema: {before or 'empty'} -> {after}" if before != after else f"schema already at {after}")


@click.group("calendar")
def calendar_group() -> None:
    """The official working-day calendar: import the State Council's yearly notice, show a year."""


@calendar_group.command("import")
@click.argument("notice", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, default=None, help="the notice's year, when its title is not in the file")
@click.option("--dry-run", is_flag=True, help="read and check the notice, store nothing")
def calendar_import(notice: Path, year: int | None, dry_run: bool) -> None:
    """Import a notice as published (UTF-8 text); open deadlines that were provisional for its year move."""
    from sqlmodel import Session

    from gateway import calendars
    from gateway.cli import build_app
    from gateway.workcal import NoticeError, notice_lines, parse_notice
    from gateway.workflow import recompute_deadlines

    try:
        text = notice.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{notice}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        days = parse_notice(text, year)
    except NoticeError as exc:
        raise click.ClickException(f"{notice}: {exc}") from None
    click.echo(f"{days.year}: {len(days.festivals)} festivals, {len(days.holidays)} days off, "
               f"{len(days.makeup_days)} make-up working days")
    for line in notice_lines(days):
        click.echo(f"  {line}")
    if dry_run:
        return
    app = build_app()
    rt = app.extensions["hotline"]
    try:
        with app.app_context():
            with Session(rt.engine) as session:
                calendars.store(session, days, text, actor="cli")
            moved = recompute_deadlines(rt, days.year)
    finally:
        rt.close()
    click.echo(f"stored; {len(moved)} open assignments had provisional deadlines for {days.year} and were recomputed")


@calendar_group.command("show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """Show a year's days off and make-up working days, and whether they are official or provisional."""
    from datetime import date

    from sqlmodel import Session

    from gateway import calendars
    from gateway.cli import build_app
    from gateway.workcal import notice_lines, statutory_holidays

    if not 1900 < year < 2200:
        raise click.BadParameter(f"{year} is not a year this calendar can answer for", param_hint="YEAR")
    app = build_app()
    rt = app.extensions["hotline"]
    try:
        with app.app_context(), Session(rt.engine) as session:
            cal = calendars.current(session, rt)
    finally:
        rt.close()
    day, working = date(year, 1, 1), 0
    while day.year == year:
        working += cal.is_working_day(day)
        day = date.fromordinal(day.toordinal() + 1)
    if cal.is_official(year):
        click.echo(f"{year}: official (State Council notice), {working} working days")
        for line in notice_lines(cal.years[year]):
            click.echo(f"  {line}")
    else:
        click.echo(f"{year}: PROVISIONAL, no notice imported: statutory holidays only, no make-up working days; "
                   f"{working} working days. Import it with `hotline calendar import FILE`.")
        for d in sorted(statutory_holidays(year)):
            click.echo(f"  {d} 放假")


@click.group("router")
def router_group() -> None:
    """The learned router: train it on the city's own past tickets."""


@router_group.command("train")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines with title, detail, category")
def router_train(data: Path) -> None:
    """Train the ticket router (text -> board category) and store it in the data folder."""
    from gateway.cli import build_app
    from gateway.router import model_path, read_rows
    from gateway.router_model import RouterModelError, train

    app = build_app()
    rt = app.extensions["hotline"]
    try:
        model = train(list(read_rows(data)))
    except RouterModelError as exc:
        raise click.ClickException(str(exc)) from None
    path = model_path(rt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    model.save(tmp)
    tmp.replace(path)  # workers never read a half-written file
    unmapped = sorted(set(model.labels) - set(rt.profile.router.get("labels", {})))
    click.echo(f"trained on {model.trained_on} tickets, {len(model.labels)} categories -> {path}")
    if unmapped:
        click.echo(f"warning: labels without a [router.labels] entry in the profile: {', '.join(unmapped)}", err=True)
    click.echo(json.dumps({"path": str(path), "trained_on": model.trained_on, "labels": list(model.labels)},
                          ensure_ascii=False))


@click.group("dedupe")
def dedupe_group() -> None:
    """The shared dedupe index."""


@dedupe_group.command("reindex")
@click.option("--full", is_flag=True, help="recompute every case's features from its reports (after the profile's "
                                            "places or [dedupe.topics] changed), not only its index rows")
def dedupe_reindex(full: bool) -> None:
    """Rebuild the dedupe index rows of every case (after an upgrade that changed the key ids)."""
    from gateway.cli import build_app
    from gateway.matching import reindex

    app = build_app()
    with app.app_context():
        done = reindex(app.extensions["hotline"], full=full)
    click.echo(f"reindexed {done} cases" + (" (features recomputed)" if full else ""))


@click.group("eval")
def eval_group() -> None:
    """Measure the gateway's models on labelled data."""


@eval_group.command("router")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines with title, detail, category")
@click.option("--folds", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
def eval_router(data: Path, folds: int, seed: int) -> None:
    """Cross-validate the router: per-category F1, then accuracy and macro-F1 (last line JSON)."""
    import time

    from gateway.router import evaluation_lines, read_rows
    from gateway.router_model import RouterModelError, evaluate

    started = time.perf_counter()
    try:
        result = evaluate(list(read_rows(data)), folds=folds, seed=seed)
    except RouterModelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\n".join(evaluation_lines(result, time.perf_counter() - started)))


@eval_group.command(name="dedupe")
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


DEMO_BOARD_POST: dict[str, Any] = {
    "post_id": "DEMO-BOARD-0001", "unit": "江汉区人民政府", "topic": "市容环卫", "title": "常青花园垃圾站异味",
    "text": "<p>常青花园三小区垃圾站<b>长期不清运</b>，夏天异味很大。</p><script>alert(1)</script>",
    "address": "江汉区常青花园三小区", "user": "江城市民", "anonymous": True, "public": True,
}
DEMO_TICKET: dict[str, Any] = {
    "ticket_no": "DEMO-12345-0001", "caller_number": "027-85551234", "caller_name": "李女士", "appeal_type": "投诉",
    "content": "来电人反映：汉阳区钟家村某餐馆油烟直排，影响楼上住户正常生活。", "address": "汉阳区钟家村汉阳大道88号",
    "district": "汉阳区", "operator_id": "A0317", "urgency": "一般",
}
DEMO_OPERATOR_ENTRY: dict[str, str] = {
    "ticket_no": "OP-DEMO-0001", "caller_number": "13800138001", "caller_name": "张先生", "appeal_type": "投诉",
    "content": "中山大道888号路灯还是不亮，已经反映过。", "address": "江岸区中山大道888号", "operator_id": "A0101",
    "urgency": "一般", "action": "create",
}
DEMO_OPEN311: dict[str, str] = {
    "service_code": "street_light", "lat": "30.5928", "long": "114.3055", "address_string": "江岸区解放大道1号",
    "description": "解放大道1号门口路灯白天常亮", "attribute[FAULT]": "daylight", "attribute[POLE_NO]": "JA-0421",
}


BENCHMARKS = ("intake", "dispatch", "supervision", "dedupe_scale")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False)
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, options: tuple[str, ...]) -> None:
    """Run a benchmark from a checkout: `hotline bench intake --quick` is `python -m bench.intake --quick`."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / f"{name}.py").is_file():
        raise click.ClickException(f"bench/{name}.py not found: benchmarks run from a source checkout ({root})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    raise SystemExit(subprocess.call([sys.executable, "-m", f"bench.{name}", *options], cwd=str(root), env=env))
