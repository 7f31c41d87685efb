"""Settings read in `create_app`: environment variables, validated, with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

BUNDLED_PROFILE = Path(__file__).parent / "profiles" / "wuhan.toml"


class ConfigError(RuntimeError):
    """A setting has a value the gateway cannot start with; the message names the variable."""


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    scheme = urlparse(value).scheme.split("+")[0]
    if scheme not in schemes:
        raise ConfigError(f"{name}={value!r}: expected a URL starting with one of {', '.join(s + '://' for s in schemes)}")
    return value


def _int(name: str, value: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a whole number") from None
    if number < minimum:
        raise ConfigError(f"{name}={value!r}: must be at least {minimum}")
    return number


def _pairs(name: str, value: str | None, shape: str) -> dict[str, str]:
    """A "key:value,key2:value2" setting as a mapping."""
    pairs = {}
    for item in filter(None, (value or "").split(",")):
        if ":" not in item:
            raise ConfigError(f"{name}: expected {shape} pairs separated by commas")
        key, secret = item.split(":", 1)
        pairs[key.strip()] = secret.strip()
    return pairs


def from_environment(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the HOTLINE_* and service URL variables into a Flask config mapping."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("HOTLINE_DATA_DIR") or "./var").resolve()
    config: dict[str, Any] = {"DATA_DIR": str(data_dir)}

    database_url = env.get("DATABASE_URL")
    config["DATABASE_URL"] = (
        _url("DATABASE_URL", database_url, ("sqlite", "postgresql", "postgres")) if database_url else None
    )
    config["DATABASE_SCHEMA"] = env.get("HOTLINE_DB_SCHEMA") or None  # PostgreSQL schema (search_path)
    redis_url = env.get("REDIS_URL")
    config["REDIS_URL"] = _url("REDIS_URL", redis_url, ("redis", "rediss", "unix")) if redis_url else None

    profile = env.get("HOTLINE_PROFILE")
    if profile and not Path(profile).is_file():
        raise ConfigError(f"HOTLINE_PROFILE={profile!r}: no such file")
    config["PROFILE_PATH"] = profile or str(BUNDLED_PROFILE)

    config["QUEUE_PREFIX"] = env.get("HOTLINE_QUEUE_PREFIX", "hotline")
    config["PUBLIC_BASE_URL"] = env.get("HOTLINE_PUBLIC_URL")
    if config["PUBLIC_BASE_URL"]:
        _url("HOTLINE_PUBLIC_URL", config["PUBLIC_BASE_URL"], ("http", "https"))
    config["SECRET_KEY"] = env.get("HOTLINE_SECRET_KEY") or None
    # Proxies in front of the gateway whose X-Forwarded-For/-Proto/-Host/-Port to honour (0: none)
    trust = env.get("HOTLINE_TRUST_PROXY", "0").strip().lower()
    config["TRUST_PROXY"] = 1 if trust in ("true", "yes") else _int("HOTLINE_TRUST_PROXY", trust or "0")
    # Staff sessions: lifetime, and the Secure cookie flag (auto: on behind a trusted proxy or an https public URL)
    config["SESSION_HOURS"] = _int("HOTLINE_SESSION_HOURS", env.get("HOTLINE_SESSION_HOURS", "12"), 1)
    secure = env.get("HOTLINE_SECURE_COOKIES", "auto").strip().lower()
    if secure not in ("auto", "1", "0", "true", "false"):
        raise ConfigError(f"HOTLINE_SECURE_COOKIES={secure!r}: expected auto, 1 or 0")
    config["SECURE_COOKIES"] = (bool(config["TRUST_PROXY"]) or str(config["PUBLIC_BASE_URL"] or "").startswith("https://")
                                if secure == "auto" else secure in ("1", "true"))
    config["MAX_CONTENT_LENGTH"] = _int("HOTLINE_MAX_BODY_BYTES", env.get("HOTLINE_MAX_BODY_BYTES", str(12 * 1024 * 1024)), 1024)
    # Twilio
    config["TWILIO_ACCOUNT_SID"] = env.get("TWILIO_ACCOUNT_SID")
    config["TWILIO_AUTH_TOKEN"] = env.get("TWILIO_AUTH_TOKEN")
    config["TWILIO_FROM_NUMBER"] = env.get("TWILIO_FROM_NUMBER")
    # SMS parts from one number within this many seconds are one message (carrier-split segments)
    config["SMS_SEGMENT_SECONDS"] = _int("HOTLINE_SMS_SEGMENT_SECONDS", env.get("HOTLINE_SMS_SEGMENT_SECONDS", "10"))
    # how a new SMS is acknowledged: inline TwiML answer, or a REST message through the notification outbox
    config["SMS_ACK"] = env.get("HOTLINE_SMS_ACK", "twiml")
    if config["SMS_ACK"] not in ("twiml", "rest"):
        raise ConfigError(f"HOTLINE_SMS_ACK={config['SMS_ACK']!r}: expected twiml or rest")
    # an SMS threads onto the sender's open case active within this many hours (0: never)
    config["SMS_THREAD_HOURS"] = _int("HOTLINE_SMS_THREAD_HOURS", env.get("HOTLINE_SMS_THREAD_HOURS", "24"))
    # Mail
    config["SMTP_URL"] = env.get("HOTLINE_SMTP_URL")  # smtp://user:pass@host:port, relay for outbound mail
    if config["SMTP_URL"]:
        _url("HOTLINE_SMTP_URL", config["SMTP_URL"], ("smtp", "smtps"))
    config["MAIL_MAX_BYTES"] = _int("HOTLINE_MAIL_MAX_BYTES", env.get("HOTLINE_MAIL_MAX_BYTES", str(10 * 1024 * 1024)), 1024)
    config["MAIL_FROM"] = env.get("HOTLINE_MAIL_FROM", "12345@example.wuhan.gov.cn")
    config["MAIL_DOMAINS"] = [d.strip().lower() for d in env.get("HOTLINE_MAIL_DOMAINS", "example.wuhan.gov.cn").split(",") if d.strip()]
    config["INBOUND_MAIL_SECRET"] = env.get("HOTLINE_INBOUND_MAIL_SECRET")
    # Hotline call-centre systems: "name:token,name2:token2"
    config["SYSTEM_TOKENS"] = _pairs("HOTLINE_SYSTEM_TOKENS", env.get("HOTLINE_SYSTEM_TOKENS"), "name:token")
    # Keys that sign the webhooks sent to department systems: "UNIT-CODE:key,*:default-key"
    config["WEBHOOK_SECRETS"] = _pairs("HOTLINE_WEBHOOK_SECRETS", env.get("HOTLINE_WEBHOOK_SECRETS"), "unit-code:key")
    # the learned router's model file (default: router_model.joblib in the data folder)
    config["ROUTER_MODEL_PATH"] = env.get("HOTLINE_ROUTER_MODEL") or None
    config["OPEN311_API_KEYS"] = [k for k in (env.get("HOTLINE_OPEN311_KEYS") or "").split(",") if k]
    # Jobs: a killed worker's job is retried once its registry entry (timeout + grace) expires and a
    # worker's maintenance (every HOTLINE_MAINTENANCE_SECONDS) finds it.
    config["JOB_TIMEOUT"] = _int("HOTLINE_JOB_TIMEOUT", env.get("HOTLINE_JOB_TIMEOUT", "120"), 1)
    config["JOB_GRACE"] = _int("HOTLINE_JOB_GRACE", env.get("HOTLINE_JOB_GRACE", "30"), 1)
    config["MAINTENANCE_SECONDS"] = _int("HOTLINE_MAINTENANCE_SECONDS", env.get("HOTLINE_MAINTENANCE_SECONDS", "30"), 1)
    backoff = env.get("HOTLINE_RETRY_BACKOFF", "5,30,120,600,1800")
    config["RETRY_BACKOFF"] = [_int("HOTLINE_RETRY_BACKOFF", part.strip()) for part in backoff.split(",") if part.strip()]
    if not config["RETRY_BACKOFF"]:
        raise ConfigError("HOTLINE_RETRY_BACKOFF: expected seconds between tries, e.g. 5,30,120")
    # `hotline run`: web server processes sharing the port (one process serves on one core at most)
    config["WEB_PROCESSES"] = _int("HOTLINE_WEB_PROCESSES", env.get("HOTLINE_WEB_PROCESSES", "1"), 1)
    # SQLite: how long a write waits for a lock before the request answers 503 (PostgreSQL: connect timeout)
    # /readyz: 503 when the worker pool's or the scheduler's last heartbeat is older than this (0: not checked)
    # The outbox sweeper sends a job again when Redis lost it: not done, and gone from Redis this long after sending
    config["OUTBOX_LOST_SECONDS"] = _int("HOTLINE_OUTBOX_LOST_SECONDS", env.get("HOTLINE_OUTBOX_LOST_SECONDS", "60"), 1)
    config["HEARTBEAT_MAX_AGE"] = _int("HOTLINE_HEARTBEAT_MAX_AGE", env.get("HOTLINE_HEARTBEAT_MAX_AGE", "120"))
    config["DB_BUSY_MS"] = _int("HOTLINE_DB_BUSY_MS", env.get("HOTLINE_DB_BUSY_MS", "10000"))
    # Rate limits on the public endpoints, per client address (board, API) or sender number (SMS)
    config["RATE_LIMITS_ENABLED"] = env.get("HOTLINE_RATE_LIMITS", "1") not in ("0", "false", "no", "off")
    for name, default in (("API", "120/minute;5000/day"), ("BOARD", "10/minute;100/day"), ("SMS", "10/minute;100/day"),
                          ("LOGIN", "20/minute;200/day"), ("LOOKUP", "10/minute;100/day"), ("LOOKUP_CASE", "20/hour")):
        config[f"RATE_LIMIT_{name}"] = _limit(f"HOTLINE_RATE_LIMIT_{name}", env.get(f"HOTLINE_RATE_LIMIT_{name}", default))
    # Sizes: a body per channel (bytes), a report's text (characters), attachments kept per report
    config["BODY_LIMITS"] = {channel: _int(f"HOTLINE_MAX_BODY_{channel.upper()}", env.get(f"HOTLINE_MAX_BODY_{channel.upper()}", str(default)), 1024)
                             for channel, default in (("api", 256 * 1024), ("board", 256 * 1024), ("sms", 64 * 1024),
                                                      ("hotline", 4 * 1024 * 1024), ("open311", 256 * 1024))}
    config["MAX_TEXT_CHARS"] = _int("HOTLINE_MAX_TEXT_CHARS", env.get("HOTLINE_MAX_TEXT_CHARS", "20000"), 100)
    config["MAX_ATTACHMENTS"] = _int("HOTLINE_MAX_ATTACHMENTS", env.get("HOTLINE_MAX_ATTACHMENTS", "10"))
    config["MAX_ATTACHMENT_BYTES"] = _int("HOTLINE_MAX_ATTACHMENT_BYTES", env.get("HOTLINE_MAX_ATTACHMENT_BYTES", str(10 * 1024 * 1024)), 1)
    return config


def _limit(name: str, value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a rate such as 10/minute;100/day") from None
    return value
