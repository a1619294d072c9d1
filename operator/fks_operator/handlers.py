"""kopf wiring: thin watch handlers that tell the :class:`~fks_operator.controller.Controller`
what to look at again, the indices that map an account or Secret to its users, the indices that
are the reconcile's watch caches (:mod:`fks_operator.caches`), login, probes.

Only low-level ``@kopf.on.event`` handlers and ``@kopf.index`` are used, on purpose: kopf's
change-detecting handlers (``on.create/update/resume``) keep a diff-base and progress per object
(``kopf.zalando.org/*`` annotations, or extra status fields the CRDs do not have), which GitOps
tools see as drift, and they would only fire on spec changes while the operator must also react
to accounts, Secrets, children and Deployment progress. Event handlers store nothing on the
objects, need no finalizer, and the reconcile they trigger is level-based and idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kopf
from lightkube.config.kubeconfig import SingleConfig

from fks_operator import caches, references
from fks_operator.controller import Controller
from fks_operator.discovery import OPTIONAL_CRDS, crd_serves
from fks_operator.kube import CHILD_KINDS
from fks_operator.specs import GROUP, VERSION

MANAGED_SELECTOR = "app.kubernetes.io/managed-by=fks-operator"
"""Server-side label selector of the child watches (only the operator's children are sent)."""


PIPELINE_REFS = "fks_pipeline_refs"
"""Index: (namespace, ACCOUNT_REF or SECRET_REF, name) -> the pipelines referring to it."""
ACCOUNT_REF, SECRET_REF = "account", "secret"


def _lookup(kwargs: Mapping[str, Any], index: str, key: tuple[str, ...]) -> list[str]:
    """The names stored under ``key`` in one of the indices kopf passes to handlers by name."""
    found: kopf.Index[tuple[str, ...], str] = kwargs[index]
    return sorted({str(value) for value in found.get(key, [])})


def connection_info(config: SingleConfig) -> kopf.ConnectionInfo:
    """kopf's credentials from the same config the reconcile loop's client uses. A token file
    (in-cluster ServiceAccount) is read at every login, so rotated tokens are picked up."""
    cluster, user = config.cluster, config.user
    token = user.token if user else None
    if user and user.token_file:
        token = Path(user.token_file).read_text().strip()
    ca_path = str(config.abs_file(cluster.certificate_auth)) if cluster.certificate_auth else None
    cert = user.client_cert if user else None
    key = user.client_key if user else None
    return kopf.ConnectionInfo(
        server=cluster.server,
        ca_path=ca_path,
        ca_data=None if ca_path else cluster.certificate_auth_data,
        insecure=cluster.insecure or None,
        scheme="Bearer" if token else None,
        token=token,
        certificate_path=str(config.abs_file(cert)) if cert else None,
        certificate_data=None if cert else (user.client_cert_data if user else None),
        private_key_path=str(config.abs_file(key)) if key else None,
        private_key_data=None if key else (user.client_key_data if user else None),
        username=user.username if user else None,
        password=user.password if user else None,
        default_namespace=config.context.namespace,
    )


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf's diff-base for change-detecting handlers (``on.create/update/resume``): kopf builds
    one on every watch event (a deep copy of the whole object) whether or not such handlers
    exist. This operator has none (only ``on.event`` and indices), so it builds and stores
    nothing: a cold start's watch events cost that much less CPU."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


class NoProgress(kopf.ProgressStorage):
    """kopf's per-handler progress of change-detecting handlers: none here (see NoDiffBase);
    kopf's default would still deep-copy two empty essences on every event."""

    def fetch(self, *, key: kopf.HandlerId, body: kopf.Body) -> kopf.ProgressRecord | None:
        return None

    def store(
        self,
        *,
        key: kopf.HandlerId,
        record: kopf.ProgressRecord,
        body: kopf.Body,
        patch: kopf.Patch,
    ) -> None:
        return None

    def purge(self, *, key: kopf.HandlerId, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        return None

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        return essence


def configure(settings: kopf.OperatorSettings) -> None:
    """kopf settings for this operator (see docs/operator.md, "How it runs")."""
    settings.peering.standalone = True  # one replica + Recreate; no peering objects
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.persistence.progress_storage = NoProgress()
    settings.posting.enabled = False  # the operator posts its own Events (reportingComponent)
    settings.watching.server_timeout = 300  # re-establish watches every 5 minutes...
    settings.watching.client_timeout = 330  # ...and never hang on a dead stream
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = 60
    for kind in CHILD_KINDS:
        settings.watching.label_selectors[(kind.group, kind.version, kind.plural)] = (
            MANAGED_SELECTOR
        )


def build_registry(controller: Controller, config: SingleConfig) -> kopf.OperatorRegistry:
    """A registry with every handler of the operator, bound to ``controller``."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(id="login", registry=registry)
    async def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(config)

    @kopf.on.probe(id="reconcile", registry=registry)
    async def reconcile_probe(**_: Any) -> dict[str, int]:
        return controller.stats()

    # -- indices: who uses which account / Secret ------------------------------------------

    # One index for both kinds of reference: kopf runs every index function on every watch
    # event of the kind, so each one less is a call less per pipeline event.
    @kopf.index(GROUP, VERSION, "executionpipelines", id=PIPELINE_REFS, registry=registry)
    async def fks_pipeline_refs(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str, str, str], str]:
        ns = namespace or ""
        accounts = references.pipeline_accounts(body)
        secrets = references.pipeline_secrets(body)
        refs = {(ns, ACCOUNT_REF, account): name for account in accounts}
        refs.update({(ns, SECRET_REF, secret): name for secret in secrets})
        return refs

    @kopf.index(GROUP, VERSION, "exchangeaccounts", id="fks_accounts_by_secret", registry=registry)
    async def fks_accounts_by_secret(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str, str], str]:
        secret = references.account_secret(body)
        return {(namespace or "", secret): name} if secret else {}

    # -- the watch caches (kopf holds every handler until their first lists are complete) -----

    @kopf.index(GROUP, VERSION, "executionpipelines", id=caches.PIPELINES, registry=registry)
    async def fks_pipelines(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str, str], dict[str, Any]]:
        return {(namespace or "", name): caches.custom_resource(body)}

    @kopf.index(GROUP, VERSION, "exchangeaccounts", id=caches.ACCOUNTS, registry=registry)
    async def fks_accounts(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str, str], dict[str, Any]]:
        return {(namespace or "", name): caches.custom_resource(body)}

    field_manager = controller.settings.field_manager

    async def fks_children(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str, str, str], caches.ChildRecord]:
        key = (str(body.get("kind", "")), namespace or "", name)
        return {key: caches.child_record(body, field_manager)}

    for kind in CHILD_KINDS:
        kopf.index(
            kind.group,
            kind.version,
            kind.plural,
            id=caches.child_index(kind),
            registry=registry,
        )(fks_children)

    def is_optional_crd(name: str, **_: Any) -> bool:
        return name in OPTIONAL_CRDS

    @kopf.index(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        id=caches.OPTIONAL_CRDS_INDEX,
        when=is_optional_crd,
        registry=registry,
    )
    async def fks_optional_crds(name: str, body: kopf.Body, **_: Any) -> dict[str, bool]:
        return {name: crd_serves(body)}

    # -- watches ---------------------------------------------------------------------------

    @kopf.on.event(GROUP, VERSION, "executionpipelines", id="pipelines", registry=registry)
    async def pipeline_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        controller.pipeline_event(type, body)

    @kopf.on.event(GROUP, VERSION, "exchangeaccounts", id="accounts", registry=registry)
    async def account_event(
        type: str | None, body: kopf.Body, namespace: str | None, name: str, **kwargs: Any
    ) -> None:
        users = _lookup(kwargs, PIPELINE_REFS, (namespace or "", ACCOUNT_REF, name))
        controller.account_event(type, body, pipelines=users)

    @kopf.on.event("", "v1", "secrets", id="secrets", registry=registry)
    async def secret_event(
        type: str | None, body: kopf.Body, namespace: str | None, name: str, **kwargs: Any
    ) -> None:
        ref = (namespace or "", name)
        accounts = _lookup(kwargs, "fks_accounts_by_secret", ref)
        pipelines = set(_lookup(kwargs, PIPELINE_REFS, (ref[0], SECRET_REF, ref[1])))
        for account in accounts:
            pipelines.update(_lookup(kwargs, PIPELINE_REFS, (ref[0], ACCOUNT_REF, account)))
        if accounts or pipelines:
            controller.secret_event(type, body, accounts=accounts, pipelines=sorted(pipelines))

    async def child_event(type: str | None, body: kopf.Body, **_: Any) -> None:
        controller.child_event(type, body)

    for kind in CHILD_KINDS:
        kopf.on.event(
            kind.group, kind.version, kind.plural, id=f"child-{kind.plural}", registry=registry
        )(child_event)

    @kopf.on.event(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        id="optional-crds",
        when=is_optional_crd,
        registry=registry,
    )
    async def optional_crd_event(**_: Any) -> None:
        controller.optional_api_changed()

    return registry
