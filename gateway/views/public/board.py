"""The public message board, read side (no log-in): public posts with replies; one's own case by number + code."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from gateway.casework import followup, photos
from gateway.casework.workflow import citizen_text
from gateway.errors import WorkflowError
from gateway.intake.ingest import find_by_number, reporter_of
from gateway.models import Case, Department, Reply, Report, id_of
from gateway.runtime import current
from gateway.trust import auth
from gateway.trust.privacy import mask_text, reporter_names
from gateway.views.common import Page, page_args, send_stored

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
    photos: list[str] = field(default_factory=list)  # URLs of the photos the office approved


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
    shown = photos.public_photos(db, ids)
    return [PublicCase(number=c.number or "", title=mask_text(c.title, names[id_of(c)]),
                       summary=mask_text(c.summary, names[id_of(c)]), category=c.category,
                       district=c.district, status=c.status, channel=c.channel, created_at=c.created_at,
                       reporter_count=c.reporter_count, replies=replies[id_of(c)], satisfaction=ratings.get(id_of(c)),
                       photos=[url_for("board.photo", report_id=r, position=p) for r, p in shown[id_of(c)]])
            for c in cases]


OWN_PHOTO_SECONDS = 3600  # a look-up page's links to the reporter's own photos work this long


def _own_photos() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="board-own-photo")


def own_photos(db: Session, report: Report) -> list[dict[str, Any]]:
    """The reporter's own photos, each with its status and a signed link that only their look-up page holds."""
    signer = _own_photos()
    return [{"url": url_for("board.own_photo", token=signer.dumps([p.report_id, p.position])),
             "status": p.status_label, "filename": p.filename}
            for p in photos.photos_of(db, [report]).get(id_of(report), [])]


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
                               mine=own_photos(db, report),
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


def _photo_row(db: Session, report_id: int, position: int) -> dict[str, Any]:
    report = db.get(Report, report_id)
    row = dict(photos.photo_rows(report)).get(position) if report is not None else None
    if row is None:
        abort(404)
    return dict(row)


@bp.get("/photos/<int:report_id>/<int:position>.jpg")
def photo(report_id: int, position: int) -> ResponseReturnValue:
    """A photo the office approved, of a public report on a public case: its thumbnail (no EXIF); else 404."""
    with Session(current().engine) as db:
        if not photos.is_public(db, report_id, position):
            abort(404)
        row = _photo_row(db, report_id, position)
    resp = send_stored(row, "thumb")
    resp.headers["Cache-Control"] = "public, max-age=300"  # a withdrawn approval is honoured within minutes
    return resp


@bp.get("/my-photos/<token>")
def own_photo(token: str) -> ResponseReturnValue:
    """A reporter's own photo, from the signed link of their look-up page (approved or not)."""
    try:
        report_id, position = _own_photos().loads(token, max_age=OWN_PHOTO_SECONDS)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    if not isinstance(report_id, int) or not isinstance(position, int):
        abort(404)
    with Session(current().engine) as db:
        row = _photo_row(db, report_id, position)
    return send_stored(row, "thumb")
