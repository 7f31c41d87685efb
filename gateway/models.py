"""The data model (docs/ARCHITECTURE.md "Data model"): contacts, reports, cases, departments, assignments, events."""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Protocol

from sqlalchemy import JSON, Column, DateTime, Index, Integer, LargeBinary, UniqueConstraint, false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from gateway.clock import utcnow

# Case statuses
OPEN_STATUSES = ("new", "dispatched", "in_progress", "replied", "reopened", "triage")
CLOSED_STATUSES = ("closed", "merged")

# Assignment roles and states
LEAD, ASSIST, SUB = "lead", "assist", "sub"
ASSIGNMENT_STATES = ("dispatched", "signed", "replied", "returned", "overdue", "cancelled")


def _factory(make: Callable[[], Any]) -> Callable[[], Any]:
    """``make`` as a default factory that pydantic can look at cheaply.

    Pydantic asks every default factory, on every construction of a row, whether it takes the
    validated data, by ``inspect.signature``: that costs 175 µs for the builtin ``list`` (a new
    Report took 620 µs to build, 150 µs with this). A signature given up front is returned at once.
    """

    def factory() -> Any:
        return make()

    factory.__signature__ = inspect.Signature()  # type: ignore[attr-defined]  # read by inspect.signature; functions take attributes
    return factory


NOW_FACTORY = _factory(utcnow)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored and compared in UTC on every database. SQLite keeps a datetime as the text of its
    fields and drops the zone: a city-time bound (a report window, a day filter) compared 8 h off until every
    caller converted it. Converting here, where every stored value and every bound passes, ends that."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(timezone.utc)
        return value


