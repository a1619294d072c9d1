"""Writing a pipeline's children: apply what changed, re-create what apply cannot fix, delete
optional children no longer wanted (only the pipeline's own)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fks_operator import kube
from fks_operator.builders import executor_name
from fks_operator.builders.plan import Plan
from fks_operator.context import Context
from fks_operator.discovery import ServedApis
from fks_operator.drift import ChildKey, with_digest
from fks_operator.errors import ApiError
from fks_operator.kube import DEPLOYMENT, Body, Kind
from fks_operator.specs import ExecutionPipeline

log = logging.getLogger(__name__)


async def _apply(ctx: Context, manifest: Mapping[str, Any]) -> Body | None:
    """Apply one child unless nothing changed since the last apply; returns the object the API
    server returned, or None when skipped."""
    meta = manifest["metadata"]
    key = (manifest["kind"], meta["namespace"], meta["name"])
    manifest, manifest_digest = with_digest(manifest)
    if ctx.children.up_to_date(key, manifest, manifest_digest):
        return None
    try:
        body = await ctx.api.apply(manifest)
    except ApiError as exc:
        kind = kube.kind_of(manifest["apiVersion"], manifest["kind"])
        if exc.code in (403, 404) and kind in kube.OPTIONAL_APIS:
            ctx.discovery.refused(kind, meta["namespace"])  # skipped by the retry
        if exc.code != 422:
            raise
        body = await _recreate(ctx, manifest, manifest_digest, exc)
    ctx.children.applied(key, manifest_digest, body)
    log.info("applied %s %s/%s", key[0], key[1], key[2])
    return body


async def _recreate(
    ctx: Context, manifest: Mapping[str, Any], manifest_digest: str, error: ApiError
) -> Body:
    """The API server refused the apply as invalid. When the manifest is valid on its own (a
    dry-run apply under a scratch name passes), the live child carries someone else's
    conflicting fields that apply cannot remove (e.g. a Service port renumbered by hand, which
    apply would add next to the operator's, duplicating its name): delete and re-create it.
    Otherwise the manifest itself is at fault: re-raise, touch nothing."""
    meta = manifest["metadata"]
    scratch = {**manifest, "metadata": {**meta, "name": f"fks-validate-{manifest_digest[:12]}"}}
    try:
        await ctx.api.apply(scratch, dry_run=True)
    except ApiError:
        raise error from None
    kind = kube.kind_of(manifest["apiVersion"], manifest["kind"])
    log.warning(
        "%s %s/%s was changed in a way apply cannot undo (%s): re-creating it",
        kind,
        meta["namespace"],
        meta["name"],
        error.message,
    )
    await ctx.api.delete(kind, meta["namespace"], meta["name"])
    return await ctx.api.apply(manifest)


async def _delete(ctx: Context, kind: Kind, namespace: str, name: str, owner_uid: str) -> None:
    """Delete an optional child that is no longer wanted, if it exists and is this pipeline's."""
    key = (kind.kind, namespace, name)
    seen = ctx.children.observed(key)
    if seen is None:
        return  # absent, or not labelled as the operator's: nothing of ours to delete
    owner = seen.owner_uid
    if owner != owner_uid:
        log.warning(
            "%s %s/%s is not a child of this pipeline (owner uid %s): left alone",
            kind,
            namespace,
            name,
            owner,
        )
        return
    await ctx.api.delete(kind, namespace, name)
    ctx.children.absent(key)
    log.info("deleted %s %s/%s (no longer wanted)", kind, namespace, name)


#: Kinds that end a wave of concurrent applies: the NetworkPolicy alone first (refused, nothing
#: else is applied), the Deployment after the ConfigMap it mounts, the rest after it.
_WAVE_ENDS = frozenset({"NetworkPolicy", "Deployment"})


def waves(manifests: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """``manifests`` (in apply order) as groups applied concurrently, one group after the other:
    [NetworkPolicy], [ConfigMap, Service], [Deployment], [HPA, PDB, ServiceMonitor, Ingress,
    HTTPRoute] (fewer round trips before the Deployment exists, the order still safe)."""
    groups: list[list[Mapping[str, Any]]] = [[]]
    for manifest in manifests:
        if manifest["kind"] == "Deployment" and groups[-1]:
            groups.append([])
        groups[-1].append(manifest)
        if manifest["kind"] in _WAVE_ENDS:
            groups.append([])
    return [group for group in groups if group]


async def execute(
    ctx: Context,
    pipeline: ExecutionPipeline,
    plan: Plan,
    apis: ServedApis,
    applied: list[ChildKey],
) -> Body | None:
    """Carry out ``plan`` (appending what it applies to ``applied``); returns the executor
    Deployment as it is now (None: absent)."""
    namespace, name = pipeline.namespace, executor_name(pipeline)
    # Deletions first: a held pipeline's HPA must be gone before the Deployment is scaled to 0.
    for api_version, kind_name in plan.delete:
        kind = kube.kind_of(api_version, kind_name)
        if not apis.serves(kind):
            continue  # the API does not exist, so neither can the object
        await _delete(ctx, kind, namespace, name, pipeline.metadata.uid)
    deployment: Body | None = None
    for wave in waves(plan.apply):
        bodies = await asyncio.gather(*(_apply(ctx, manifest) for manifest in wave))
        for manifest, body in zip(wave, bodies, strict=True):
            if body is not None:
                meta = manifest["metadata"]
                applied.append((manifest["kind"], meta["namespace"], meta["name"]))
            if manifest["kind"] == "Deployment":
                deployment = body
    if deployment is None:
        seen = ctx.cache.child((DEPLOYMENT.kind, namespace, name))
        deployment = seen.rollout if seen is not None else None
    return deployment
