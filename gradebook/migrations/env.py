"""Alembic's entry point for the gradebook's migrations.

`gradebook.db.upgrade` runs these with a connection it already holds (in
`config.attributes["connection"]`); `alembic -c gradebook/migrations/alembic.ini ...` works
too, for authors writing a new revision (`revision --autogenerate`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gradebook.models import Base

config = context.config


def run(connection) -> None:
    # render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        run(conn)
