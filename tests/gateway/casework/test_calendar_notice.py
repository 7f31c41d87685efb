"""The State Council notice: read as published, stored for every process, and deadlines that never run out of
calendar (provisional on the statutory base until the notice is imported, then recomputed)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from gateway import create_app
from gateway.casework import calendars
from gateway.casework.sla import due
from gateway.casework.workcal import NoticeError, WorkCalendar, default_calendar, parse_notice
from gateway.cli import main
from tests.conftest import PATIENCE, logged_in, subprocess_env
from tests.kits.dispatch_kit import CITY, assignments, events, local, report, set_clock

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "calendar"
MADE_UP_2027 = NOTICES / "2027-madeup.txt"


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CITY)  # type: ignore[misc]


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_notices_reproduce_the_bundled_years_exactly(year):
    read = parse_notice((NOTICES / f"{year}.txt").read_text(encoding="utf-8"))
    bundled = default_calendar().years[year]
    assert read.year == year
    assert read.holidays == bundled.holidays and read.makeup_days == bundled.makeup_days
    assert [f.name for f in read.festivals] == [f.name for f in bundled.festivals]


def test_a_notice_may_start_its_new_year_holiday_in_december_and_name_weekdays_as_星期():
    days = parse_notice("一、元旦：2022年12月31日（星期六）至2023年1月2日（星期一）放假调休，共3天。\n"
                        "二、春节：1月21日（星期六）至27日（星期五）放假调休，共7天。1月28日（星期六）、1月29日（星期日）上班。",
                        year=2023)
    assert days.holidays >= {date(2022, 12, 31), date(2023, 1, 2), date(2023, 1, 27)}
    assert days.makeup_days == {date(2023, 1, 28), date(2023, 1, 29)}
    cal = default_calendar().with_years([days])
    assert not cal.is_working_day(date(2022, 12, 31)) and cal.is_working_day(date(2023, 1, 29))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周四）放假1天。", "2027-01-01 is a 周五, the notice says 周四"),
        ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周五）至3日（周日）放假，共4天。", "is 3 days, the notice says 4"),
        ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周五）放假。1月6日（周三）上班。", "not a weekend"),
        ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：放假调休，共3天。", "line 2"),
        ("一、元旦：1月1日（周五）放假1天。", "no year"),
        ("国务院办公厅关于2027年部分节假日安排的通知\n各部门：请做好值班。", "no numbered festival items"),
        ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：2月30日放假。", "is not a date"),
    ],
)
def test_a_notice_that_cannot_be_read_exactly_is_refused_naming_what_is_wrong(text, message):
    with pytest.raises(NoticeError, match=message):
        parse_notice(text)


def test_a_notice_for_another_year_than_asked_is_refused():
    with pytest.raises(NoticeError, match="the notice is for 2026, not 2027"):
        parse_notice((NOTICES / "2026.txt").read_text(encoding="utf-8"), year=2027)


OFFICIAL_2027 = default_calendar().with_years([parse_notice(MADE_UP_2027.read_text(encoding="utf-8"))])

# The fortnight 2026-12-28 .. 2027-01-08. Provisional: 2027 on its statutory base (Jan 1 off). Official: the
# made-up notice (Jan 1-4 off, Saturday Jan 9 worked). A 5+2 unit counts every day on both.
FORTNIGHT = [
    # start, rule, unit calendar, provisional due, official due
    (sh(2026, 12, 28, 10), {"hours": 24}, "working", sh(2026, 12, 29, 10), sh(2026, 12, 29, 10)),
    (sh(2026, 12, 29, 15), {"working_days": 3}, "working", sh(2027, 1, 4, 15), sh(2027, 1, 5, 15)),
    (sh(2026, 12, 30, 15), {"working_days": 3}, "working", sh(2027, 1, 5, 15), sh(2027, 1, 6, 15)),
    (sh(2026, 12, 31, 10), {"hours": 24}, "working", sh(2027, 1, 4, 10), sh(2027, 1, 5, 10)),
    (sh(2026, 12, 28, 10), {"working_days": 5}, "working", sh(2027, 1, 5, 10), sh(2027, 1, 6, 10)),
    (sh(2027, 1, 1, 9), {"hours": 24}, "working", sh(2027, 1, 4, 9), sh(2027, 1, 5, 9)),
    (sh(2027, 1, 2, 9), {"working_days": 3}, "working", sh(2027, 1, 7, 0), sh(2027, 1, 8, 0)),
    (sh(2027, 1, 6, 16), {"working_days": 3}, "working", sh(2027, 1, 11, 16), sh(2027, 1, 9, 16)),
    (sh(2027, 1, 7, 16), {"working_days": 3}, "working", sh(2027, 1, 12, 16), sh(2027, 1, 11, 16)),
    (sh(2027, 1, 8, 11), {"hours": 24}, "working", sh(2027, 1, 11, 11), sh(2027, 1, 9, 11)),
    (sh(2026, 12, 29, 15), {"working_days": 5}, "5+2", sh(2027, 1, 3, 15), sh(2027, 1, 3, 15)),
    (sh(2026, 12, 31, 10), {"hours": 24}, "5+2", sh(2027, 1, 1, 10), sh(2027, 1, 1, 10)),
]


@pytest.mark.parametrize(("start", "rule", "unit", "provisional", "official"), FORTNIGHT)
def test_the_fortnight_across_the_new_year_on_both_calendars(start, rule, unit, provisional, official):
    before = due(start, rule, unit, default_calendar())
    after = due(start, rule, unit, OFFICIAL_2027)
    assert (before.at, after.at) == (provisional, official)
    flagged = unit == "working" and before.at.year == 2027
    assert before.provisional == ((2027,) if flagged else ()) and after.provisional == ()


def cli(config, *args: str):
    return CliRunner().invoke(main, ["calendar", *args], env=subprocess_env(config))


def test_importing_the_notice_recomputes_the_open_provisional_deadlines_with_an_event(app, client, rt, jobs, config):
    set_clock(app, 2026, 12, 31, 10)
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯连续三天不亮。", phone="13800138001")
    jobs()
    [light] = assignments(rt, number).values()
    assert local(light.due_at) == sh(2027, 1, 4, 10) and light.reason["calendar_provisional"] == [2027]
    shown = cli(config, "show", "2027")
    assert shown.exit_code == 0 and "2027: PROVISIONAL" in shown.output and "2027-01-01 放假" in shown.output

    dry = cli(config, "import", str(MADE_UP_2027), "--dry-run")
    assert dry.exit_code == 0 and "元旦: 01-01..01-04 放假 (4 天); 01-09 上班" in dry.output
    assert local(assignments(rt, number)["WH-LIGHT"].due_at) == sh(2027, 1, 4, 10)  # nothing stored

    done = cli(config, "import", str(MADE_UP_2027))
    assert done.exit_code == 0, done.output
    assert "1 open assignments had provisional deadlines for 2027" in done.output
    light = assignments(rt, number)["WH-LIGHT"]
    assert local(light.due_at) == sh(2027, 1, 5, 10) and light.reason["calendar_provisional"] == []
    [moved] = events(rt, number, "deadline_recomputed")
    assert moved.data["notice"] == 2027 and moved.data["department"] == "WH-LIGHT"
    assert local(datetime.fromisoformat(moved.data["after"])) == sh(2027, 1, 5, 10)
    # The dispatch job, which asks whether the calendar changed in its own read of the case, routes a new case
    # on the notice at once (this process's copy was made before the import).
    later = report(client, title="路灯坏了", text="武昌区中北路166号门口路灯坏了一个星期。", phone="13900139002")
    jobs()
    fresh = assignments(rt, later)["WH-LIGHT"]
    assert local(fresh.due_at) == sh(2027, 1, 5, 10) and fresh.reason["calendar_provisional"] == []
    # Another process (this app) sees the stored notice at once: 2027 is official now.
    with Session(rt.engine) as session:
        assert calendars.current(session, rt).is_official(2027)
    shown = cli(config, "show", "2027")
    assert "2027: official (State Council notice), " in shown.output and "PROVISIONAL" not in shown.output
    # Importing it again moves nothing more.
    assert "0 open assignments" in cli(config, "import", str(MADE_UP_2027)).output


def test_a_bad_notice_file_is_refused_by_the_cli_with_the_line(config, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周四）放假1天。", encoding="utf-8")
    result = cli(config, "import", str(bad))
    assert result.exit_code == 1 and "line 2" in result.output and "周五" in result.output
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("国务院办公厅关于2027年部分节假日安排的通知".encode("gbk"))
    assert "not UTF-8" in cli(config, "import", str(gbk)).output


def test_readiness_and_the_console_name_the_missing_notice_from_sixty_days_before_the_year_ends(app, client, rt):
    set_clock(app, 2026, 10, 31, 12)  # 61 days before the last official year ends
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["details"]["calendar"]["missing"] == []
    office = logged_in(app, "office")
    assert "放假安排通知尚未导入" not in office.get("/console/").get_data(as_text=True)

    set_clock(app, 2026, 12, 7, 12)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"
    assert ready.get_json()["details"]["calendar"] == {"official_years": [2024, 2025, 2026], "missing": [2027]}
    page = office.get("/console/").get_data(as_text=True)
    assert "2027年放假安排通知尚未导入" in page and "hotline calendar import" in page

    with Session(rt.engine) as session:
        calendars.store(session, parse_notice(MADE_UP_2027.read_text(encoding="utf-8")), "…", actor="test")
    assert client.get("/readyz").get_json()["details"]["calendar"]["missing"] == []
    assert "放假安排通知尚未导入" not in office.get("/console/").get_data(as_text=True)


def test_a_year_with_no_notice_at_all_is_named_missing_too():
    assert calendars.missing_years(default_calendar(), date(2028, 3, 1)) == [2028]
    assert calendars.missing_years(WorkCalendar.load(), date(2026, 11, 1)) == [2027]
    assert calendars.missing_years(OFFICIAL_2027, date(2026, 12, 20)) == []


@pytest.mark.parametrize("who, wait_at, recompute", [
    ("dispatch", "read", True), ("dispatch", "read", False), ("dispatch", "update", True), ("office", "update", True)],
    ids=["job-waits-after-its-read-then-import", "job-waits-after-its-read-then-notice-alone",
         "job-waits-after-its-update-then-import", "office-re-dispatch-waits-after-its-update-then-import"])
def test_a_deadline_computed_before_a_notice_was_stored_does_not_stay_provisional(
        app, client, rt, config, who, wait_at, recompute):
    """The dispatch job (or the office's dispatch, through the ORM) reads the case and the calendar, then waits
    while a notice is stored: after its read (on its outbox row, held by another transaction as the outbox sweep
    holds the rows it sends), or after its update of the case (on the event table, locked by another
    transaction). With the notice stored alone, the job must see before it commits that the calendar changed;
    with the import's recompute, the recompute must see the deadline (it waits for the writer on PostgreSQL;
    SQLite serializes writers). Either way the deadline must not stay provisional. (A notice stored alone after
    the update is the import's own first step: the recompute follows.)"""
    from sqlalchemy import text

    from gateway.casework.dispatch import dispatch_case
    from gateway.casework.workflow import redispatch
    from gateway.models import Event, table_of
    from tests.kits.dispatch_kit import case as case_of

    postgres = rt.engine.dialect.name == "postgresql"
    if (who, wait_at, recompute) != ("dispatch", "read", True) and not postgres:
        pytest.skip("SQLite runs no writer beside another: a dispatch is wholly before or after the notice")
    set_clock(app, 2026, 12, 31, 10)
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯连续三天不亮。", phone="13800138001")
    case_id = case_of(rt, number).id
    with Session(rt.engine) as session:  # the worker's copy of the calendar, made before the import
        assert not calendars.current(session, rt).is_official(2027)
    admin, importer_name = import_runtime(config, postgres)
    done: dict[str, Any] = {}
    import_notice = notice_importer(admin, recompute)

    def write() -> Any:
        if who == "dispatch":
            return dispatch_case(case_id)
        return redispatch(rt, case_id, [("WH-LIGHT", "lead")], actor="office")

    holder = rt.engine.connect()  # another transaction, which the writer will wait for
    try:
        if wait_at == "read":  # the case's dispatch row in the outbox, which the job marks right after its read
            holder.execute(text("UPDATE outbox SET attempts = attempts WHERE job_id = :key"),
                           {"key": f"dispatch-{case_id}"})
        else:  # the event table, which both write after they computed the deadline
            holder.execute(text(f'LOCK TABLE "{table_of(Event).name}" IN SHARE MODE'))
        writer = in_thread(done, "write", write, app)
        if postgres:
            holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()
            wait_until(f"the {who} to wait after its {wait_at}", lambda: waiting_on(rt, holder_pid))
        importer = in_thread(done, "import", import_notice, admin)
        if postgres:  # the notice is stored; the recompute either ran already (the race) or waits for the writer
            wait_until("the import to finish or to wait for the writer",
                       lambda: "import" in done or import_polls_the_lock(rt, importer_name))
        holder.commit()
    finally:
        holder.close()
    both_ended_on_the_notice(rt, number, done, (writer, importer), admin)


def both_ended_on_the_notice(rt: Any, number: str, done: dict[str, Any], threads: tuple[threading.Thread, ...],
                             admin: Any) -> None:
    """The writer and the import ended without an error, and the case's deadline is on the notice's calendar."""
    for thread in threads:
        thread.join(PATIENCE)
    admin.extensions["hotline"].close()
    assert set(done) == {"write", "import"}, f"still running after {PATIENCE} s: {done}"
    assert not any(isinstance(value, BaseException) for value in done.values()), done
    light = assignments(rt, number)["WH-LIGHT"]
    assert light.reason["calendar_provisional"] == [] and local(light.due_at) == sh(2027, 1, 5, 10)


def import_runtime(config: dict[str, Any], postgres: bool) -> tuple[Any, str]:
    """Another runtime for the import, as `hotline calendar import` is another process; on PostgreSQL its
    connections carry a name of their own, to be found in pg_stat_activity."""
    name = f"calendar-import-{uuid.uuid4().hex[:8]}"
    url = config["DATABASE_URL"]
    named = {**config, "DATABASE_URL": f"{url}{'&' if '?' in url else '?'}application_name={name}"}
    return create_app(named if postgres else config), name


def notice_importer(admin: Any, recompute: bool = True) -> Any:
    """What `hotline calendar import` does with the made-up 2027 notice: store it, then recompute."""
    from gateway.casework.workflow import recompute_deadlines

    def run() -> list[int]:
        other = admin.extensions["hotline"]
        with Session(other.engine) as session:
            calendars.store(session, parse_notice(MADE_UP_2027.read_text(encoding="utf-8")), "notice", actor="test")
        return recompute_deadlines(other, 2027) if recompute else []
    return run


def in_thread(done: dict[str, Any], name: str, work: Any, where: Any) -> threading.Thread:
    """Run `work` in `where`'s app context on a thread; its result (or exception) lands in done[name]."""
    def run() -> None:
        with where.app_context():
            try:
                done[name] = work()
            except BaseException as exc:  # noqa: BLE001 - reported by the test's assertion
                done[name] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def waiting_on(rt: Any, pid: int) -> int | None:
    """The PostgreSQL backend that waits on a lock `pid` holds, if any."""
    from sqlalchemy import text

    with rt.engine.connect() as conn:
        return conn.execute(text("SELECT pid FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                            {"pid": pid}).scalar()


def import_polls_the_lock(rt: Any, importer_name: str) -> bool:
    """The import waits for the transactions that hold the calendar's lock (it reads them from pg_locks)."""
    from sqlalchemy import text

    with rt.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                                      " AND query LIKE '%FROM pg_locks%'"), {"name": importer_name}).scalar())


