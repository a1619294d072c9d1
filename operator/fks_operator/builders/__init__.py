"""Pure builders: (pipeline, accounts, settings, Secret data) -> child manifests and status.

No I/O here. Each child has one builder; :func:`build_children` renders them all.
"""

from __future__ import annotations

from fks_operator.builders.children import OPTIONAL_KINDS, Children, build_children
from fks_operator.builders.config import (
    account_env_prefix,
    build_config_map,
    executor_config,
    render_executor_config,
)
from fks_operator.builders.deployment import build_deployment
from fks_operator.builders.exposure import (
    HTTP_ROUTE_API,
    build_http_route,
    build_ingress,
    exposure_advice,
    public_url,
)
from fks_operator.builders.meta import (
    INPUTS_HASH_ANNOTATION,
    Manifest,
    config_map_name,
    executor_name,
    labels,
    owner_reference,
    selector_labels,
)
from fks_operator.builders.monitoring import SERVICE_MONITOR_API, build_service_monitor
from fks_operator.builders.network import build_network_policy
from fks_operator.builders.scaling import build_hpa, build_pdb
from fks_operator.builders.secrets import (
    SecretKeyRef,
    inputs_hash,
    referenced_secrets,
    secret_key_refs,
)
from fks_operator.builders.service import build_service, webhook_url
from fks_operator.builders.status import (
    build_account_status,
    build_pipeline_status,
    effective_mode,
    pipeline_conditions,
)

__all__ = [
    "HTTP_ROUTE_API",
    "INPUTS_HASH_ANNOTATION",
    "OPTIONAL_KINDS",
    "SERVICE_MONITOR_API",
    "Children",
    "Manifest",
    "SecretKeyRef",
    "account_env_prefix",
    "build_account_status",
    "build_children",
    "build_config_map",
    "build_deployment",
    "build_hpa",
    "build_http_route",
    "build_ingress",
    "build_network_policy",
    "build_pdb",
    "build_pipeline_status",
    "build_service",
    "build_service_monitor",
    "config_map_name",
    "effective_mode",
    "executor_config",
    "executor_name",
    "exposure_advice",
    "inputs_hash",
    "labels",
    "owner_reference",
    "pipeline_conditions",
    "public_url",
    "referenced_secrets",
    "render_executor_config",
    "secret_key_refs",
    "selector_labels",
    "webhook_url",
]
