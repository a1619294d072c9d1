"""The reconcile loop: watch events in, a deduplicating queue, a few workers, retries.

kopf's watch handlers (:mod:`fks_operator.handlers`) only call the ``*_event`` methods here,
which decide which objects to look at again and queue them; workers take keys from the queue
and run :func:`~fks_operator.reconcile.reconcile_pipeline` or
:func:`~fks_operator.reconcile.reconcile_account`, which read from the watch caches
(:mod:`fks_operator.caches`, kept by kopf's indices). A key is never reconciled twice at once;
a failed one comes back with exponential backoff; every ``resync`` seconds everything is
reconciled again from the caches (which writes nothing when nothing changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from fks_operator import references
from fks_operator.accounts import ExchangeCatalog
from fks_operator.builders.meta import INSTANCE_LABEL
from fks_operator.caches import Indices, SecretCache, WatchCache
from fks_operator.context import Context
from fks_operator.discovery import ApiDiscovery
from fks_operator.drift import ChildKey, ChildStates
from fks_operator.errors import ApiError, KubeError
from fks_operator.kube import ACCOUNT, PIPELINE, SECRET, KubeApi
from fks_operator.live import LiveSwitches
from fks_operator.metrics import Metrics
from fks_operator.reconcile import ERROR, GONE, reconcile_account, reconcile_pipeline
from fks_operator.settings import OperatorSettings
from fks_operator.workqueue import QueueClosed, WorkQueue, backoff

log = logging.getLogger(__name__)

Key = tuple[str, str, str]
"""(kind, namespace, name) of a custom resource to reconcile."""

_PIPELINE, _ACCOUNT = PIPELINE.kind, ACCOUNT.kind

CONFIRM_AFTER = 5.0
"""Seconds after an apply by which its watch event must have arrived (see _confirm_later)."""
MAX_CONFIRM_ROUNDS = 3


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _signature(body: Mapping[str, Any]) -> tuple[str, int, bool]:
    """What of a custom resource the reconcile depends on: uid, generation (every spec change),
    deletion. Status-only updates (the operator's own writes) do not change it."""
    meta = _meta(body)
    return (
        str(meta.get("uid", "")),
        int(meta.get("generation", 0) or 0),
        bool(meta.get("deletionTimestamp")),
    )


def _data_hash(body: Mapping[str, Any]) -> str:
    text = json.dumps(body.get("data") or {}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Controller:
    """Queue, workers and the per-process caches of the operator."""

    def __init__(
        self,
        api: KubeApi,
        settings: OperatorSettings,
        *,
        catalog: ExchangeCatalog,
        metrics: Metrics,
        indices: Indices,
        discovery_ttl: float = 30.0,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.queue: WorkQueue[Key] = WorkQueue()
        cache = WatchCache(indices)
        self.ctx = Context(
            api=api,
            settings=settings,
            catalog=catalog,
            cache=cache,
            secrets=SecretCache(lambda namespace, name: api.get(SECRET, namespace, name)),
            children=ChildStates(settings.field_manager, cache.child),
            discovery=ApiDiscovery(cache.serves, ttl=discovery_ttl),
            live=LiveSwitches(),
        )
        self._signatures: dict[Key, tuple[str, int, bool]] = {}
        self._pipelines: set[tuple[str, str]] = set()
        self._accounts: set[tuple[str, str]] = set()
        self._secret_hashes: dict[tuple[str, str], str] = {}
        self._deployment_status: dict[tuple[str, str], str] = {}
        self._failures: dict[Key, int] = {}
        self._unconfirmed: dict[Key, int] = {}
        self.confirm_after = CONFIRM_AFTER
        self.reconciles = 0

    # -- intake: called by the watch handlers; cheap and synchronous ----------------------------

    def enqueue(self, kind: str, namespace: str, name: str, *, urgent: bool = True) -> None:
        """Queue a reconcile; ``urgent`` unless only a Deployment's progress or a resync asks
        for it (see :mod:`fks_operator.workqueue`)."""
        self.queue.add((kind, namespace, name), urgent=urgent)
        self.metrics.queue_depth.set(len(self.queue))

    def pipeline_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """An ExecutionPipeline was listed, added, modified or deleted."""
        meta = _meta(body)
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        key = (_PIPELINE, namespace, name)
        if event_type == "DELETED":
            self._pipelines.discard((namespace, name))
            self._signatures.pop(key, None)
            self.queue.forget(key)
            self.ctx.written.pop(key, None)
            self.ctx.children.forget(namespace, {f"{name}-executor", f"{name}-executor-config"})
            return
        self._pipelines.add((namespace, name))
        signature = _signature(body)
        if event_type is None or self._signatures.get(key) != signature:
            self._signatures[key] = signature
            self.enqueue(_PIPELINE, namespace, name)

    def account_event(
        self, event_type: str | None, body: Mapping[str, Any], pipelines: Iterable[str]
    ) -> None:
        """An ExchangeAccount changed: reconcile it and every pipeline that names it."""
        meta = _meta(body)
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        key = (_ACCOUNT, namespace, name)
        if event_type == "DELETED":
            self._accounts.discard((namespace, name))
            self._signatures.pop(key, None)
            self.queue.forget(key)
            self.ctx.written.pop(key, None)
            self.ctx.live.forget(str(meta.get("uid", "")))
        else:
            self._accounts.add((namespace, name))
            signature = _signature(body)
            if event_type is not None and self._signatures.get(key) == signature:
                return  # only status changed (most likely the operator's own write)
            self._signatures[key] = signature
            self.enqueue(_ACCOUNT, namespace, name)
        for pipeline in pipelines:
            self.enqueue(_PIPELINE, namespace, pipeline)

    def secret_event(
        self,
        event_type: str | None,
        body: Mapping[str, Any],
        *,
        accounts: Iterable[str],
        pipelines: Iterable[str],
    ) -> None:
        """A Secret that accounts or pipelines refer to changed (data, or existence)."""
        meta = _meta(body)
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        accounts, pipelines = list(accounts), list(pipelines)
        if not accounts and not pipelines:
            self._secret_hashes.pop((namespace, name), None)
            self.ctx.secrets.forget(namespace, name)
            return
        self.ctx.secrets.observed(namespace, name, None if event_type == "DELETED" else body)
        digest = "" if event_type == "DELETED" else _data_hash(body)
        if event_type is not None and self._secret_hashes.get((namespace, name)) == digest:
            return  # metadata-only change: nothing the operator reads
        self._secret_hashes[(namespace, name)] = digest
        for account in accounts:
            self.enqueue(_ACCOUNT, namespace, account)
        for pipeline in pipelines:
            self.enqueue(_PIPELINE, namespace, pipeline)

    def child_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A child (labelled managed-by fks-operator) changed: drift or Deployment progress."""
        meta = _meta(body)
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        kind = str(body.get("kind", ""))
        urgent = True  # deleted or drifted; only a Deployment's progress can wait
        owner = references.owner_pipeline(body)
        labels = meta.get("labels") or {}
        owner = owner or (labels.get(INSTANCE_LABEL) if isinstance(labels, Mapping) else None)
        key = (kind, namespace, name)
        if event_type == "DELETED":
            if kind == "Deployment":
                self._deployment_status.pop((namespace, name), None)
            drifted = True
        else:
            # The watch cache (kopf's index) already holds this event's state of the child.
            drifted = self.ctx.children.drifted(key)
            if kind == "Deployment":
                status = json.dumps(body.get("status") or {}, sort_keys=True)
                if self._deployment_status.get((namespace, name)) != status:
                    self._deployment_status[(namespace, name)] = status
                    urgent = drifted
                    drifted = True
        if owner and drifted:
            self.enqueue(_PIPELINE, namespace, owner, urgent=urgent)

    def optional_api_changed(self) -> None:
        """The CRD of an optional child (ServiceMonitor, HTTPRoute) appeared, changed or went
        away: look again everywhere."""
        self.ctx.discovery.invalidate()
        self.enqueue_all()

    def enqueue_all(self, *, urgent: bool = True) -> None:
        for namespace, name in sorted(self._accounts):
            self.enqueue(_ACCOUNT, namespace, name, urgent=urgent)
        for namespace, name in sorted(self._pipelines):
            self.enqueue(_PIPELINE, namespace, name, urgent=urgent)

    # -- the loop ------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """For the liveness probe's JSON and logs."""
        return {
            "queued": len(self.queue),
            "active": self.queue.active,
            "retrying": self.queue.delayed,
            "pipelines": len(self._pipelines),
            "accounts": len(self._accounts),
            "reconciles": self.reconciles,
        }

    async def run(self, workers: int, resync_seconds: float) -> None:
        """Run the workers (and the resync timer) until cancelled."""
        tasks = [asyncio.create_task(self._worker(i), name=f"worker-{i}") for i in range(workers)]
        if resync_seconds > 0:
            tasks.append(asyncio.create_task(self._resync(resync_seconds), name="resync"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _resync(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            log.debug("resync: reconciling %d pipelines, %d accounts", *self._counts())
            self.enqueue_all(urgent=False)

    def _counts(self) -> tuple[int, int]:
        return len(self._pipelines), len(self._accounts)

    async def _worker(self, number: int) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueClosed:
                return
            self.metrics.queue_depth.set(len(self.queue))
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: Key) -> str:
        """Reconcile one key now: count, time, log, and schedule a retry when it fails."""
        kind, namespace, name = key
        started = time.perf_counter()
        try:
            if kind == _PIPELINE:
                outcome = await reconcile_pipeline(self.ctx, namespace, name)
            else:
                outcome = await reconcile_account(self.ctx, namespace, name)
        except ApiError as exc:
            if exc.namespace_gone:
                result = GONE  # the namespace is being deleted: its objects go with it
                self._failures.pop(key, None)
            else:
                result = ERROR
                self._retry(key, str(exc))
        except KubeError as exc:
            result = ERROR
            self._retry(key, str(exc))
        except Exception:  # a bug: log it with the traceback, keep the loop alive, retry later
            result = ERROR
            log.exception("reconciling %s %s/%s failed unexpectedly", kind, namespace, name)
            self._retry(key, "unexpected error (see the traceback above)")
        else:
            result = outcome.result
            self._failures.pop(key, None)
            if outcome.applied:
                self._confirm_later(key, outcome.applied)
            if outcome.requeue_after > 0:
                self.queue.add_after(key, outcome.requeue_after)
        elapsed = time.perf_counter() - started
        self.reconciles += 1
        self.metrics.reconciled(kind, result, elapsed)
        log.debug("reconciled %s %s/%s: %s in %.3fs", kind, namespace, name, result, elapsed)
        return result

    def _confirm_later(self, key: Key, children: tuple[ChildKey, ...]) -> None:
        """Look again in a few seconds: every child just applied must have come back through
        its watch by then; if not (a watch that started late, a missed event), reconcile again.
        Given up after a few rounds, when a watch evidently does not work (RBAC?): the resync
        still corrects drift of those children."""
        loop = asyncio.get_running_loop()
        loop.call_later(self.confirm_after, self._confirm, key, children)

    def _confirm(self, key: Key, children: tuple[ChildKey, ...]) -> None:
        missing = [c for c in children if not self.ctx.children.confirmed(c)]
        if not missing:
            self._unconfirmed.pop(key, None)
            return
        rounds = self._unconfirmed.get(key, 0) + 1
        self._unconfirmed[key] = rounds
        if rounds > MAX_CONFIRM_ROUNDS:
            log.warning(
                "no watch event for %s after %d applies: is the operator allowed to watch them? "
                "Their drift is corrected by the resync only",
                ", ".join(f"{kind} {ns}/{name}" for kind, ns, name in missing),
                rounds,
            )
            self._unconfirmed.pop(key, None)
            return
        log.debug("not confirmed by the watch yet: %s; reconciling again", missing)
        self.queue.add(key)

    def _retry(self, key: Key, reason: str) -> None:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        delay = backoff(failures)
        kind, namespace, name = key
        log.warning(
            "reconciling %s %s/%s failed (attempt %d), retrying in %.1fs: %s",
            kind,
            namespace,
            name,
            failures,
            delay,
            reason,
        )
        self.queue.add_after(key, delay)
