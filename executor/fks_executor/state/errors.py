"""The errors a state backend raises when it cannot be used: the only ones the state package
turns into ``StateUnavailable`` (503). Anything else is a bug and propagates as one (a 500,
its traceback in the log), never reported as "Redis unreachable". Redis's own are in
``fks_executor.state.redis_client`` (redis is imported only when it is configured).
"""

from __future__ import annotations

import sqlite3

__all__ = ["SQLITE_ERRORS"]

#: aiosqlite raises sqlite3's errors; OSError for the file and its directory.
SQLITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
