"""The order fence follows the execution's context (task), and nothing else."""

from __future__ import annotations

import asyncio

import pytest

from fks_executor.errors import LeaseLost
from fks_executor.fence import check_fence, install_fence


def lost() -> None:
    raise LeaseLost("gone")


async def test_a_fence_applies_to_its_own_task_only() -> None:
    check_fence()  # none installed: orders may go

    async def fenced() -> None:
        install_fence(lost)
        with pytest.raises(LeaseLost):
            check_fence()

    async def free() -> None:
        await asyncio.sleep(0)
        check_fence()

    await asyncio.gather(asyncio.create_task(fenced()), asyncio.create_task(free()))
    check_fence()
