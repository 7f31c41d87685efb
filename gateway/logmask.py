"""Logs without secrets or personal data: phones and e-mail addresses masked, configured secrets removed.

The masking happens where a log record is made (a record factory), so it covers every logger
(ours, rq's, werkzeug's, the database driver's) and every handler added later, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Mapping
from urllib.parse import urlparse

# E.164 (+86...), Chinese mobiles (11 digits from 13-19) and landlines (027-85551234): not parts of case numbers or ids.
PHONE = re.compile(r"(?<![\w-])(\+\d{7,15}|1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\w-])")
EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
# credentials written as key=value (query strings, form bodies, URLs' userinfo)
KEYED = re.compile(r"(?i)\b(secret|api_key|token|password|auth_token|signature)=([^&\s\"',;]+)")
USERINFO = re.compile(r"(://[^:/@\s]*:)([^@/\s]+)(@)")
MIN_SECRET = 6

_secrets: set[str] = set()
_installed = False


def mask_phone(match: re.Match[str]) -> str:
    number = match.group(1)
    return number[:3] + "*" * max(len(number) - 7, 3) + number[-4:]


# Request headers that carry credentials: never stored (a kept request), never logged.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-hotline-signature",
                            "x-twilio-signature", "x-hotline-secret", "x-csrf-token", "x-api-key"})


def without_secrets(text: str) -> str:
    """The text with this process's configured secrets and keyed credentials (secret=..., token=...) removed."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[secret]")
    text = KEYED.sub(lambda m: f"{m.group(1)}=[secret]", text)
    return USERINFO.sub(lambda m: f"{m.group(1)}[secret]{m.group(3)}", text)


def mask(text: str) -> str:
    """The text with known secrets, keyed credentials, phones and e-mail addresses masked."""
    text = without_secrets(text)
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE.sub(mask_phone, text)


def secrets_in(config: Mapping[str, Any]) -> Iterable[str]:
    """The secret values of a gateway configuration (tokens, keys, passwords inside URLs)."""
    for name in ("TWILIO_AUTH_TOKEN", "INBOUND_MAIL_SECRET", "SECRET_KEY", "IMAP_PASSWORD"):
        if config.get(name):
            yield str(config[name])
    yield from (str(v) for v in (config.get("SYSTEM_TOKENS") or {}).values())
    yield from (str(v) for v in (config.get("WEBHOOK_SECRETS") or {}).values())
    yield from (str(v) for v in config.get("OPEN311_API_KEYS") or [])
    for name in ("SMTP_URL", "REDIS_URL", "DATABASE_URL"):
        if config.get(name):
            password = urlparse(str(config[name])).password
            if password:
                yield password


def install(config: Mapping[str, Any]) -> None:
    """Mask every log record of this process from now on; remember this configuration's secrets."""
    global _installed
    _secrets.update(s for s in secrets_in(config) if len(s) >= MIN_SECRET)
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            record.msg, record.args = mask(record.getMessage()), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
        except Exception:  # a record that cannot be formatted is left for logging to report
            pass
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True
