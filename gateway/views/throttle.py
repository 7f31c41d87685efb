"""Rate limits on the public endpoints (Flask-Limiter on the app's Redis), so one source cannot drown the office.

Keys: the client address for the board and the JSON API, the sender's number for SMS. Over the
limit, the board and the API answer 429 JSON (with Retry-After); a *signed* SMS over the limit is
kept for a person (Unparsed, reason "rate_limited") and answered 200 with an empty TwiML: Twilio
does not retry a refused webhook, so a 429 would lose the text, and answering a flood would cost
an SMS each. An unsigned one is refused 403 as always. If Redis is down the limits are skipped
(intake must keep working; the outbox catches up later).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# endpoint -> the setting holding its limit (a Flask-Limiter string such as "20/minute;200/day")
PUBLIC: dict[str, str] = {
    "api.post_report": "rate_limit_api",
    "board_form.post_json": "rate_limit_board",
    "board_form.submit_form": "rate_limit_board",
    "webhooks.twilio_sms": "rate_limit_sms",
}


def by_address() -> str:
    """The client's address (ProxyFix has made it the real one when HOTLINE_TRUST_PROXY is set)."""
    return request.remote_addr or "unknown"


def by_sender() -> str:
    """The SMS sender's number (Twilio's From), else the address."""
    request.get_data(cache=True)  # keep the raw body for the signature check and for a kept text
    return f"from:{request.form.get('From', '').strip()}" if request.form.get("From") else by_address()


