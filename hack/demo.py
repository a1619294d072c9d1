"""``make demo`` (``python -m hack.demo``): the whole product on this machine, one command.

1. the local Kubernetes control plane (tests/harness: etcd, kube-apiserver, controller-manager,
   scheduler, kwok with fake nodes) and the CRDs from crds/;
2. ``fks-operator`` as a process against it, and the fake Binance exchange on a free port;
3. examples/ applied (account pointed at the fake exchange, a random webhook secret), and the
   wait until the pipeline is Ready (its kwok pods Running);
4. ``fks-executor`` run locally with the config the operator rendered, read from the cluster
   (kwok pods run no containers), and the env the Deployment wires from the Secrets;
5. a TradingView-style alert and a signed one through ``fks-executor send``; the answers, the
   audit lines and ``kubectl get fks -o wide``;
6. then it waits (new audit lines are shown) until Ctrl-C; ``--once`` (or ``FKS_DEMO_ONCE=1``)
   tears down right away. Every started process is stopped and checked gone, also on errors.

Exit status: 0 after a clean run (or Ctrl-C while waiting), 1 when a step failed, 130 when
interrupted before the demo was up.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

try:
    import httpx
    from hack import demo_manifests as dm
    from tests.harness import kube_binaries
    from tests.harness.controlplane import ControlPlane, ControlPlaneError, new_run_dir
    from tests.harness.fake_exchange import FakeExchange, fake_exchange_argv
    from tests.harness.kube_cluster import KubeCluster, KubectlError
    from tests.harness.procs import ManagedProcess, free_port

    from fks_fake_exchange.config import DEFAULT_API_KEY, DEFAULT_SECRET
except ImportError as missing:  # run outside the venv
    sys.exit(f"demo: {missing}; run it with `make demo` (which creates .venv first)")

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "fks-demo"
PIPELINE = "btc-momentum"
ACCOUNT = "binance-testnet"
READY_TIMEOUT = 120.0
STOP, TAKE = Decimal("0.985"), Decimal("1.03")  # stop-loss and take-profit of the buy


class Stop(Exception):
    """SIGTERM/SIGHUP: stop like Ctrl-C does."""


# --- output ----------------------------------------------------------------------------------


class Console:
    """Progress lines with the time since the start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def line(self, text: str = "", mark: str = " ") -> None:
        prefix = f"[{self.elapsed():6.1f}s] {mark} " if text else ""
        sys.stdout.write(prefix + text + "\n")
        sys.stdout.flush()

    def ok(self, text: str) -> None:
        self.line(text, "✓")

    def info(self, text: str) -> None:
        self.line(text, "·")

    def block(self, title: str, body: str) -> None:
        sys.stdout.write(f"\n── {title} " + "─" * max(3, 70 - len(title)) + "\n")
        sys.stdout.write(body.rstrip("\n") + "\n\n")
        sys.stdout.flush()

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[Callable[[str], None]]:
        """``title ...`` now, ``✓ <done text> (Ns)`` at the end; failures name the step."""
        self.line(title + " ...", "▶")
        started = time.monotonic()
        result = [title]

        def done(text: str) -> None:
            result[0] = text

        try:
            yield done
        except (KeyboardInterrupt, Stop):
            raise
        except Exception as exc:
            raise StepFailed(title, exc) from exc
        self.ok(f"{result[0]} ({time.monotonic() - started:.1f}s)")


class StepFailed(RuntimeError):
    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"{step}: {cause}")
        self.step = step
        self.cause = cause


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Alert:
    title: str
    args: list[str]
    exit_code: int = -1
    answer: dict[str, Any] | None = None
    stderr: str = ""


