"""helm is built (once per machine) before the chart's tests start, not inside one's timeout."""

from __future__ import annotations

import pytest

from tests.unit.chart.helm import prebuild_helm


def pytest_collection_finish(session: pytest.Session) -> None:
    prebuild_helm(session)
