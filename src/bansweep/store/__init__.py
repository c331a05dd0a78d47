"""Where bansweep keeps its data: imported reference data (IEEE registry, CSL) and the history store.

The history store (runs, findings, triage decisions) lives behind `interface.Store`; `open_store(url)` picks the
backend from the URL. Nothing here imports SQLAlchemy, so modules that only need `data_path` stay light.

Store URL, first found: the `url` given (`--store`), $BANSWEEP_STORE, else SQLite in the data home
(`sqlite:///<data home>/history.sqlite`). `postgresql://user@host/db?host=/socket/dir&port=N` (libpq style) is
mapped to the psycopg driver.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bansweep.store.interface import Store

ENV_STORE = "BANSWEEP_STORE"


def data_home() -> Path:
    """$BANSWEEP_HOME, else $XDG_DATA_HOME/bansweep, else ~/.local/share/bansweep."""
    if os.environ.get("BANSWEEP_HOME"):
        return Path(os.environ["BANSWEEP_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bansweep"


def data_path(*parts: str) -> Path:
    path = data_home().joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def store_url(url: str | None = None) -> str:
    """The store URL to use: `url`, else $BANSWEEP_STORE, else SQLite in the data home."""
    if url:
        return url
    if os.environ.get(ENV_STORE):
        return os.environ[ENV_STORE]
    return f"sqlite:///{data_path('history.sqlite')}"


def open_store(url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at `url` (see `store_url`). Raises StoreError."""
    from bansweep.store.sql import SqlStore

    return SqlStore(store_url(url))
