"""The department workbench (承办单位): the unit's queue; sign, reply, return, ask for more time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, func, select

from gateway.casework import workflow
from gateway.casework.queues import workbench_tabs
from gateway.clock import utcnow
from gateway.models import LEAD, Assignment, Case, Department, Report, User
from gateway.runtime import current
from gateway.trust import auth
from gateway.trust.auth import require_role
from gateway.views.common import Page, page_args
from gateway.views.staff.console import run_action

bp = auth.protect(Blueprint("workbench", __name__, url_prefix="/workbench"))

TABS = {"to_sign": "待签收", "in_progress": "办理中", "due_soon": "即将到期", "overdue": "已超期", "done": "已办结"}


def _user() -> User:
    user = auth.current_user()
    assert user is not None and user.department_id is not None  # require_role + create_user guarantee it
    return user


def _reminder_hours() -> float:
    return float(current().profile.sla.get("reminder_before_hours", 4))


@bp.get("/")
@require_role("department")
def queue() -> ResponseReturnValue:
    """The unit's assignments by tab: to sign, in progress, due soon, overdue, done."""
    user = _user()
    now = utcnow()
    tab = request.args.get("tab", "to_sign")
    tabs = workbench_tabs(now, _reminder_hours())
    if tab not in tabs:
        tab = "to_sign"
    page, per_page = page_args(50)
    mine = Assignment.department_id == user.department_id
    with Session(current().engine) as db:
        dept = db.get(Department, user.department_id)
        counts = {k: db.exec(select(func.count()).select_from(Assignment).where(mine, clause)).one()
                  for k, clause in tabs.items()}
        rows = db.exec(select(Assignment, Case).join(Case, col(Case.id) == Assignment.case_id)
                       .where(mine, tabs[tab]).order_by(col(Assignment.due_at), col(Assignment.id))
                       .offset((page - 1) * per_page).limit(per_page)).all()
        return render_template("workbench/queue.html", dept=dept, tab=tab, tabs=TABS, counts=counts,
                               page=Page(list(rows), page, per_page, counts[tab]), now=now)


def _mine(db: Session, assignment_id: int) -> Assignment:
    """The assignment, if it belongs to the user's unit; another unit's is a 404, not a hint it exists."""
    assignment = db.get(Assignment, assignment_id)
    if assignment is None or assignment.department_id != _user().department_id:
        abort(404)
    return assignment


@bp.get("/assignments/<int:assignment_id>")
@require_role("department")
def assignment_page(assignment_id: int) -> ResponseReturnValue:
    """One assignment: the case, its reports, and (for the lead unit) what the assisting units answered."""
    with Session(current().engine) as db:
        assignment = _mine(db, assignment_id)
        case = db.get(Case, assignment.case_id)
        reports = db.exec(select(Report).where(Report.case_id == assignment.case_id).order_by(col(Report.received_at))).all()
        others = db.exec(select(Assignment, Department).join(Department)
                         .where(Assignment.case_id == assignment.case_id, Assignment.id != assignment.id)).all()
        subs = [(a, d) for a, d in others if a.parent_assignment_id == assignment.id]  # passed on by this unit
        if assignment.role != LEAD:  # assisting units see who leads, not each other's answers
            others = [(a, d) for a, d in others if a.role == LEAD]
        others = [(a, d) for a, d in others if a.parent_assignment_id != assignment.id]
        units = workflow.sub_units(db, assignment.department_id)
        return render_template("workbench/assignment.html", a=assignment, case=case, reports=reports, others=others,
                               subs=subs, units=units, now=utcnow())


def _act(assignment_id: int, service: Callable[..., Any], *args: Any, done: str) -> Any:
    with Session(current().engine) as db:
        _mine(db, assignment_id)
    run_action(service, assignment_id, *args, done=done)
    return redirect(url_for("workbench.assignment_page", assignment_id=assignment_id))


def _refuse(assignment_id: int, message: str) -> Any:
    """Back to the assignment page with the reason the form was refused (nothing was done)."""
    flash(message, "error")
    return redirect(url_for("workbench.assignment_page", assignment_id=assignment_id))


@bp.post("/assignments/<int:assignment_id>/sign")
@require_role("department")
def sign(assignment_id: int) -> ResponseReturnValue:
    """Sign for an assignment (签收)."""
    return _act(assignment_id, workflow.sign, _user().actor, done="已签收。")


