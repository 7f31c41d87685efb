"""The coordinating office's console (督办): cases, one case, merge proposals, triage, supervision, reports."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from gateway import search
from gateway.casework import merging, photos, workflow
from gateway.casework.queues import is_open, overdue, overdue_case_ids
from gateway.clock import utcnow
from gateway.errors import ApiError, WorkflowError
from gateway.intake.ingest import find_by_number, resolve_case
from gateway.messaging import knowledge
from gateway.models import (
    LEAD,
    Assignment,
    AuditEntry,
    Case,
    Contact,
    Department,
    Event,
    Extension,
    Identity,
    KnowledgeAnswer,
    KnowledgeEntry,
    MergeRecord,
    Reply,
    Report,
    User,
    id_of,
)
from gateway.reporting import charts, ledger, operators, stats
from gateway.runtime import current
from gateway.trust import audit, auth, privacy
from gateway.trust.auth import require_role
from gateway.views.common import CASE_STATUS, CHANNEL, EVENT, Page, category_name, day_arg, page_args, send_stored

bp = auth.protect(Blueprint("console", __name__, url_prefix="/console"))

OFFICE = ("admin", "office")
CASE_NUMBER = re.compile(r"^[A-Za-z]{2,4}\d{8}-\d{4,8}$")
# The event kinds gateway.casework.workflow, gateway.casework.merging and the jobs write that ui.EVENT does not name yet.
EVENT_LABELS = {**EVENT, "case_merged": "合并", "merged_into": "并入其他工单", "case_unmerged": "撤销合并",
                "merge_rejected": "驳回合并建议", "report_split": "拆出来件", "split_from": "由拆分来件新建",
                "assist_input": "协办意见", "return_overruled": "退单未获同意", "reopened": "重新办理",
                "reply_sent": "答复已送达", "followup_answered": "回访答复", "triage": "转人工分拣",
                "dispatch_failed": "派单推送失败", "delivery_failed": "送达失败", "calendar_provisional": "时限按暂定日历计算",
                "deadline_recomputed": "按放假通知重算时限", "unpublished": "从留言板撤下",
                "rule_changed": "时限规则变更", "complexity": "复杂程度", "urgency": "紧急程度", "ack_overdue": "回告超时",
                "contacted": "已联系市民（回告）", "suspension_requested": "申请挂起", "suspension_decided": "挂起审批",
                "resumed": "恢复办理", "extension_requested": "申请延期", "extension_decided": "延期审批",
                "reply_submitted": "答复待审核", "reply_returned": "答复被退回", "photo_reviewed": "照片审核"}


def _user() -> User:
    user = auth.current_user()
    assert user is not None  # the role decorators ran first
    return user


def run_action(service: Callable[..., Any], *args: Any, done: str) -> bool:
    """Call a workflow or merging service from a form; flash the outcome; False when the step was refused."""
    try:
        service(current(), *args)
    except (WorkflowError, ApiError, LookupError) as exc:  # workflow's refusals, merging's MergeError/NotFound
        flash(f"操作未完成：{exc}", "error")
        return False
    flash(done, "ok")
    return True


def _local_day(value: str, end: bool = False) -> datetime | None:
    """A yyyy-mm-dd date from a filter as the start (or end) of that day in the city; bad input is ignored."""
    if (day := day_arg(value)) is None:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=current().profile.tz)


def case_filters(args: Any, now: datetime) -> list[Any]:
    """The WHERE clauses of the case list's filters and search box."""
    where: list[Any] = []
    status = args.get("status", "")
    if status == "merged":
        where.append(col(Case.merged_into_id).is_not(None))
    else:
        where.append(col(Case.merged_into_id).is_(None))
        if status:
            where.append(Case.status == status)
    for field in ("district", "category"):
        if args.get(field):
            where.append(getattr(Case, field) == args[field])
    if args.get("channel"):  # any of its reports' channels: a merged case carries every source's reports
        where.append(or_(Case.channel == args["channel"],
                         col(Case.id).in_(select(Report.case_id).where(Report.channel == args["channel"]))))
    if args.get("department"):
        units = select(Department.id).where(Department.code == args["department"])
        where.append(col(Case.id).in_(select(Assignment.case_id).where(col(Assignment.department_id).in_(units))))
    if args.get("overdue"):
        where.append(col(Case.id).in_(overdue_case_ids(now)))
    if args.get("on_call"):  # 即时办: closed by the operator on the call
        where.append(col(Case.closed_on_call))
    if args.get("date_from") and (start := _local_day(args["date_from"])):
        where.append(Case.created_at >= start)
    if args.get("date_to") and (end := _local_day(args["date_to"], end=True)):
        where.append(Case.created_at < end)
    q = (args.get("q") or "").strip()
    if q:
        if CASE_NUMBER.match(q):
            where.append(Case.number == q.upper())
        else:
            digits = re.sub(r"\D", "", q)  # four or more digits: a phone number, or part of one, too
            where.append(search.cases_containing(current().engine.dialect.name, q, digits if len(digits) >= 4 else ""))
    return where


