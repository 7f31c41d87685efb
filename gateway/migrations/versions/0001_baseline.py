"""baseline: the schema as create_all made it before migrations (main at 281b96e); a database without
an alembic_version table is taken to be at this revision.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('retrieval_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('appeal_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('street', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('urgency', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('complexity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reporter_count', sa.Integer(), nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_report_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('routing', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_last_report_at'), ['last_report_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)
        batch_op.create_index('ix_case_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_updated_at'), ['updated_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # models.Case: ix_case_dedupe is PostgreSQL's alone (ddl_if)
        op.create_index('ix_case_dedupe', 'case', ['id'], unique=False,
                        postgresql_include=['status', 'last_report_at', 'closed_at'])

    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opted_out_sms', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_created_at'), ['created_at'], unique=False)

    op.create_table('dailyreport',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slot', name='uq_dailyreport_slot')
    )
    with op.batch_alter_table('dailyreport', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dailyreport_generated_at'), ['generated_at'], unique=False)

    op.create_table('dedupekey',
    sa.Column('key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('key', 'case_id'),
    sqlite_with_rowid=False
    )
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('webhook', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('calendar', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sla', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_district'), ['district'], unique=False)

    op.create_table('mailcheckpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('uidvalidity', sa.Integer(), nullable=False),
    sa.Column('last_uid', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mailbox', name='uq_mailcheckpoint_mailbox')
    )
    with op.batch_alter_table('mailcheckpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailcheckpoint_updated_at'), ['updated_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('func', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_done_at'), ['done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_enqueued_at'), ['enqueued_at'], unique=False)

    op.create_table('unparsed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('unparsed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unparsed_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_unparsed_received_at'), ['received_at'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.JSON(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('reply_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('supervision_level', sa.Integer(), nullable=False),
    sa.Column('dispatch_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'department_id', name='uq_assignment_case_department')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_dispatched_at'), ['dispatched_at'], unique=False)
        batch_op.create_index('ix_assignment_status_due', ['status', 'due_at'], unique=False)

    op.create_table('casefeatures',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_case_id'), ['case_id'], unique=False)

    op.create_table('identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'value', name='uq_identity_kind_value')
    )
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_created_at'), ['created_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key', name='uq_notification_dedupe_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_message_id'), ['message_id'], unique=False)

    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('board_user', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('category_hint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('appeal_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('addressed_unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('defects', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'external_id', name='uq_report_channel_external_id')
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_received_at'), ['received_at'], unique=False)

    op.create_table('smsmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sid', name='uq_smsmessage_sid')
    )
    with op.batch_alter_table('smsmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_smsmessage_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_smsmessage_phone_state', ['phone', 'state'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_department_id'), ['department_id'], unique=False)

    op.create_table('extension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('requested_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('extension', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extension_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_status'), ['status'], unique=False)

    op.create_table('followup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('contact_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ask_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('solved', sa.Boolean(), nullable=True),
    sa.Column('satisfaction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('answer_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'contact_key', 'round', name='uq_followup_case_contact_round')
    )
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.create_index('ix_followup_address_status', ['address', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_ask_at'), ['ask_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_created_at'), ['created_at'], unique=False)

    op.create_table('mergerecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_case_id', sa.Integer(), nullable=False),
    sa.Column('absorbed_case_id', sa.Integer(), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.ForeignKeyConstraint(['survivor_case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mergerecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mergerecord_absorbed_case_id'), ['absorbed_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mergerecord_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mergerecord_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mergerecord_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_mergerecord_survivor_case_id'), ['survivor_case_id'], unique=False)



def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_case_dedupe', table_name='case')
    with op.batch_alter_table('mergerecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mergerecord_survivor_case_id'))
        batch_op.drop_index(batch_op.f('ix_mergerecord_status'))
        batch_op.drop_index(batch_op.f('ix_mergerecord_report_id'))
        batch_op.drop_index(batch_op.f('ix_mergerecord_created_at'))
        batch_op.drop_index(batch_op.f('ix_mergerecord_absorbed_case_id'))

    op.drop_table('mergerecord')
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_created_at'))
        batch_op.drop_index(batch_op.f('ix_followup_case_id'))
        batch_op.drop_index(batch_op.f('ix_followup_ask_at'))
        batch_op.drop_index('ix_followup_address_status')

    op.drop_table('followup')
    with op.batch_alter_table('extension', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extension_status'))
        batch_op.drop_index(batch_op.f('ix_extension_requested_at'))
        batch_op.drop_index(batch_op.f('ix_extension_assignment_id'))

    op.drop_table('extension')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_department_id'))

    op.drop_table('user')
    with op.batch_alter_table('smsmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_smsmessage_phone_state')
        batch_op.drop_index(batch_op.f('ix_smsmessage_created_at'))

    op.drop_table('smsmessage')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_received_at'))
        batch_op.drop_index(batch_op.f('ix_report_phone'))
        batch_op.drop_index(batch_op.f('ix_report_message_id'))
        batch_op.drop_index(batch_op.f('ix_report_created_at'))
        batch_op.drop_index(batch_op.f('ix_report_contact_id'))
        batch_op.drop_index(batch_op.f('ix_report_case_id'))

    op.drop_table('report')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_message_id'))
        batch_op.drop_index(batch_op.f('ix_notification_created_at'))
        batch_op.drop_index(batch_op.f('ix_notification_case_id'))

    op.drop_table('notification')
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_created_at'))
        batch_op.drop_index(batch_op.f('ix_identity_contact_id'))

    op.drop_table('identity')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_case_id'))
        batch_op.drop_index(batch_op.f('ix_event_at'))

    op.drop_table('event')
    op.drop_table('casefeatures')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_assignment_status_due')
        batch_op.drop_index(batch_op.f('ix_assignment_dispatched_at'))
        batch_op.drop_index(batch_op.f('ix_assignment_department_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_case_id'))

    op.drop_table('assignment')
    with op.batch_alter_table('unparsed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unparsed_received_at'))
        batch_op.drop_index(batch_op.f('ix_unparsed_channel'))

    op.drop_table('unparsed')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_enqueued_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_done_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('mailcheckpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailcheckpoint_updated_at'))

    op.drop_table('mailcheckpoint')
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_department_district'))

    op.drop_table('department')
    op.drop_table('dedupekey')
    with op.batch_alter_table('dailyreport', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dailyreport_generated_at'))

    op.drop_table('dailyreport')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_created_at'))

    op.drop_table('contact')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_updated_at'))
        batch_op.drop_index('ix_case_status_created')
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_case_last_report_at'))
        batch_op.drop_index(batch_op.f('ix_case_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_district'))
        batch_op.drop_index(batch_op.f('ix_case_created_at'))
        batch_op.drop_index(batch_op.f('ix_case_channel'))
        batch_op.drop_index(batch_op.f('ix_case_category'))

    op.drop_table('case')
