"""The public message board: the post form (HTML, CSRF-checked) and the JSON endpoint, both through the board adapter."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from adapters import board as board_adapter
from adapters.base import AdapterError
from gateway.intake.ingest import ingest
from gateway.models import Department
from gateway.runtime import current
from gateway.trust import auth
from gateway.views.common import answer, parse_or_keep, raw_inbound

bp = Blueprint("board_form", __name__)


def _form_choices() -> dict[str, Any]:
    rt = current()
    with Session(rt.engine) as session:
        units = session.exec(select(Department.name).where(col(Department.active).is_(True)).order_by(col(Department.id))).all()
    return {"topics": [c.name for c in rt.profile.categories], "units": list(units)}


@bp.get("/board/post")
def post_form() -> ResponseReturnValue:
    """Show the empty post form; a fresh post id makes a double submission idempotent."""
    return render_template("board/post.html", values={"post_id": f"F{secrets.token_hex(8)}", "public": ""},
                           error=None, **_form_choices())


@bp.post("/board/post")
def submit_form() -> ResponseReturnValue:
    """Take a post from the HTML form; answer with the case number, or the form again naming the field."""
    raw = raw_inbound("board")
    auth.check_csrf()
    try:
        report = parse_or_keep(raw, board_adapter.parse)
        if request.form.get("public") not in ("0", "1"):  # the form asks: nothing is public unless chosen
            raise AdapterError("public", "请选择是否公开")
    except AdapterError as error:
        values = {key: request.form.get(key, "") for key in board_adapter.FIELDS}
        return render_template("board/post.html", values=values, error=error, **_form_choices()), 422
    result = ingest(current(), report)
    return render_template("board/thanks.html", case=result.case, code=result.report.retrieval_code,
                           created=result.created), 201 if result.created else 200


@bp.post("/api/v1/board/posts")
def post_json() -> ResponseReturnValue:
    """Take a board post as JSON or form-encoded; 201 new, 200 replay of the same post_id, 422 naming the field."""
    return answer(ingest(current(), parse_or_keep(raw_inbound("board"), board_adapter.parse)))