@bp.get("/")
@require_role(*OFFICE)
def cases() -> ResponseReturnValue:
    """The merged-case list with filters (status, unit, district, category, channel, overdue, date) and search."""
    rt = current()
    page, per_page = page_args(50)
    now = utcnow()
    q = (request.args.get("q") or "").strip()
    with Session(rt.engine) as db:
        if q and CASE_NUMBER.match(q):
            hit = find_by_number(db, q)  # an absorbed case's number leads to its survivor
            if hit is not None and not any(request.args.get(k) for k in ("status", "department", "overdue")):
                return redirect(url_for("console.case_page", number=q.upper()))  # which notes a merge
        where = case_filters(request.args, now)
        total = db.exec(select(func.count()).select_from(Case).where(*where)).one()
        rows = db.exec(select(Case).where(*where).order_by(col(Case.id).desc())
                       .offset((page - 1) * per_page).limit(per_page)).all()
        late = set(db.exec(select(Assignment.case_id).where(col(Assignment.case_id).in_([c.id for c in rows]), overdue(now))).all())
        channels: dict[int | None, list[str]] = {}
        for case_id, name in db.exec(select(Report.case_id, Report.channel).where(
                col(Report.case_id).in_([c.id for c in rows])).distinct().order_by(Report.channel)).all():
            channels.setdefault(case_id, []).append(name)
        departments = db.exec(select(Department).where(Department.active).order_by(Department.code)).all()
        return render_template("console/cases.html", page=Page(list(rows), page, per_page, total), late=late,
                               case_channels=channels,
                               departments=departments, districts=rt.profile.district_names(),
                               categories=rt.profile.categories, statuses=CASE_STATUS, channels=CHANNEL,
                               args=request.args, export_args=_export_args())


def _export_args() -> dict[str, str]:
    """The list's filters, for the export links: the ledger is the list as filtered, every page of it."""
    return {key: value for key, value in request.args.items() if value and key != "page"}


def _ledger(kind: str) -> tuple[ledger.Labels, list[Any], str]:
    """The filtered selection, audited: the filters' clauses, the labels, and the file's name."""
    rt = current()
    now = utcnow()
    where = case_filters(request.args, now)
    with Session(rt.engine) as db:
        total = db.exec(select(func.count()).select_from(Case).where(*where)).one()
    filters = _export_args()
    if "q" in filters:  # a search by phone would keep the number in the audit log, past retention's reach
        filters["q"] = privacy.mask_text(filters["q"])
    audit.record("ledger_exported", f"ledger:{kind}", filters=filters, rows=total)
    name = f"工单台账-{now.astimezone(rt.profile.tz):%Y%m%d-%H%M}.{kind}"
    return ledger.Labels(status=CASE_STATUS, channel=CHANNEL), where, name


