"""Blueprint registry and the error handlers shared by every view."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from adapters.base import AdapterError
from gateway.errors import ApiError

log = logging.getLogger(__name__)

MACHINE_PATHS = ("/api/", "/open311/", "/webhooks/")  # answered in JSON (Open311 by its own handlers)
# endpoint -> the channel whose body limit applies (e-mail has its own: HOTLINE_MAIL_MAX_BYTES)
BODY_CHANNELS = {"api.post_report": "api", "board_form.post_json": "board", "board_form.submit_form": "board",
                 "webhooks.twilio_sms": "sms", "webhooks.twilio_status": "sms", "voice.incoming_call": "sms",
                 "voice.recorded": "sms", "voice.transcription": "sms", "hotline.push_tickets": "hotline",
                 "open311.create_request": "open311"}


class BoundedInt(IntegerConverter):
    """`<int:...>` in every route, bounded to the ids the database has (INTEGER keys: 32 bits on PostgreSQL): a
    larger id is a 404, not an overflow deep in the driver."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**31 - 1,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


UNREADABLE = re.compile("[\x00\ud800-\udfff]")
# Forms read here before their view: never an intake form, whose view keeps the raw body first.
CHECKED_FORMS = ("account", "console", "workbench")


def _refuse_unreadable_values() -> None:
    """A NUL byte or a lone surrogate in a query value (or a staff form field) is 422 naming the field: no
    database stores it (PostgreSQL refuses NUL in text), and a search for it can match nothing."""
    values = list(request.args.items(multi=True))
    if request.blueprint in CHECKED_FORMS or request.endpoint in ("board.lookup", "account.login_submit"):
        values += list(request.form.items(multi=True))
    for field, value in values:
        if UNREADABLE.search(field + value):
            message = "contains a NUL byte or a lone surrogate: not text"
            if request.path.startswith(MACHINE_PATHS):
                raise ApiError(422, f"{field[:40]}: {message}", field=field[:40])
            abort(422, description=f"{field[:40]}：含有无法识别的字符（NUL 或代理字符），请检查输入。")


def register_views(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_refuse_unreadable_values)
    from gateway.views import common
    from gateway.views.machine import api, caller, hotline, merges, voice, webhooks, workflow
    from gateway.views.public import board, board_form, open311
    from gateway.views.staff import account, calls, console, operator, workbench

    for blueprint in (api.bp, account.bp, console.bp, workbench.bp, board.bp, board_form.bp, hotline.bp, operator.bp,
                      open311.bp, webhooks.bp, workflow.bp, merges.bp, calls.bp, voice.bp, caller.bp):
        app.register_blueprint(blueprint)
    common.init_templates(app)

    @app.get("/")
    def home() -> ResponseReturnValue:
        """Staff go to their start page; everyone else to the public board."""
        from flask import redirect, url_for

        from gateway.trust import auth

        user = auth.current_user()
        return redirect(auth.home_for(user) if user else url_for("board.index"))

    @app.before_request
    def _body_limit() -> None:
        # Each channel's own ceiling (HOTLINE_MAX_BODY_<CHANNEL>); werkzeug answers 413 when a body is larger.
        channel = BODY_CHANNELS.get(request.endpoint or "")
        if channel is not None:
            request.max_content_length = app.extensions["hotline"].settings.body_limit(channel)

    from gateway.views import throttle as ratelimit

    app.extensions["limiter"] = ratelimit.init_app(app)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        return jsonify(exc.body()), exc.status

    @app.errorhandler(AdapterError)
    def _adapter_error(exc: AdapterError) -> ResponseReturnValue:
        return jsonify({"error": exc.as_dict()}), 422

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        # werkzeug's own headers that say how to do better: Allow on a 405, Retry-After, WWW-Authenticate
        kept = [(k, v) for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after", "www-authenticate")]
        if not request.path.startswith(MACHINE_PATHS):  # a person's page: answer with a page
            return render_template("error.html", error=exc), exc.code or 500, kept
        if exc.response is not None:  # a prepared answer (an SMS over its rate limit: empty TwiML)
            return exc.response
        return jsonify({"error": {"message": exc.description, "status": exc.code}}), exc.code or 500, kept

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError) -> ResponseReturnValue:
        # Our own dependency is down: 503 so that providers retry later.
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        return jsonify({"error": {"message": "database unavailable, retry later"}}), 503
