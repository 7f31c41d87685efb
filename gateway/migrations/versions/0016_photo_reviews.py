"""photo reviews: the office approves or rejects each photo of a report before the public board shows it

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('photoreview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'position', name='uq_photoreview_report_position')
    )
    with op.batch_alter_table('photoreview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photoreview_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_photoreview_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_table('photoreview')
