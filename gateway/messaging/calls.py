"""The phone work list, messaging side: which citizens are answered by an operator's call instead of an SMS, and
the call items that take the place of those SMS (the operators' side is gateway/casework/calllist.py).

A number whose type (phonenumbers) cannot take a text, e.g. the fixed line 027-85551234, and a number whose
contact opted out of SMS (STOP/退订: `Contact.opted_out_sms`) get their acknowledgement, reply and follow-up as a
`CallItem`: who, why, the text to read out, attempts and outcome. One item per message (a unique key, like a
notification's), so a retried job adds nothing.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from dedupe.identity import takes_sms
from gateway.clock import utcnow
from gateway.db import column_values, insert_new
from gateway.models import CallItem, Contact
from gateway.runtime import Runtime

FIXED_LINE, OPTED_OUT, VOICE = "fixed_line", "opted_out", "voice"
WHY_LABELS = {FIXED_LINE: "固定电话，无法接收短信", OPTED_OUT: "已退订短信", VOICE: "语音留言回电"}
KIND_LABELS = {"ack": "受理告知", "reply": "答复告知", "followup": "满意度回访", "callback": "留言回电"}

# Read out when the profile has no text of its own for the item (the Wuhan profile has all four).
DEFAULT_SCRIPTS = {
    "call_ack": "您好，这里是12345热线。您的诉求已受理，工单号{number}，查询码{code}。",
    "call_callback": "您好，这里是12345热线，您的语音留言已收到，工单号{number}，查询码{code}。",
    "call_reply": "您好，这里是12345热线。您反映的工单{number}，承办单位答复如下：{reply}",
    "call_followup": "您好，这里是12345热线，对工单{number}进行回访。承办单位的答复是：{reply} "
                     "请问您对办理结果是满意、基本满意还是不满意？",
}


def script(rt: Runtime, key: str, **values: str | None) -> str:
    """The text an operator reads out: the profile's message `key`, else the default above."""
    template = rt.profile.messages.get(key) or DEFAULT_SCRIPTS[key]
    return template.format(**{k: v or "" for k, v in values.items()})


def by_phone(session: Session, rt: Runtime, phone: str | None, contact_id: int | None) -> str | None:
    """Why this reporter must be called rather than texted (FIXED_LINE, OPTED_OUT), or None: an SMS reaches them."""
    if not phone:
        return None
    if not takes_sms(phone, str(rt.profile.city.get("phone_region", "CN"))):
        return FIXED_LINE
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is not None and contact.opted_out_sms:
            return OPTED_OUT
    return None


def queue_call(session: Session, *, dedupe_key: str, kind: str, case_id: int, phone: str, why: str, script: str,
               attempts: int, report_id: int | None = None, contact_id: int | None = None,
               followup_id: int | None = None, name: str | None = None) -> int | None:
    """Put an item on the call list in the current transaction; a known key adds nothing (returns None).
    `attempts`: the profile's `[calls] attempts` (the operators' side spreads them over the working days)."""
    item = CallItem(dedupe_key=dedupe_key[:200], kind=kind, case_id=case_id, report_id=report_id,
                    contact_id=contact_id, followup_id=followup_id, phone=phone[:32], name=(name or None) and name[:200],
                    why=why, script=script, max_attempts=attempts, next_attempt_at=utcnow())
    return insert_new(session, CallItem, [column_values(item)], returning=CallItem.id)


def fold_reply(session: Session, case_id: int, phone: str) -> None:
    """The follow-up call reads the reply out too: an item telling the same number that reply, not yet done, is
    cancelled (in the caller's transaction), so the citizen is not called twice about one answer."""
    session.execute(update(CallItem).where(col(CallItem.case_id) == case_id, col(CallItem.phone) == phone,
                                           col(CallItem.kind) == "reply", col(CallItem.status) == "open")
                    .values(status="cancelled", held_by=None, held_until=None, done_at=utcnow()))