def _ts(index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


def _now() -> Any:
    return Field(default_factory=NOW_FACTORY, sa_column=Column(UTCDateTime(), nullable=False, index=True))


def _json(default: Any = dict) -> Any:
    return Field(default_factory=_factory(default), sa_column=Column(JSON, nullable=False))


class _Stored(Protocol):
    id: Optional[int]


def table_of(model: Any) -> Any:
    """A table model's Core table, for statements that skip the ORM (SQLModel's classes do not type ``__table__``)."""
    return model.__table__


def id_of(row: _Stored) -> int:
    """A stored row's id as an ``int``: the models type ids ``Optional[int]`` because a row has none until its
    first flush."""
    if row.id is None:
        raise ValueError(f"this {type(row).__name__} has no id yet: it was never flushed")
    return row.id


class Contact(SQLModel, table=True):
    """A citizen, as far as we can tell: identities on several channels link to one contact."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = _now()
    opted_out_sms: bool = False


class Identity(SQLModel, table=True):
    """One way to reach a contact: an E.164 phone, a lower-cased e-mail, a board account."""

    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str = Field(max_length=16)  # phone | email | board
    value: str = Field(max_length=320)
    created_at: datetime = _now()


class Department(SQLModel, table=True):
    """A unit that handles cases (承办单位), seeded from the city profile."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(default="city", max_length=16)  # office | city | district | street | utility
    district: Optional[str] = Field(default=None, max_length=64, index=True)
    delivery: str = Field(default="inapp", max_length=16)  # inapp | email | webhook
    email: Optional[str] = Field(default=None, max_length=320)
    webhook: Optional[str] = Field(default=None, max_length=500)
    calendar: str = Field(default="working", max_length=16)  # working | 5+2
    sla: dict = _json()
    active: bool = True
    parent_id: Optional[int] = Field(default=None, foreign_key="department.id", index=True)  # 街道 under 区, 处室 under 局


class Case(SQLModel, table=True):
    """A matter (工单): one or many reports; dispatched to departments; answered; followed up."""

    __table_args__ = (
        Index("ix_case_status_created", "status", "created_at"),
        # PostgreSQL: the dedupe candidate query checks each candidate's status and times in this index
        # alone (an index-only scan) instead of visiting the wide case rows (SQLite: the rowid lookup wins).
        Index("ix_case_dedupe", "id", postgresql_include=["status", "last_report_at", "closed_at"]).ddl_if(
            dialect="postgresql"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    number: Optional[str] = Field(default=None, max_length=32, unique=True)
    title: Optional[str] = Field(default=None, max_length=300)
    summary: str = ""
    appeal_type: Optional[str] = Field(default=None, max_length=8)
    category: Optional[str] = Field(default=None, max_length=64, index=True)
    district: Optional[str] = Field(default=None, max_length=64, index=True)
    street: Optional[str] = Field(default=None, max_length=64)
    address: Optional[str] = Field(default=None, max_length=500)
    lat: Optional[float] = None
    lon: Optional[float] = None
    channel: str = Field(max_length=16, index=True)  # the first report's channel
    status: str = Field(default="new", max_length=16, index=True)
    public: bool = True
    urgency: Optional[str] = Field(default=None, max_length=16)
    complexity: str = Field(default="normal", max_length=16)  # normal | complex
    reporter_count: int = 1
    report_count: int = 1
    created_at: datetime = _now()
    updated_at: datetime = _now()
    last_report_at: datetime = _now()
    due_at: Optional[datetime] = _ts(index=True)
    closed_at: Optional[datetime] = _ts()
    merged_into_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    routing: dict = _json()
    # 即时办: the operator answered and closed the matter during the call (never dispatched); counted apart.
    closed_on_call: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Report(SQLModel, table=True):
    """One inbound message, as received and as normalized; immutable once stored."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_report_channel_external_id"),
                      Index("ix_report_channel_case", "channel", "case_id"),  # the console's channel filter
                      # The 30-day reports page reads the window's reports from these alone (repeat calls per
                      # case and person; reports per channel and day; hotline tickets closed on the call).
                      Index("ix_report_case_contact_received", "case_id", "contact_id", "received_at"),
                      Index("ix_report_received_channel", "received_at", "channel", "link", "case_id"))
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    external_id: Optional[str] = Field(default=None, max_length=255)
    title: Optional[str] = Field(default=None, max_length=300)
    text: str = ""
    received_at: datetime = _now()
    created_at: datetime = _now()
    name: Optional[str] = Field(default=None, max_length=200)
    phone: Optional[str] = Field(default=None, max_length=32, index=True)  # every SMS looks up the sender's cases
    email: Optional[str] = Field(default=None, max_length=320)
    board_user: Optional[str] = Field(default=None, max_length=200)
    address: Optional[str] = Field(default=None, max_length=500)
    district: Optional[str] = Field(default=None, max_length=64)
    lat: Optional[float] = None
    lon: Optional[float] = None
    category_hint: Optional[str] = Field(default=None, max_length=64)
    appeal_type: Optional[str] = Field(default=None, max_length=8)
    addressed_unit: Optional[str] = Field(default=None, max_length=200)
    public: bool = True
    # The reporter's own code for looking the case up, answered only to the request that made this report.
    retrieval_code: Optional[str] = Field(default=None, max_length=16, index=True)
    message_id: Optional[str] = Field(default=None, max_length=500, index=True)
    # A hotline ticket's call: the call-centre system's call id and its recording (a host HOTLINE_RECORDING_HOSTS
    # allows); staff of the office and the units play it, retention removes both.
    call_id: Optional[str] = Field(default=None, max_length=128, index=True)
    recording_url: Optional[str] = Field(default=None, max_length=2000)
    link: str = Field(default="new", max_length=16)  # new | replay | thread | same_person | same_problem | proposal
    decision: dict = _json()
    attachments: list = _json(list)
    defects: list = _json(list)
    extra: dict = _json()
    raw: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class PhotoReview(SQLModel, table=True):
    """The office's decision on one photo of a report (its attachment's 1-based position): shown on the public
    board and in Open311 only when approved. No row: not decided yet. Masking cannot cover a face or a plate
    in a picture, so a person looks at each one."""

    __table_args__ = (UniqueConstraint("report_id", "position", name="uq_photoreview_report_position"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    position: int
    status: str = Field(max_length=16)  # approved | rejected
    decided_by: str = Field(max_length=100)
    decided_at: datetime = _now()


class Assignment(SQLModel, table=True):
    """A case handed to one department, as lead (主办) or assisting unit (协办)."""

    __table_args__ = (
        UniqueConstraint("case_id", "department_id", name="uq_assignment_case_department"),
        Index("ix_assignment_status_due", "status", "due_at"),
        Index("ix_assignment_status_ack_due", "status", "ack_due_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    role: str = Field(default=LEAD, max_length=8)
    status: str = Field(default="dispatched", max_length=16)
    reason: dict = _json()
    dispatched_at: datetime = _now()
    due_at: Optional[datetime] = _ts()  # 办结: the reply that completes the assignment is due
    ack_due_at: Optional[datetime] = _ts()  # 回告: the unit's first answer (signed, contact made) is due
    acknowledged_at: Optional[datetime] = _ts()  # when it signed, recorded contact or replied, whichever came first
    ack_level: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # 1: told its 回告 is overdue
    suspended_at: Optional[datetime] = _ts()  # 挂起: both clocks stopped since, with the office's approval
    suspended_until: Optional[datetime] = _ts()  # ... until then at the latest (resumed on its own)
    suspended_seconds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # paused in all
    signed_at: Optional[datetime] = _ts()
    replied_at: Optional[datetime] = _ts()
    returned_at: Optional[datetime] = _ts()
    return_reason: Optional[str] = None
    reply_text: Optional[str] = None
    delivered_at: Optional[datetime] = _ts()
    delivery_error: Optional[str] = None
    # Passed on by the unit of this assignment to one of its sub-units (role "sub"), inside its own deadline.
    parent_assignment_id: Optional[int] = Field(default=None, foreign_key="assignment.id", index=True)
    supervision_level: int = 0  # 0 none, 1 reminded, 2 overdue, 3 chased, 4 escalated
    dispatch_count: int = 1  # how often it was (re)dispatched: part of the notification keys of each round


class Event(SQLModel, table=True):
    """The audit timeline of a case: every decision with its reason."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=32)
    actor: str = Field(default="system", max_length=100)
    data: dict = _json()
    at: datetime = _now()


class MergeRecord(SQLModel, table=True):
    """A merge (or a proposal of one): what, why (score, rule, reasons), by whom; reversible."""

    id: Optional[int] = Field(default=None, primary_key=True)
    survivor_case_id: int = Field(foreign_key="case.id", index=True)
    absorbed_case_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    report_id: Optional[int] = Field(default=None, foreign_key="report.id", index=True)
    status: str = Field(default="applied", max_length=16, index=True)  # proposed | applied | rejected | undone
    origin: str = Field(default="auto", max_length=16)  # auto | office
    score: float = 0.0
    rule: Optional[str] = Field(default=None, max_length=32)
    reasons: list = _json(list)
    snapshot: dict = _json()
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = _now()
    decided_by: Optional[str] = Field(default=None, max_length=100)
    decided_at: Optional[datetime] = _ts()


class DedupeLabel(SQLModel, table=True):
    """The office's word on two reports: the same matter or not. Written when a person accepts or rejects a
    proposal, merges two cases, undoes a merge or splits a report out; read by `hotline dedupe calibrate`.

    ``report_id`` is the report decided about (A); ``other_reports`` the reports of the case it was put with or
    taken from at that moment (B is the first of them), so the pair can be scored again later as the matcher
    would have seen it. ``score``/``rule`` are what the matcher said then, when it said anything.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    other_report_id: int = Field(foreign_key="report.id", index=True)
    other_reports: list = _json(list)
    other_case_id: Optional[int] = Field(default=None, foreign_key="case.id")
    same: bool
    source: str = Field(max_length=16, index=True)  # accepted | rejected | merged | undone | split
    merge_record_id: Optional[int] = Field(default=None, foreign_key="mergerecord.id", index=True)
    score: Optional[float] = None
    rule: Optional[str] = Field(default=None, max_length=32)
    actor: str = Field(max_length=100)
    created_at: datetime = _now()


class DedupeKey(SQLModel, table=True):
    """One row of the shared dedupe index: a block key (32-bit id of a dedupe.features key) -> a case.

    The primary key (key, case_id) is the only index; on SQLite the table is WITHOUT ROWID, so
    a row is stored once. Newest cases first is ``ORDER BY case_id DESC`` within a key.
    """

    __table_args__ = {"sqlite_with_rowid": False}
    key: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    case_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))


class CaseFeatures(SQLModel, table=True):
    """What dedupe compares a case by: the union of its reports' features (one set per case), its index keys."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    features: dict = _json()  # dedupe.features.merge_features over the case's reports, to_dict(compact=True)
    keys: list = _json(list)  # the block keys the case is indexed under (strings; DedupeKey holds their ids)


class Outbox(SQLModel, table=True):
    """A job to enqueue after commit; the sweeper re-enqueues rows that Redis did not take."""

    id: Optional[int] = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=200, unique=True)
    func: str = Field(max_length=200)
    args: list = _json(list)
    queue: str = Field(default="default", max_length=64)
    created_at: datetime = _now()
    enqueued_at: Optional[datetime] = _ts(index=True)
    done_at: Optional[datetime] = _ts(index=True)  # set by the job's success callback
    attempts: int = 0
    last_error: Optional[str] = None


class Notification(SQLModel, table=True):
    """A message we send: to a citizen (ack, reply, follow-up) or to a department."""

    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200)  # makes each notification be sent once
    case_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id")
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    channel: str = Field(max_length=16)  # sms | email | webhook | board | inapp
    address: Optional[str] = Field(default=None, max_length=500)
    kind: str = Field(max_length=32)  # ack | reply | followup | dispatch | reminder | chase | report
    subject: Optional[str] = Field(default=None, max_length=300)
    body: str = ""
    message_id: Optional[str] = Field(default=None, max_length=500, index=True)
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed | skipped
    attempts: int = 0
    error: Optional[str] = None
    created_at: datetime = _now()
    sent_at: Optional[datetime] = _ts()


