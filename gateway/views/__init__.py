"""Blueprint registry and the error handlers shared by every view."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from adapters.base import AdapterError
from gateway.errors import ApiError

log = logging.getLogger(__name__)


def register_views(app: Flask) -> None:
    from gateway.views import api, merges

    for blueprint in (api.bp, merges.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(exc.body()), exc.status

    @app.errorhandler(AdapterError)
    def _adapter_error(exc: AdapterError):  # type: ignore[no-untyped-def]
        return jsonify({"error": exc.as_dict()}), 422

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        return jsonify({"error": {"message": exc.description, "status": exc.code}}), exc.code or 500

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):  # type: ignore[no-untyped-def]
        # Our own dependency is down: 503 so that providers retry later.
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        return jsonify({"error": {"message": "database unavailable, retry later"}}), 503