@bp.get("/cases.csv")
@require_role(*OFFICE)
def cases_csv() -> ResponseReturnValue:
    """The case list with its filters as a CSV ledger (台账), streamed page by page."""
    rt = current()
    labels, where, name = _ledger("csv")
    pages = ledger.batches(rt.engine, rt.profile, where, labels)
    response = Response(ledger.csv_chunks(pages), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(name)
    return response


@bp.get("/cases.xlsx")
@require_role(*OFFICE)
def cases_xlsx() -> ResponseReturnValue:
    """The case list with its filters as an XLSX ledger: written to a temporary file, then streamed from it."""
    rt = current()
    labels, where, name = _ledger("xlsx")
    spool = tempfile.TemporaryFile(prefix="ledger-", suffix=".xlsx")  # no name on disk: gone when closed
    try:
        ledger.write_xlsx(ledger.batches(rt.engine, rt.profile, where, labels), spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return send_file(spool, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=name)


def _attachment(name: str) -> str:
    """Content-Disposition for a Chinese file name: an ASCII fallback and the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    return f"attachment; filename=\"{name.replace('工单台账', 'ledger')}\"; filename*=UTF-8''{quote(name)}"


def family(db: Session, case_id: int) -> list[int]:
    """The case and every case merged into it (directly or through a chain), whose reports it now carries."""
    ids, frontier = [case_id], [case_id]
    while frontier:
        frontier = [i for i in db.exec(select(Case.id).where(col(Case.merged_into_id).in_(frontier))).all()
                    if i is not None and i not in ids]
        ids += frontier
    return ids


def _reporters(db: Session, reports: list[Report]) -> list[dict[str, Any]]:
    """The people behind a case's reports: each contact once with its identities and report count."""
    ids = [r.contact_id for r in reports if r.contact_id]
    contacts = {c.id: c for c in db.exec(select(Contact).where(col(Contact.id).in_(ids))).all()}
    identities: dict[int, list[Identity]] = {}
    for ident in db.exec(select(Identity).where(col(Identity.contact_id).in_(ids))).all():
        identities.setdefault(ident.contact_id, []).append(ident)
    people: dict[Any, dict[str, Any]] = {}
    for r in reports:
        key = r.contact_id or f"anon-{r.id}"
        person = people.setdefault(key, {"name": None, "identities": [], "channels": [], "reports": 0})
        contact = contacts.get(r.contact_id) if r.contact_id else None
        person["name"] = person["name"] or r.name or (contact.name if contact else None)
        person["identities"] = identities.get(r.contact_id, []) if r.contact_id else []
        person["channels"].append(r.channel)
        person["reports"] += 1
    return list(people.values())


@bp.get("/cases/<number>")
@require_role(*OFFICE)
def case_page(number: str) -> ResponseReturnValue:
    """One case: every source report on one timeline, reporters, merges, assignments, replies, events."""
    rt = current()
    with Session(rt.engine) as db:
        case = find_by_number(db, number)
        if case is None:
            return render_template("console/not_found.html", number=number), 404
        if case.number != number.strip().upper():
            merged_from: dict[str, Any] = {"from": number}  # `from` is a keyword: passed as **
            return redirect(url_for("console.case_page", number=case.number, **merged_from))
        assert case.id is not None
        reports = list(db.exec(select(Report).where(col(Report.case_id).in_(family(db, case.id)))
                               .order_by(col(Report.received_at), col(Report.id))).all())
        assignments = db.exec(select(Assignment, Department).join(Department)
                              .where(Assignment.case_id == case.id).order_by(col(Assignment.role).desc(), col(Assignment.id))).all()
        merges = db.exec(select(MergeRecord).where(or_(col(MergeRecord.survivor_case_id) == case.id,
                                                       col(MergeRecord.absorbed_case_id) == case.id))
                         .order_by(col(MergeRecord.id))).all()
        related = {c.id: c for c in db.exec(select(Case).where(col(Case.id).in_(
            [m.absorbed_case_id for m in merges] + [m.survivor_case_id for m in merges]))).all()}
        events = db.exec(select(Event).where(Event.case_id == case.id).order_by(col(Event.at), col(Event.id))).all()
        departments = db.exec(select(Department).where(Department.active, Department.kind != "office").order_by(Department.code)).all()
        requests = db.exec(select(Extension, Department).join(Assignment, col(Assignment.id) == Extension.assignment_id)
                           .join(Department, col(Department.id) == Assignment.department_id)
                           .where(Assignment.case_id == case.id, Extension.status == "pending")
                           .order_by(col(Extension.id))).all()
        history = db.exec(select(Reply, Department).join(Department, col(Department.id) == Reply.department_id)
                          .where(Reply.case_id == case.id).order_by(col(Reply.written_at), col(Reply.id))).all()
        page = render_template("console/case.html", case=case, reports=reports, reporters=_reporters(db, reports),
                               assignments=assignments, merges=merges, related=related, events=events, requests=requests,
                               history=history, kinds=workflow.REPLY_KINDS, photos=photos.photos_of(db, reports),
                               departments=departments, resolved_from=request.args.get("from"), now=utcnow(),
                               event_labels=EVENT_LABELS)
        shown = case.number
    audit.record("case_viewed", f"case:{shown}", via="console")  # the page shows the reporters' names and phones
    return page


@bp.post("/cases/<number>/dispatch")
@require_role(*OFFICE)
def dispatch(number: str) -> ResponseReturnValue:
    """Dispatch or re-dispatch a case by hand: one lead unit and any assisting units."""
    with Session(current().engine) as db:
        case = find_by_number(db, number)
        if case is None:
            return render_template("console/not_found.html", number=number), 404
        lead = request.form.get("lead", "")
        units = [(lead, LEAD)] if lead else []
        units += [(code, "assist") for code in request.form.getlist("assist") if code and code != lead]
    if not units:
        flash("请至少选择一个主办单位。", "error")
    else:
        run_action(workflow.redispatch, case.id, units, _user().actor, done="已重新派单。")
    return redirect(url_for("console.case_page", number=case.number))


@bp.post("/extensions/<int:extension_id>/decide")
@require_role(*OFFICE)
def decide_request(extension_id: int) -> ResponseReturnValue:
    """Approve or refuse a unit's request for more time (延期) or a pause (挂起)."""
    with Session(current().engine) as db:
        row = db.exec(select(Case.number).join(Assignment, col(Assignment.case_id) == Case.id)
                      .join(Extension, col(Extension.assignment_id) == Assignment.id)
                      .where(Extension.id == extension_id)).first()
    if row is None:
        return render_template("console/not_found.html", number=str(extension_id)), 404
    approve = request.form.get("approve") == "1"
    run_action(workflow.decide_extension, extension_id, approve, _user().actor, done="已批准。" if approve else "已不予批准。")
    return redirect(url_for("console.case_page", number=row))


@bp.post("/cases/<number>/complexity")
@require_role(*OFFICE)
def complexity(number: str) -> ResponseReturnValue:
    """Mark a case especially complex (特别复杂), or take the mark off: the open assignments' deadlines follow."""
    with Session(current().engine) as db:
        case = find_by_number(db, number)
        if case is None:
            return render_template("console/not_found.html", number=number), 404
    flag = request.form.get("complex") == "1"
    run_action(workflow.set_complexity, case.id, flag, _user().actor,
               done="已标记为特别复杂，办理时限按复杂件规则重算。" if flag else "已取消特别复杂标记。")
    return redirect(url_for("console.case_page", number=case.number))


@bp.post("/cases/<number>/merge")
@require_role(*OFFICE)
def merge_into(number: str) -> ResponseReturnValue:
    """Merge this case into another named by its number (confirmed on the form; the merge record undoes it)."""
    into = request.form.get("into", "").strip().upper()
    back = url_for("console.case_page", number=number)
    if request.form.get("confirm") != "1" or not into:
        flash("请填写目标工单号并勾选确认。", "error")
        return redirect(back)
    with Session(current().engine) as db:
        case, survivor = find_by_number(db, number), find_by_number(db, into)
    if case is None:
        return render_template("console/not_found.html", number=number), 404
    if survivor is None:
        flash(f"操作未完成：没有工单 {into}。", "error")
        return redirect(back)
    try:
        record = merging.merge_cases(current(), id_of(survivor), id_of(case), _user().actor,
                                     [{"label": "督办人员手工合并"}])
    except (ApiError, LookupError) as exc:
        flash(f"操作未完成：{exc}", "error")
        return redirect(back)
    audit.record("merged", f"merge:{record.id}", absorbed=case.number, survivor=survivor.number)
    flash(f"已并入 {survivor.number}；可在合并记录中撤销。", "ok")
    return redirect(url_for("console.case_page", number=survivor.number))


@bp.post("/reports/<int:report_id>/split")
@require_role(*OFFICE)
def split_report(report_id: int) -> ResponseReturnValue:
    """Take one report out of its case into a case of its own (confirmed on the form)."""
    back = auth.safe_next(request.form.get("back"), url_for("console.cases"))
    if request.form.get("confirm") != "1":
        flash("请勾选确认后再拆分。", "error")
        return redirect(back)
    try:
        case = merging.split_report(current(), report_id, _user().actor)
    except (ApiError, LookupError) as exc:
        flash(f"操作未完成：{exc}", "error")
        return redirect(back)
    audit.record("report_split", f"case:{case.number}", report_id=report_id)
    flash(f"已拆出为新工单 {case.number}；如需撤销，可将其并回原工单。", "ok")
    return redirect(url_for("console.case_page", number=case.number))


@bp.post("/cases/<number>/urgency")
@require_role(*OFFICE)
def urgency(number: str) -> ResponseReturnValue:
    """Mark a case urgent (紧急), or take the mark off: the open assignments' deadlines follow."""
    with Session(current().engine) as db:
        case = find_by_number(db, number)
        if case is None:
            return render_template("console/not_found.html", number=number), 404
    flag = request.form.get("urgent") == "1"
    run_action(workflow.set_urgency, case.id, flag, _user().actor,
               done="已标记为紧急，办理时限按紧急件规则重算。" if flag else "已取消紧急标记。")
    return redirect(url_for("console.case_page", number=case.number))


@bp.post("/cases/<number>/unpublish")
@require_role(*OFFICE)
def unpublish(number: str) -> ResponseReturnValue:
    """Take a public post off the board (and Open311): the case goes on, private."""
    with Session(current().engine) as db:
        case = find_by_number(db, number)
        if case is None:
            return render_template("console/not_found.html", number=number), 404
        was_public, case.public = case.public, False
        db.add(case)
        if was_public:
            db.add(Event(case_id=id_of(case), kind="unpublished", actor=_user().actor, data={}))
        db.commit()
        shown = case.number
    if was_public:
        audit.record("unpublished", f"case:{shown}")
    flash("已从留言板撤下。", "ok")
    return redirect(url_for("console.case_page", number=shown))


def _attachment_row(report_id: int, position: int) -> dict[str, Any]:
    with Session(current().engine) as db:
        report = db.get(Report, report_id)
        rows = report.attachments if report is not None else []
    if not 1 <= position <= len(rows) or not isinstance(rows[position - 1], dict):
        abort(404)
    return dict(rows[position - 1])


@bp.get("/photos/<int:report_id>/<int:position>")
@require_role(*OFFICE)
def photo(report_id: int, position: int) -> ResponseReturnValue:
    """A photo's thumbnail (EXIF-free, upright, bounded), whatever the office decided about the public."""
    return send_stored(_attachment_row(report_id, position), "thumb")


@bp.get("/attachments/<int:report_id>/<int:position>")
@require_role(*OFFICE)
def attachment(report_id: int, position: int) -> ResponseReturnValue:
    """The file as received, as a download: never rendered by the browser (octet-stream, nosniff)."""
    return send_stored(_attachment_row(report_id, position), "path", download=True)


@bp.post("/photos/<int:report_id>/<int:position>/review")
@require_role(*OFFICE)
def review_photo(report_id: int, position: int) -> ResponseReturnValue:
    """Approve a photo for the public board and Open311, or keep it off them; audited."""
    approve = request.form.get("approve") == "1"
    with Session(current().engine) as db:
        try:
            report, status = photos.review(db, report_id, position, approve, _user().actor)
        except LookupError:
            abort(404)
        case = db.get(Case, report.case_id) if report.case_id is not None else None
        number = resolve_case(db, case).number if case is not None else None
        db.commit()
    audit.record("photo_reviewed", f"report:{report_id}", position=position, status=status, case=number)
    flash("照片已公开到留言板。" if approve else "照片不在留言板公开。", "ok")
    return redirect(url_for("console.case_page", number=number) if number else url_for("console.cases"))


@bp.get("/merges")
@require_role(*OFFICE)
def merges() -> ResponseReturnValue:
    """The merge proposals, each shown side by side with the case it would join."""
    page, per_page = page_args(20)
    status = request.args.get("status", "proposed")
    with Session(current().engine) as db:
        where = [MergeRecord.status == status] if status in ("proposed", "applied", "rejected", "undone") else []
        total = db.exec(select(func.count()).select_from(MergeRecord).where(*where)).one()
        rows = db.exec(select(MergeRecord).where(*where).order_by(col(MergeRecord.id).desc())
                       .offset((page - 1) * per_page).limit(per_page)).all()
        case_ids = {m.survivor_case_id for m in rows} | {m.absorbed_case_id for m in rows if m.absorbed_case_id}
        cases_by_id = {c.id: c for c in db.exec(select(Case).where(col(Case.id).in_(case_ids))).all()}
        report_ids = [m.report_id for m in rows if m.report_id]
        reports_by_id = {r.id: r for r in db.exec(select(Report).where(col(Report.id).in_(report_ids))).all()}
        return render_template("console/merges.html", page=Page(list(rows), page, per_page, total), status=status,
                               cases=cases_by_id, reports=reports_by_id)


MERGE_AUDIT = {"accept_proposal": "merge_accepted", "reject_proposal": "merge_rejected", "unmerge": "merge_undone"}


def _merge_action(record_id: int, service: Callable[..., Any], done: str) -> Any:
    if run_action(service, record_id, _user().actor, done=done):
        audit.record(MERGE_AUDIT[service.__name__], f"merge:{record_id}")
    return redirect(auth.safe_next(request.form.get("back"), url_for("console.merges")))  # never another site


@bp.post("/merges/<int:record_id>/accept")
@require_role(*OFFICE)
def accept_merge(record_id: int) -> ResponseReturnValue:
    """Accept a proposed merge."""
    return _merge_action(record_id, merging.accept_proposal, "已确认合并。")


@bp.post("/merges/<int:record_id>/reject")
@require_role(*OFFICE)
def reject_merge(record_id: int) -> ResponseReturnValue:
    """Reject a proposed merge."""
    return _merge_action(record_id, merging.reject_proposal, "已驳回合并建议。")


@bp.post("/merges/<int:record_id>/undo")
@require_role(*OFFICE)
def undo_merge(record_id: int) -> ResponseReturnValue:
    """Undo an applied merge."""
    return _merge_action(record_id, merging.unmerge, "已撤销合并。")


@bp.get("/triage")
@require_role(*OFFICE)
def triage() -> ResponseReturnValue:
    """Cases whose routing was not confident enough: the office decides where they go."""
    page, per_page = page_args(50)
    with Session(current().engine) as db:
        where = [col(Case.status) == "triage", col(Case.merged_into_id).is_(None)]
        total = db.exec(select(func.count()).select_from(Case).where(*where)).one()
        rows = db.exec(select(Case).where(*where).order_by(col(Case.created_at))
                       .offset((page - 1) * per_page).limit(per_page)).all()
        names = {d.code: d.name for d in db.exec(select(Department)).all()}  # units by name, never by code
        return render_template("console/triage.html", page=Page(list(rows), page, per_page, total), unit_names=names)


@bp.get("/replies")
@require_role(*OFFICE)
def replies() -> ResponseReturnValue:
    """The review queue (答复审核): leads' replies waiting for the office before they reach citizens."""
    page, per_page = page_args(50)
    with Session(current().engine) as db:
        where = [Reply.status == "pending"]
        total = db.exec(select(func.count()).select_from(Reply).where(*where)).one()
        rows = db.exec(select(Reply, Case, Department).join(Case, col(Case.id) == Reply.case_id)
                       .join(Department, col(Department.id) == Reply.department_id).where(*where)
                       .order_by(col(Reply.written_at)).offset((page - 1) * per_page).limit(per_page)).all()
        return render_template("console/replies.html", page=Page(list(rows), page, per_page, total),
                               kinds=workflow.REPLY_KINDS)


@bp.post("/replies/<int:reply_id>/review")
@require_role(*OFFICE)
def review_reply(reply_id: int) -> ResponseReturnValue:
    """Approve a reply, or send it back to the unit with a comment."""
    approve = request.form.get("approve") == "1"
    comment = request.form.get("comment", "").strip()
    if not approve and not comment:
        flash("退回答复须写明意见。", "error")
    else:
        run_action(workflow.review_reply, reply_id, approve, _user().actor, comment,
                   done="答复已审核通过并发送。" if approve else "答复已退回承办单位。")
    return redirect(auth.safe_next(request.form.get("back"), url_for("console.replies")))  # never another site


SUPERVISION_TABS = {"all": "全部", "overdue": "超期", "chased": "已催办", "escalated": "已升级"}


@bp.get("/supervision")
@require_role(*OFFICE)
def supervision() -> ResponseReturnValue:
    """The supervision board: overdue, chased and escalated assignments, the most urgent first."""
    page, per_page = page_args(50)
    now = utcnow()
    tab = request.args.get("tab", "all")
    clauses = {"overdue": overdue(now), "chased": Assignment.supervision_level == 3,
               "escalated": Assignment.supervision_level >= 4,
               "all": or_(overdue(now), col(Assignment.supervision_level) > 0)}
    with Session(current().engine) as db:
        counts = {k: db.exec(select(func.count()).select_from(Assignment).where(is_open(), v)).one() for k, v in clauses.items()}
        where = [is_open(), clauses.get(tab, clauses["all"])]
        rows = db.exec(select(Assignment, Case, Department).join(Case, col(Case.id) == Assignment.case_id)
                       .join(Department, col(Department.id) == Assignment.department_id)
                       .where(*where).order_by(col(Assignment.supervision_level).desc(), col(Assignment.due_at))
                       .offset((page - 1) * per_page).limit(per_page)).all()
        return render_template("console/supervision.html", page=Page(list(rows), page, per_page, counts.get(tab, counts["all"])),
                               tab=tab, tabs=SUPERVISION_TABS, counts=counts, now=now)


@bp.get("/reports")
@require_role(*OFFICE)
def reports() -> ResponseReturnValue:
    """Department rankings on the five rates (gateway.reporting.rates), cumulative replies, hot issues, charts:
    computed at most once per HOTLINE_REPORTS_CACHE_SECONDS for every node (at a million cases they take seconds),
    the time they were computed on the page."""
    rt = current()
    try:
        span = min(max(int(request.args.get("days", 30)), 1), 366)
    except ValueError:
        span = 30
    tz = rt.profile.tz
    since = datetime.combine((utcnow().astimezone(tz) - timedelta(days=span - 1)).date(), time(), tzinfo=tz)
    fresh = rt.settings.reports_cache_seconds
    body, at = rt.broker.remembered(f"reports:{span}:{since.date().isoformat()}", fresh,
                                    lambda: _reports_body(span, since))
    return render_template("console/reports.html", span=span, body=Markup(body), fresh=fresh,
                           computed_at=datetime.fromtimestamp(at, timezone.utc))


def _reports_body(span: int, since: datetime) -> str:
    rt = current()
    now, tz = utcnow(), rt.profile.tz
    with Session(rt.engine) as db:
        ranking, city = stats.rankings(db, since, now, rt.profile.repeat_window)
        axis = stats.days(since, now, tz)
        labels = [d.strftime("%m-%d") for d in axis]
        by_channel = {CHANNEL.get(k, k): v for k, v in stats.volume_by_channel(db, since, axis, tz).items()}
        by_category = stats.volume_by_category(db, since, axis, tz)
        top_categories = dict(list(by_category.items())[:6])
        return render_template(
            "console/_reports_body.html", span=span, since=since, ranking=ranking,
            repeat_hours=round(rt.profile.repeat_window.total_seconds() / 3600),
            total_replies=stats.cumulative_replies(db), hot=stats.hot_issues(db, since),
            operators=operators.operator_measures(db, since, now),
            overall=city,  # the table's foot: first contact for the whole city
            channel_chart=charts.line_chart(labels, by_channel, title="各渠道来件量（按日）"),
            category_chart=charts.line_chart(labels, {category_name(k): v for k, v in top_categories.items()},
                                             title="主要类别工单量（按日）"),
            category_bars=charts.bar_chart([(category_name(k), sum(v)) for k, v in by_category.items()],
                                           title="各类别工单总量"),
        )


@bp.get("/audit")
@require_role("admin")
def audit_log() -> ResponseReturnValue:
    """The audit log, newest first, filtered by who, what, which object and when."""
    page, per_page = page_args(50)
    filters = {key: (request.args.get(key) or "").strip() for key in ("actor", "action", "target", "since", "until")}
    where = []
    if filters["actor"]:
        where.append(col(AuditEntry.actor).contains(filters["actor"], autoescape=True))
    if filters["action"] in audit.ACTIONS:
        where.append(col(AuditEntry.action) == filters["action"])
    if filters["target"]:
        where.append(col(AuditEntry.target).contains(filters["target"], autoescape=True))
    since, until = _local_day(filters["since"]), _local_day(filters["until"], end=True)  # days in the city
    filters.update(since=filters["since"] if since else "", until=filters["until"] if until else "")
    if since:
        where.append(col(AuditEntry.at) >= since)
    if until:
        where.append(col(AuditEntry.at) < until)
    with Session(current().engine) as db:
        total = db.exec(select(func.count()).select_from(AuditEntry).where(*where)).one()
        rows = db.exec(select(AuditEntry).where(*where).order_by(col(AuditEntry.id).desc())
                       .offset((page - 1) * per_page).limit(per_page)).all()
        return render_template("console/audit.html", page=Page(list(rows), page, per_page, total), filters=filters,
                               actions=audit.ACTIONS)


@bp.get("/operator")
@require_role("operator", "admin")
def operator_home() -> ResponseReturnValue:
    """The operator's start page: the way to the hotline intake form."""
    return render_template("console/operator.html")


KNOWLEDGE_TITLE_MAX, KNOWLEDGE_TEXT_MAX = 200, 4000


def _knowledge_form() -> tuple[dict[str, str], str | None]:
    """The entry form's values and what is wrong with them (None: nothing)."""
    values = {key: request.form.get(key, "").strip() for key in ("title", "text", "category")}
    if not values["title"] or not values["text"]:
        return values, "问题和答复内容都须填写。"
    if len(values["title"]) > KNOWLEDGE_TITLE_MAX or len(values["text"]) > KNOWLEDGE_TEXT_MAX:
        return values, f"问题不超过 {KNOWLEDGE_TITLE_MAX} 字，答复不超过 {KNOWLEDGE_TEXT_MAX} 字。"
    if "\x00" in "".join(values.values()):
        return values, "内容含有无效字符。"
    if values["category"] and current().profile.category(values["category"]) is None:
        return values, "没有这个问题分类。"
    return values, None


@bp.get("/knowledge")
@require_role(*OFFICE)
def knowledge_entries() -> ResponseReturnValue:
    """The office's knowledge base entries (active and retired) and the form for a new one."""
    status = request.args.get("status", "active")
    with Session(current().engine) as db:
        rows = list(knowledge.entries(db, status if status in ("active", "retired") else None))
        replies = db.exec(select(func.count()).select_from(KnowledgeAnswer).where(
            KnowledgeAnswer.source == "reply", col(KnowledgeAnswer.active))).one()
    return render_template("console/knowledge.html", rows=rows, status=status, replies=replies,
                           categories=current().profile.categories, values={})


@bp.post("/knowledge")
@require_role(*OFFICE)
def knowledge_create() -> ResponseReturnValue:
    """A new entry, searchable at once by the operators."""
    values, wrong = _knowledge_form()
    if wrong:
        flash(wrong, "error")
        return redirect(url_for("console.knowledge_entries"))
    category = current().profile.category(values["category"])
    with Session(current().engine) as db:
        entry = KnowledgeEntry(title=values["title"], text=values["text"], category=category.code if category else None,
                               created_by=_user().actor)
        db.add(entry)
        db.flush()
        knowledge.put_entry(db, entry)
        db.commit()
        entry_id = entry.id
    audit.record("knowledge_created", f"knowledge:{entry_id}", title=values["title"])
    flash("已加入知识库。", "ok")
    return redirect(url_for("console.knowledge_entries"))


@bp.get("/knowledge/<int:entry_id>")
@require_role(*OFFICE)
def knowledge_entry(entry_id: int) -> ResponseReturnValue:
    """One entry, to edit, retire or bring back."""
    with Session(current().engine) as db:
        entry = db.get(KnowledgeEntry, entry_id)
    if entry is None:
        return render_template("console/not_found.html", number=f"知识库条目 {entry_id}"), 404
    return render_template("console/knowledge_entry.html", entry=entry, categories=current().profile.categories)


@bp.post("/knowledge/<int:entry_id>")
@require_role(*OFFICE)
def knowledge_update(entry_id: int) -> ResponseReturnValue:
    """Save an edited entry (the search sees the new words at once), retire it, or bring it back."""
    action = request.form.get("action", "save")
    values, wrong = _knowledge_form() if action == "save" else ({}, None)
    if wrong:
        flash(wrong, "error")
        return redirect(url_for("console.knowledge_entry", entry_id=entry_id))
    with Session(current().engine) as db:
        entry = db.get(KnowledgeEntry, entry_id)
        if entry is None:
            return render_template("console/not_found.html", number=f"知识库条目 {entry_id}"), 404
        if action == "save":
            category = current().profile.category(values["category"])
            entry.title, entry.text, entry.category = values["title"], values["text"], category.code if category else None
        else:
            entry.status = "retired" if action == "retire" else "active"
        entry.updated_by, entry.updated_at = _user().actor, utcnow()
        db.add(entry)
        knowledge.put_entry(db, entry)
        db.commit()
    audit.record("knowledge_retired" if action == "retire" else "knowledge_changed", f"knowledge:{entry_id}",
                 step=action)
    flash({"save": "已保存。", "retire": "已停用，话务员不再检索到该条目。"}.get(action, "已恢复启用。"), "ok")
    return redirect(url_for("console.knowledge_entry", entry_id=entry_id))
