-- Argo CD health check for execution.fks.io/v1alpha1 ExchangeAccount (docs/argocd.md).
-- Progressing until the operator has checked the current generation; Healthy when Ready is
-- True; Degraded when Ready is False with a reason that needs a human; Progressing otherwise.
local hs = {}

-- Reasons of Ready that do not go away by waiting (fks_operator.conditions.AccountReason).
local terminal = {
  SecretMissing = true,
  KeyMissing = true,
  ExchangeUnsupported = true,
  SandboxUnsupported = true,
  LiveNotAcknowledged = true,
  InvalidSpec = true,
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
  hs.message = "Waiting for the operator to check the account"
  return hs
end

local observed = tonumber(status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    local seen = tonumber(condition.observedGeneration)
    if condition.type == "Ready" and (generation == nil or seen == nil or seen >= generation) then
      ready = condition
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" and terminal[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready)
return hs
