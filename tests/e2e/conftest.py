"""Fixtures of the kind e2e suite: one cluster, images and chart per session.

Skips (with the reason) where kind, docker, kubectl or helm is missing, or where kind cannot
create a cluster (e.g. no node image can be pulled); a failure after the cluster is up is a
real failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.kind import (
    Cluster,
    CommandFailed,
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
    try:
        created = create_cluster(workdir)
    except (CommandFailed, TimeoutError) as exc:
        pytest.skip(f"kind could not create a cluster here: {exc}")
    try:
        build_and_load_images(created)
        install_chart(created)
        created.kubectl("create", "namespace", created.namespace, check=False)
        yield created
    finally:
        delete_cluster(created)