@dataclass
class Demo:
    once: bool
    console: Console = field(default_factory=Console)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    plane: ControlPlane | None = None
    kube: KubeCluster | None = None
    run_dir: Path | None = None
    exchange: FakeExchange | None = None
    executor_url: str = ""
    webhook_secret: str = ""
    alerts: list[Alert] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    price: Decimal = Decimal(68000)
    stop_times: dict[str, float] = field(default_factory=dict)
    stop_signal: str | None = None
    """Set by the signal handler while the demo waits (``wait``); the loop stops on it."""

    # -- helpers ----------------------------------------------------------------------------
    @property
    def logs_dir(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "logs"

    def _on_stop(self, name: str, stop: Callable[[], object]) -> None:
        """Register a teardown action (run in reverse order), timed for the report."""

        def timed() -> None:
            started = time.monotonic()
            try:
                stop()
            finally:
                self.stop_times[name] = time.monotonic() - started

        self.stack.callback(timed)

    def _track(self, name: str, proc: ManagedProcess) -> ManagedProcess:
        """Remember a process for teardown and liveness checks; link its log into run_dir."""
        self.procs[name] = proc
        link = self.logs_dir / f"{name}.log"
        link.unlink(missing_ok=True)
        link.symlink_to(proc.log_path)
        return proc

    def _kubectl(self, *args: str, input: str | None = None) -> str:
        assert self.kube is not None
        return self.kube.kubectl(*args, input=input).stdout

    def _get(self, *args: str) -> Any:
        return json.loads(self._kubectl("get", "-n", NAMESPACE, *args, "-o", "json"))

    def _all_procs(self) -> dict[str, ManagedProcess]:
        plane = dict(self.plane.procs) if self.plane is not None else {}
        return {**{f"control plane: {k}": v for k, v in plane.items()}, **self.procs}

    def _check_alive(self) -> None:
        for name, proc in self._all_procs().items():
            if not proc.alive():
                raise dm.DemoError(
                    f"{name} exited with status {proc.proc.returncode}; its log: {proc.log_path}"
                    f"\n{proc.tail(15)}"
                )

    # -- steps ------------------------------------------------------------------------------
    def start_control_plane(self) -> None:
        with self.console.step("building (or finding cached) control-plane binaries") as done:
            try:
                bin_dir = kube_binaries.ensure_built(sys.stdout)
            except kube_binaries.BinariesUnavailable as exc:
                raise dm.DemoError(str(exc)) from exc
            done(f"control-plane binaries in {bin_dir}")
        self.run_dir = new_run_dir("demo", keep=3)
        with self.console.step("starting the local Kubernetes control plane") as done:
            self.plane = ControlPlane(self.run_dir)
            self._on_stop("control plane", self.plane.stop)
            try:
                self.kube = self.plane.start()
            except ControlPlaneError as exc:  # carries every log tail: show the first line
                first = str(exc).splitlines()[0]
                raise dm.DemoError(f"{first}\nlogs: {self.logs_dir}") from exc
            done(
                f"control plane at {self.kube.server}: etcd, kube-apiserver, "
                f"controller-manager, scheduler, kwok ({len(self.plane.nodes)} fake nodes)"
            )
        with self.console.step("installing the CRDs from crds/") as done:
            names = []
            for path in sorted((REPO / "crds").glob("*.yaml")):
                self._kubectl("apply", "--server-side", "-f", str(path))
                names.append(path.name)
            self._kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
            done(f"CRDs established: {', '.join(names)}")

    def start_operator(self) -> None:
        assert self.kube is not None
        with self.console.step("starting fks-operator") as done:
            health = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_")}
            env.update(
                {
                    "KUBECONFIG": str(self.kube.kubeconfig),
                    "FKS_OPERATOR_HEALTH_PORT": str(health),
                    "FKS_OPERATOR_METRICS_PORT": str(free_port()),
                }
            )
            proc = self._track(
                "fks-operator",
                ManagedProcess("demo-fks-operator", [sys.executable, "-m", "fks_operator"],
                               env=env, cwd=REPO),
            )  # fmt: skip
            self._on_stop("fks-operator", functools.partial(proc.stop, 20))
            try:
                proc.wait_ready(lambda: _http_ok(f"http://127.0.0.1:{health}/healthz"), 90)
            except (RuntimeError, TimeoutError) as exc:
                raise dm.DemoError(f"{str(exc).splitlines()[0]}\nlog: {proc.log_path}") from exc
            done(f"fks-operator running (pid {proc.pid}), watching all namespaces")

    def start_exchange(self) -> None:
        with self.console.step("starting the fake Binance exchange") as done:
            for attempt in (1, 2):  # a free port can be taken before the server binds it
                port = free_port()
                proc = ManagedProcess("demo-fake-exchange", fake_exchange_argv(port))
                self._on_stop("fake exchange", proc.stop)
                self._track("fake-exchange", proc)
                exchange = FakeExchange(base_url=f"http://127.0.0.1:{port}", port=port)
                try:
                    proc.wait_ready(exchange.healthy, timeout=30)
                    break
                except (RuntimeError, TimeoutError) as exc:
                    proc.stop()
                    if attempt == 2:
                        raise dm.DemoError(
                            f"{str(exc).splitlines()[0]}\nlog: {proc.log_path}"
                        ) from exc
            self.exchange = exchange
            prices = exchange.prices()
            self.price = prices.get("BTC/USDT") or prices.get("BTCUSDT") or self.price
            shown = ", ".join(f"{k} {v}" for k, v in sorted(prices.items()))
            done(f"fake exchange at {exchange.base_url} ({shown})")

    def apply_examples(self) -> None:
        assert self.exchange is not None
        with self.console.step(f"applying examples/ to namespace {NAMESPACE}") as done:
            self.webhook_secret = secrets.token_hex(32)  # per run, never printed
            docs = dm.demo_manifests(
                REPO / "examples",
                namespace=NAMESPACE,
                endpoint=self.exchange.base_url,
                webhook_secret=self.webhook_secret,
                api_key=DEFAULT_API_KEY,
                api_secret=DEFAULT_SECRET,
            )
            self._kubectl("apply", "--server-side", "-f", "-", input=dm.to_yaml(docs))
            done("applied " + ", ".join(dm.describe(d) for d in docs))
        self.console.info(
            f"  {dm.ACCOUNT_FILE}: endpoint -> {self.exchange.base_url}, keys -> the fake "
            f"exchange's public test keys; {dm.PIPELINE_FILE}: webhook secret -> random "
            "(not shown)"
        )

    def wait_ready(self) -> None:
        with self.console.step(f"waiting for ExecutionPipeline {PIPELINE} to be Ready") as done:
            deadline = time.monotonic() + READY_TIMEOUT
            seen: dict[str, str] = {}
            while True:
                self._check_alive()
                items = self._get("exchangeaccounts,executionpipelines,pods")["items"]
                for obj in items:
                    kind, name = obj["kind"], obj["metadata"]["name"]
                    text = dm.pod_line(obj) if kind == "Pod" else dm.condition_line(obj)
                    if seen.get(f"{kind}/{name}") != text:
                        seen[f"{kind}/{name}"] = text
                        self.console.info(f"  {kind} {name}: {text}")
                pipeline = next((o for o in items if o["kind"] == "ExecutionPipeline"), None)
                if pipeline is not None and _ready(pipeline):
                    done(f"{PIPELINE} Ready: {dm.condition(pipeline, 'Ready').get('message')}")
                    return
                if time.monotonic() > deadline:
                    state = self._kubectl("get", "fks,deploy,pods", "-n", NAMESPACE, "-o", "wide")
                    raise dm.DemoError(
                        f"not Ready after {READY_TIMEOUT:.0f}s\n{state}"
                        f"operator log: {self.procs['fks-operator'].log_path}"
                    )
                time.sleep(0.3)

    def start_executor(self) -> None:
        assert self.run_dir is not None
        cm_name = f"{PIPELINE}-executor-config"
        with self.console.step(f"fks-executor with the config from ConfigMap {cm_name}") as done:
            config_map = self._get("configmap", cm_name)
            deployment = self._get("deployment", f"{PIPELINE}-executor")
            args = dm.container(deployment).get("args", [])
            env, origins = dm.executor_env(deployment, self._read_secret, self._read_config_map)
            for origin in origins:
                self.console.info(f"  env {origin} (as the Deployment's env wires it)")
            state_dir = self.run_dir / "executor"
            state_dir.mkdir(exist_ok=True)
            for attempt in (1, 2):  # a free port can be taken before the executor binds it
                port = free_port()
                text, overrides = dm.local_config(
                    config_map["data"]["config.yaml"],
                    host="127.0.0.1",
                    port=port,
                    journal_path=state_dir / "journal.db",
                )
                if attempt == 1:
                    for override in overrides:
                        self.console.info(f"  local override: {override}")
                config_path = state_dir / "config.yaml"
                config_path.write_text(text)
                base_env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_")}
                proc = ManagedProcess(
                    "demo-fks-executor",
                    [sys.executable, "-m", "fks_executor", "--config", str(config_path)],
                    env={**base_env, **env},
                    cwd=state_dir,
                )
                self._on_stop("fks-executor", functools.partial(proc.stop, 15))
                self._track("fks-executor", proc)
                url = f"http://127.0.0.1:{port}"
                try:
                    proc.wait_ready(functools.partial(_http_ok, f"{url}/ready"), 90)
                    break
                except (RuntimeError, TimeoutError) as exc:
                    if attempt == 1 and "address already in use" in proc.output():
                        proc.stop()
                        continue
                    raise dm.DemoError(
                        f"{str(exc).splitlines()[0]}\nlog: {proc.log_path}\n{proc.tail(15)}"
                    ) from exc
            self.executor_url = url
            mode = httpx.get(f"{url}/ready", timeout=5, trust_env=False).json().get("mode")
            done(
                f"fks-executor ready at {url} (mode {mode}; pod args: {shlex.join(args)}; "
                f"pid {proc.pid})"
            )

    def _read_secret(self, name: str) -> Mapping[str, str]:
        import base64

        try:
            obj = self._get("secret", name)
        except KubectlError as exc:
            raise dm.DemoError(f"Secret {name!r} not readable: {exc}") from exc
        return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}

    def _read_config_map(self, name: str) -> Mapping[str, str]:
        try:
            data: dict[str, str] = self._get("configmap", name).get("data") or {}
        except KubectlError as exc:
            raise dm.DemoError(f"ConfigMap {name!r} not readable: {exc}") from exc
        return data

    def send_alerts(self) -> None:
        url = self.executor_url
        price = self.price
        common = ["--url", url, "--price", str(price)]
        self.alerts = [
            Alert(
                "TradingView-style alert: passphrase in the body, text/plain",
                ["--auth", "token", "--symbol", "BINANCE:BTCUSDT", "--action", "buy",
                 "--stop-loss", str(_round(price * STOP)), "--take-profit",
                 str(_round(price * TAKE)), "--id", "demo-tradingview-1", *common],
            ),
            Alert(
                "signed alert: X-Webhook-Signature = HMAC-SHA256 of the body",
                ["--auth", "hmac", "--symbol", "BTC/USDT", "--action", "close",
                 "--id", "demo-signed-1", *common],
            ),
        ]  # fmt: skip
        for alert in self.alerts:
            argv = [sys.executable, "-m", "fks_executor", "send", *alert.args]
            env = {**os.environ, "FKS_WEBHOOK_SECRET": self.webhook_secret}
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=60, env=env, check=False
            )
            alert.exit_code, alert.stderr = result.returncode, result.stderr.strip()
            with contextlib.suppress(ValueError):
                alert.answer = json.loads(result.stdout)
            shown = "$ FKS_WEBHOOK_SECRET=<from the Secret> fks-executor send " + shlex.join(
                alert.args
            )
            answer = dm.render_answer(alert.answer) if alert.answer else result.stdout
            self.console.block(alert.title, f"{shown}\n{answer}\n{alert.stderr}")
            if alert.exit_code != 0:
                raise dm.DemoError(
                    f"the executor did not take the alert (send exit {alert.exit_code}); "
                    f"executor log: {self.procs['fks-executor'].log_path}"
                )

    def report(self) -> None:
        executor = self.procs["fks-executor"]
        audit = dm.audit_lines(executor.output())
        self.console.block(
            "audit trail (fks-executor stdout, one JSON line per decision)",
            "\n".join(_compact(e) for e in audit) or "(none)",
        )
        get_fks = self._kubectl("get", "fks", "-n", NAMESPACE, "-o", "wide")
        self.console.block(f"kubectl get fks -n {NAMESPACE} -o wide", get_fks)
        children = self._kubectl(
            "get", "deployment,service,configmap,pods", "-n", NAMESPACE,
            "-l", f"app.kubernetes.io/instance={PIPELINE}",
        )  # fmt: skip
        self.console.block("what the operator made of it (kwok pods run no containers)", children)
        assert self.exchange is not None
        orders = self.exchange.orders()
        requests = self.exchange.stats().get("requests", 0)
        self.console.info(
            f"fake exchange: {requests} API requests, {len(orders)} orders "
            "(a dry-run pipeline never sends one)"
        )
        pipeline = self._get("executionpipeline", PIPELINE)
        self.summary.update(
            {
                "alerts": [
                    {"title": a.title, "exit_code": a.exit_code, "answer": a.answer}
                    for a in self.alerts
                ],
                "audit": audit,
                "get_fks": get_fks,
                "pipeline_ready": _ready(pipeline),
                "exchange_orders": len(orders),
                "exchange_requests": requests,
                "executor_url": self.executor_url,
                "run_dir": str(self.run_dir),
            }
        )

    def wait(self) -> None:
        assert self.kube is not None
        assert self.run_dir is not None
        kubectl = self.kube.kubectl_path
        hints = [
            f"export KUBECONFIG={self.kube.kubeconfig}",
            f"alias kubectl={kubectl}",
            f"kubectl get fks -n {NAMESPACE} -o wide",
            f"export FKS_WEBHOOK_SECRET=$(kubectl -n {NAMESPACE} get secret "
            f"{PIPELINE}-webhook -o jsonpath='{{.data.secret}}' | base64 -d)",
            f"{REPO / '.venv/bin/fks-executor'} send --url {self.executor_url} "
            f"--symbol BTC/USDT --action buy --price {self.price} "
            f"--stop-loss {_round(self.price * STOP)}",
        ]
        # From here a signal only sets a flag that the loop checks: a KeyboardInterrupt raised
        # at any bytecode could land inside subprocess's waitpid lock (left held: every later
        # wait on that process then times out) or inside a finaliser (where it is swallowed).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._request_stop)
        self.console.block(
            "the demo keeps running; in another terminal",
            "\n".join(hints) + f"\n\nlogs: {self.logs_dir}\nNew audit lines appear below. "
            "Ctrl-C stops everything.",
        )
        executor = self.procs["fks-executor"]
        shown = len(dm.audit_lines(executor.output()))
        while self.stop_signal is None:
            self._check_alive()
            audit = dm.audit_lines(executor.output())
            for event in audit[shown:]:
                self.console.info("audit " + _compact(event))
            shown = len(audit)
            for _ in range(5):  # 0.5 s between looks, a stop seen within 0.1 s
                if self.stop_signal is not None:
                    break
                time.sleep(0.1)
        if self.stop_signal == "SIGINT":
            raise KeyboardInterrupt
        raise Stop(self.stop_signal)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signal.Signals(signum).name

    # -- teardown ---------------------------------------------------------------------------
    def teardown(self) -> bool:
        """Stop everything (reverse start order) and check no process is left."""
        started = time.monotonic()
        sessions = {p.pid for p in self._all_procs().values()}
        self.console.line("stopping everything (reverse start order) ...", "■")
        self.stack.close()
        sessions |= {pid for pid, _ in _children(os.getpid())}
        left = _alive_in_sessions(sessions)
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.summary["stopped_processes"] = len(sessions)
        self.summary["left_running"] = [f"{pid} {name}" for pid, name in left]
        if left:
            self.console.line(
                f"{len(left)} process(es) were still running and got SIGKILL: "
                + ", ".join(f"{pid} ({name})" for pid, name in left),
                "✗",
            )
            return False
        times = ", ".join(f"{name} {secs:.1f}s" for name, secs in self.stop_times.items())
        self.console.ok(
            f"stopped {len(sessions)} processes in {time.monotonic() - started:.1f}s "
            f"({times}); none left running"
        )
        return True


