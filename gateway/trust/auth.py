"""Staff accounts, sessions, role checks and CSRF: the one place that decides who may see what.

Sessions are Flask-Login's: the id it keeps in the cookie is "user id:session version", and the version
goes up on logout, a password or role change and deactivation, so every copy of an older cookie stops
working at once (server-side revocation without a session table)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, TypeVar, cast
from urllib.parse import urlsplit

import flask_login
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from gateway.models import User

ROLES = ("admin", "office", "department", "operator")
ROLE_LABELS = {"admin": "系统管理员", "office": "督办人员", "department": "承办单位", "operator": "话务员"}
STAFF = ("admin", "office")  # see every case
MIN_PASSWORD = 8

F = TypeVar("F", bound=Callable[..., Any])


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message names the field in Chinese."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def create_user(db: Session, username: str, password: str, role: str, *, display_name: str = "",
                department_id: int | None = None) -> User:
    """Add a user after checking the name, password, role and department (the caller commits)."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("username", "用户名不能为空、不能含空格，且不超过64个字符")
    if db.exec(select(User).where(User.username == username)).first() is not None:
        raise AccountError("username", f"用户名 {username} 已存在")
    check_role(role, department_id)
    user = User(username=username, display_name=display_name.strip(), role=role, department_id=department_id,
                password_hash="")
    set_password(user, password)
    db.add(user)
    return user


def check_role(role: str, department_id: int | None) -> None:
    if role not in ROLES:
        raise AccountError("role", f"未知角色 {role}")
    if role == "department" and department_id is None:
        raise AccountError("department", "承办单位人员必须指定所属单位")


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"密码至少{MIN_PASSWORD}位")
    # Werkzeug's default (scrypt) unless configured; the tests choose a cheap method to stay fast.
    rt = current_app.extensions.get("hotline") if has_app_context() else None
    method = rt.settings.password_hash_method if rt is not None else None
    user.password_hash = generate_password_hash(password, method=method) if method else generate_password_hash(password)


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (the same answer for every failure)."""
    user = db.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # spend the same time as a real check
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


def _user_by_session_id(session_id: str) -> User | None:
    """Flask-Login's loader: the active user whose id and current session version the cookie names."""
    uid, _, version = session_id.partition(":")
    if not (uid.isdigit() and version.isdigit()) or len(uid) > 18 or len(version) > 18:
        return None
    from gateway.runtime import current

    with Session(current().engine, expire_on_commit=False) as db:
        user = db.get(User, int(uid))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def revoke_sessions(user: User) -> None:
    """End every session of the user, on every device (the caller commits)."""
    user.session_version += 1


def login(user: User) -> None:
    """Start a fresh session for the user (a new CSRF token too: no fixation)."""
    session.clear()
    session.permanent = True
    flask_login.login_user(user)
    session["csrf"] = secrets.token_urlsafe(32)


def logout() -> None:
    """End this user's sessions everywhere (a copied cookie too), then this one."""
    user = current_user()
    if user is not None:
        from gateway.runtime import current

        with Session(current().engine) as db:
            stored = db.get(User, user.id)
            if stored is not None:
                revoke_sessions(stored)
                db.add(stored)
                db.commit()
    flask_login.logout_user()
    session.clear()


def current_user() -> User | None:
    """The signed-in, active user of this request, loaded once."""
    if not has_request_context():
        return None
    user = flask_login.current_user._get_current_object()  # the user, not the proxy
    return user if isinstance(user, User) else None


def _load_user() -> None:
    # The tests keep one app context (and so one `g`) across requests: start every request afresh.
    g.pop("_login_user", None)
    current_user()


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _deny(status: int) -> Any:
    if wants_json():
        message = "login required" if status == 401 else "your role may not do this"
        return jsonify({"error": {"message": message, "status": status}}), status
    if status == 401:
        return redirect(url_for("account.login_page", next=request.full_path.rstrip("?")))
    abort(403)


def require_role(*roles: str) -> Callable[[F], F]:
    """Let users with one of the roles through; anonymous -> login (401), wrong role -> 403."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _deny(401)
            if user.role not in roles:
                return _deny(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)  # the view's own signature, kept by @wraps

    return decorate


# ---------------------------------------------------------------- CSRF


def csrf_token() -> str:
    """The session's CSRF token (created on first use); forms put it in a hidden field `csrf_token`."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse an unsafe request whose form token (or X-CSRF-Token header) is not the session's."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")


def check_origin() -> None:
    """Refuse a state change made with a staff cookie from another site (the JSON API has no form token).

    Browsers say where a request comes from: Sec-Fetch-Site (Chromium, Firefox, Safari) or at least Origin
    on a POST. A cross-site one is refused with 403; a client that sends neither (curl, a department's
    system with its cookie) cannot be made to send a request by another site and passes."""
    if request.method in ("GET", "HEAD", "OPTIONS") or current_user() is None:
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if fetch_site is not None:
        allowed = fetch_site in ("same-origin", "none")
    elif origin is not None:
        allowed = origin.rstrip("/") == request.host_url.rstrip("/")
    else:
        return
    if not allowed:
        if wants_json():
            abort(make_response(jsonify({"error": {"message": "cross-site request refused (CSRF): send it from the "
                                                              "gateway's own pages", "status": 403}}), 403))
        abort(403, description="来源不明的请求已拒绝（CSRF）。")


def protect(bp: Blueprint) -> Blueprint:
    """Check the CSRF token on every unsafe request to this blueprint's views."""
    bp.before_request(check_csrf)
    return bp


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login; anything pointing elsewhere falls back to the default."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def home_for(user: User) -> str:
    """Where a user lands after logging in."""
    if user.role == "department":
        return url_for("workbench.queue")
    if user.role == "operator":
        return url_for("console.operator_home")
    return url_for("console.cases")


def init_app(app: Flask) -> None:
    """Session cookie settings and the template helpers (csrf_token, current_user)."""
    # Set, not setdefault: Flask has defaults for all of these, so setdefault changed nothing.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings = app.extensions["hotline"].settings
    app.config["SESSION_COOKIE_SECURE"] = settings.secure_cookies
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.session_hours)
    manager = flask_login.LoginManager()
    manager.session_protection = "basic"  # a session used from another address/browser is no longer "fresh"
    manager.user_loader(_user_by_session_id)
    from gateway.trust import tokens  # a department system's token, where no session cookie came

    manager.request_loader(tokens.user_for)
    manager.init_app(app, add_context_processor=False)  # templates call our current_user()
    # Load the user before a view opens its own session: SQLite's BEGIN IMMEDIATE would make a second
    # session opened from a template wait for the first.
    app.before_request(_load_user)
    app.before_request(check_origin)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user, ROLE_LABELS=ROLE_LABELS)
