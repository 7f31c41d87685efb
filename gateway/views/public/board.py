"""The public message board, read side (no log-in): public posts with replies; one's own case by number + code."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from gateway.casework import followup
from gateway.casework.workflow import citizen_text
from gateway.errors import WorkflowError
from gateway.intake.ingest import find_by_number, reporter_of
from gateway.models import Case, Department, Reply, id_of
from gateway.runtime import current
from gateway.trust import auth
from gateway.trust.privacy import mask_text, reporter_names
from gateway.views.common import Page, page_args

bp = auth.protect(Blueprint("board", __name__, url_prefix="/board"))


@dataclass
class PublicCase:
    """A case as anyone may see it: masked texts, the units' answers, satisfaction; no personal data."""

    number: str
    title: str
    summary: str
    category: str | None
    district: str | None
    status: str
    channel: str
    created_at: Any
    reporter_count: int
    replies: list[dict[str, Any]] = field(default_factory=list)
    satisfaction: str | None = None


def public_cases(db: Session, cases: list[Case]) -> list[PublicCase]:
    """Shape cases for the public: mask phones, e-mails and names in every text shown."""
    ids = [c.id for c in cases if c.id is not None]
    names = reporter_names(db, ids)
    replies: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    # Every reply that reached the citizens, in order: a reopened case keeps its earlier answers.
    for r, dept in db.exec(select(Reply, Department).join(Department, col(Department.id) == Reply.department_id)
                           .where(col(Reply.case_id).in_(ids), col(Reply.round).isnot(None))
                           .order_by(col(Reply.written_at), col(Reply.id))).all():
        replies[r.case_id].append({"unit": dept.name, "role": r.role, "at": r.written_at,
                                   "text": mask_text(citizen_text(r), names[r.case_id])})
    rated = current().case_satisfaction  # casework's follow-up answers
    ratings = rated(db, ids) if rated else {}
    return [PublicCase(number=c.number or "", title=mask_text(c.title, names[id_of(c)]),
                       summary=mask_text(c.summary, names[id_of(c)]), category=c.category,
                       district=c.district, status=c.status, channel=c.channel, created_at=c.created_at,
                       reporter_count=c.reporter_count, replies=replies[id_of(c)], satisfaction=ratings.get(id_of(c)))
            for c in cases]


def _visible() -> list[Any]:
    return [col(Case.public).is_(True), col(Case.merged_into_id).is_(None)]


@bp.get("/")
def index() -> ResponseReturnValue:
    """List and search the public posts, newest first, with the units' replies."""
    page, per_page = page_args(20)
    q = (request.args.get("q") or "").strip()
    where = _visible()
    if q:
        where.append(or_(col(Case.number) == q.upper(), col(Case.title).contains(q, autoescape=True),
                         col(Case.summary).contains(q, autoescape=True)))
    with Session(current().engine) as db:
        total = db.exec(select(func.count()).select_from(Case).where(*where)).one()
        rows = db.exec(select(Case).where(*where).order_by(col(Case.id).desc())
                       .offset((page - 1) * per_page).limit(per_page)).all()
        return render_template("public/board.html", page=Page(public_cases(db, list(rows)), page, per_page, total), q=q)


@bp.get("/cases/<number>")
def case(number: str) -> ResponseReturnValue:
    """One public post with its replies."""
    with Session(current().engine) as db:
        found = find_by_number(db, number)
        if found is None or not found.public:
            return render_template("public/not_found.html"), 404
        return render_template("public/case.html", case=public_cases(db, [found])[0], own=False)


@bp.get("/lookup")
def lookup_form() -> ResponseReturnValue:
    """The form to look up one's own case by number and retrieval code."""
    return render_template("public/lookup.html", number=request.args.get("number", ""))


@bp.post("/lookup")
def lookup() -> ResponseReturnValue:
    """Show one's own case (public or not) when the number and retrieval code match."""
    number = request.form.get("number", "").strip()
    with Session(current().engine) as db:
        found = reporter_of(db, number, request.form.get("code", ""))
        if found is None:
            return render_template("public/lookup.html", number=number, error="工单号或查询码不正确。"), 404
        case, report = found
        assert case.id is not None
        # The case's status and the units' replies, and this reporter's own words (masked like every page
        # anyone with the code may open): not the first reporter's.
        names = reporter_names(db, [case.id])[case.id]
        shown = replace(public_cases(db, [case])[0], title=mask_text(report.title or "我的诉求", names),
                        summary=mask_text(report.text, names))
        asking = followup.waiting_board_followup(db, case, report) is not None
        return render_template("public/case.html", case=shown, own=True, asking=asking, number=number,
                               code=request.form.get("code", "").strip().upper(),
                               merged_from=number.upper() if case.number != number.upper() else None)


@bp.post("/satisfaction")
def rate() -> ResponseReturnValue:
    """The reporter's satisfaction answer from their own look-up page (their number and code)."""
    number = request.form.get("number", "").strip()
    try:
        followup.answer_board(current(), number, request.form.get("code", ""), request.form.get("answer", ""))
    except LookupError:
        return render_template("public/lookup.html", number=number, error="工单号或查询码不正确。"), 404
    except WorkflowError:
        return render_template("public/lookup.html", number=number, error="该工单目前没有待您评价的回访。"), 409
    except ValueError:
        return render_template("public/lookup.html", number=number, error="请选择满意、基本满意或不满意。"), 422
    flash("感谢您的评价！", "ok")
    return redirect(url_for("board.lookup_form", number=number))
