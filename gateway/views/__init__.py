"""Blueprint registry and the error handlers shared by every view."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from adapters.base import AdapterError
from gateway.errors import ApiError

log = logging.getLogger(__name__)

# endpoint -> the channel whose body limit applies (e-mail has its own: HOTLINE_MAIL_MAX_BYTES)
BODY_CHANNELS = {"api.post_report": "api", "board.post_json": "board", "board.submit_form": "board",
                 "webhooks.twilio_sms": "sms", "webhooks.twilio_status": "sms", "hotline.push_tickets": "hotline",
                 "open311.create_request": "open311"}


def register_views(app: Flask) -> None:
    from gateway.views import api, board, hotline, open311, operator, webhooks

    for blueprint in (api.bp, board.bp, hotline.bp, operator.bp, open311.bp, webhooks.bp):
        app.register_blueprint(blueprint)

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
        if exc.response is not None:  # a prepared answer (an SMS over its rate limit: empty TwiML)
            return exc.response
        return jsonify({"error": {"message": exc.description, "status": exc.code}}), exc.code or 500

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # Our own dependency is down: 503 so that providers retry later.
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        return jsonify({"error": {"message": "database unavailable, retry later"}}), 503
