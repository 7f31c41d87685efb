"""sub-units: a department may have a parent (街道 under 区, 处室 under 局); an assignment passed on to a sub-unit
points at the assignment it came from

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('department') as batch:
        batch.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch.create_index('ix_department_parent_id', ['parent_id'], unique=False)
        batch.create_foreign_key('fk_department_parent_id', 'department', ['parent_id'], ['id'])
    with op.batch_alter_table('assignment') as batch:
        batch.add_column(sa.Column('parent_assignment_id', sa.Integer(), nullable=True))
        batch.create_index('ix_assignment_parent_assignment_id', ['parent_assignment_id'], unique=False)
        batch.create_foreign_key('fk_assignment_parent_assignment_id', 'assignment', ['parent_assignment_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('assignment') as batch:
        batch.drop_constraint('fk_assignment_parent_assignment_id', type_='foreignkey')
        batch.drop_index('ix_assignment_parent_assignment_id')
        batch.drop_column('parent_assignment_id')
    with op.batch_alter_table('department') as batch:
        batch.drop_constraint('fk_department_parent_id', type_='foreignkey')
        batch.drop_index('ix_department_parent_id')
        batch.drop_column('parent_id')
