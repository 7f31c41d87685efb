"""a hotline report's call: the call-centre system's call id and the address of its recording

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('report') as batch:
        batch.add_column(sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch.add_column(sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch.create_index('ix_report_call_id', ['call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report') as batch:
        batch.drop_index('ix_report_call_id')
        batch.drop_column('recording_url')
        batch.drop_column('call_id')
