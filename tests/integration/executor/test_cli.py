"""``fks-executor`` start-up: config errors are one line, exit 2, and the port never opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness.procs import ManagedProcess, free_port, http_ok
from tests.integration.executor.helpers import (
    BASE,
    EXECUTOR,
    SECRET,
    alert,
    merge,
    port_open,
    running_executor,
    write_config,
)


def run_cli(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_")}
    full_env.update(env or {})
    return subprocess.run(
        [EXECUTOR, *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def config_error(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> str:
    """Start with a bad config; assert exit 2, one stderr line, no server; return the line."""
    port = free_port()
    if isinstance(data, dict):
        data = merge(data, {"listen": {"port": port}})
        import yaml

        text = yaml.safe_dump(data)
    else:
        text = data
    path = tmp_path / "config.yaml"
    path.write_text(text)
    result = run_cli(["--config", str(path)], env=env)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    assert "Uvicorn running" not in result.stderr
    assert not port_open(port)
    assert lines[0].startswith("config error: ")
    return lines[0].removeprefix("config error: ")


ENV = {"FKS_WEBHOOK_SECRET": SECRET}


def without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    out = merge(data, {})
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def test_missing_key(tmp_path: Path) -> None:
    assert config_error(tmp_path, without(BASE, "pipeline"), ENV) == "pipeline: required"


def test_unknown_key(tmp_path: Path) -> None:
    assert config_error(tmp_path, merge(BASE, {"risk": {"maxPositonSizeUSD": 5}}), ENV) == (
        "risk.maxPositonSizeUSD: unknown key"
    )


def test_bad_enum(tmp_path: Path) -> None:
    assert config_error(tmp_path, merge(BASE, {"webhook": {"auth": "basic"}}), ENV) == (
        "webhook.auth: must be one of hmac, token, hmac-or-token"
    )


def test_wrong_type(tmp_path: Path) -> None:
    assert config_error(
        tmp_path, merge(BASE, {"rateLimit": {"requestsPerMinute": "lots"}}), ENV
    ) == ("rateLimit.requestsPerMinute: must be a valid integer")


def test_missing_secret_env(tmp_path: Path) -> None:
    assert config_error(tmp_path, BASE, env={}) == (
        "webhook.secretEnv: environment variable FKS_WEBHOOK_SECRET is not set "
        "(the webhook shared secret)"
    )


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("replace-with-a-long-random-string", "is the example value from examples/ or docs/"),
        ("replace-with-a-long-random-string\n", "is the example value from examples/ or docs/"),
        ("hook-secret-1", "is shorter than 32 bytes"),
        ("x" * 31, "is shorter than 32 bytes"),
    ],
)
def test_a_guessable_webhook_secret_is_refused(tmp_path: Path, secret: str, problem: str) -> None:
    message = config_error(tmp_path, BASE, {"FKS_WEBHOOK_SECRET": secret})
    assert message.startswith(f"webhook.secretEnv: the secret in FKS_WEBHOOK_SECRET {problem}"), (
        message
    )
    assert secret.strip() not in message


def test_missing_account_secret_env(tmp_path: Path) -> None:
    data = merge(BASE, {})
    data["accounts"][0].update(apiKeyEnv="FKS_KEY", secretEnv="FKS_SEC")
    assert config_error(tmp_path, data, {**ENV, "FKS_KEY": "k"}) == (
        "accounts[0].secretEnv: environment variable FKS_SEC is not set (API secret of main)"
    )


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    message = config_error(tmp_path, "pipeline: [unclosed\n", ENV)
    assert "invalid YAML at line" in message
    result = run_cli(["--config", str(tmp_path / "nope.yaml")], env=ENV)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("nope.yaml: config file not found")


def test_trading_needs_a_journal_and_credentials(tmp_path: Path) -> None:
    assert config_error(tmp_path, merge(BASE, {"dryRun": False}), ENV).startswith(
        "state.journalPath: required when dryRun is false with the memory backend"
    )
    journal = {"dryRun": False, "state": {"journalPath": str(tmp_path / "j.db")}}
    assert config_error(tmp_path, merge(BASE, journal), ENV).startswith(
        "accounts[0]: account main has no credentials (apiKeyEnv/secretEnv) and can only dry-run"
    )


def test_journal_in_a_missing_directory(tmp_path: Path) -> None:
    data = merge(BASE, {"state": {"journalPath": str(tmp_path / "no" / "journal.db")}})
    assert config_error(tmp_path, data, ENV) == (
        f"state.journalPath: directory {tmp_path / 'no'} does not exist"
    )


def test_check_validates_without_secrets(tmp_path: Path) -> None:
    path = write_config(tmp_path, {}, free_port())
    ok = run_cli(["--config", str(path), "--check"], env={})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("config ok:")
    default = run_cli(["--check"], env={})
    assert (
        default.stdout.strip() == "config ok: (embedded default) (pipeline default, mode dry-run)"
    )


def test_fks_config_env_is_used(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("pipeline: x\n")
    result = run_cli([], env={**ENV, "FKS_CONFIG": str(path)})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("config error: webhook: required")


def test_embedded_default_needs_the_webhook_secret() -> None:
    result = run_cli([], env={})
    assert result.returncode == 2
    assert "FKS_WEBHOOK_SECRET is not set" in result.stderr


def test_embedded_default_serves_dry_run_on_8000() -> None:
    if port_open(8000):
        pytest.skip("port 8000 is in use on this machine; the embedded default needs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_")}
    env["FKS_WEBHOOK_SECRET"] = SECRET
    proc = ManagedProcess("executor-default", [EXECUTOR], env=env)
    try:
        proc.wait_ready(lambda: http_ok("http://127.0.0.1:8000/health"))
        import httpx

        ready = httpx.get("http://127.0.0.1:8000/ready").json()
        assert ready["mode"] == "dry-run"
        assert ready["ready"] is True  # a dry-run account does not hold readiness back
        r = httpx.post("http://127.0.0.1:8000/webhook", json=alert(id="default-1"), timeout=60)
        outcome = r.json()
        if r.status_code == 202:  # still trying the exchange at the deadline
            auth = {"Authorization": f"Bearer {SECRET}"}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                record = httpx.get("http://127.0.0.1:8000/signals/default-1", headers=auth).json()
                if record["finished"]:
                    outcome = record["outcome"]
                    break
                time.sleep(0.2)
        # The default paper account reads Binance's public testnet data. Where that is
        # unreachable (this project's build machine has no internet), the alert is refused
        # like any alert for an unreachable exchange, and /ready says the markets are missing.
        loaded = httpx.get("http://127.0.0.1:8000/ready").json()["markets"]["paper"]
        if loaded:
            assert outcome["status"] == "dry_run"
        else:
            assert (outcome["status"], outcome["reason"]) == ("failed", "exchange_unavailable")
    finally:
        proc.stop()


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    with running_executor(tmp_path) as ex:
        assert ex.post(alert(id="before-stop")).status_code == 200
        os.killpg(ex.process.pid, signal.SIGTERM)
        ex.process.proc.wait(timeout=20)
        # uvicorn finishes the lifespan shutdown, then re-raises the signal (exit by SIGTERM)
        assert ex.process.proc.returncode in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in ex.process.output()


def test_config_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, fks_executor.config; "
        "print(','.join(m for m in ('ccxt', 'fastapi', 'starlette', 'redis', 'uvicorn') "
        "if m in sys.modules))"
    )
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
    assert time.monotonic() - started < 10
