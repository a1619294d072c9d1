{{/*
Names, labels, image references and the operator's RBAC rules (one definition, used by both the
cluster-wide and the per-namespace RBAC).
*/}}

{{- define "fks-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-fks-operator, or the release name when it already contains the chart name. */}}
{{- define "fks-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fks-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fks-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fks-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fks-operator.labels" -}}
helm.sh/chart: {{ include "fks-operator.chart" . }}
{{ include "fks-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fks
{{- end }}

{{- define "fks-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fks-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest, else repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "fks-operator.imageRef" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "fks-operator.image" -}}
{{- include "fks-operator.imageRef" (list .Values.image .) }}
{{- end }}

{{- define "fks-operator.executorImage" -}}
{{- include "fks-operator.imageRef" (list .Values.executorImage .) }}
{{- end }}

{{/* Watched namespaces, sorted and de-duplicated ("" when cluster-wide). */}}
{{- define "fks-operator.namespaces" -}}
{{- .Values.watchNamespaces | uniq | sortAlpha | join "," }}
{{- end }}

{{/*
The operator's permissions inside each watched namespace (every namespace when cluster-wide).
Each rule names the code that needs it; docs/install.md and docs/operator.md have the same table
(tests/unit/chart/test_rbac.py keeps the three equal). Nothing here writes Secrets or any CR spec:
the operator reads Secrets (to check references and hash the values its pods read) and writes
only the status subresource of its CRs.
*/}}
{{- define "fks-operator.namespacedRules" -}}
# Watch and read the custom resources (kopf watch streams; reconcile reads).
- apiGroups: [execution.fks.io]
  resources: [exchangeaccounts, executionpipelines]
  verbs: [get, list, watch]
# Write their status (merge patch of the status subresource); never their spec.
- apiGroups: [execution.fks.io]
  resources: [exchangeaccounts/status, executionpipelines/status]
  verbs: [patch]
# Every child names its pipeline as owner with blockOwnerDeletion: where the API server runs the
# OwnerReferencesPermissionEnforcement admission plugin (OpenShift does), creating such an object
# needs update on the owner's finalizers. A permission only: CRDs serve no finalizers
# subresource, so this lets the operator write nothing on a pipeline.
- apiGroups: [execution.fks.io]
  resources: [executionpipelines/finalizers]
  verbs: [update]
# Read the Secrets that accounts and pipelines reference: existence, keys, and the hash of the
# values executor pods read (rollouts on key rotation). Read-only.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
# Record Events on ExchangeAccounts and ExecutionPipelines (e.g. an account switched to live).
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# A pipeline's children, written with server-side apply (patch; create when the child is new)
# and watched for drift (list, watch). Deleted (only children of the pipeline) and re-created when
# someone changed one in a way apply cannot undo (a Service or container port renumbered, a
# ConfigMap made immutable and edited: reconcile._recreate); with the admission plugin above,
# putting back an owner reference removed by hand needs delete on the child as well.
- apiGroups: [""]
  resources: [configmaps, services]
  verbs: [list, watch, create, patch, delete]
# The Deployment is also read back after an apply the operator skipped (its status feeds the
# pipeline's status).
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, delete]
# Optional children (HPA, PDB, ServiceMonitor) are also deleted once the spec no longer wants
# them, after reading one the watch has not reported yet (to check the pipeline owns it).
# ServiceMonitors only while the cluster serves monitoring.coreos.com/v1 (the operator lists them
# to find out).
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [get, list, watch, create, patch, delete]
# The NetworkPolicy of the executor pods (networkPolicy.enabled) and the Ingress exposing the
# webhook (webhook.expose.ingress): optional children like the above.
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch, create, patch, delete]
# The HTTPRoute exposing the webhook (webhook.expose.gateway), only while the cluster serves
# gateway.networking.k8s.io/v1 (the operator lists them to find out).
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, create, patch, delete]
{{- end }}

{{/*
Cluster-scoped reads, needed in both modes: the CustomResourceDefinitions (kopf's resource scanning
and the operator's watch for the ServiceMonitor and HTTPRoute APIs being installed or removed).
*/}}
{{- define "fks-operator.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- if .Values.watchNamespaces }}
# kopf follows the watched namespaces being created and deleted.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}
{{- end }}
