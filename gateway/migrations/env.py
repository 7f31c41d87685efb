"""Alembic's environment for the gateway: the connection comes from `gateway.db` (never from a URL in a
file), the target is the models' metadata. Revisions live in versions/."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import gateway.models  # noqa: F401  (registers the tables)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True,
                  compare_type=True, include_object=context.config.attributes.get("include_object"))
with context.begin_transaction():
    context.run_migrations()
