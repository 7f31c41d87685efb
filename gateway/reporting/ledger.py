"""The ledger (台账): the console's case list, with its filters, as rows for a CSV or an XLSX file.

One row per case, as the list shows them (a merged case once, as its survivor), newest first:

    工单号, 受理时间, 来件渠道, 类别, 国标大类, 国标大类代码, 诉求类型, 区域, 主办单位, 协办单位,
    办理时限, 答复时间, 状态, 满意度

- 来件渠道: every channel the case's reports came by (a merged case carries every source's reports);
- 国标大类 / 国标大类代码: the category's GB/T 39666-2020 major class (the code stays empty: none is verified);
- 主办单位 / 协办单位: the names of the lead and assisting units of the assignments not cancelled;
- 办理时限: the lead assignment's due time; 答复时间: the lead's first reply; both in city time;
- 满意度: the latest follow-up answer of the case (`casework.followup.case_satisfaction`), the label only.

Personal data: none of these columns is. The ledger carries no reporter's name, phone, e-mail, address, report
text, reply text or follow-up answer text, and must not grow one: a file leaves the system's access control and
its retention (trust/retention scrubs personal data after the city's period; an exported file keeps it for
ever). A case number leads to its reporters only through the console's case page, which audits each view.
满意度 is the reporters' rating of the handling, per case, without who gave it. So nothing is masked. Every
export is audited all the same (views/staff/console.py): it is the whole selection leaving at once, and the
selection can be made by personal data (the search box finds cases by a phone number).

Memory stays flat however many rows: cases are read in keyset pages (ids below the last page's, newest first)
of ``BATCH``, each page in its own short session with its channels, units and satisfaction in three queries;
CSV is written page by page into the response, XLSX by openpyxl's write-only workbook (rows go to a temporary
file as they come). Measured at 10,000 and 100,000 rows by ``python -m bench.ledger`` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gateway.casework.followup import case_satisfaction
from gateway.clock import as_utc
from gateway.models import LEAD, Assignment, Case, Department, Report
from gateway.profile import Profile

BATCH = 1000  # cases per page: three IN-lists of this size per page, well under SQLite's bound parameters
HEADERS = ["工单号", "受理时间", "来件渠道", "类别", "国标大类", "国标大类代码", "诉求类型", "区域", "主办单位", "协办单位",
           "办理时限", "答复时间", "状态", "满意度"]
WIDTHS = [20, 17, 22, 12, 22, 12, 8, 16, 28, 28, 17, 17, 10, 8]  # XLSX columns, in characters
_FORMULA = ("=", "+", "-", "@")  # a text cell starting so is a formula to Excel (and to openpyxl)


@dataclass(frozen=True)
class Labels:
    """The console's words for statuses and channels (views/common.py), so the ledger reads as the list does."""

    status: Mapping[str, str]
    channel: Mapping[str, str]


@dataclass
class Units:
    """A case's assignments, reduced to the ledger's columns."""

    lead: list[str]
    assist: list[str]
    due: datetime | None = None
    answered: datetime | None = None


def batches(engine: Engine, profile: Profile, where: list[Any], labels: Labels) -> Iterator[list[list[Any]]]:
    """The ledger rows of the cases matching ``where`` (the console's filters), one page of rows at a time."""
    before: int | None = None
    while True:
        with Session(engine) as db:
            cases = _page(db, where, before)
            if not cases:
                return
            ids = [c.id for c in cases]
            channels, units, rated = _channels(db, ids), _units(db, ids), case_satisfaction(db, ids)
        yield [_row(c, channels.get(c.id, [c.channel]), units.get(c.id), rated.get(c.id), profile, labels)
               for c in cases]
        before = ids[-1]


def _page(db: Session, where: list[Any], before: int | None) -> list[Any]:
    """The next BATCH cases below id ``before``, newest first: only the columns the ledger shows."""
    query = sa_select(col(Case.id), col(Case.number), col(Case.created_at), col(Case.channel), col(Case.category),
                      col(Case.appeal_type), col(Case.district), col(Case.status)).where(*where)
    if before is not None:
        query = query.where(col(Case.id) < before)
    return list(db.execute(query.order_by(col(Case.id).desc()).limit(BATCH)).all())


def _channels(db: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = db.exec(select(Report.case_id, Report.channel).where(col(Report.case_id).in_(ids))
                   .distinct().order_by(col(Report.channel))).all()
    for case_id, channel in rows:
        if case_id is not None:
            found.setdefault(case_id, []).append(channel)
    return found


def _units(db: Session, ids: list[int]) -> dict[int, Units]:
    """Lead and assisting unit names (each once), the latest lead's due time and the lead's first reply."""
    rows = db.execute(sa_select(col(Assignment.case_id), col(Assignment.role), col(Assignment.due_at),
                                col(Assignment.replied_at), col(Department.name))
                      .join(Department, col(Department.id) == Assignment.department_id)
                      .where(col(Assignment.case_id).in_(ids), col(Assignment.status) != "cancelled")
                      .order_by(col(Assignment.id))).all()
    found: dict[int, Units] = {}
    for case_id, role, due, replied, name in rows:
        units = found.setdefault(case_id, Units([], []))
        names = units.lead if role == LEAD else units.assist
        if name not in names:
            names.append(name)
        if role == LEAD:
            units.due = due or units.due  # a reopened case's new lead assignment comes later
            if replied and (units.answered is None or as_utc(replied) < as_utc(units.answered)):
                units.answered = replied
    return found


def _row(case: Any, channels: list[str], units: Units | None, rated: str | None, profile: Profile,
         labels: Labels) -> list[Any]:
    category = profile.category(case.category)
    major = profile.national_class(case.category)
    units = units or Units([], [])
    return [
        case.number, _local(case.created_at, profile), "、".join(labels.channel.get(c, c) for c in channels),
        _plain(category.name if category else case.category), major.name if major else None,
        major.code if major else None, _plain(case.appeal_type), _plain(case.district), "、".join(units.lead),
        "、".join(units.assist), _local(units.due, profile), _local(units.answered, profile),
        labels.status.get(case.status, case.status), rated,
    ]


def _local(moment: datetime | None, profile: Profile) -> datetime | None:
    """City time without a zone: what a spreadsheet shows (openpyxl refuses aware datetimes)."""
    return as_utc(moment).astimezone(profile.tz).replace(tzinfo=None) if moment else None


def _plain(text: str | None) -> str | None:
    """Text that a spreadsheet shows as text: a leading =, +, - or @ would make it a formula."""
    return "'" + text if text and text.startswith(_FORMULA) else text


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "" if value is None else str(value)


def csv_chunks(pages: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    """The CSV file, a page at a time: UTF-8 with a byte-order mark, which Excel needs to read Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    for page in pages:
        out.seek(0)
        out.truncate()
        writer.writerows([_text(v) for v in row] for row in page)
        yield out.getvalue().encode("utf-8")


def write_xlsx(pages: Iterator[list[list[Any]]], target: IO[bytes]) -> int:
    """Write the XLSX file to ``target`` with a write-only workbook; return the number of rows."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单台账")
    for i, width in enumerate(WIDTHS, start=1):  # column widths must come before the first row
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append(HEADERS)
    count = 0
    for page in pages:
        for row in page:
            sheet.append(row)
        count += len(page)
    book.save(target)
    return count