def _compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1))


def _still_stopping(signum: int, frame: FrameType | None) -> None:
    sys.stdout.write("(still stopping; every process is being shut down)\n")


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _ready(pipeline: dict[str, Any]) -> bool:
    observed = pipeline.get("status", {}).get("observedGeneration")
    current = pipeline["metadata"].get("generation")
    return dm.condition(pipeline, "Ready").get("status") == "True" and observed == current


def _proc_stat(pid: str) -> tuple[str, list[str]] | None:
    """(command name, fields after it) of /proc/<pid>/stat, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    return name, text[text.rindex(")") + 2 :].split()


def _children(parent: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        stat = _proc_stat(entry.name) if entry.name.isdigit() else None
        if stat and stat[1][0] != "Z" and int(stat[1][1]) == parent:
            found.append((int(entry.name), stat[0]))
    return found


def _alive_in_sessions(sessions: set[int]) -> list[tuple[int, str]]:
    """Processes (not zombies) whose session is one a started process led."""
    found = []
    for entry in Path("/proc").iterdir():
        stat = _proc_stat(entry.name) if entry.name.isdigit() else None
        if stat and stat[1][0] != "Z" and int(stat[1][3]) in sessions:
            found.append((int(entry.name), stat[0]))
    return found


def run(demo: Demo) -> int:
    console = demo.console
    console.line(
        "fks demo: control plane, operator, fake exchange and executor on this machine"
        + (" (--once: tears down at the end)" if demo.once else " (Ctrl-C stops everything)")
    )
    code = 0
    up = False
    try:
        demo.start_control_plane()
        demo.start_operator()
        demo.start_exchange()
        demo.apply_examples()
        demo.wait_ready()
        demo.start_executor()
        demo.send_alerts()
        demo.report()
        up = True
        console.ok(f"demo up and both alerts answered in {console.elapsed():.1f}s")
        if not demo.once:
            demo.wait()
    except (KeyboardInterrupt, Stop) as exc:
        sys.stdout.write("\n")
        console.line(f"{'Ctrl-C' if isinstance(exc, KeyboardInterrupt) else exc}: stopping", "■")
        code = 0 if up else 130
    except StepFailed as exc:
        console.line(f"FAILED: {exc.step}", "✗")
        sys.stdout.write(_indent(str(exc.cause)) + "\n")
        code = 1
        if not isinstance(exc.cause, dm.DemoError):  # DemoError says all there is to say
            _save_traceback(demo, exc)
    except dm.DemoError as exc:
        console.line(f"FAILED: {exc}", "✗")
        code = 1
    except Exception as exc:  # a bug in the demo itself: say where the traceback went
        console.line(f"FAILED: {type(exc).__name__}: {exc}", "✗")
        code = 1
        _save_traceback(demo, exc)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _still_stopping)  # a second Ctrl-C must not cut teardown short
        if demo.run_dir is not None and code == 1:
            console.line(f"logs of every component: {demo.logs_dir}")
        try:
            clean = demo.teardown()
        except Exception as exc:
            console.line(f"teardown failed: {type(exc).__name__}: {exc}", "✗")
            clean = False
    demo.summary["exit_code"] = code if clean else max(code, 1)
    demo.summary["seconds"] = round(console.elapsed(), 1)
    return int(demo.summary["exit_code"])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _save_traceback(demo: Demo, exc: BaseException) -> None:
    if demo.run_dir is None:
        return
    path = demo.logs_dir / "demo-traceback.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(exc)))
    demo.console.line(f"traceback: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--once",
        action="store_true",
        default=os.environ.get("FKS_DEMO_ONCE", "") not in ("", "0"),
        help="tear down after the alerts instead of waiting for Ctrl-C (also FKS_DEMO_ONCE=1)",
    )
    parser.add_argument(
        "--summary", type=Path, help="write a JSON summary (answers, audit, status) here"
    )
    args = parser.parse_args(argv)
    # Ctrl-C must stop the demo however it was started: a job a non-interactive shell puts in
    # the background (`make demo &` in a script, a CI step) inherits SIGINT *ignored*, and
    # Python then installs no handler of its own, so without this line Ctrl-C did nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    demo = Demo(once=args.once)
    code = run(demo)
    if args.summary is not None:
        args.summary.write_text(json.dumps(demo.summary, indent=2) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
