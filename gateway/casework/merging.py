"""Merges of cases, and their undo: every merge is a MergeRecord with a snapshot that undo restores.

- ``merge_cases``: the absorbed case keeps its number, points to the survivor (status "merged");
  its reports, assignments and events move to the survivor; the dedupe index follows.
- ``unmerge``: put everything back as the snapshot says (a report-level record: split the report out).
- ``split_report``: a report leaves its case for a new case of its own (dispatched like any new case).
- ``accept_proposal`` / ``reject_proposal``: the office's answer to a grey-zone proposal.
Every one of these a person does is also kept as a labelled pair (``DedupeLabel``: this report and that
case's reports, the same matter or not), which `hotline dedupe calibrate` scores the thresholds on.
Each function opens its own session, commits, and delivers its outbox rows; an illegal step
raises MergeError (a 409 in views).
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlmodel import Session, col, select

from gateway import outbox
from gateway.clock import as_utc, utcnow
from gateway.errors import ApiError
from gateway.intake.ingest import open_case, resolve_case
from gateway.intake.matching import dedupe_of, merge_index
from gateway.models import Assignment, Case, Contact, DedupeLabel, Event, MergeRecord, Outbox, Report, id_of
from gateway.runtime import Runtime


class MergeError(ApiError):
    """An illegal merge step (409)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(409, message, field=field)


