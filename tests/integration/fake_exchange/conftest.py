"""The fake exchange fixtures (a session-wide server, reset before each test)."""

from tests.harness.fake_exchange import fake_exchange, fake_exchange_server

__all__ = ["fake_exchange", "fake_exchange_server"]
