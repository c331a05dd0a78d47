"""Alembic environment: bansweep passes an open connection, already in a transaction (see sql.SqlStore._migrate).

A new migration: a new file in versions/ with the next revision id and `down_revision` set to the last one, its
upgrade() written by hand; sql.py holds the target schema, and tests/test_store.py checks the two agree.
"""

from alembic import context

from bansweep.store.sql import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bansweep's store migrations run through bansweep.store.open_store, with a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
