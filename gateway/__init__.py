"""The intake gateway: one Flask app, built by `create_app`."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, Mapping, cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from gateway.config import ConfigError, Settings
from gateway.config import keys as setting_keys

__all__ = ["ConfigError", "Settings", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment (then test_config), database, Redis, profile, views.

    test_config names settings by their UPPER_CASE keys ({"HEARTBEAT_MAX_AGE": 0}) and may set Flask's own
    keys (TESTING, ...); any other key is a ConfigError rather than a value nothing reads.
    """
    from gateway import db
    from gateway.broker import Broker, EmbeddedRedis
    from gateway.profile import load_profile
    from gateway.runtime import Runtime
    from gateway.seed import seed_departments

    app = Flask(__name__)
    settings = _settings(app, test_config or {})
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Flask reads these two from app.config; they are settings like the others.
    app.config["SECRET_KEY"] = settings.secret_key or _persistent_secret(data_dir)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    from gateway.trust import privacy

    # no secrets, phones or e-mail addresses in any log of this process
    privacy.install(settings, app.config["SECRET_KEY"])
    cast(DefaultJSONProvider, app.json).ensure_ascii = False  # Flask's own provider (typed as its base class)
    hops = int(settings.trust_proxy)
    if hops:  # behind proxies: the client address, scheme and host come from their X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]  # Flask's documented middleware idiom

    profile = load_profile(settings.profile_path)
    engine = db.make_engine(settings.database_url, str(data_dir), settings.database_schema, settings.db_busy_ms)
    db.prepare_schema(engine)  # an empty database gets the schema; one that is behind is refused
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(str(data_dir))
        redis_url = embedded.url
    broker = Broker(redis_url, settings.queue_prefix, job_timeout=settings.job_timeout,
                    retry_backoff=list(settings.retry_backoff))
    rt = Runtime(settings=settings, engine=engine, broker=broker, profile=profile, embedded_redis=embedded)
    app.extensions["hotline"] = rt
    from gateway.messaging.acknowledgement import after_ingest

    rt.after_ingest = after_ingest  # citizens' acknowledgements on the channel they used
    from gateway.casework import followup

    rt.case_satisfaction = followup.case_satisfaction  # the public board

    from gateway.intake.matching import install

    install(rt)  # rt.matcher and rt.dedupe_index
    seed_departments(engine, profile)

    from gateway.trust import auth
    from gateway.views import register_views

    auth.init_app(app)
    register_views(app)
    logging.getLogger("gateway").setLevel(logging.INFO)  # the gateway's INFO lines pass whatever the root's level
    return app


def _settings(app: Flask, test_config: Mapping[str, Any]) -> Settings:
    """The environment's settings with test_config's in place; test_config's Flask keys go to app.config."""
    ours = {key: value for key, value in test_config.items() if key in setting_keys()}
    flask_keys = {key: value for key, value in test_config.items() if key not in ours}
    unknown = sorted(set(flask_keys) - set(app.config))
    if unknown:
        raise ConfigError(f"not settings and not Flask's keys: {', '.join(unknown)}")
    app.config.from_mapping(flask_keys)
    return Settings.from_environment().overridden(ours)


def _persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data folder, so sessions survive restarts without configuration."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
