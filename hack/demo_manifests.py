"""The pure parts of ``make demo`` (hack/demo.py): no processes, no cluster, unit-tested.

- ``demo_manifests``: examples/ as the demo applies them. The account and the dry-run pipeline
  are the files users read, with exactly three substitutions: the account's ``endpoint`` is the
  local fake exchange, its key Secret holds the fake exchange's public test credentials, and the
  webhook Secret holds a fresh random secret (never printed).
- ``executor_env``: the environment the Deployment's container would get, resolved the way
  the kubelet does it (``value``, ``secretKeyRef`` and ``configMapKeyRef``), so the local
  executor runs with the operator's real wiring.
- ``local_config``: the operator-rendered config with the two things that only make sense inside
  the pod replaced (the listen address, and the journal on the pod's emptyDir).
- ``audit_lines``, ``condition``: reading the executor's output and the CRs' status.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_FILE = "exchangeaccount-testnet.yaml"
PIPELINE_FILE = "pipeline-dry-run.yaml"
PLACEHOLDER_PREFIX = "replace-with-"
CONTAINER = "executor"

Manifest = dict[str, Any]
SecretReader = Callable[[str], Mapping[str, str]]  # name -> decoded data
ConfigMapReader = Callable[[str], Mapping[str, str]]


class DemoError(RuntimeError):
    """A step of the demo cannot go on; the message says what and where to look."""


def _documents(path: Path) -> list[Manifest]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise DemoError(f"cannot read {path}: {exc}") from exc
    return [dict(d) for d in docs]


def _one(docs: list[Manifest], kind: str, path: Path) -> Manifest:
    found = [d for d in docs if d.get("kind") == kind]
    if len(found) != 1:
        raise DemoError(f"{path}: expected exactly one {kind}, found {len(found)}")
    return found[0]


def _secret_named(docs: list[Manifest], name: str, path: Path) -> Manifest:
    for doc in docs:
        if doc.get("kind") == "Secret" and doc.get("metadata", {}).get("name") == name:
            return doc
    raise DemoError(f"{path}: no Secret {name!r} (the one its other resource refers to)")


def _fill(secret: Manifest, key: str, value: str, path: Path) -> None:
    data = secret.setdefault("stringData", {})
    current = data.get(key)
    if not isinstance(current, str) or not current.startswith(PLACEHOLDER_PREFIX):
        name = secret["metadata"]["name"]
        raise DemoError(
            f"{path}: Secret {name!r} key {key!r} is not a {PLACEHOLDER_PREFIX}... placeholder "
            "(the demo fills only placeholders)"
        )
    data[key] = value


def demo_manifests(
    examples: Path,
    *,
    namespace: str,
    endpoint: str,
    webhook_secret: str,
    api_key: str,
    api_secret: str,
) -> list[Manifest]:
    """Namespace, account key Secret, ExchangeAccount, webhook Secret, ExecutionPipeline."""
    account_path, pipeline_path = examples / ACCOUNT_FILE, examples / PIPELINE_FILE
    account_docs = copy.deepcopy(_documents(account_path))
    pipeline_docs = copy.deepcopy(_documents(pipeline_path))

    account = _one(account_docs, "ExchangeAccount", account_path)
    account["spec"]["endpoint"] = endpoint
    ref = account["spec"].get("credentialsSecretRef")
    if ref:
        keys = _secret_named(account_docs, ref["name"], account_path)
        _fill(keys, ref.get("apiKeyKey", "apiKey"), api_key, account_path)
        _fill(keys, ref.get("secretKey", "secret"), api_secret, account_path)

    pipeline = _one(pipeline_docs, "ExecutionPipeline", pipeline_path)
    if pipeline["spec"].get("dryRun") is not True:
        raise DemoError(f"{pipeline_path}: the demo pipeline must be dryRun: true")
    names = {a["name"] for a in pipeline["spec"].get("accounts", [])}
    if account["metadata"]["name"] not in names:
        raise DemoError(
            f"{pipeline_path}: the pipeline does not use account {account['metadata']['name']!r}"
        )
    webhook_ref = pipeline["spec"]["webhook"]["secretRef"]
    webhook = _secret_named(pipeline_docs, webhook_ref["name"], pipeline_path)
    _fill(webhook, webhook_ref.get("key", "secret"), webhook_secret, pipeline_path)

    namespace_doc: Manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace},
    }
    docs = [namespace_doc]
    for doc in [*account_docs, *pipeline_docs]:
        doc.setdefault("metadata", {})["namespace"] = namespace
        docs.append(doc)
    return docs


def describe(doc: Manifest) -> str:
    """``Kind/name`` — never the data of a Secret."""
    return f"{doc['kind']}/{doc['metadata']['name']}"


def to_yaml(docs: list[Manifest]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


# --- the Deployment's wiring -----------------------------------------------------------------


def container(deployment: Manifest, name: str = CONTAINER) -> Manifest:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
    for item in containers or []:
        if item.get("name") == name:
            return dict(item)
    raise DemoError(
        f"Deployment {deployment.get('metadata', {}).get('name')!r} has no container {name!r}"
    )


def executor_env(
    deployment: Manifest, read_secret: SecretReader, read_config_map: ConfigMapReader
) -> tuple[dict[str, str], list[str]]:
    """The container's env as the kubelet would build it, and one line per variable saying
    where its value came from (names only, never a value of a Secret)."""
    env: dict[str, str] = {}
    origins: list[str] = []
    for var in container(deployment).get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = str(var["value"])
            origins.append(f"{name} = {var['value']!r}")
            continue
        source = var.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref, kind, reader = source["secretKeyRef"], "Secret", read_secret
        elif "configMapKeyRef" in source:
            ref, kind, reader = source["configMapKeyRef"], "ConfigMap", read_config_map
        else:
            raise DemoError(f"env {name}: unsupported source {sorted(source)} (fieldRef...)")
        try:
            data = reader(ref["name"])
        except DemoError:
            if ref.get("optional"):
                continue
            raise
        if ref["key"] not in data:
            if ref.get("optional"):
                continue
            raise DemoError(f"env {name}: {kind} {ref['name']!r} has no key {ref['key']!r}")
        env[name] = data[ref["key"]]
        origins.append(f"{name} <- {kind} {ref['name']}, key {ref['key']}")
    return env, origins


def local_config(text: str, *, host: str, port: int, journal_path: Path) -> tuple[str, list[str]]:
    """The rendered config for a local process; returns it and one line per override."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DemoError(f"the rendered config is not YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise DemoError("the rendered config is not a mapping")
    overrides: list[str] = []
    listen = config.setdefault("listen", {})
    overrides.append(
        f"listen {host}:{port} (pod: {listen.get('host', '0.0.0.0')}:{listen.get('port', 8000)})"
    )
    listen.update({"host": host, "port": port})
    state = config.setdefault("state", {})
    if state.get("journalPath"):
        overrides.append(f"state.journalPath {journal_path} (pod: {state['journalPath']})")
        state["journalPath"] = str(journal_path)
    header = (
        f"# fks demo: the config fks-operator rendered (ConfigMap), with {len(overrides)} "
        "local override(s): " + "; ".join(overrides) + "\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False), overrides


# --- reading output and status ---------------------------------------------------------------


def audit_lines(text: str) -> list[dict[str, Any]]:
    """The executor's audit events among its output lines (JSON objects with a decision)."""
    events = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "decision" in event:
            events.append(event)
    return events


def render_answer(answer: Mapping[str, Any]) -> str:
    """The executor's answer as JSON, one line per top-level key and per extra order, and a
    line saying what the orders were (``market buy 0.0147 BTC/USDT @ 68000.0``)."""
    lines = []
    for key, value in answer.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            lines.append(f'  "{key}": [\n{items}\n  ]')
        else:
            lines.append(f'  "{key}": {json.dumps(value)}')
    text = "{\n" + ",\n".join(lines) + "\n}"
    orders = [answer.get("order"), *(answer.get("orders") or [])]
    described = [_order_text(o) for o in orders if isinstance(o, dict)]
    if described:
        text += "\n=> " + "; ".join(described)
    return text


def _order_text(order: Mapping[str, Any]) -> str:
    words = [order.get("type"), order.get("side"), order.get("amount"), order.get("symbol")]
    text = " ".join(str(w) for w in words if w is not None)
    if order.get("price") is not None:
        text += f" @ {order['price']}"
    if order.get("status"):
        text += f" ({order['status']})"
    return text


def condition(obj: Manifest, type_: str) -> dict[str, Any]:
    for item in obj.get("status", {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return {}


def condition_line(obj: Manifest, type_: str = "Ready") -> str:
    """``Ready=True ExecutorsReady: 1/1 executor pods ready`` (or ``no status yet``)."""
    cond = condition(obj, type_)
    if not cond:
        return f"{type_}: no status yet"
    line = f"{type_}={cond.get('status')} {cond.get('reason', '')}".rstrip()
    return f"{line}: {cond['message']}" if cond.get("message") else line


def pod_line(pod: Manifest) -> str:
    status = pod.get("status", {})
    ready = condition(pod, "Ready").get("status") == "True"
    node = pod.get("spec", {}).get("nodeName") or "(not scheduled)"
    return f"{status.get('phase', 'Pending')}{', ready' if ready else ''} on {node}"
