"""Staff accounts, sessions, role checks and CSRF: the one place that decides who may see what."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_app_context,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from sqlalchemy import Column, DateTime
from sqlmodel import Field, Session, SQLModel, select
from werkzeug.security import check_password_hash, generate_password_hash

from gateway.clock import utcnow

ROLES = ("admin", "office", "department", "operator")
ROLE_LABELS = {"admin": "系统管理员", "office": "督办人员", "department": "承办单位", "operator": "话务员"}
STAFF = ("admin", "office")  # see every case
MIN_PASSWORD = 8

F = TypeVar("F", bound=Callable[..., Any])


class User(SQLModel, table=True):
    """A staff account: a role, and for department staff the unit they work for."""

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    last_login_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @property
    def actor(self) -> str:
        """How the audit trail names this user (Event.actor, MergeRecord.decided_by)."""
        return f"user:{self.username}"


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
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    user.password_hash = generate_password_hash(password, method=method) if method else generate_password_hash(password)


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (the same answer for every failure)."""
    user = db.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # spend the same time as a real check
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


_CACHE = "hotline.user"  # request.environ key: the user is loaded once per request (g may outlive it in tests)


def login(user: User) -> None:
    """Start a fresh session for the user (a new CSRF token too: no fixation)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    request.environ[_CACHE] = user


def logout() -> None:
    session.clear()
    request.environ[_CACHE] = None


def current_user() -> User | None:
    """The signed-in, active user of this request, loaded once."""
    if not has_request_context():
        return None
    if _CACHE not in request.environ:
        user = None
        uid = session.get("uid")
        if uid is not None:
            from gateway.runtime import current

            with Session(current().engine, expire_on_commit=False) as db:
                user = db.get(User, uid)
            if user is not None and not user.active:
                user = None
        request.environ[_CACHE] = user
    return request.environ[_CACHE]


def _load_user() -> None:
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


def login_required(view: F) -> F:
    """Let signed-in users through; others go to the login page (or get a 401 JSON under /api/)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _deny(401)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


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

        return wrapper  # type: ignore[return-value]

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
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    # Load the user before a view opens its own session: SQLite's BEGIN IMMEDIATE would make a second
    # session opened from a template wait for the first.
    app.before_request(_load_user)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user, ROLE_LABELS=ROLE_LABELS)
