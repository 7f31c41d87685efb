"""即时办 (first-contact resolution): the operator answers the caller's matter during the call and closes it.

The ticket is stored through the one create path (``ingest(..., resolve=closer(...))``) as a case of its own,
never dispatched. In the same transaction the 12345 centre itself (the profile's office unit) holds it as the
lead whose 回告 and 办结 both fall due at the call and were met then, so the casework rates count it as answered
on time; the operator's answer is a `Reply` of that assignment (解释说明 for a consultation, else 办结答复),
approved (it was already given on the line), round 1, and goes to the caller on their channel like any reply
(`messaging/replies.send_reply`), without a follow-up visit: the caller was answered on the line. The case is
closed with ``closed_on_call`` set, which 即时办结率 (gateway/reporting/rates.py) counts.
"""

from __future__ import annotations

from typing import Callable

from sqlmodel import Session, select

from gateway import outbox
from gateway.casework.routing import office
from gateway.casework.workflow import REPLY_KINDS, citizen_text
from gateway.clock import utcnow
from gateway.errors import WorkflowError
from gateway.messaging import knowledge
from gateway.models import LEAD, Assignment, Case, Department, Event, Outbox, Reply, Report, id_of
from gateway.runtime import Runtime

ON_CALL_KINDS = ("explanation", "final")  # 解释说明, 办结答复


def default_kind(appeal_type: str | None) -> str:
    """A consultation is answered with an explanation (解释说明); any other matter settled on the call is 办结."""
    return "explanation" if appeal_type == "咨询" else "final"


def office_unit(session: Session, rt: Runtime) -> Department:
    """The 12345 centre's own unit, which holds the matters closed on the call."""
    code = office(rt.profile)
    dept = session.exec(select(Department).where(Department.code == code)).first() if code else None
    if dept is None:
        raise WorkflowError("the city profile names no office unit (kind = \"office\") to hold matters closed on the call")
    return dept


def closer(rt: Runtime, answer: str, kind: str, actor: str, knowledge_id: int | None = None
           ) -> Callable[[Session, Case, Report], list[Outbox]]:
    """The resolver ``ingest`` calls for the new case: answer it, close it, send the answer."""
    answer = (answer or "").strip()
    if not answer:
        raise WorkflowError("an answer given on the call needs its text")
    if kind not in ON_CALL_KINDS:
        raise WorkflowError(f"an answer on the call is {' or '.join(REPLY_KINDS[k] for k in ON_CALL_KINDS)}")

    def resolve(session: Session, case: Case, report: Report) -> list[Outbox]:
        now = utcnow()
        dept = office_unit(session, rt)
        assignment = Assignment(case_id=id_of(case), department_id=id_of(dept), role=LEAD, status="replied",
                                dispatched_at=now, due_at=now, ack_due_at=now, acknowledged_at=now, signed_at=now,
                                replied_at=now, reply_text=answer,
                                reason={"sla": "on_call", "rule": "answered and closed on the call (即时办)"})
        session.add(assignment)
        session.flush()
        row = Reply(case_id=id_of(case), assignment_id=id_of(assignment), department_id=id_of(dept), role=LEAD,
                    kind=kind, text=answer, status="approved", round=1, written_by=actor, written_at=now)
        session.add(row)
        session.flush()
        case.status, case.closed_at, case.closed_on_call, case.due_at, case.updated_at = "closed", now, True, now, now
        session.add(case)
        session.add(Event(case_id=id_of(case), kind="replied", actor=actor, data={
            "assignment_id": assignment.id, "text": citizen_text(row), "round": 1, "reply_kind": kind,
            "reply_id": row.id, "on_call": True, "assist_inputs": [], "assist_missing": []}))
        session.add(Event(case_id=id_of(case), kind="closed_on_call", actor=actor, data={
            "reply_id": row.id, "knowledge_answer_id": knowledge_id}))
        knowledge.add_reply(session, case, row)
        return [outbox.add(session, "send_reply", [case.id, 1], f"reply-{case.id}-1", "deliver")]

    return resolve
