"""the console's search index: trigrams of cases' titles and texts and of reports' phone numbers (gateway.search)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from typing import Sequence, Union

from alembic import op

revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    from gateway import search

    search.create(op.get_bind())  # fills the index from the rows already there (minutes at a million cases)


def downgrade() -> None:
    from gateway import search

    search.drop(op.get_bind())
