"""The plain client: the operator's writes for a cold start, without the operator.

    python -m bench.operator_scale.plain KUBECONFIG NAMESPACE PIPELINES WORKERS

Its own process (as the operator is), so the bench's watches time both the same way. For every
bench pipeline of NAMESPACE (created beforehand) it makes the writes the operator's first
reconcile makes, with the operator's API client (fks_operator.kube.KubeApi: same HTTP client,
TLS, keep-alive and credentials), the operator's manifests and waves, and WORKERS pipelines in
flight (the operator's worker count): NetworkPolicy; ConfigMap and Service; Deployment; then the
pipeline's status (a merge patch of the status subresource, based on the listed
resourceVersion). Nothing else: no watches, no caches, no queue, no kopf, and everything is
rendered before the clock starts (one LIST of the pipelines included), so it is the writes
alone. Prints the seconds from its first write to its last answer, and its CPU seconds meanwhile.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Mapping
from typing import Any

import uvloop
from bench.operator_scale.objects import GROUP, VERSION, child_waves, first_status, pipeline_names
from lightkube import Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.generic_resource import create_namespaced_resource

from fks_operator.kube import PIPELINE, Body, KubeApi

Pipeline = create_namespaced_resource(GROUP, VERSION, "ExecutionPipeline", "executionpipelines")


@dataclasses.dataclass(frozen=True)
class Writes:
    """One pipeline's writes, rendered."""

    name: str
    waves: list[list[Mapping[str, Any]]]
    status: Body
    resource_version: str


def render(body: Body) -> Writes:
    meta = body["metadata"]
    waves = child_waves(meta["name"], meta["namespace"])
    deployment = next(m for wave in waves for m in wave if m["kind"] == "Deployment")
    # A Deployment just created has no status yet: its apply answer reads like the manifest.
    return Writes(meta["name"], waves, first_status(body, deployment), meta["resourceVersion"])


async def write_pipeline(api: KubeApi, namespace: str, writes: Writes) -> None:
    for wave in writes.waves:
        await asyncio.gather(*(api.apply(manifest) for manifest in wave))
    await api.patch_status(
        PIPELINE, namespace, writes.name, writes.status, resource_version=writes.resource_version
    )


def listed(kubeconfig: str, namespace: str) -> list[Body]:
    client = Client(KubeConfig.from_file(kubeconfig), trust_env=False)
    return [dict(obj) for obj in client.list(Pipeline, namespace=namespace)]


async def main(kubeconfig: str, namespace: str, count: int, workers: int) -> tuple[float, float]:
    config = KubeConfig.from_file(kubeconfig).get()
    assert config is not None, "the kubeconfig has no current context"
    api = KubeApi(config, field_manager="bench-plain")
    order = {name: i for i, name in enumerate(pipeline_names(count))}
    bodies = sorted(listed(kubeconfig, namespace), key=lambda b: order[b["metadata"]["name"]])
    queue = [render(body) for body in reversed(bodies)]
    assert len(queue) == count, f"{len(queue)} pipelines in {namespace}, expected {count}"

    async def worker() -> None:
        while queue:
            await write_pipeline(api, namespace, queue.pop())

    try:
        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return time.monotonic() - started, time.process_time() - cpu
    finally:
        await api.close()


if __name__ == "__main__":
    kubeconfig, namespace, count, workers = sys.argv[1:5]
    # The operator's event loop too (uvloop): the same HTTP client on the same loop.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        seconds, cpu = runner.run(main(kubeconfig, namespace, int(count), int(workers)))
    print(f"{seconds:.3f} {cpu:.3f}")
