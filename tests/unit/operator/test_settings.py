"""Operator settings from FKS_OPERATOR_* environment variables."""

from __future__ import annotations

import logging

import pytest

from fks_operator import __version__
from fks_operator.errors import SettingsError
from fks_operator.settings import OperatorSettings


def test_defaults_from_an_empty_environment() -> None:
    settings = OperatorSettings.from_env({})
    assert settings == OperatorSettings()
    assert settings.executor_image == f"fks-executor:{__version__}"
    assert settings.namespaces == ()
    assert settings.log_level == "INFO"
    assert settings.logging_level == logging.INFO
    assert settings.field_manager == "fks-operator"
    assert settings.executor_uid == 65532
    assert settings.executor_resources["requests"] == {"cpu": "100m", "memory": "128Mi"}


def test_every_variable_is_read() -> None:
    settings = OperatorSettings.from_env(
        {
            "FKS_OPERATOR_EXECUTOR_IMAGE": "reg.example/exec:9",
            "FKS_OPERATOR_IMAGE_PULL_POLICY": "Always",
            "FKS_OPERATOR_NAMESPACES": " trading, research ,trading",
            "FKS_OPERATOR_LOG_LEVEL": "debug",
            "FKS_OPERATOR_FIELD_MANAGER": "fks-test",
            "FKS_OPERATOR_EXECUTOR_UID": "1000",
            "FKS_OPERATOR_EXECUTOR_RESOURCES": '{"requests": {"cpu": "50m"}, "limits": {"cpu": 1}}',
            "FKS_OPERATOR_METRICS_PORT": "9100",
            "FKS_OPERATOR_HEALTH_PORT": "8081",
            "FKS_OPERATOR_LOG_FORMAT": "JSON",
            "FKS_OPERATOR_WORKERS": "8",
            "FKS_OPERATOR_RESYNC_SECONDS": "0",
        }
    )
    assert settings.executor_image == "reg.example/exec:9"
    assert settings.image_pull_policy == "Always"
    assert settings.namespaces == ("research", "trading")
    assert settings.log_level == "DEBUG"
    assert settings.field_manager == "fks-test"
    assert settings.executor_uid == 1000
    assert settings.executor_resources == {"requests": {"cpu": "50m"}, "limits": {"cpu": "1"}}
    assert (settings.metrics_port, settings.health_port) == (9100, 8081)
    assert (settings.log_format, settings.workers, settings.resync_seconds) == ("json", 8, 0)


def test_blank_values_mean_default() -> None:
    assert OperatorSettings.from_env({"FKS_OPERATOR_EXECUTOR_IMAGE": "  "}) == OperatorSettings()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("IMAGE_PULL_POLICY", "Sometimes", "must be one of Always"),
        ("LOG_LEVEL", "LOUD", "must be one of DEBUG"),
        ("NAMESPACES", "Trading", "'Trading' is not a valid namespace name"),
        ("EXECUTOR_UID", "0", "must be >= 1"),
        ("EXECUTOR_UID", "root", "must be an integer"),
        ("METRICS_PORT", "70000", "between 1 and 65535"),
        ("EXECUTOR_RESOURCES", "{", "not valid JSON"),
        ("EXECUTOR_RESOURCES", "[]", "must be a JSON object"),
        ("EXECUTOR_RESOURCES", '{"request": {}}', "unknown key 'request'"),
        ("EXECUTOR_RESOURCES", '{"limits": {"cpu": [1]}}', "limits: must map"),
        ("LOG_FORMAT", "xml", "must be one of plain, json"),
        ("WORKERS", "0", "between 1 and 64"),
        ("WORKERS", "65", "between 1 and 64"),
        ("RESYNC_SECONDS", "-1", "must be >= 0"),
        ("HEALTH_PORT", "9090", "must differ from FKS_OPERATOR_METRICS_PORT (both 9090)"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        OperatorSettings.from_env({f"FKS_OPERATOR_{name}": value})
    assert str(caught.value).startswith(f"FKS_OPERATOR_{name}")
    assert fragment in str(caught.value)
