"""Switching an account to live is a Warning event on the account and on every pipeline using it,
once per switch."""

from __future__ import annotations

import time

from tests.integration.operator.conftest import WEBHOOK_SECRET, Cluster, account, pipeline, secret

REASON = "LiveTradingEnabled"


def test_switch_to_live_warns_once_on_the_account_and_its_pipelines(cluster: Cluster) -> None:
    cluster.apply(secret("acct-keys", apiKey="k", secret="s"))
    cluster.apply(secret("other-keys", apiKey="k", secret="s"))
    cluster.apply(account("acct"))
    cluster.apply(account("other"))
    for name, accounts, dry_run in (
        ("trader", ("acct",), False),
        ("paper", ("acct",), True),
        ("bystander", ("other",), False),
    ):
        cluster.apply(secret(f"{name}-webhook", secret=WEBHOOK_SECRET))
        cluster.apply(pipeline(name, accounts=accounts, dryRun=dry_run))
    for name in ("trader", "paper", "bystander"):
        cluster.wait_ready(name)
    assert cluster.pipeline_status("trader")["mode"] == "testnet"
    assert cluster.events(REASON) == []

    cluster.kubectl(
        "patch",
        "exchangeaccount",
        "acct",
        "--type=merge",
        "-p",
        '{"spec": {"environment": "live", "acknowledgeLiveTrading": true}}',
    )

    def warned() -> dict[str, str] | None:
        found = {e["involvedObject"]["name"]: e["message"] for e in cluster.events(REASON)}
        return found if {"acct", "trader", "paper"} <= set(found) else None

    messages = cluster.wait(warned, "LiveTradingEnabled events on the account and its pipelines")
    assert "bystander" not in messages
    assert "real money" in messages["trader"]
    assert "dry-run" in messages["paper"]
    assert all(e["type"] == "Warning" for e in cluster.events(REASON))
    cluster.wait(lambda: cluster.pipeline_status("trader").get("mode") == "live", "mode live")
    assert cluster.pipeline_status("paper")["mode"] == "dry-run"

    # Another change to the live account, and a resync of everything: no new warning.
    cluster.kubectl(
        "patch", "exchangeaccount", "acct", "--type=merge", "-p", '{"spec": {"marketType": "swap"}}'
    )
    cluster.wait(
        lambda: cluster.must_get("exchangeaccount", "acct")["status"]["observedGeneration"] == 3,
        "the account's new generation processed",
    )
    time.sleep(1.0)
    assert len(cluster.events(REASON)) == 3

    # Back to testnet and live again: a second switch, a second warning on each.
    cluster.kubectl(
        "patch",
        "exchangeaccount",
        "acct",
        "--type=merge",
        "-p",
        '{"spec": {"environment": "testnet"}}',
    )
    cluster.wait(lambda: cluster.pipeline_status("trader").get("mode") == "testnet", "mode testnet")
    cluster.kubectl(
        "patch",
        "exchangeaccount",
        "acct",
        "--type=merge",
        "-p",
        '{"spec": {"environment": "live"}}',
    )
    cluster.wait(lambda: len(cluster.events(REASON)) == 6, "a warning per switch")