class Unparsed(SQLModel, table=True):
    """Something received that could not become a report, kept for a person to look at."""

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16, index=True)
    error: str = ""
    headers: dict = _json()
    body: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _now()
    resolved: bool = False


class SmsMessage(SQLModel, table=True):
    """An inbound SMS that is not (yet) a report: a keyword, a message waiting for a case choice, a choice."""

    __table_args__ = (UniqueConstraint("sid", name="uq_smsmessage_sid"), Index("ix_smsmessage_phone_state", "phone", "state"))
    id: Optional[int] = Field(default=None, primary_key=True)
    sid: str = Field(max_length=64)  # Twilio MessageSid: a retried delivery finds this row
    phone: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # keyword | pending | choice
    state: str = Field(default="done", max_length=16)  # pending (awaiting a choice) | done
    form: dict = _json()  # the webhook form, to ingest a pending message once the citizen chose
    choices: list = _json(list)  # case ids offered, in the order listed
    case_id: Optional[int] = Field(default=None, foreign_key="case.id")
    answer: str = ""  # what we answered (TwiML text), repeated for a retried delivery
    created_at: datetime = _now()


class MailCheckpoint(SQLModel, table=True):
    """How far the IMAP poller read one mailbox folder: UIDVALIDITY and the last UID ingested."""

    __table_args__ = (UniqueConstraint("mailbox", name="uq_mailcheckpoint_mailbox"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=500)  # user@host/folder
    uidvalidity: int = 0
    last_uid: int = 0
    updated_at: datetime = _now()


class Extension(SQLModel, table=True):
    """A department's request on one assignment's clocks, decided by the office: more time (延期, kind
    "extension": 办结 moves to requested_until) or a pause (挂起, kind "suspension": both clocks stop until
    requested_until at the latest, e.g. while waiting for the citizen)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    kind: str = Field(default="extension", max_length=16, sa_column_kwargs={"server_default": "extension"})
    requested_until: datetime = _ts(nullable=False)
    reason: str = ""
    status: str = Field(default="pending", max_length=16, index=True)  # pending | approved | rejected
    requested_by: str = Field(default="system", max_length=100)
    requested_at: datetime = _now()
    decided_by: Optional[str] = Field(default=None, max_length=100)
    decided_at: Optional[datetime] = _ts()


class Reply(SQLModel, table=True):
    """Every reply a unit wrote, kept for the case's history: its type, its review by the office when the
    profile asks for one, and the round in which citizens received it (None: not sent to citizens)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    role: str = Field(default=LEAD, max_length=8)
    kind: str = Field(default="final", max_length=16)  # final | interim | not_accepted | out_of_scope | explanation
    text: str = ""
    reason: Optional[str] = None  # why not accepted / not ours
    until: Optional[datetime] = _ts()  # interim: the final reply comes by then
    status: str = Field(default="approved", max_length=16, index=True)  # input | pending | approved | returned
    round: Optional[int] = None
    written_by: str = Field(default="system", max_length=100)
    written_at: datetime = _now()
    reviewed_by: Optional[str] = Field(default=None, max_length=100)
    reviewed_at: Optional[datetime] = _ts()
    review_comment: Optional[str] = None


class KnowledgeEntry(SQLModel, table=True):
    """An answer the office keeps for the operators (知识库): written, edited and retired on the console."""

    id: Optional[int] = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)  # the question as callers ask it
    text: str  # the answer the operator reads out
    category: Optional[str] = Field(default=None, max_length=64)  # a profile category code
    status: str = Field(default="active", max_length=16, index=True)  # active | retired
    created_by: str = Field(max_length=100)
    created_at: datetime = _now()
    updated_by: Optional[str] = Field(default=None, max_length=100)
    updated_at: datetime = _now()


