"""Log in and out; the admin's user management (create users, roles, departments)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from gateway.clock import utcnow
from gateway.models import ApiToken, Department, User
from gateway.runtime import current
from gateway.trust import audit, auth, tokens
from gateway.trust.auth import AccountError, require_role
from gateway.views import throttle as ratelimit

bp = auth.protect(Blueprint("account", __name__))


@bp.get("/login")
def login_page() -> ResponseReturnValue:
    """Show the login form (or go home when already logged in)."""
    user = auth.current_user()
    if user is not None:
        return redirect(auth.safe_next(request.args.get("next"), auth.home_for(user)))
    return render_template("console/login.html", next=request.args.get("next", ""), username="")


@bp.post("/login")
def login_submit() -> ResponseReturnValue:
    """Check the name and password, start the session, go where the user was heading."""
    username = request.form.get("username", "")
    wait = ratelimit.login_wait(username)
    if wait:  # too many wrong passwords for this account: not even checked until the wait is over
        flash(f"密码错误次数过多，请 {wait} 秒后再试。", "error")
        g.retry_after = wait
        return render_template("console/login.html", next=request.form.get("next", ""), username=username), 429
    with Session(current().engine, expire_on_commit=False) as db:
        user = auth.authenticate(db, username, request.form.get("password", ""))
    if user is None:
        ratelimit.login_failed(username)
        audit.record("login_failed", f"user:{username.strip()[:64]}", actor="anonymous")
        flash("用户名或密码不正确。", "error")
        return render_template("console/login.html", next=request.form.get("next", ""), username=username), 401
    ratelimit.login_succeeded(username)
    with Session(current().engine, expire_on_commit=False) as db:
        user.last_login_at = utcnow()
        db.add(user)
        db.commit()
    auth.login(user)
    audit.record("login", user.actor, actor=user.actor)
    return redirect(auth.safe_next(request.form.get("next"), auth.home_for(user)))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    user = auth.current_user()
    auth.logout()
    if user is not None:
        audit.record("logout", user.actor, actor=user.actor)
    flash("您已退出登录。", "ok")
    return redirect(url_for("account.login_page"))


@bp.get("/console/users")
@require_role("admin")
def users() -> ResponseReturnValue:
    """List the staff accounts with a form to add one."""
    with Session(current().engine) as db:
        rows = db.exec(select(User).order_by(User.username)).all()
        departments = db.exec(select(Department).where(Department.active).order_by(Department.code)).all()
        names = {d.id: d.name for d in departments}
        return render_template("console/users.html", users=rows, departments=departments, names=names,
                               roles=auth.ROLES, form={})


def _department_id(db: Session, code: str | None) -> int | None:
    if not code:
        return None
    dept = db.exec(select(Department).where(Department.code == code)).first()
    if dept is None:
        raise AccountError("department", f"未知单位 {code}")
    return dept.id


@bp.post("/console/users")
@require_role("admin")
def create_user() -> ResponseReturnValue:
    """Create a user with a role and (for department staff) a unit."""
    form = request.form
    with Session(current().engine) as db:
        try:
            auth.create_user(db, form.get("username", ""), form.get("password", ""), form.get("role", ""),
                             display_name=form.get("display_name", ""),
                             department_id=_department_id(db, form.get("department")))
            db.commit()
        except AccountError as exc:
            flash(exc.message, "error")
            departments = db.exec(select(Department).where(Department.active).order_by(Department.code)).all()
            rows = db.exec(select(User).order_by(User.username)).all()
            return render_template("console/users.html", users=rows, departments=departments,
                                   names={d.id: d.name for d in departments}, roles=auth.ROLES, form=form), 422
    audit.record("user_created", f"user:{form.get('username', '').strip()}", role=form.get("role", ""),
                 department=form.get("department") or None)
    flash(f"已创建用户 {form.get('username', '').strip()}。", "ok")
    return redirect(url_for("account.users"))


@bp.post("/console/users/<int:user_id>")
@require_role("admin")
def update_user(user_id: int) -> ResponseReturnValue:
    """Change a user's role, unit, active flag or password."""
    form = request.form
    with Session(current().engine) as db:
        user = db.get(User, user_id)
        if user is None:
            abort(404)
        try:
            role = form.get("role", user.role)
            department_id = _department_id(db, form.get("department"))
            auth.check_role(role, department_id)
            if user.id == getattr(auth.current_user(), "id", None) and (role != "admin" or "active" not in form):
                raise AccountError("role", "不能取消自己的管理员权限或停用自己的账号")
            before = (user.role, user.department_id, user.active)
            user.role, user.department_id, user.active = role, department_id, "active" in form
            if form.get("password"):
                auth.set_password(user, form["password"])
            changed = {name for name, old, new in zip(("role", "department", "active"), before,
                                                      (user.role, user.department_id, user.active)) if old != new}
            changed |= {"password"} if form.get("password") else set()
            if changed:
                auth.revoke_sessions(user)  # the user signs in again under the new password, role or unit
            db.add(user)
            db.commit()
        except AccountError as exc:
            flash(exc.message, "error")
            return redirect(url_for("account.users"))
        name = user.username
    if changed:
        audit.record("user_changed", f"user:{name}", changed=sorted(changed), role=role, active="active" in form)
    flash(f"已更新用户 {name}。", "ok")
    return redirect(url_for("account.users"))


def _tokens_page(new_token: str | None = None, status: int = 200) -> Any:
    with Session(current().engine) as db:
        departments = db.exec(select(Department).where(Department.active, Department.kind != "office")
                              .order_by(Department.code)).all()
        rows = db.exec(select(ApiToken).order_by(col(ApiToken.id).desc())).all()
        names = {d.id: d.name for d in db.exec(select(Department)).all()}
        return render_template("console/tokens.html", tokens=rows, departments=departments, names=names,
                               new_token=new_token), status


@bp.get("/console/tokens")
@require_role("admin")
def api_tokens() -> ResponseReturnValue:
    """The units' API tokens: who has one, when it was last used; create and revoke."""
    return _tokens_page()


@bp.post("/console/tokens")
@require_role("admin")
def create_token() -> ResponseReturnValue:
    """Create a token for a unit and show it once (only its digest is kept)."""
    code = request.form.get("department", "")
    user = auth.current_user()
    assert user is not None
    with Session(current().engine) as db:
        dept = db.exec(select(Department).where(Department.code == code)).first()
        if dept is None:
            flash(f"未知单位 {code}", "error")
            return redirect(url_for("account.api_tokens"))
        row, token = tokens.create(db, dept, request.form.get("name", ""), user.actor)
        db.commit()
        label = f"token:{row.name}"
    audit.record("token_created", label, department=code, prefix=row.prefix)
    return _tokens_page(new_token=token, status=201)


@bp.post("/console/tokens/<int:token_id>/revoke")
@require_role("admin")
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke a token: the unit's system is refused from its next request on."""
    with Session(current().engine) as db:
        row = db.get(ApiToken, token_id)
        if row is None:
            abort(404)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            db.add(row)
            db.commit()
        label = f"token:{row.name}"
    audit.record("token_revoked", label, token_id=token_id)
    flash("已吊销令牌。", "ok")
    return redirect(url_for("account.api_tokens"))
