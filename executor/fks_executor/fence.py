"""The order fence: one check between "this process may act for this signal" and an order.

Each signal executes in a task of its own (``fks_executor.execution``), which installs the
signal store's ``fence`` in its context: it reaches that execution and nothing else. The
exchange layer calls :func:`check_fence` right before each order request leaves. With Redis
the fence raises ``LeaseLost`` once this replica can no longer prove it owns its signals
(another replica may take them over); with the single-replica journal it is a no-op. The
check is local: it costs no round trip on the order path.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

__all__ = ["check_fence", "install_fence"]

_FENCE: ContextVar[Callable[[], None] | None] = ContextVar("fks_order_fence", default=None)


def install_fence(fence: Callable[[], None] | None) -> None:
    """Use ``fence`` for orders sent from the current context (the current task's)."""
    _FENCE.set(fence)


def check_fence() -> None:
    """Raise (``LeaseLost``) when the current context may not send an order now."""
    fence = _FENCE.get()
    if fence is not None:
        fence()