@bp.post("/assignments/<int:assignment_id>/reply")
@require_role("department")
def reply(assignment_id: int) -> ResponseReturnValue:
    """Answer an assignment (答复)."""
    text = request.form.get("text", "").strip()
    kind = request.form.get("kind", "final")
    reason = request.form.get("reason", "").strip() or None
    if not text or kind not in workflow.REPLY_KINDS:
        return _refuse(assignment_id, "答复内容不能为空。")
    if kind in workflow.NEEDS_REASON and not reason:
        return _refuse(assignment_id, f"{workflow.REPLY_KINDS[kind]}须写明理由。")
    until = _form_date() if kind == "interim" else None
    if kind == "interim" and (until is None or until <= utcnow()):
        return _refuse(assignment_id, "阶段性答复须填写一个将来的最终答复日期。")
    with Session(current().engine) as db:
        review = _mine(db, assignment_id).role == LEAD and bool(current().profile.city.get("review_replies"))
    return _act(assignment_id, workflow.reply, text, _user().actor, kind, reason, until,
                done="答复已提交，待督办中心审核。" if review else "已提交答复。")


@bp.post("/assignments/<int:assignment_id>/return")
@require_role("department")
def return_assignment(assignment_id: int) -> ResponseReturnValue:
    """Return an assignment that is not the unit's, with a reason (退回)."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _refuse(assignment_id, "退回必须说明理由。")
    return _act(assignment_id, workflow.return_assignment, reason, _user().actor, done="已退回，由督办中心重新分派。")


@bp.post("/assignments/<int:assignment_id>/extension")
@require_role("department")
def extension(assignment_id: int) -> ResponseReturnValue:
    """Ask for more time until a date, with a reason (申请延期)."""
    reason, until = request.form.get("reason", "").strip(), _form_date()
    if until is None or not reason or until <= utcnow():
        return _refuse(assignment_id, "请填写一个将来的日期和延期理由。")
    return _act(assignment_id, workflow.request_extension, until, reason, _user().actor, done="已提交延期申请。")


def _form_date() -> datetime | None:
    """The form's date field as 18:00 city time that day (the end of a working day), or None."""
    try:
        return datetime.strptime(request.form.get("until", ""), "%Y-%m-%d").replace(hour=18, tzinfo=current().profile.tz)
    except ValueError:
        return None


@bp.post("/assignments/<int:assignment_id>/pass")
@require_role("department")
def pass_on(assignment_id: int) -> ResponseReturnValue:
    """Pass the assignment on to sub-units (转办下级单位), inside this unit's own deadline."""
    codes = request.form.getlist("unit")
    if not codes:
        return _refuse(assignment_id, "请至少选择一个下级单位。")
    note = request.form.get("note", "").strip()
    return _act(assignment_id, workflow.pass_on, codes, _user().actor, note, done="已转办下级单位。")


@bp.post("/assignments/<int:assignment_id>/suspend")
@require_role("department")
def suspend(assignment_id: int) -> ResponseReturnValue:
    """Ask the office to pause both clocks until a date (申请挂起), with a reason."""
    reason, until = request.form.get("reason", "").strip(), _form_date()
    if until is None or not reason or until <= utcnow():
        return _refuse(assignment_id, "请填写一个将来的恢复日期和挂起理由。")
    return _act(assignment_id, workflow.request_suspension, until, reason, _user().actor, done="已提交挂起申请。")


@bp.post("/assignments/<int:assignment_id>/resume")
@require_role("department")
def resume(assignment_id: int) -> ResponseReturnValue:
    """End a pause (恢复办理): both clocks run again."""
    return _act(assignment_id, workflow.resume, _user().actor, done="已恢复办理，时限顺延。")


@bp.post("/assignments/<int:assignment_id>/contact")
@require_role("department")
def contact(assignment_id: int) -> ResponseReturnValue:
    """Record that the citizen was reached (回告), with a note."""
    note = request.form.get("note", "").strip()
    if not note:
        return _refuse(assignment_id, "请写明联系市民的时间和方式。")
    return _act(assignment_id, workflow.record_contact, note, _user().actor, done="已记录回告。")
