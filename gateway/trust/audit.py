"""The audit log: who signed in (or failed to), changed users, opened a case's personal data or a caller's history,
merged, undid or split, exported the case ledger, and from where. Append-only; the admin reads it at /console/audit."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlmodel import Session

from gateway.models import AuditEntry
from gateway.runtime import current

ACTIONS = {
    "login": "登录成功", "login_failed": "登录失败", "logout": "退出登录", "user_created": "新建用户",
    "user_changed": "修改用户", "case_viewed": "查看工单个人信息", "merged": "合并工单", "merge_accepted": "确认合并",
    "merge_rejected": "驳回合并", "merge_undone": "撤销合并", "report_split": "拆分来件",
    "token_created": "新建接口令牌", "token_revoked": "吊销接口令牌", "retention": "个人信息到期脱敏",
    "unpublished": "从留言板撤下", "ledger_exported": "导出工单台账",
    "call_claimed": "领取回访电话", "call_recorded": "记录电话结果",
    "closed_on_call": "即时办结",
    "knowledge_created": "新建知识库条目", "knowledge_changed": "修改知识库条目", "knowledge_retired": "停用知识库条目",
    "photo_reviewed": "审核照片",
    "caller_viewed": "查询来电人历史",
}


def record(action: str, target: str = "", actor: str | None = None, **detail: Any) -> None:
    """Append one entry in its own transaction (call it after the request's own session has closed: SQLite
    has one writer)."""
    assert action in ACTIONS, action
    if actor is None:
        from gateway.trust.auth import current_user

        user = current_user()
        actor = user.actor if user is not None else "anonymous"
    address = request.remote_addr if has_request_context() else None
    with Session(current().engine) as session:
        session.add(AuditEntry(actor=actor[:100], address=address, action=action, target=target[:200], detail=detail))
        session.commit()
