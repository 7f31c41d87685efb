"""Build cases, merges and assignments straight in the database, for the console, board and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from gateway.clock import utcnow
from gateway.models import Assignment, Case, Contact, Department, Event, Identity, MergeRecord, Reply, Report

FOUR_CHANNELS = [
    ("web", "中山大道路灯不亮", "江岸区中山大道888号附近路灯连续三晚不亮，我是张先生，电话13800138001。", "张先生",
     "+8613800138001", None),
    ("hotline", "来电反映路灯故障", "市民来电：中山大道888号路灯坏了，晚上很黑。", "李女士", "+8613900139002", None),
    ("sms", None, "中山大道888号的路灯还是不亮", None, "+8613700137003", None),
    ("email", "路灯问题", "您好，中山大道888号路灯不亮已经一周了，请尽快维修。王五 wang.wu@example.com", "王五", None,
     "wang.wu@example.com"),
]


@dataclass
class Merged:
    survivor: Case
    absorbed: Case
    record: MergeRecord
    reports: list[Report]
    assignment: Assignment


def department_id(db: Session, code: str) -> int:
    return db.exec(select(Department.id).where(Department.code == code)).one()


def add_case(db: Session, number: str, *, title: str = "路灯不亮", summary: str = "路灯不亮", status: str = "dispatched",
             channel: str = "web", category: str | None = "street_light", district: str | None = "江岸区",
             public: bool = True, reporter_count: int = 1, created_at: datetime | None = None, **extra: Any) -> Case:
    now = created_at or utcnow()
    case = Case(number=number, title=title, summary=summary, status=status, channel=channel,
                category=category, district=district, public=public, reporter_count=reporter_count,
                created_at=now, updated_at=now, last_report_at=now, **extra)
    db.add(case)
    db.flush()
    return case


def add_assignment(db: Session, case: Case, code: str, *, role: str = "lead", status: str = "dispatched",
                   due_in: timedelta = timedelta(hours=24), **extra: Any) -> Assignment:
    now = utcnow()
    extra.setdefault("due_at", now + due_in)
    a = Assignment(case_id=case.id, department_id=department_id(db, code), role=role, status=status,
                   dispatched_at=now, **extra)
    db.add(a)
    db.flush()
    return a


def add_reply(db: Session, assignment: Assignment, text: str, round_no: int = 1) -> Reply:
    """A reply citizens received (round ``round_no``), as gateway.casework.workflow records one."""
    assignment.reply_text, assignment.replied_at, assignment.status = text, utcnow(), "replied"
    db.add(assignment)
    reply = Reply(case_id=assignment.case_id, assignment_id=assignment.id, department_id=assignment.department_id,
                  role=assignment.role, text=text, status="approved", round=round_no, written_by="test")
    db.add(reply)
    db.flush()
    return reply


CODES = ("K7M2QX", "P4HN8R", "T3WZ9A", "M8CD4E")  # each reporter's own retrieval code (web, hotline, sms, email)


def merged_case(rt: Any, *, public: bool = True) -> Merged:
    """Two cases about one broken street light: the absorbed one points at the survivor (an applied merge),
    and the survivor holds reports from four channels (web, hotline, sms, email) by four people.

    The hotline report came with the absorbed case (merged while still new, before any dispatch): the record's
    snapshot says so, as gateway.casework.merging writes it, so undoing the merge gives that report back."""
    with Session(rt.engine, expire_on_commit=False) as db:
        survivor = add_case(db, "WH20260301-000001", title="中山大道路灯不亮",
                            summary="江岸区中山大道888号附近路灯连续三晚不亮，张先生电话13800138001。",
                            reporter_count=4, report_count=4, public=public, address="江岸区中山大道888号")
        absorbed = add_case(db, "WH20260301-000002", title="来电反映路灯故障", summary="中山大道888号路灯坏了",
                            status="merged", channel="hotline")
        absorbed.merged_into_id = survivor.id
        reports = []
        for i, (channel, title, text, name, phone, email) in enumerate(FOUR_CHANNELS):
            contact = Contact(name=name)
            db.add(contact)
            db.flush()
            for kind, value in (("phone", phone), ("email", email)):
                if value:
                    db.add(Identity(contact_id=contact.id, kind=kind, value=value))
            report = Report(case_id=survivor.id, contact_id=contact.id, channel=channel, external_id=f"{channel}-{i}",
                            title=title, text=text, name=name, phone=phone, email=email, retrieval_code=CODES[i],
                            received_at=utcnow() - timedelta(hours=4 - i), link="new" if i == 0 else "same_problem")
            db.add(report)
            reports.append(report)
        db.flush()
        snapshot = {"absorbed": {"status": "new", "closed_at": None, "report_count": 1, "reporter_count": 1},
                    "survivor": {"report_count": 3, "reporter_count": 3}, "reports": [reports[1].id],
                    "assignments": {"moved": [], "cancelled": []}, "events": []}
        record = MergeRecord(survivor_case_id=survivor.id, absorbed_case_id=absorbed.id, status="applied", origin="auto",
                             score=0.91, rule="same_problem", snapshot=snapshot,
                             reasons=[{"label": "同一地点：中山大道888号"}, {"label": "文本相似度 0.82"}])
        db.add(record)
        db.add(Event(case_id=survivor.id, kind="merged", data={"absorbed": absorbed.number, "reason": "同一问题"}))
        assignment = add_assignment(db, survivor, "WH-LIGHT")
        db.add(survivor)
        db.add(absorbed)
        db.commit()
        return Merged(survivor, absorbed, record, reports, assignment)
