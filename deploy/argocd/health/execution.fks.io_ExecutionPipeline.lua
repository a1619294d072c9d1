-- Argo CD health check for execution.fks.io/v1alpha1 ExecutionPipeline (docs/argocd.md).
-- Progressing until the operator has reconciled the current generation; Degraded when
-- Reconciled or Ready is False with a reason that needs a human; Suspended while the kill
-- switch is in force (mode "suspended") or replicas is 0; Healthy when Ready is True.
local hs = {}

-- Reasons of Reconciled/Ready that do not go away by waiting (fks_operator.conditions).
local terminal = {
  InvalidSpec = true,
  AccountMissing = true,
  AccountNotReady = true,
  SecretMissing = true,
  KeyMissing = true,
  WebhookSecretWeak = true,
  RenderFailed = true,
  ApplyFailed = true,
  RolloutFailed = true,
}

local function describe(condition)
  local text = condition.type .. " " .. tostring(condition.status)
  if condition.reason ~= nil then
    text = text .. " (" .. condition.reason .. ")"
  end
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

local generation = tonumber(obj.metadata.generation)
local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the pipeline"
  return hs
end

local observed = tonumber(status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- Conditions computed for an older generation say nothing about the current spec.
local conditions = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    local seen = tonumber(condition.observedGeneration)
    if condition.type ~= nil and (generation == nil or seen == nil or seen >= generation) then
      conditions[condition.type] = condition
    end
  end
end

local reconciled = conditions["Reconciled"]
local ready = conditions["Ready"]

for _, condition in ipairs({ reconciled, ready }) do
  if condition ~= nil and condition.status == "False" and terminal[condition.reason] then
    hs.status = "Degraded"
    hs.message = describe(condition)
    return hs
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.status == "True" then
  if status.mode == "suspended" then
    hs.status = "Suspended"
    hs.message = "Kill switch on (spec.suspend): alerts are answered 503 suspended, no orders"
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" and ready.reason == "ScaledToZero" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready)
return hs
