"""Blueprint registry and the error handlers shared by every view."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from adapters.base import AdapterError
from gateway.errors import ApiError

log = logging.getLogger(__name__)

MACHINE_PATHS = ("/api/", "/open311/", "/webhooks/")  # answered in JSON (Open311 by its own handlers)
# endpoint -> the channel whose body limit applies (e-mail has its own: HOTLINE_MAIL_MAX_BYTES)
BODY_CHANNELS = {"api.post_report": "api", "board_post.post_json": "board", "board_post.submit_form": "board",
                 "webhooks.twilio_sms": "sms", "webhooks.twilio_status": "sms", "hotline.push_tickets": "hotline",
                 "open311.create_request": "open311"}


def register_views(app: Flask) -> None:
    from gateway.views import (account, api, board, board_public, console, hotline, merges, open311, operator, ui,
                               webhooks, workbench, workflow)

    for blueprint in (api.bp, account.bp, console.bp, workbench.bp, board_public.bp, board.bp, hotline.bp, operator.bp,
                      open311.bp, webhooks.bp, workflow.bp, merges.bp):
        app.register_blueprint(blueprint)
    ui.init_templates(app)

    @app.get("/")
    def home():  # type: ignore[no-untyped-def]
        """Staff go to their start page; everyone else to the public board."""
        from flask import redirect, url_for

        from gateway import auth

        user = auth.current_user()
        return redirect(auth.home_for(user) if user else url_for("board.index"))

    @app.before_request
    def _body_limit() -> None:
        # Each channel's own ceiling (HOTLINE_MAX_BODY_<CHANNEL>); werkzeug answers 413 when a body is larger.
        channel = BODY_CHANNELS.get(request.endpoint or "")
        if channel is not None:
            request.max_content_length = int(app.config["BODY_LIMITS"][channel])

    from gateway import ratelimit

    app.extensions["limiter"] = ratelimit.init_app(app)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(exc.body()), exc.status

    @app.errorhandler(AdapterError)
    def _adapter_error(exc: AdapterError):  # type: ignore[no-untyped-def]
        return jsonify({"error": exc.as_dict()}), 422

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if not request.path.startswith(MACHINE_PATHS):  # a person's page: answer with a page
            return render_template("error.html", error=exc), exc.code or 500
        if exc.response is not None:  # a prepared answer (an SMS over its rate limit: empty TwiML)
            return exc.response
        return jsonify({"error": {"message": exc.description, "status": exc.code}}), exc.code or 500

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # Our own dependency is down: 503 so that providers retry later.
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        return jsonify({"error": {"message": "database unavailable, retry later"}}), 503
