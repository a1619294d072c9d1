"""Reading the config: ``load_config(path)`` / ``parse_config(mapping)`` turn the YAML the
operator renders (or a person writes) into an ``ExecutorConfig``; anything wrong raises
``ConfigError`` whose message is ONE line naming the key path."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fks_executor.config.model import ExecutorConfig
from fks_executor.validation import first_problem

__all__ = ["DEFAULT_CONFIG_YAML", "ConfigError", "default_config", "load_config", "parse_config"]


class ConfigError(Exception):
    """Bad config: ``str(err)`` is one line, ``<key path>: <what is wrong>``."""


#: The embedded default (no --config, no FKS_CONFIG): a local dry-run on 127.0.0.1:8000.
DEFAULT_CONFIG_YAML = """\
pipeline: default
dryRun: true
listen: {host: 127.0.0.1, port: 8000}
webhook: {auth: hmac-or-token, secretEnv: FKS_WEBHOOK_SECRET}
accounts:
  - {name: paper, exchange: binance, environment: testnet, marketType: spot, default: true}
state: {backend: memory}
audit: {path: ""}
"""


def default_config() -> ExecutorConfig:
    return parse_config(yaml.safe_load(DEFAULT_CONFIG_YAML))


def parse_config(data: Any) -> ExecutorConfig:
    """Validate an already-parsed mapping (e.g. ``yaml.safe_load`` of a ConfigMap value)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"(top level): must be a mapping of keys, got {_kind(data)}")
    try:
        return ExecutorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(first_problem(exc))) from None


def load_config(path: str | os.PathLike[str]) -> ExecutorConfig:
    """Read and validate the YAML file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc.__class__.__name__})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = (exc.problem or "invalid YAML").replace("\n", " ")
        raise ConfigError(f"{p}: invalid YAML at {where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        raise ConfigError(f"{p}: config file is empty")
    return parse_config(data)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "a mapping",
        type(None): "null",
    }.get(type(value), type(value).__name__)
