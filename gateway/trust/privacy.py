"""The one place that masks personal data: every public view (the board, look-ups, Open311 descriptions and
status notes, replies to co-reporters, retention) through `mask_text`, and every log line of the process
through `mask_log` (installed as a log-record factory, so it covers every logger and handler, tracebacks
included), with the configured secrets and credential headers that never reach the database or a log."""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable
from urllib.parse import urlparse

from sqlalchemy import or_
from sqlmodel import Session, col, select

from gateway.config import Settings
from gateway.models import Case, Contact, Report

# A phone or ID-like run of 7+ digits (separators allowed), not glued to letters or digits: case numbers
# such as WH20261128-000042 start with letters and are left alone.
_DIGITS = re.compile(r"(?<![A-Za-z0-9])(?:\+?86[\s-]?)?\d(?:[\s-]?\d){6,}[\dXx]?(?![A-Za-z0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits of a number: 138****8001."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(value: str) -> str:
    """Keep the first letter of the mailbox and the domain: z***@example.com."""
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """Keep the family name: 张先生 -> 张**."""
    value = value.strip()
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


def mask_text(text: str | None, names: Iterable[str] = ()) -> str:
    """Mask every phone number, e-mail address and known name in a text shown to the public."""
    if not text:
        return ""
    out = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    out = _DIGITS.sub(lambda m: mask_phone(m.group(0)), out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out


def reporter_names(db: Session, case_ids: list[int]) -> dict[int, set[str]]:
    """Every name a reporter gave on these cases, so that it can be masked wherever it appears."""
    names: dict[int, set[str]] = {i: set() for i in case_ids}
    # Reports still on a case merged into one of these count too (one level: merges point at survivors).
    rows = db.exec(select(Report.case_id, Case.merged_into_id, Report.name, Contact.name)
                   .join(Case, col(Case.id) == Report.case_id)
                   .outerjoin(Contact, col(Contact.id) == Report.contact_id)
                   .where(or_(col(Report.case_id).in_(case_ids), col(Case.merged_into_id).in_(case_ids)))).all()
    for case_id, merged_into, report_name, contact_name in rows:
        key = case_id if case_id in names else merged_into
        assert key is not None  # the query asks for one of the two
        names[key].update(n for n in (report_name, contact_name) if n)
    return names


# ---------------------------------------------------------------- logs and secrets

# E.164 (+86...), Chinese mobiles (11 digits from 13-19) and landlines (027-85551234): not parts of case numbers or ids.
PHONE = re.compile(r"(?<![\w-])(\+\d{7,15}|1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\w-])")
EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")
# credentials written as key=value (query strings, form bodies, URLs' userinfo)
KEYED = re.compile(r"(?i)\b(secret|api_key|token|password|auth_token|signature)=([^&\s\"',;]+)")
USERINFO = re.compile(r"(://[^:/@\s]*:)([^@/\s]+)(@)")
MIN_SECRET = 6

_secrets: set[str] = set()
_installed = False


def _mask_logged_phone(match: re.Match[str]) -> str:
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


def mask_log(text: str) -> str:
    """A log line with known secrets, keyed credentials, phones and e-mail addresses masked (narrower than
    mask_text: ids, times and job numbers in logs are long digit runs that must stay readable)."""
    text = without_secrets(text)
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE.sub(_mask_logged_phone, text)


def secrets_in(settings: Settings, secret_key: str | None = None) -> Iterable[str]:
    """The secret values of a gateway's settings (tokens, keys, passwords inside URLs) and its session key."""
    for value in (settings.twilio_auth_token, settings.inbound_mail_secret, secret_key):
        if value:
            yield str(value)
    yield from (str(v) for v in settings.system_tokens.values())
    yield from (str(v) for v in settings.webhook_secrets.values())
    yield from (str(v) for v in settings.open311_api_keys)
    for address in (settings.smtp_url, settings.redis_url, settings.database_url):
        if address:
            password = urlparse(str(address)).password
            if password:
                yield password


def install(settings: Settings, secret_key: str | None = None) -> None:
    """Mask every log record of this process from now on; remember these settings' secrets."""
    global _installed
    _secrets.update(s for s in secrets_in(settings, secret_key) if len(s) >= MIN_SECRET)
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            record.msg, record.args = mask_log(record.getMessage()), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = mask_log(logging.Formatter().formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = mask_log(record.stack_info)
        except Exception:  # a record that cannot be formatted is left for logging to report
            pass
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True
