"""The working-day calendar an installation uses: the bundled years plus the notices imported into its
database, read again in every process as soon as a new notice is stored.

A deadline that reaches into a year without a notice is computed on that year's statutory base
(``workcal``: provisional, flagged on the assignment and in an event); importing the notice recomputes
the open assignments that were flagged for its year, with an event each.

An import must see every deadline computed on the calendar before it. On SQLite it does: a transaction that
writes holds the database from its first statement, so the notice waits for a dispatch in flight and the
recompute sees its rows. On PostgreSQL a dispatch may read the calendar, then commit its deadline after the
recompute has read the assignments; so a transaction that computes deadlines holds a shared advisory lock from
its read of the calendar to its commit (`for_deadlines`; the dispatch job takes it in its read of the case,
`hold_column`, and checks in its update of the case that the calendar did not change meanwhile), and the
recompute first waits until every holder from before it began has ended (`wait_for_deadline_writers`, which
reads the holders from pg_locks: it makes no one wait behind it).
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, cast, column, func, table
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from gateway.casework.workcal import CITY_TZ, Festival, WorkCalendar, YearDays, default_calendar
from gateway.clock import utcnow
from gateway.models import CalendarNotice, table_of
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

BANNER_DAYS = 60  # from this many days before the last official year ends, say the next notice is missing


def _year_days(row: CalendarNotice) -> YearDays:
    return YearDays(row.year, tuple(
        Festival(f["name"], date.fromisoformat(f["first"]), date.fromisoformat(f["last"]),
                 tuple(date.fromisoformat(d) for d in f["makeup"])) for f in row.festivals))


def stamp_columns() -> tuple[Any, Any]:
    """What tells whether a process's copy of the calendar is current (how many notices, the last one's import
    time), as two scalar subqueries: a statement that needs the calendar can ask them beside its own columns."""
    notices = table_of(CalendarNotice)
    return (core_select(func.count()).select_from(notices).scalar_subquery(),
            core_select(func.max(notices.c.imported_at)).scalar_subquery())


@functools.cache
def _stamp() -> Any:
    return core_select(*stamp_columns())


def current(session: Session, rt: Runtime, stamp: tuple[Any, Any] | None = None) -> WorkCalendar:
    """The calendar with every imported notice; one small query tells whether the process's copy is current
    (``stamp``: its answer, when the caller asked it with its own statement, `stamp_columns`)."""
    stamp = stamp or tuple(session.connection().execute(_stamp()).one())  # Core: every dispatch asks this
    cached = rt.calendar
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = session.exec(select(CalendarNotice)).all()
    calendar = default_calendar().with_years(_year_days(r) for r in rows)
    rt.calendar = (stamp, calendar)
    return calendar


def for_deadlines(session: Session, rt: Runtime) -> WorkCalendar:
    """The calendar, for a transaction that stores deadlines computed on it (see the module's docstring)."""
    hold_for_deadlines(session.connection())
    return current(session, rt)


# Advisory lock keys: this one, and the schema's name hashed (installations may share a database).
_LOCK_KEY = 0x43414C  # "CAL"


def _lock_key() -> tuple[Any, Any]:
    return _LOCK_KEY, func.hashtext(func.current_schema())


def hold_column() -> Any:
    """PostgreSQL: the calendar's lock, shared, to the end of the transaction, as a column of a statement that
    comes before the calendar is read. Nothing takes it exclusive: it never waits."""
    return func.pg_advisory_xact_lock_shared(*_lock_key())


def hold_for_deadlines(connection: Connection) -> None:
    """PostgreSQL: `hold_column` in a statement of its own."""
    if connection.dialect.name == "postgresql":
        connection.execute(core_select(hold_column()))


@functools.cache
def _holders() -> Any:
    """The other transactions that hold the calendar's lock now: pg_locks shows a two-number advisory key as
    classid and objid (both unsigned) with objsubid 2."""
    locks = table("pg_locks", *(column(name) for name in ("locktype", "granted", "objsubid", "database", "classid",
                                                          "objid", "pid", "virtualtransaction")))
    databases = table("pg_database", column("oid"), column("datname"))
    unsigned = [cast(part, BigInteger).op("&")(0xFFFFFFFF) for part in _lock_key()]
    return core_select(locks.c.pid, locks.c.virtualtransaction).where(
        locks.c.locktype == "advisory", locks.c.granted, locks.c.objsubid == 2,
        locks.c.database == core_select(databases.c.oid).where(databases.c.datname == func.current_database())
        .scalar_subquery(),
        cast(locks.c.classid, BigInteger) == unsigned[0], cast(locks.c.objid, BigInteger) == unsigned[1],
        locks.c.pid != func.pg_backend_pid())


def wait_for_deadline_writers(engine: Engine, poll_seconds: float = 0.05, say_every: float = 10.0) -> None:
    """PostgreSQL: wait until every transaction that holds the calendar's lock now has ended (the deadlines they
    computed are committed and visible). The holders are read from pg_locks and polled, not waited for by taking
    the lock exclusive: a request in the lock's queue would hold up every dispatch behind it for as long as the
    oldest holder runs. A wait longer than `say_every` seconds is logged with the holders' process ids."""
    if engine.dialect.name != "postgresql":
        return
    started = said = time.monotonic()
    with engine.connect() as conn:
        waiting = set(conn.execute(_holders()).all())
        while waiting:
            conn.commit()  # a fresh look each time
            time.sleep(poll_seconds)
            waiting &= set(conn.execute(_holders()).all())
            if waiting and time.monotonic() - said >= say_every:
                said = time.monotonic()
                log.warning("calendar: waiting %.0f s for %d transactions computing deadlines on the old calendar "
                            "(pids %s)", said - started, len(waiting), sorted(pid for pid, _ in waiting))


def missing_years(calendar: WorkCalendar, today: date) -> list[int]:
    """The years whose notice is missing and due: this year, and next year from BANNER_DAYS before it starts."""
    years = [today.year] if not calendar.is_official(today.year) else []
    if not calendar.is_official(today.year + 1) and today >= date(today.year, 12, 31) - timedelta(days=BANNER_DAYS):
        years.append(today.year + 1)
    return years


def status(session: Session, rt: Runtime) -> dict[str, Any]:
    """What readiness and the console say about the calendar: official years, and the missing ones."""
    calendar = current(session, rt)
    return {"official_years": sorted(calendar.years),
            "missing": missing_years(calendar, utcnow().astimezone(CITY_TZ).date())}


def store(session: Session, days: YearDays, source: str, actor: str) -> None:
    """Store (or replace) a year's notice; `workflow.recompute_deadlines` then moves the deadlines that were
    provisional for it. Commits."""
    row = session.get(CalendarNotice, days.year) or CalendarNotice(year=days.year, source=source)
    row.festivals = [{"name": f.name, "first": f.first.isoformat(), "last": f.last.isoformat(),
                      "makeup": [d.isoformat() for d in f.makeup]} for f in days.festivals]
    row.source, row.imported_at, row.imported_by = source, utcnow(), actor
    session.add(row)
    session.commit()
    log.info("calendar: the %s notice imported by %s", days.year, actor)

