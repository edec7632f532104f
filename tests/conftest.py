"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of a 2-worker local Dask cluster (as ``--workers 2`` starts), started once for the tests that
    compare a Dask run with a one-process run: starting a cluster and importing the engine on its workers is most
    of their time."""
    from sim.scaleout import dask_client

    with dask_client(workers=2) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        yield str(client.scheduler.address)