class KnowledgeAnswer(SQLModel, table=True):
    """One searchable answer: an office entry, or a published reply of a unit or an operator (masked)."""

    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_knowledgeanswer_source"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(max_length=8)  # entry | reply
    source_id: int  # KnowledgeEntry.id or Reply.id
    title: str = Field(default="", max_length=300)
    text: str = ""  # as shown to the operator: a reply's text masked (gateway/trust/privacy.py)
    category: Optional[str] = Field(default=None, max_length=64)
    case_number: Optional[str] = Field(default=None, max_length=32)  # a reply's case
    digest: str = Field(max_length=32, index=True)  # of the normalized text: the same answer is kept once
    active: bool = True
    updated_at: datetime = _now()


class KnowledgeGram(SQLModel, table=True):
    """The answer search's inverted index: a character bigram (or a Latin word), as a 32-bit id -> an answer.

    Primary key only, WITHOUT ROWID on SQLite (as DedupeKey); newest answers first is ``answer_id DESC``."""

    __table_args__ = {"sqlite_with_rowid": False}
    gram: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    answer_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))


class FollowUp(SQLModel, table=True):
    """The satisfaction visit (回访) of one reporter of a case: asked once, answered once per round."""

    __table_args__ = (
        UniqueConstraint("case_id", "contact_key", "round", name="uq_followup_case_contact_round"),
        Index("ix_followup_address_status", "address", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    report_id: Optional[int] = Field(default=None, foreign_key="report.id")
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id")
    contact_key: str = Field(max_length=400)  # channel:address, one visit per reporter and channel
    channel: str = Field(max_length=16)  # sms | email | board
    address: Optional[str] = Field(default=None, max_length=320)
    round: int = 1  # 1, then 2 after a reopened case is answered again
    status: str = Field(default="pending", max_length=16)  # pending | asked | answered | expired
    ask_at: datetime = _ts(index=True, nullable=False)  # when the follow-up sweep asks
    asked_at: Optional[datetime] = _ts()
    answered_at: Optional[datetime] = _ts()
    solved: Optional[bool] = None
    satisfaction: Optional[str] = Field(default=None, max_length=8)  # 满意 | 基本满意 | 不满意
    answer_text: Optional[str] = None
    created_at: datetime = _now()


class DailyReport(SQLModel, table=True):
    """A twice-daily report (per department and overall), stored as JSON and delivered by its job."""

    __table_args__ = (UniqueConstraint("slot", name="uq_dailyreport_slot"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    slot: str = Field(max_length=40)  # city-local "YYYY-MM-DD HH:MM" the report stands for
    generated_at: datetime = _now()
    data: dict = _json()


class CalendarNotice(SQLModel, table=True):
    """A State Council holiday notice as imported (`hotline calendar import`): one row per year, so every
    process of an installation sees it. ``festivals`` holds what was read; ``source`` the text as pasted."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    festivals: list = _json(list)  # [{"name", "first", "last", "makeup": [...]}] in ISO dates
    source: str
    imported_at: datetime = _now()
    imported_by: str = Field(default="cli", max_length=100)


class AuditEntry(SQLModel, table=True):
    """Who saw and changed what (append-only: nothing updates or deletes these rows)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _now()
    actor: str = Field(max_length=100, index=True)  # user:NAME, cli, or anonymous
    address: Optional[str] = Field(default=None, max_length=64)  # the client's address, when over HTTP
    action: str = Field(max_length=32, index=True)
    target: str = Field(default="", max_length=200, index=True)  # case:NUMBER, user:NAME, merge:ID ...
    detail: dict = _json()


class ApiToken(SQLModel, table=True):
    """A department system's key to the JSON API: scoped to one unit, kept only as a digest."""

    id: Optional[int] = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id", index=True)
    name: str = Field(max_length=100)
    digest: str = Field(max_length=64, unique=True)  # SHA-256 of the token; the token itself is shown once
    prefix: str = Field(max_length=12)  # its first characters, so that a person can tell tokens apart
    created_at: datetime = _now()
    created_by: str = Field(max_length=100)
    revoked_at: Optional[datetime] = _ts()
    last_used_at: Optional[datetime] = _ts()


class User(SQLModel, table=True):
    """A staff account: a role, and for department staff the unit they work for."""

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_login_at: Optional[datetime] = Field(default=None, sa_column=Column(UTCDateTime()))
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # +1 revokes every session

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @property
    def actor(self) -> str:
        """How the audit trail names this user (Event.actor, MergeRecord.decided_by); a unit's API token is
        named token:NAME."""
        return self.username if self.username.startswith("token:") else f"user:{self.username}"


class CallItem(SQLModel, table=True):
    """One entry of the operators' phone work list (回访电话): an acknowledgement, a reply or a follow-up that a
    person reads out on the phone, because the number cannot take an SMS (a fixed line) or opted out of SMS,
    or a call-back to a voice message. Held by one operator at a time (a lease with an expiry)."""

    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_callitem_dedupe_key"),
                      Index("ix_callitem_status_next", "status", "next_attempt_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200)  # one item per message, like Notification.dedupe_key
    kind: str = Field(max_length=16)  # ack | reply | followup | callback
    case_id: int = Field(foreign_key="case.id", index=True)
    report_id: Optional[int] = Field(default=None, foreign_key="report.id")
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id")
    followup_id: Optional[int] = Field(default=None, foreign_key="followup.id", index=True)
    phone: str = Field(max_length=32)
    name: Optional[str] = Field(default=None, max_length=200)
    why: str = Field(default="", max_length=32)  # fixed_line | opted_out | voice
    script: str = ""  # what the operator reads out (masked where another reporter's data could show)
    status: str = Field(default="open", max_length=16)  # open | done | unreachable | cancelled
    attempts: int = 0
    max_attempts: int = 3
    next_attempt_at: datetime = _ts(nullable=False)  # not called before (inside the profile's calling hours)
    due_at: Optional[datetime] = _ts()  # the attempts are spread until then
    held_by: Optional[str] = Field(default=None, max_length=100)  # the operator who opened it (user:NAME)
    held_until: Optional[datetime] = _ts()  # ... until then; after it another operator may take it
    outcome: Optional[str] = Field(default=None, max_length=8)  # 满意 | 基本满意 | 不满意 | 未接通 | 拒访 | 已告知
    done_by: Optional[str] = Field(default=None, max_length=100)
    done_at: Optional[datetime] = _ts(index=True)
    log: list = _json(list)  # every attempt: {at, by, outcome, note}
    created_at: datetime = _now()
