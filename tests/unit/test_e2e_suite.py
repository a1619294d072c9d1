"""The kind e2e suite (`make e2e`, run by .ci/run) skips only where it cannot run at all; these make
sure a skip never hides a broken suite: it must be collected, import cleanly, and skip for the
stated reason only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "test_the_operator_runs_from_the_chart",
    "test_account_is_ready",
    "test_pipeline_is_ready_and_pods_run_the_image",
    "test_signed_alert_is_answered_dry_run",
    "test_tradingview_alert_is_answered_dry_run",
    "test_unsigned_alert_is_rejected",
    "test_metrics_are_scraped_from_the_pod",
    "test_testnet_alert_places_one_order_on_the_exchange",
    "test_the_pdb_guards_the_testnet_executors",
    "test_rotated_webhook_secret_rolls_the_pods_once",
    "test_deleting_the_pipeline_deletes_its_children",
}


def _pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_e2e_suite_is_collected_without_errors() -> None:
    result = _pytest("--collect-only", "-q", "-m", "e2e", "tests/e2e")
    assert result.returncode == 0, result.stdout + result.stderr
    collected = {
        line.rsplit("::", 1)[1]
        for line in result.stdout.splitlines()
        if line.startswith("tests/e2e/") and "::" in line
    }
    assert collected == EXPECTED
    assert "error" not in result.stdout.lower()


def test_e2e_suite_skips_with_the_reason_when_kind_is_missing() -> None:
    result = _pytest("-m", "e2e", "-rs", "tests/e2e", env={"FKS_E2E_KIND": "/nonexistent/kind"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(EXPECTED)} skipped" in result.stdout
    assert "kind e2e needs kind" in result.stdout
    assert "passed" not in result.stdout
    assert "failed" not in result.stdout


def test_e2e_is_not_part_of_make_test() -> None:
    """`make test` runs unit + integration; the e2e marker is selected by `make e2e` only."""
    makefile = (ROOT / "Makefile").read_text()
    assert '-m "unit or integration"' in makefile
    assert "-m e2e tests/e2e" in makefile


def _workflow(name: str) -> dict[str, object]:
    import yaml

    data: dict[str, object] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return data


def _run_lines(workflow: dict[str, object]) -> list[str]:
    jobs = workflow["jobs"]
    assert isinstance(jobs, dict)
    return [
        str(step.get("run", "")) for job in jobs.values() for step in job["steps"] if "run" in step
    ]


def test_github_workflows_run_the_make_targets() -> None:
    """CI runs exactly the scripts developers run."""
    ci = _run_lines(_workflow("ci.yaml"))
    assert "bash .ci/run" in ci
    e2e = _workflow("e2e.yaml")
    assert any(line.startswith("make e2e") for line in _run_lines(e2e))
    uses = [
        step.get("uses", "")
        for job in e2e["jobs"].values()  # type: ignore[attr-defined]
        for step in job["steps"]
    ]
    assert "actions/checkout@v4" in uses
    assert any(
        step.get("with", {}).get("python-version") == "3.11"
        for job in e2e["jobs"].values()  # type: ignore[attr-defined]
        for step in job["steps"]
    )


# hack/kind/fks-runc: the runc in front of runc that lets privileged containers start where the
# capability bounding set is not full (docs/kind.md). FKS_RUNC=/bin/true stands in for runc: the
# wrapper's whole job is the file it rewrites before handing over.
CAPS = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_BPF"]
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21}
CAP_NUMBERS |= {"CAP_SYS_RESOURCE": 24, "CAP_BPF": 39}


def _bounding_set() -> int:
    status = Path("/proc/self/status").read_text()
    return int(
        next(line for line in status.splitlines() if line.startswith("CapBnd:")).split()[1], 16
    )


def _fks_runc(*args: str) -> None:
    subprocess.run(
        [str(ROOT / "hack" / "kind" / "fks-runc"), *args],
        check=True,
        env={**os.environ, "FKS_RUNC": "/bin/true"},
        timeout=30,
    )


def test_fks_runc_keeps_exactly_the_capabilities_the_bounding_set_holds(tmp_path: Path) -> None:
    import json

    held = [cap for cap in CAPS if _bounding_set() >> CAP_NUMBERS[cap] & 1]
    config = {
        "process": {"oomScoreAdj": -998, "capabilities": {"bounding": CAPS, "effective": CAPS}},
        "root": {"path": "rootfs"},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    _fks_runc("--root", "/run/x", "create", "--bundle", str(tmp_path), "c1")
    rewritten = json.loads((tmp_path / "config.json").read_text())
    assert rewritten["process"]["capabilities"] == {"bounding": held, "effective": held}
    assert rewritten["root"] == {"path": "rootfs"}
    own = int(Path("/proc/self/oom_score_adj").read_text())
    if "CAP_SYS_RESOURCE" in held:
        assert rewritten["process"]["oomScoreAdj"] == -998
    else:  # it could not be lowered below ours: raised to it
        assert rewritten["process"]["oomScoreAdj"] == max(-998, own)

    process = tmp_path / "process.json"  # `runc exec --process`: the process spec alone
    process.write_text(json.dumps({"args": ["sh"], "capabilities": {"permitted": CAPS}}))
    _fks_runc("exec", "--process", str(process), "c1")
    assert json.loads(process.read_text()) == {"args": ["sh"], "capabilities": {"permitted": held}}
