"""The intake gateway: one Flask app, built by `create_app`."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, Mapping, cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from gateway.config import ConfigError, from_environment

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment (then test_config), database, Redis, profile, views."""
    from gateway import db
    from gateway.broker import RETRY_BACKOFF, Broker, EmbeddedRedis
    from gateway.profile import load_profile
    from gateway.runtime import Runtime
    from gateway.seed import seed_departments

    app = Flask(__name__)
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    data_dir = Path(app.config["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _persistent_secret(data_dir)
    from gateway.trust import privacy

    privacy.install(app.config)  # no secrets, phones or e-mail addresses in any log of this process
    cast(DefaultJSONProvider, app.json).ensure_ascii = False  # Flask's own provider (typed as its base class)
    hops = int(app.config.get("TRUST_PROXY") or 0)
    if hops:  # behind proxies: the client address, scheme and host come from their X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]  # Flask's documented middleware idiom

    profile = load_profile(app.config["PROFILE_PATH"])
    engine = db.make_engine(app.config["DATABASE_URL"], str(data_dir), app.config.get("DATABASE_SCHEMA"),
                           int(app.config.get("DB_BUSY_MS", 10000)))
    db.prepare_schema(engine)  # an empty database gets the schema; one that is behind is refused
    embedded = None
    redis_url = app.config["REDIS_URL"]
    if not redis_url:
        embedded = EmbeddedRedis(str(data_dir))
        redis_url = embedded.url
        app.config["REDIS_URL"] = redis_url
    broker = Broker(redis_url, app.config["QUEUE_PREFIX"], job_timeout=int(app.config.get("JOB_TIMEOUT", 120)),
                    retry_backoff=list(app.config.get("RETRY_BACKOFF") or RETRY_BACKOFF))
    rt = Runtime(engine=engine, broker=broker, profile=profile, config=dict(app.config), embedded_redis=embedded)
    app.extensions["hotline"] = rt
    from gateway.messaging.acknowledgement import after_ingest

    rt.services["after_ingest"] = after_ingest  # citizens' acknowledgements on the channel they used
    from gateway.casework import followup

    rt.services["satisfaction_by_department"] = followup.satisfaction_by_department  # console rankings
    rt.services["case_satisfaction"] = followup.case_satisfaction  # the public board

    from gateway.intake.matching import install

    install(rt)  # rt.services["matcher"] and ["dedupe_index"]
    seed_departments(engine, profile)

    from gateway.trust import auth
    from gateway.views import register_views

    auth.init_app(app)
    register_views(app)
    logging.getLogger("gateway").setLevel(app.config.get("LOG_LEVEL", "INFO"))
    return app


def _persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data folder, so sessions survive restarts without configuration."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
