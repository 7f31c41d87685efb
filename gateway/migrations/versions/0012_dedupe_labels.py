"""dedupe labels: the office's accepted and rejected proposals, merges, undos and splits kept as labelled
report pairs (same matter or not), for `hotline dedupe calibrate`

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('dedupelabel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('other_report_id', sa.Integer(), nullable=False),
    sa.Column('other_reports', sa.JSON(), nullable=False),
    sa.Column('other_case_id', sa.Integer(), nullable=True),
    sa.Column('same', sa.Boolean(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('merge_record_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.ForeignKeyConstraint(['other_report_id'], ['report.id'], ),
    sa.ForeignKeyConstraint(['other_case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['merge_record_id'], ['mergerecord.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dedupelabel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedupelabel_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedupelabel_other_report_id'), ['other_report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedupelabel_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedupelabel_merge_record_id'), ['merge_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedupelabel_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('dedupelabel')
