"""fks_fake_exchange: a local Binance-compatible exchange for tests, demos and benchmarks.

ccxt's ``binance`` driver runs against it unchanged (signing, request building, parsing, error
mapping); see docs/fake-exchange.md.
"""

__version__ = "0.1.0"
