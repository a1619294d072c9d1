"""The order fence: one check between "this process may act for this signal" and an order.

Intake runs each signal's execution with the signal store's ``fence`` installed here (a
context variable, set for the execution and removed when it ends, so it reaches nothing else:
the execution may run in its request's task, whose context a pipelined request copies); the
exchange layer
calls :func:`check_fence` right before each order request leaves. With Redis the fence raises
``LeaseLost`` once this replica can no longer prove it owns its signals (another replica may
take them over); with the single-replica journal it is a no-op. The check is local: it costs
no round trip on the order path.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token

__all__ = ["check_fence", "install_fence", "remove_fence"]

_FENCE: ContextVar[Callable[[], None] | None] = ContextVar("fks_order_fence", default=None)


def install_fence(fence: Callable[[], None] | None) -> Token[Callable[[], None] | None]:
    """Use ``fence`` for orders sent from the current context (returns the reset token)."""
    return _FENCE.set(fence)


def remove_fence(token: Token[Callable[[], None] | None]) -> None:
    """Undo ``install_fence`` (a context shared by later work, e.g. a pipelined request that
    copies the current one's context, must not inherit it)."""
    _FENCE.reset(token)


def check_fence() -> None:
    """Raise (``LeaseLost``) when the current context may not send an order now."""
    fence = _FENCE.get()
    if fence is not None:
        fence()
