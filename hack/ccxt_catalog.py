"""Writes operator/fks_operator/ccxt_catalog.json: ccxt's exchange ids, and those with a sandbox.

The operator judges an ExchangeAccount (is ``exchange`` a ccxt id? does ccxt have a testnet for
it?) without carrying ccxt in its image: it reads this file, derived here from the installed
ccxt (the version the executor image pins) with the executor's own sandbox check, in the same
order: test URLs exist, and sandbox mode turns on. tests/unit/operator/test_ccxt_catalog.py
fails when the file no longer matches the installed ccxt; then run:

    .venv/bin/python -m hack.ccxt_catalog
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parents[1] / "operator/fks_operator/ccxt_catalog.json"


def has_sandbox(exchange_class: Any, not_supported: type[Exception]) -> bool:
    client = exchange_class()
    urls = client.urls
    if not (isinstance(urls, dict) and urls.get("test")):
        return False
    try:
        client.set_sandbox_mode(True)
    except not_supported:
        return False
    return True


def derive() -> dict[str, Any]:
    """The catalog of the installed ccxt (class data only: no network)."""
    import ccxt

    exchanges = sorted(ccxt.exchanges)
    sandboxes = [e for e in exchanges if has_sandbox(getattr(ccxt, e), ccxt.NotSupported)]
    return {"ccxt": ccxt.__version__, "exchanges": exchanges, "sandboxes": sandboxes}


def render(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=1) + "\n"


def main() -> None:
    catalog = derive()
    CATALOG.write_text(render(catalog))
    print(
        f"{CATALOG}: ccxt {catalog['ccxt']}, {len(catalog['exchanges'])} exchanges, "
        f"{len(catalog['sandboxes'])} with a sandbox"
    )


if __name__ == "__main__":
    main()
