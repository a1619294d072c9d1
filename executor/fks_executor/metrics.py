"""The executor's Prometheus metrics (names are part of the contract:
docs/executor.md, "Metrics").

One ``Metrics`` per app, on its own registry (tests build several apps in one process).
The exchange layer and the circuit breaker get this object and update their own series:
``order_executions``, ``order_failures``, ``lost_trades``, ``order_duration``,
``circuit_breaker_state``.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "CircuitState", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CircuitState:
    """Values of ``fks_circuit_breaker_state``."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class Metrics:
    def __init__(self, pipeline: str, accounts: Iterable[str] = ()) -> None:
        self.pipeline = pipeline
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.webhook_requests = Counter(
            "fks_webhook_requests_total",
            "Webhook requests by answer status and reason",
            ["pipeline", "status", "reason"],
            registry=r,
        )
        self.webhook_duration = Histogram(
            "fks_webhook_duration_seconds",
            "Time from request to answer on the webhook",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.signature_failures = Counter(
            "fks_webhook_signature_failures_total",
            "Webhook requests refused for a bad or missing signature/passphrase",
            registry=r,
        )
        self.validation_failures = Counter(
            "fks_webhook_validation_failures_total",
            "Webhook requests refused for their body (JSON, schema, size, staleness)",
            ["reason"],
            registry=r,
        )
        self.order_executions = Counter(
            "fks_order_executions_total",
            "Orders executed (or simulated) by account, exchange and status",
            ["account", "exchange", "status"],
            registry=r,
        )
        self.order_failures = Counter(
            "fks_order_failures_total",
            "Orders that failed or were refused, by reason",
            ["account", "exchange", "reason"],
            registry=r,
        )
        self.lost_trades = Counter(
            "fks_lost_trades_total",
            "Accepted signals that ended failed without their trade: no order on the exchange "
            "(order=absent) or one that may exist unseen (order=unknown)",
            ["account", "exchange", "order"],
            registry=r,
        )
        self.order_duration = Histogram(
            "fks_order_duration_seconds",
            "Time to place one order (or simulate it)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limit_rejections = Counter(
            "fks_rate_limit_rejections_total",
            "Webhook requests refused by the per-source rate limit",
            registry=r,
        )
        self.circuit_breaker_state = Gauge(
            "fks_circuit_breaker_state",
            "Circuit breaker per account: 0 closed, 1 half-open, 2 open",
            ["account"],
            registry=r,
        )
        self.audit_events = Counter(
            "fks_audit_events_total",
            "Audit events written, by decision",
            ["type"],
            registry=r,
        )
        self.futures_settings_conflicts = Gauge(
            "fks_futures_settings_conflicts",
            "1 while a futures setting of a symbol differs from spec.futures and is not changed "
            "(open position, or refused by the venue); entries on the symbol are refused",
            ["account", "symbol", "setting"],
            registry=r,
        )
        self.signals_inflight = Gauge(
            "fks_signals_inflight",
            "Signals accepted and still executing",
            registry=r,
        )
        self.unprotected_positions = Gauge(
            "fks_unprotected_positions",
            "1 while a position is open without the protection its alert asked for (a "
            "protective order refused or missing at the venue), else 0",
            ["account", "symbol"],
            registry=r,
        )
        for account in accounts:
            self.circuit_breaker_state.labels(account=account).set(CircuitState.CLOSED)
        self._requests: dict[tuple[str, str], Counter] = {}

    def count_request(self, status: str, reason: str | None) -> None:
        key = (status, reason or "")
        child = self._requests.get(key)
        if child is None:
            child = self.webhook_requests.labels(self.pipeline, status, reason or "")
            self._requests[key] = child
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
