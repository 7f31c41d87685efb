"""the operators' phone work list: acknowledgements, replies and follow-ups read out on the phone to fixed lines and
numbers that opted out of SMS, and call-backs to voice messages

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'callitem',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('followup_id', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('why', sa.String(length=32), nullable=False),
        sa.Column('script', sa.String(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('held_by', sa.String(length=100), nullable=True),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=8), nullable=True),
        sa.Column('done_by', sa.String(length=100), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('log', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id']),
        sa.ForeignKeyConstraint(['followup_id'], ['followup.id']),
        sa.ForeignKeyConstraint(['report_id'], ['report.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key', name='uq_callitem_dedupe_key'),
    )
    op.create_index('ix_callitem_case_id', 'callitem', ['case_id'])
    op.create_index('ix_callitem_followup_id', 'callitem', ['followup_id'])
    op.create_index('ix_callitem_done_at', 'callitem', ['done_at'])
    op.create_index('ix_callitem_created_at', 'callitem', ['created_at'])
    op.create_index('ix_callitem_status_next', 'callitem', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_callitem_status_next', table_name='callitem')
    op.drop_index('ix_callitem_created_at', table_name='callitem')
    op.drop_index('ix_callitem_done_at', table_name='callitem')
    op.drop_index('ix_callitem_followup_id', table_name='callitem')
    op.drop_index('ix_callitem_case_id', table_name='callitem')
    op.drop_table('callitem')
