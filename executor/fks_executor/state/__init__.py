"""What the executor remembers: signal stores (idempotency and the journal of execution) and
fills ledgers (``dailyLossLimitUSD``), each one contract with three backends (docs/executor.md,
"Idempotency" and "State backends").

==================  =================================  ==================================
backend             signal store                       fills ledger
==================  =================================  ==================================
memory              ``store.MemorySignalStore``        ``ledgers.MemoryFillsLedger``
SQLite (journal)    ``journal.SqliteSignalStore``      ``ledgers.SqliteFillsLedger``
Redis (replicas)    ``redis_store.RedisSignalStore``   ``redis_ledger.RedisFillsLedger``
==================  =================================  ==================================

A backend that cannot be used raises ``StateUnavailable`` (503); only the backend's own
errors are translated so (``errors.SQLITE_ERRORS``, ``redis_client.REDIS_ERRORS``): anything
else is a bug and surfaces as one. The Redis modules import redis; nothing else here does.
"""
