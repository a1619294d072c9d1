"""The metric names of SPEC §3 (part of the product contract) are what the code registers, with
the labels the SPEC gives them; the dashboard and the rules are checked against the code."""

from __future__ import annotations

from tests.unit.monitoring.promql import _collectors, _series_names

#: SPEC §3 "Metrics (names are part of the contract)", and the ones docs/monitoring.md adds:
#: name -> labels.
SPEC_EXECUTOR = {
    "fks_webhook_requests_total": ("pipeline", "status", "reason"),
    "fks_webhook_duration_seconds_bucket": (),
    "fks_webhook_signature_failures_total": (),
    "fks_webhook_validation_failures_total": ("reason",),
    "fks_order_executions_total": ("account", "exchange", "status"),
    "fks_order_failures_total": ("account", "exchange", "reason"),
    "fks_lost_trades_total": ("account", "exchange", "order"),  # docs/monitoring.md
    "fks_order_duration_seconds_bucket": (),
    "fks_rate_limit_rejections_total": (),
    "fks_circuit_breaker_state": ("account",),
    "fks_audit_events_total": ("type",),
    "fks_signals_inflight": (),
    "fks_futures_settings_conflicts": ("account", "symbol", "setting"),  # docs/monitoring.md
    "fks_unprotected_positions": ("account", "symbol"),  # docs/executor.md (several exits)
}
SPEC_OPERATOR = {
    "fks_operator_reconcile_total": ("kind", "result"),
    "fks_operator_reconcile_duration_seconds_bucket": None,  # SPEC gives no labels
}


def _registered(owner: object) -> dict[str, tuple[str, ...]]:
    return {
        series: tuple(metric._labelnames)
        for metric in _collectors(owner)
        for series in _series_names(metric)
    }


def test_executor_metrics_match_the_spec() -> None:
    from fks_executor.metrics import Metrics

    registered = _registered(Metrics("p"))
    for name, labels in SPEC_EXECUTOR.items():
        assert name in registered, name
        assert registered[name] == labels, name
    assert {n for n in registered if not n.endswith(("_sum", "_count"))} == set(SPEC_EXECUTOR)


def test_operator_metrics_include_the_spec_ones() -> None:
    from prometheus_client import CollectorRegistry

    from fks_operator.metrics import Metrics

    registered = _registered(Metrics(CollectorRegistry()))
    for name, labels in SPEC_OPERATOR.items():
        assert name in registered, name
        if labels is not None:
            assert registered[name] == labels, name