def storage_uri(redis_url: str) -> str:
    """The limits library's name for the app's Redis (a unix socket is redis+unix://)."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def _sms_over_limit(limit: RequestLimit) -> Response | None:
    """Keep a signed text from a flooding number for a person; answer without a reply."""
    from adapters.base import RawInbound
    from gateway.intake import quarantine
    from gateway.runtime import current
    from gateway.views.common import raw_inbound
    from gateway.views.machine.webhooks import twiml, verify_twilio

    verify_twilio()  # unsigned: 403, nothing kept
    raw: RawInbound = raw_inbound("sms")
    quarantine.keep(current(), "sms", raw, f"rate_limited: more than {limit.limit} from this number")
    log.warning("sms from %s over the limit %s; kept for review", request.form.get("From"), limit.limit)
    return twiml(None)


def by_case_number() -> str:
    """The case number a look-up or a satisfaction answer names: guessing codes for one case is slowed
    down whichever addresses the guesses come from."""
    number = (request.view_args or {}).get("number") or request.form.get("number", "")
    return "case:" + str(number).strip().upper()[:40]


# endpoint -> (setting, key) for the endpoints that check a secret a citizen or staff member types
GUESSABLE: dict[str, tuple[tuple[str, Callable[[], str]], ...]] = {
    "account.login_submit": (("rate_limit_login", by_address),),
    "board.lookup": (("rate_limit_lookup", by_address), ("rate_limit_lookup_case", by_case_number)),
    "workflow.satisfaction": (("rate_limit_lookup", by_address), ("rate_limit_lookup_case", by_case_number)),
    "board.rate": (("rate_limit_lookup", by_address), ("rate_limit_lookup_case", by_case_number)),
}

# The caller's history (a screen-pop per call, and the operator form opened with ?phone=) and the duplicate hint
# that lists a number's open cases (fetched as the operator types, and the form's check button): one budget per
# call-centre system or staff account across all four, so a stolen token or account cannot walk the city's numbers.
CALLER_LOOKUPS = ("caller.lookup", "operator.entry_form", "operator.suggest_json", "operator.submit")


def by_caller_principal() -> str:
    """The staff account or the call-centre system asking; credentials that do not check out: the address."""
    from gateway.errors import ApiError
    from gateway.trust.auth import current_user
    from gateway.views.machine.caller import system

    user = current_user()
    if user is not None:
        return f"user:{user.id}"
    try:
        name = system()
    except ApiError:
        name = None
    return f"system:{name}" if name else by_address()


def _no_phone() -> bool:
    """A request that names no caller's number shows nobody's cases: not counted. The form's post is counted
    only as the check button with a number (creating or attaching a ticket is never held back)."""
    if request.endpoint == "operator.submit":
        request.get_data(cache=True)  # the view keeps the raw body: parse the form from the cached copy
        form = request.form
        return not (form.get("action") == "check" and not form.get("attach_to", "").strip()
                    and form.get("caller_number", "").strip())
    if request.endpoint in ("operator.entry_form", "operator.suggest_json"):
        return not (request.args.get("phone") or "").strip()
    return False


LOGIN_FREE_FAILURES = 5  # wrong passwords for one account before it waits
LOGIN_FIRST_WAIT = 30  # seconds; doubled by every further failure
LOGIN_MAX_WAIT = 3600


def _redis() -> Any:
    from gateway.runtime import current

    return current().broker.redis


def _rate(setting: str) -> Callable[[], str]:
    """The limit a setting holds, read at each request: tests and `hotline demo` replace the settings."""
    from gateway.runtime import current

    return lambda: str(getattr(current().settings, setting))


def _login_keys(username: str) -> tuple[str, str]:
    from gateway.runtime import current

    prefix = f"{current().settings.queue_prefix}-login:{username.strip().lower()[:64]}"
    return f"{prefix}:failures", f"{prefix}:locked"


def login_wait(username: str) -> int:
    """Seconds this account must still wait before a password is checked again (0: go ahead)."""
    try:
        return max(0, int(_redis().ttl(_login_keys(username)[1])))
    except RedisError:  # no Redis: no back-off rather than no login
        return 0


def login_failed(username: str) -> int:
    """Count a wrong password; past the free ones the account waits 30 s, 60 s, 120 s ... (at most an hour)."""
    failures, locked = _login_keys(username)
    try:
        redis = _redis()
        count = int(redis.incr(failures))
        redis.expire(failures, LOGIN_MAX_WAIT * 24)
        if count >= LOGIN_FREE_FAILURES:
            wait = min(LOGIN_FIRST_WAIT * 2 ** (count - LOGIN_FREE_FAILURES), LOGIN_MAX_WAIT)
            redis.set(locked, 1, ex=wait)
            return wait
    except RedisError:
        pass
    return 0


def login_succeeded(username: str) -> None:
    try:
        _redis().delete(*_login_keys(username))
    except RedisError:
        pass


def _own_retry_after(response: Response) -> Response:
    """An account's own wait (g.retry_after) wins over the limiter's window in Retry-After."""
    if g.get("retry_after"):
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def init_app(app: Flask) -> Limiter:
    """Attach the limiter and limit each public endpoint by its setting."""
    app.after_request(_own_retry_after)  # registered first, so it runs after the limiter's header injection
    rt = app.extensions["hotline"]
    limiter = Limiter(
        key_func=by_address,
        app=app,
        storage_uri=storage_uri(rt.broker.url),  # the configured Redis, or the embedded one
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 2},
        key_prefix=f"{rt.settings.queue_prefix}-limits",
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=True,
        enabled=bool(rt.settings.rate_limits_enabled),
    )
    for endpoint, setting in PUBLIC.items():
        options: dict[str, Any] = {"key_func": by_sender, "on_breach": _sms_over_limit} if endpoint.startswith("webhooks.") else {}
        plain: Callable[..., Any] = app.view_functions[endpoint]  # sync or async: limit() would join the two into neither
        app.view_functions[endpoint] = limiter.limit(_rate(setting), **options)(plain)
    for endpoint, rules in GUESSABLE.items():
        view: Callable[..., Any] = app.view_functions[endpoint]
        for setting, key in rules:
            # The scope keeps the setting's old UPPER_CASE name: it is part of the counters' keys in Redis.
            view = limiter.limit(_rate(setting), key_func=key, scope=f"{endpoint}:{setting.upper()}")(view)
        app.view_functions[endpoint] = view
    caller = limiter.shared_limit(_rate("rate_limit_caller"), scope="caller", key_func=by_caller_principal,
                                  exempt_when=_no_phone)
    for endpoint in CALLER_LOOKUPS:
        lookup: Callable[..., Any] = app.view_functions[endpoint]
        app.view_functions[endpoint] = caller(lookup)
    return limiter
