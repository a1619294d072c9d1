"""The operator's own Prometheus metrics (names are part of the contract, SPEC §3).

- ``fks_operator_reconcile_total{kind,result}``: reconciles by kind (ExecutionPipeline,
  ExchangeAccount) and result: ``success`` (applied, nothing missing), ``held`` (a prerequisite
  is missing: executors held at 0), ``invalid`` (the spec cannot be used), ``error`` (an API
  call failed; retried with backoff), ``gone`` (the object no longer exists).
- ``fks_operator_reconcile_duration_seconds{kind}``: histogram of reconcile durations.
- ``fks_operator_queue_depth``: keys waiting to be reconciled.
- ``fks_operator_api_requests_total{verb,kind,result}``: API calls made by the reconcile loop
  (verb get/list/apply/delete/patch_status/create; result ok, an HTTP code, or unavailable).

Served on ``FKS_OPERATOR_METRICS_PORT`` (default 9090) at ``/metrics``, from its own registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

RESULTS = ("success", "held", "invalid", "error", "gone")


class Metrics:
    """Every metric of the operator, in one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reconcile_total = Counter(
            "fks_operator_reconcile_total",
            "Reconciles by kind and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "fks_operator_reconcile_duration_seconds",
            "Time to reconcile one object.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "fks_operator_queue_depth",
            "Objects waiting to be reconciled.",
            registry=self.registry,
        )
        self.api_requests = Counter(
            "fks_operator_api_requests_total",
            "Kubernetes API requests of the reconcile loop.",
            ["verb", "kind", "result"],
            registry=self.registry,
        )

    def reconciled(self, kind: str, result: str, seconds: float) -> None:
        self.reconcile_total.labels(kind=kind, result=result).inc()
        self.reconcile_duration.labels(kind=kind).observe(seconds)

    def api_request(self, verb: str, kind: str, result: str) -> None:
        self.api_requests.labels(verb=verb, kind=kind, result=result).inc()

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread (never blocks the loop)."""
        start_http_server(port, addr=host, registry=self.registry)
