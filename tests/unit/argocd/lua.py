"""Run an Argo CD health-check script the way Argo CD does: Lua 5.1 (Argo CD embeds gopher-lua,
a Lua 5.1 implementation), the live object as the global ``obj``, only the sandboxed standard
library (no os/io/require), and the returned table read as ``{status, message}``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lupa import lua51

ROOT = Path(__file__).resolve().parents[3]
HEALTH_DIR = ROOT / "deploy" / "argocd" / "health"
GROUP = "execution.fks.io"
KINDS = ("ExchangeAccount", "ExecutionPipeline")

#: The statuses Argo CD knows (anything else is shown as Unknown).
ARGO_STATUSES = frozenset({"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"})

_SANDBOX = """
local script, obj = ...
local env = {
  obj = obj, ipairs = ipairs, pairs = pairs, next = next, tonumber = tonumber,
  tostring = tostring, type = type, select = select, unpack = unpack, error = error,
  pcall = pcall, string = string, table = table, math = math,
}
local chunk, problem = loadstring(script, "=health.lua")
if chunk == nil then error(problem) end
setfenv(chunk, env)
return chunk()
"""


def script_path(kind: str) -> Path:
    return HEALTH_DIR / f"{GROUP}_{kind}.lua"


@cache
def _runtime() -> Any:
    return lua51.LuaRuntime(unpack_returned_tuples=False)


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value


def health(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """The ``{status, message}`` Argo CD would show for ``obj``."""
    lua = _runtime()
    run = lua.execute(f"return function(...) {_SANDBOX} end")
    result = run(script_path(kind).read_text(), _to_lua(lua, obj))
    out = dict(result.items())
    assert set(out) <= {"status", "message"}, f"unexpected keys {sorted(out)}"
    return {str(key): str(value) for key, value in out.items()}
