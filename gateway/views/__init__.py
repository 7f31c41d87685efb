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


def register_views(app: Flask) -> None:
    from gateway.views import (account, api, board, board_public, console, hotline, open311, operator, ui, webhooks,
                               workbench, workflow)

    for blueprint in (api.bp, account.bp, console.bp, workbench.bp, board_public.bp, board.bp, hotline.bp, operator.bp,
                      open311.bp, webhooks.bp, workflow.bp):
        app.register_blueprint(blueprint)
    ui.init_templates(app)

    @app.get("/")
    def home():  # type: ignore[no-untyped-def]
        """Staff go to their start page; everyone else to the public board."""
        from flask import redirect, url_for

        from gateway import auth

        user = auth.current_user()
        return redirect(auth.home_for(user) if user else url_for("board.index"))

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
        return jsonify({"error": {"message": exc.description, "status": exc.code}}), exc.code or 500

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # Our own dependency is down: 503 so that providers retry later.
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        return jsonify({"error": {"message": "database unavailable, retry later"}}), 503