class NotFound(ApiError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(404, message, field=field)


def _case(session: Session, case_id: int | None, field: str) -> Case:
    case = session.get(Case, case_id) if case_id is not None else None
    if case is None:
        raise NotFound(f"no case {case_id}", field=field)
    return case


def _record(session: Session, record_id: int) -> MergeRecord:
    record = session.get(MergeRecord, record_id, with_for_update=True)
    if record is None:
        raise NotFound(f"no merge record {record_id}", field="id")
    return record


def recount(session: Session, case: Case) -> None:
    """Set a case's report and reporter counts from its reports (a report without a contact is its own reporter)."""
    contacts = session.exec(select(Report.contact_id).where(Report.case_id == case.id)).all()
    case.report_count = len(contacts)
    case.reporter_count = len({c for c in contacts if c is not None}) + sum(1 for c in contacts if c is None)
    session.add(case)


def reporters(session: Session, case_id: int) -> list[Contact]:
    """Everyone to tell about a case's progress and reply: the contacts of all its reports (merged ones included)."""
    ids = session.exec(select(Report.contact_id).where(Report.case_id == case_id)).all()
    wanted = sorted({i for i in ids if i is not None})
    return list(session.exec(select(Contact).where(col(Contact.id).in_(wanted)))) if wanted else []


def _reports_of(session: Session, case_id: int | None, leave_out: Iterable[int | None] = ()) -> list[int]:
    """The ids of a case's reports, oldest first, but those left out."""
    if case_id is None:
        return []
    rows = session.exec(select(Report.id).where(Report.case_id == case_id)
                        .order_by(col(Report.received_at), col(Report.id))).all()
    skip = set(leave_out)
    return [r for r in rows if r is not None and r not in skip]


def _label(session: Session, report_id: int | None, other_case_id: int | None, same: bool, source: str, actor: str,
           record: MergeRecord | None = None, leave_out: Iterable[int | None] = ()) -> None:
    """Keep a person's decision as a labelled pair: the report, and the other case's reports as they are now."""
    others = _reports_of(session, other_case_id, [*leave_out, report_id])
    if report_id is None or not others:
        return
    session.add(DedupeLabel(report_id=report_id, other_report_id=others[0], other_reports=others,
                            other_case_id=other_case_id, same=same, source=source, actor=actor,
                            merge_record_id=record.id if record else None, score=record.score if record else None,
                            rule=record.rule if record else None))


def _first_report(session: Session, case_id: int | None) -> int | None:
    return next(iter(_reports_of(session, case_id)), None)


def _merge(session: Session, survivor: Case, absorbed: Case, actor: str) -> dict[str, Any]:
    """Move the absorbed case into the survivor; return the snapshot that undoes it."""
    assert survivor.id is not None and absorbed.id is not None
    snapshot: dict[str, Any] = {
        "absorbed": {"status": absorbed.status, "closed_at": absorbed.closed_at.isoformat() if absorbed.closed_at else None,
                     "report_count": absorbed.report_count, "reporter_count": absorbed.reporter_count},
        "survivor": {"report_count": survivor.report_count, "reporter_count": survivor.reporter_count},
    }
    reports = session.exec(select(Report).where(Report.case_id == absorbed.id)).all()
    snapshot["reports"] = [r.id for r in reports]
    for r in reports:
        r.case_id = survivor.id
        session.add(r)
    taken = {a.department_id for a in session.exec(select(Assignment).where(Assignment.case_id == survivor.id))}
    moved, cancelled = [], []
    for a in session.exec(select(Assignment).where(Assignment.case_id == absorbed.id)).all():
        if a.department_id in taken:  # the survivor already has this department: the duplicate stops
            cancelled.append({"id": a.id, "status": a.status})
            a.status = "cancelled"
        else:
            moved.append(a.id)
            a.case_id = survivor.id
        session.add(a)
    snapshot["assignments"] = {"moved": moved, "cancelled": cancelled}
    events = session.exec(select(Event).where(Event.case_id == absorbed.id)).all()
    snapshot["events"] = [e.id for e in events]
    for e in events:
        e.case_id = survivor.id
        session.add(e)
    absorbed.status = "merged"
    absorbed.merged_into_id = survivor.id
    absorbed.updated_at = utcnow()
    session.add(absorbed)
    session.flush()
    recount(session, survivor)
    survivor.last_report_at = max(as_utc(survivor.last_report_at), as_utc(absorbed.last_report_at))
    survivor.updated_at = utcnow()
    merge_index(session, survivor.id, absorbed.id)
    return snapshot


def merge_cases(rt: Runtime, survivor_id: int, absorbed_id: int, actor: str, reasons: list | None = None) -> MergeRecord:
    """Fold the absorbed case into the survivor; its number keeps resolving to the survivor."""
    with Session(rt.engine, expire_on_commit=False) as session:
        survivor = session.get(Case, survivor_id)
        label_to = resolve_case(session, survivor).id if survivor is not None else None
        first = _first_report(session, absorbed_id)
        record = _apply_merge(session, survivor_id, absorbed_id, actor, reasons or [], origin="office")
        _label(session, first, label_to, True, "merged", actor, record,
               leave_out=set(record.snapshot.get("reports", [])))
        session.commit()
        return record


def merge_found(session: Session, survivor_id: int, absorbed_id: int, reasons: list[Any], rule: str | None,
                score: float) -> MergeRecord:
    """Dedupe's own merge, in the caller's transaction (a voice message whose words came after its case was
    opened): recorded as automatic with its reasons, undone like any other."""
    record = MergeRecord(survivor_case_id=survivor_id, absorbed_case_id=absorbed_id, origin="auto", created_by="system",
                         reasons=reasons, rule=rule, score=score)
    return _apply_merge(session, survivor_id, absorbed_id, "system", reasons, origin="auto", record=record)


def _apply_merge(session: Session, survivor_id: int, absorbed_id: int, actor: str, reasons: list[Any],
                 origin: str, record: MergeRecord | None = None) -> MergeRecord:
    survivor = resolve_case(session, _case(session, survivor_id, "into"))
    absorbed = _case(session, absorbed_id, "number")
    assert survivor.id is not None and absorbed.id is not None
    if absorbed.merged_into_id is not None or absorbed.status == "merged":
        raise MergeError(f"case {absorbed.number} is already merged", field="number")
    if survivor.id == absorbed.id:
        raise MergeError("a case cannot be merged into itself", field="into")
    snapshot = _merge(session, survivor, absorbed, actor)
    if record is None:
        record = MergeRecord(survivor_case_id=survivor.id, absorbed_case_id=absorbed.id, origin=origin,
                             created_by=actor, reasons=reasons, rule="office")
    record.status = "applied"
    record.snapshot = snapshot
    record.decided_by, record.decided_at = actor, utcnow()
    session.add(record)
    session.flush()
    data = {"record": record.id, "survivor": survivor.number, "absorbed": absorbed.number}
    session.add(Event(case_id=survivor.id, kind="case_merged", actor=actor, data=data))
    session.add(Event(case_id=absorbed.id, kind="merged_into", actor=actor, data=data))
    return record


def unmerge(rt: Runtime, merge_record_id: int, actor: str) -> MergeRecord:
    """Undo an applied merge: a whole case comes back as it was, or a report is split back out."""
    jobs: list[Outbox] = []
    with Session(rt.engine, expire_on_commit=False) as session:
        record = _record(session, merge_record_id)
        if record.status != "applied":
            raise MergeError(f"merge record {record.id} is {record.status}, not applied", field="id")
        if record.absorbed_case_id is None:
            if record.report_id is None:
                raise MergeError("nothing to undo", field="id")
            report = session.get(Report, record.report_id)
            _label(session, record.report_id, report.case_id if report else None, False, "undone", actor, record)
            _, jobs = _split(session, rt, record.report_id, actor)
        else:
            moved = set(record.snapshot.get("reports", []))
            first = record.report_id if record.report_id in moved else next(iter(sorted(moved)), None)
            _label(session, first, record.survivor_case_id, False, "undone", actor, record, leave_out=moved)
            _restore(session, rt, record, actor)
        record.status = "undone"
        record.decided_by, record.decided_at = actor, utcnow()
        session.add(record)
        outbox.commit_and_send(session, rt.broker, jobs)
        return record


def _restore(session: Session, rt: Runtime, record: MergeRecord, actor: str) -> None:
    snap = record.snapshot
    survivor = _case(session, record.survivor_case_id, "id")
    absorbed = _case(session, record.absorbed_case_id, "id")
    assert survivor.id is not None and absorbed.id is not None
    for report_id in snap.get("reports", []):
        report = session.get(Report, report_id)
        if report is not None and report.case_id == survivor.id:
            report.case_id = absorbed.id
            session.add(report)
    for assignment_id in snap.get("assignments", {}).get("moved", []):
        a = session.get(Assignment, assignment_id)
        if a is not None:
            a.case_id = absorbed.id
            session.add(a)
    for item in snap.get("assignments", {}).get("cancelled", []):
        a = session.get(Assignment, item["id"])
        if a is not None:
            a.status = item["status"]
            session.add(a)
    for event_id in snap.get("events", []):
        e = session.get(Event, event_id)
        if e is not None:
            e.case_id = absorbed.id
            session.add(e)
    before = snap.get("absorbed", {})
    absorbed.status = before.get("status", "new")
    absorbed.merged_into_id = None
    absorbed.closed_at = None if not before.get("closed_at") else absorbed.closed_at
    absorbed.updated_at = survivor.updated_at = utcnow()
    session.add(absorbed)
    session.flush()
    recount(session, survivor)
    recount(session, absorbed)
    dedupe = dedupe_of(rt)  # both cases' features and index rows, from the reports each has now
    dedupe.rebuild_case(session, survivor.id)
    dedupe.rebuild_case(session, absorbed.id)
    data = {"record": record.id, "survivor": survivor.number, "absorbed": absorbed.number}
    session.add(Event(case_id=survivor.id, kind="case_unmerged", actor=actor, data=data))
    session.add(Event(case_id=absorbed.id, kind="unmerged", actor=actor, data=data))


def split_report(rt: Runtime, report_id: int, actor: str) -> Case:
    """Take a report out of its case into a new case of its own."""
    with Session(rt.engine, expire_on_commit=False) as session:
        report = session.get(Report, report_id)
        attached = session.exec(select(MergeRecord).where(MergeRecord.report_id == report_id,
                                                          MergeRecord.status == "applied")).first()
        _label(session, report_id, report.case_id if report else None, False, "split", actor, attached)
        case, jobs = _split(session, rt, report_id, actor)
        for record in session.exec(select(MergeRecord).where(MergeRecord.report_id == report_id,
                                                             MergeRecord.status == "applied")).all():
            record.status, record.decided_by, record.decided_at = "undone", actor, utcnow()
            session.add(record)
        outbox.commit_and_send(session, rt.broker, jobs)
        return case


def _split(session: Session, rt: Runtime, report_id: int, actor: str) -> tuple[Case, list[Outbox]]:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}", field="id")
    old = _case(session, report.case_id, "id")
    if session.exec(select(Report.id).where(Report.case_id == old.id, Report.id != report.id)).first() is None:
        raise MergeError(f"report {report_id} is the only report of its case", field="id")
    case = open_case(session, rt, report)
    assert old.id is not None and case.id is not None
    report.case_id = case.id
    session.add(report)
    session.flush()
    recount(session, old)
    recount(session, case)
    dedupe = dedupe_of(rt)
    dedupe.rebuild_case(session, old.id)
    dedupe.rebuild_case(session, case.id)
    data = {"report": report.id, "from": old.number, "to": case.number}
    session.add(Event(case_id=old.id, kind="report_split", actor=actor, data=data))
    session.add(Event(case_id=case.id, kind="split_from", actor=actor, data=data))
    jobs = [outbox.dispatch_job(session, id_of(case))]
    session.flush()
    return case, jobs