def notice_stored(rt: Any, year: int) -> bool:
    from gateway.models import CalendarNotice

    with Session(rt.engine) as session:
        return session.get(CalendarNotice, year) is not None


def test_while_an_import_waits_for_an_old_writer_new_dispatches_go_on(app, client, rt, config):
    """The import's wait makes no one wait behind it: a transaction that holds the calendar's lock (a long
    one) keeps the import waiting, and meanwhile a new case is dispatched, on the notice already stored."""
    from gateway.casework.dispatch import dispatch_case
    from tests.kits.dispatch_kit import case as case_of

    if rt.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's lock: SQLite serializes writers")
    set_clock(app, 2026, 12, 31, 10)
    number = report(client, title="路灯不亮", text="江岸区中山大道888号路灯连续三天不亮。", phone="13800138001")
    admin, _ = import_runtime(config, postgres=True)
    done: dict[str, Any] = {}
    old = rt.engine.connect()
    try:
        calendars.hold_for_deadlines(old)  # an older transaction computing deadlines, still open
        importer = in_thread(done, "import", notice_importer(admin), admin)
        wait_until("the notice to be stored", lambda: notice_stored(rt, 2027))
        writer = in_thread(done, "write", lambda: dispatch_case(case_of(rt, number).id), app)
        wait_until("the new dispatch", lambda: "write" in done)
        assert "import" not in done  # still waiting for the older transaction
        old.commit()
    finally:
        old.close()
    both_ended_on_the_notice(rt, number, done, (writer, importer), admin)


def wait_until(what: str, condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {PATIENCE} s"
        time.sleep(0.05)
