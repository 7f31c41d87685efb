"""replies: every reply a unit wrote, with its type (办结, 阶段性, 不予受理, 不属于受理范围, 解释说明) and its review

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('round', sa.Integer(), nullable=True),
        sa.Column('written_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('review_comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id']),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.ForeignKeyConstraint(['department_id'], ['department.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_reply_case_id', 'reply', ['case_id'], unique=False)
    op.create_index('ix_reply_assignment_id', 'reply', ['assignment_id'], unique=False)
    op.create_index('ix_reply_status', 'reply', ['status'], unique=False)
    op.create_index('ix_reply_written_at', 'reply', ['written_at'], unique=False)
    # Replies written before: each replied assignment's text, as sent (the lead's) or as input (an assist's).
    op.execute(
        "INSERT INTO reply (case_id, assignment_id, department_id, role, kind, text, status, written_by, written_at) "
        "SELECT case_id, id, department_id, role, 'final', reply_text, "
        "CASE WHEN role = 'lead' THEN 'approved' ELSE 'input' END, 'migration', replied_at "
        "FROM assignment WHERE reply_text IS NOT NULL AND replied_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index('ix_reply_written_at', table_name='reply')
    op.drop_index('ix_reply_status', table_name='reply')
    op.drop_index('ix_reply_assignment_id', table_name='reply')
    op.drop_index('ix_reply_case_id', table_name='reply')
    op.drop_table('reply')
