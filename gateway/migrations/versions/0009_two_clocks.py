"""two clocks: 回告 (ack_due_at, acknowledged_at, ack_level) beside 办结 (due_at); 挂起 (suspension) on assignments
and extension requests of kind suspension

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('assignment') as batch:
        batch.add_column(sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ack_level', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('suspended_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('suspended_seconds', sa.Integer(), server_default='0', nullable=False))
        batch.create_index('ix_assignment_status_ack_due', ['status', 'ack_due_at'], unique=False)
    with op.batch_alter_table('extension') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), server_default='extension', nullable=False))
    # Assignments made before: their first answer is the signature they already have.
    assignment = sa.table('assignment', sa.column('acknowledged_at', sa.DateTime(timezone=True)),
                          sa.column('signed_at', sa.DateTime(timezone=True)))
    op.execute(assignment.update().where(assignment.c.signed_at.isnot(None))
               .values(acknowledged_at=assignment.c.signed_at))


def downgrade() -> None:
    with op.batch_alter_table('extension') as batch:
        batch.drop_column('kind')
    with op.batch_alter_table('assignment') as batch:
        batch.drop_index('ix_assignment_status_ack_due')
        for column in ('suspended_seconds', 'suspended_until', 'suspended_at', 'ack_level', 'acknowledged_at',
                       'ack_due_at'):
            batch.drop_column(column)
