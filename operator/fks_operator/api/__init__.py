"""The custom resources' types (execution.fks.io/v1alpha1), the single source of the CRDs in
``crds/`` (``make generate``), as kubebuilder's api/ packages are for Go operators.

    common     metadata, Secret references, conditions, CEL rule helpers
    account    ExchangeAccount (its venue fields are the executor config's ``Venue``)
    pipeline   ExecutionPipeline (risk, rate limit, ... are the executor config's sections)
    exposure   spec.webhook.expose: Ingress or Gateway API HTTPRoute
    pods       scaling, pod template, monitoring, NetworkPolicy
    schema     model -> structural OpenAPI schema
    crds       the two CRDs: names, printer columns, rendering

Imports pydantic, yaml, the standard library, ``fks_executor.config`` and the operator's
pure helpers (conditions, labels) only: the generator runs without a cluster.
"""
