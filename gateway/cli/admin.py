"""Administration: users, the database schema, the working-day calendar, retention, bulk imports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import build_app


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
    from gateway.channels.bulk_import import import_board_pages

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
    from gateway.channels.bulk_import import import_hotline_csv

    app = build_app()
    with app.app_context():
        summary = import_hotline_csv(app.extensions["hotline"], csv_file.read_bytes(), source=csv_file.name)
    _print_summary(summary)
    if summary.errors and not (summary.created or summary.replayed):
        raise SystemExit(1)


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

    from sqlmodel import Session, select

    from gateway.models import Department
    from gateway.trust import audit
    from gateway.trust.auth import AccountError, create_user

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
    from gateway.trust import audit
    from gateway.trust import retention as policy

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
    from gateway.config import ConfigError, Settings

    try:
        settings = Settings.from_environment()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return db.make_engine(settings.database_url, settings.data_dir, settings.database_schema)


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

    from gateway.casework import calendars
    from gateway.casework.workcal import NoticeError, notice_lines, parse_notice
    from gateway.casework.workflow import recompute_deadlines

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

    from gateway.casework import calendars
    from gateway.casework.workcal import notice_lines, statutory_holidays

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


@click.group("knowledge")
def knowledge_group() -> None:
    """The operators' knowledge base."""


@knowledge_group.command("reindex")
def knowledge_reindex() -> None:
    """Add every published reply the knowledge base does not hold yet (once, after upgrading to a release with it)."""
    from sqlmodel import Session

    from gateway.messaging import knowledge

    app = build_app()
    rt = app.extensions["hotline"]
    try:
        with app.app_context(), Session(rt.engine) as session:
            added = knowledge.reindex_replies(session)
    finally:
        rt.close()
    click.echo(f"added {added} replies to the knowledge base")
