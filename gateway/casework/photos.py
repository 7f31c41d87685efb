"""Citizens' photos: which reports carry them, and the office's decision on each before the public sees it.

A photo is an attachment for which intake made a thumbnail (gateway.intake.attachments); its place is the
report id and its 1-based position among the report's attachments. Staff and the photo's own reporter see it
at once; the public board and Open311 only once the office approved it (a PhotoReview row), because the
masking of texts cannot cover a face, a plate or a door number in a picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from gateway.clock import utcnow
from gateway.models import Case, Event, PhotoReview, Report

STATUS = {"pending": "待审核", "approved": "已公开", "rejected": "不公开"}


@dataclass
class Photo:
    report_id: int
    position: int
    filename: str
    width: int
    height: int
    status: str  # pending | approved | rejected

    @property
    def status_label(self) -> str:
        return STATUS.get(self.status, self.status)


def photo_rows(report: Report) -> list[tuple[int, dict[str, Any]]]:
    """(position, attachment row) of each photo of a report: the attachments with a thumbnail."""
    return [(i, row) for i, row in enumerate(report.attachments or [], start=1)
            if isinstance(row, dict) and row.get("thumb")]


def photos_of(db: Session, reports: list[Report]) -> dict[int, list[Photo]]:
    """Every photo of these reports with the office's decision, by report id."""
    ids = [r.id for r in reports if r.id is not None and photo_rows(r)]
    decided = {(p.report_id, p.position): p.status
               for p in db.exec(select(PhotoReview).where(col(PhotoReview.report_id).in_(ids))).all()} if ids else {}
    return {r.id: [Photo(r.id, pos, str(row.get("filename") or ""), int(row.get("width") or 0),
                         int(row.get("height") or 0), decided.get((r.id, pos), "pending"))
                   for pos, row in photo_rows(r)]
            for r in reports if r.id is not None and r.id in ids}


def public_photos(db: Session, case_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """(report id, position) of the approved photos of public reports, by case id."""
    shown: dict[int, list[tuple[int, int]]] = {i: [] for i in case_ids}
    if not case_ids:
        return shown
    rows = db.exec(select(PhotoReview, Report).join(Report, col(Report.id) == PhotoReview.report_id)
                   .where(col(Report.case_id).in_(case_ids), col(Report.public).is_(True),
                          PhotoReview.status == "approved")
                   .order_by(col(Report.received_at), col(Report.id), col(PhotoReview.position))).all()
    for review, report in rows:
        if report.case_id is not None and any(pos == review.position for pos, _ in photo_rows(report)):
            shown[report.case_id].append((review.report_id, review.position))
    return shown


def is_public(db: Session, report_id: int, position: int) -> bool:
    """May anyone see this photo: approved, of a public report, on a case the public board shows?"""
    review = db.exec(select(PhotoReview).where(PhotoReview.report_id == report_id,
                                               PhotoReview.position == position)).first()
    report = db.get(Report, report_id)
    if review is None or review.status != "approved" or report is None or not report.public or report.case_id is None:
        return False
    case = db.get(Case, report.case_id)
    return case is not None and case.public and case.merged_into_id is None and position in dict(photo_rows(report))


def review(db: Session, report_id: int, position: int, approve: bool, actor: str) -> tuple[Report, str]:
    """Record the office's decision on one photo (a new one replaces the last) with an event on its case; the
    caller commits. LookupError when the report has no photo at that position."""
    report = db.get(Report, report_id)
    if report is None or position not in dict(photo_rows(report)):
        raise LookupError(f"report {report_id} has no photo {position}")
    status = "approved" if approve else "rejected"
    row = db.exec(select(PhotoReview).where(PhotoReview.report_id == report_id,
                                            PhotoReview.position == position)).first()
    if row is None:
        row = PhotoReview(report_id=report_id, position=position, status=status, decided_by=actor[:100])
    row.status, row.decided_by, row.decided_at = status, actor[:100], utcnow()
    db.add(row)
    if report.case_id is not None:
        db.add(Event(case_id=report.case_id, kind="photo_reviewed", actor=actor[:100],
                     data={"report_id": report_id, "position": position, "status": status}))
    return report, status
