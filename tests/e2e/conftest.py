"""Fixtures of the kind e2e suite: one cluster, images and chart per session (docs/kind.md).

Skips (with the reason) only where the suite cannot run at all: no Docker engine can run, or
kind, kubectl or helm is missing and cannot be built. Everything after that, from building the
node image to the last check, is a real failure when it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.kind import (
    Cluster,
    build_and_load_images,
    create_cluster,
    delete_cluster,
    install_chart,
    missing_tools,
)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    workdir: Path = tmp_path_factory.mktemp("kind")
    created = create_cluster(workdir)
    try:
        build_and_load_images(created)
        install_chart(created)
        created.kubectl("create", "namespace", created.namespace, check=False)
        yield created
    finally:
        delete_cluster(created)
