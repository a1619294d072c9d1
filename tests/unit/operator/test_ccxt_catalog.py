"""The operator's ccxt catalog (operator/fks_operator/ccxt_catalog.json) is the installed
ccxt's: same exchange ids, same sandboxes, by the executor's sandbox check. When this fails
after a ccxt upgrade: ``.venv/bin/python -m hack.ccxt_catalog``."""

from __future__ import annotations

import json

from hack.ccxt_catalog import derive

from fks_operator.accounts import CATALOG_PATH


def test_the_catalog_file_is_the_installed_ccxts() -> None:
    stored = json.loads(CATALOG_PATH.read_text())
    installed = derive()
    assert stored["exchanges"] == installed["exchanges"], "run: python -m hack.ccxt_catalog"
    assert stored["sandboxes"] == installed["sandboxes"], "run: python -m hack.ccxt_catalog"
