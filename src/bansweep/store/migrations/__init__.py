"""Alembic migrations of the history store; `sql.SqlStore` runs them on open (no alembic.ini needed)."""