def accept_proposal(rt: Runtime, record_id: int, actor: str) -> MergeRecord:
    """The office agrees: the report's own case merges into the proposed survivor."""
    with Session(rt.engine, expire_on_commit=False) as session:
        record = _record(session, record_id)
        if record.status != "proposed":
            raise MergeError(f"merge record {record.id} is {record.status}, not proposed", field="id")
        report = session.get(Report, record.report_id) if record.report_id else None
        absorbed_id = report.case_id if report is not None else record.absorbed_case_id
        if absorbed_id is None:
            raise MergeError("the proposal names no case to merge", field="id")
        record.absorbed_case_id = absorbed_id
        survivor = session.get(Case, record.survivor_case_id)
        label_to = resolve_case(session, survivor).id if survivor is not None else None
        moved = set(_reports_of(session, absorbed_id))
        first = record.report_id if record.report_id is not None else _first_report(session, absorbed_id)
        _label(session, first, label_to, True, "accepted", actor, record, leave_out=moved)
        _apply_merge(session, record.survivor_case_id, absorbed_id, actor, record.reasons, "auto", record)
        session.commit()
        return record


def reject_proposal(rt: Runtime, record_id: int, actor: str) -> MergeRecord:
    """The office disagrees: the two cases stay apart."""
    with Session(rt.engine, expire_on_commit=False) as session:
        record = _record(session, record_id)
        if record.status != "proposed":
            raise MergeError(f"merge record {record.id} is {record.status}, not proposed", field="id")
        record.status, record.decided_by, record.decided_at = "rejected", actor, utcnow()
        session.add(record)
        survivor = session.get(Case, record.survivor_case_id)
        label_to = resolve_case(session, survivor).id if survivor is not None else None
        first = record.report_id if record.report_id is not None else _first_report(session, record.absorbed_case_id)
        report = session.get(Report, first) if first is not None else None
        _label(session, first, label_to, False, "rejected", actor, record,
               leave_out=set(_reports_of(session, report.case_id if report else None)))
        if record.absorbed_case_id is not None:
            session.add(Event(case_id=record.absorbed_case_id, kind="merge_rejected", actor=actor,
                              data={"record": record.id, "survivor_case_id": record.survivor_case_id}))
        session.commit()
        return record
