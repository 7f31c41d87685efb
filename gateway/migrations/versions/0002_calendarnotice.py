"""calendarnotice: the State Council notices imported by hotline calendar import

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("calendarnotice"):
        return  # made by create_all before this revision existed (the calendar landed a commit earlier)
    op.create_table('calendarnotice',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('festivals', sa.JSON(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    with op.batch_alter_table('calendarnotice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendarnotice_imported_at'), ['imported_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calendarnotice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendarnotice_imported_at'))

    op.drop_table('calendarnotice')
