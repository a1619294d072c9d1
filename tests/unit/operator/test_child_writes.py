"""The order children are applied in: concurrent waves, each after the one before."""

from __future__ import annotations

from fks_operator.child_writes import waves


def kinds(*names: str) -> list[dict[str, str]]:
    return [{"kind": name} for name in names]


def test_the_network_policy_goes_alone_first_and_the_deployment_after_its_config() -> None:
    order = kinds(
        "NetworkPolicy", "ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "Ingress",
    )  # fmt: skip
    assert [[m["kind"] for m in wave] for wave in waves(order)] == [
        ["NetworkPolicy"],
        ["ConfigMap", "Service"],
        ["Deployment"],
        ["HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"],
    ]


def test_without_network_policy_or_optional_children() -> None:
    order = kinds("ConfigMap", "Service", "Deployment")
    assert [[m["kind"] for m in wave] for wave in waves(order)] == [
        ["ConfigMap", "Service"],
        ["Deployment"],
    ]
    assert waves([]) == []
