"""Run a range of draws chunk by chunk: in this process or on a Dask ``distributed`` cluster, with checkpoints.

The draws are cut into chunks on one grid for the whole run (chunk ``k`` holds draws
``k*chunk_size … (k+1)*chunk_size-1``, clipped to the range asked for): a chunk is the unit of work sent to a worker
and the unit written to disk (:mod:`sim.checkpoint`). Each chunk is :func:`compute_chunk` of the prepared model;
since draw ``i``'s random numbers depend only on the seed, the component and ``i`` (:mod:`sim.rng`), the arrays
put together are bit-identical whether the chunks ran here, on two workers or on fifty, in any order, in one go or
across an interruption.

With a Dask client, the model is sent once to every worker (``Client.scatter``), one task per chunk is submitted
(``Client.submit``) and chunks are written to disk as they finish (``as_completed``); the scheduling, the workers
and the retries are Dask's own.

References
----------
Dask.distributed, "Futures": https://distributed.dask.org/en/stable/client.html
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from sim.checkpoint import ChunkStore
from sim.cohort import Model, run_chunk
from sim.errors import InputError
from sim.rng import BLOCK_SIZE, Streams

if TYPE_CHECKING:
    from distributed import Client

CONNECT_TIMEOUT_S = 10
"""Seconds allowed to reach a Dask scheduler (``--scheduler``) and to find a worker there."""
NO_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
"""Dask key unset for the local workers. Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``,
which also fixes glibc's mmap threshold at 128 KiB: every large temporary array of the engine is then mapped and
unmapped afresh, and a 64-draw chunk of the whole region took 24 s of system time instead of 2 s (5.8 million
page faults instead of 93,000), about twice the CPU time. Unset, glibc's adaptive thresholds apply, as in a
single-process run."""


def whole_blocks(draws: int) -> int:
    """``draws`` rounded up to whole blocks of :data:`sim.rng.BLOCK_SIZE` (the cohort engine simulates those)."""
    return -(-draws // BLOCK_SIZE) * BLOCK_SIZE


def chunk_plan(start: int, stop: int, chunk_size: int, *, pad: bool = True) -> list[tuple[int, int]]:
    """Chunks ``(a, b)`` covering draws ``start … stop-1`` on the run's grid of ``chunk_size``.

    With ``pad`` (the cohort engine), ``stop`` is first rounded up to whole blocks and ``start`` must be a multiple
    of the block; without (the agent engine, one draw at a time), the chunks cover exactly ``start … stop-1``.

    >>> chunk_plan(0, 200, 128)
    [(0, 128), (128, 256)]
    >>> chunk_plan(192, 300, 128)
    [(192, 256), (256, 320)]
    """
    if pad and start % BLOCK_SIZE:
        raise ValueError(f"start must be a multiple of {BLOCK_SIZE}, got {start}")
    if not 0 <= start < stop:
        raise ValueError(f"need 0 <= start < stop, got {start}, {stop}")
    end = whole_blocks(stop) if pad else stop
    bounds, a = [], start
    while a < end:
        b = min((a // chunk_size + 1) * chunk_size, end)
        bounds.append((a, b))
        a = b
    return bounds


def compute_chunk(model: Model, engine: str, start: int, stop: int,
                  on_year: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """The raw arrays of draws ``start … stop-1`` (the task a worker runs; ``stop - start`` rows)."""
    if engine == "agents":
        from sim.agents import run_draws_agents

        return run_draws_agents(model, start, stop, on_year)
    return run_chunk(model, Streams(model.scenario.seed), start, stop, on_year=on_year)


def run_chunks(
    model: Model,
    start: int,
    stop: int,
    *,
    engine: str = "cohort",
    store: ChunkStore | None = None,
    client: Client | None = None,
    on_year: Callable[[int], None] | None = None,
    on_chunk: Callable[[int, int, bool], None] | None = None,
) -> dict[str, np.ndarray]:
    """Raw arrays of draws ``start … stop-1``, chunk by chunk, checkpointed in ``store``, on ``client`` if given.

    Parameters
    ----------
    model
        The prepared model (:func:`sim.cohort.prepare`).
    start, stop
        Draws to run (``start`` a multiple of the block for the cohort engine).
    engine
        ``cohort`` (whole blocks are simulated, the extra draws dropped) or ``agents``.
    store
        Finished chunks: those already there are loaded, not simulated; each new chunk is written when it
        finishes.
    client
        A ``distributed.Client``: chunks run as tasks on its workers. ``None``: in this process.
    on_year
        Progress, called with a number of draw-years simulated (or loaded).
    on_chunk
        Called with ``(a, b, reused)`` after each chunk is available (loaded or finished and written).
    """
    n_years = len(model.years)
    plan = chunk_plan(start, stop, model.scenario.chunk_size, pad=engine != "agents")
    parts: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    def finished(a: int, b: int, raw: dict[str, np.ndarray], reused: bool, *, counted: bool = False) -> None:
        if store is not None and not reused:
            store.save(a, b, raw)
        parts[(a, b)] = raw
        if on_year is not None and not counted:
            on_year((b - a) * n_years)
        if on_chunk is not None:
            on_chunk(a, b, reused)

    for a, b in plan:
        raw = store.load(a, b) if store is not None else None
        if raw is not None:
            finished(a, b, raw, True)
    todo = [c for c in plan if c not in parts]
    if client is None:
        for a, b in todo:
            finished(a, b, compute_chunk(model, engine, a, b, on_year), False, counted=True)
    elif todo:
        from distributed import as_completed

        shared = client.scatter(model, broadcast=True, hash=False)
        run_id = uuid.uuid4().hex[:12]
        futures = {client.submit(compute_chunk, shared, engine, a, b, key=f"edusim-chunk-{a}-{b}-{run_id}"): (a, b)
                   for a, b in todo}
        try:
            for future in as_completed(futures):
                a, b = futures[future]
                finished(a, b, future.result(), False)
                future.release()
        finally:
            client.cancel(list(futures))
            client.cancel([shared])
    first = plan[0][0]
    return {name: np.concatenate([parts[c][name] for c in plan])[: stop - first] for name in parts[plan[0]]}


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client | None]:
    """A ``distributed.Client``: a local cluster of ``workers`` processes, or the scheduler at ``scheduler``.

    Yields ``None`` when neither is given (run in this process). The local cluster has one thread per worker
    process (the engine is numpy: processes, not threads, run chunks side by side), listens on the loopback
    interface only, has no dashboard and is shut down on exit.

    Raises
    ------
    InputError
        ``workers`` below 1, both given, ``distributed`` not installed, the scheduler unreachable within
        :data:`CONNECT_TIMEOUT_S` seconds or without a worker.
    """
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise InputError("give --workers (a local cluster) or --scheduler (an existing one), not both",
                         key="--scheduler")
    if workers is not None and workers < 1:
        raise InputError(f"must be at least 1, got {workers}", key="--workers")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of edusim
        raise InputError(f"Dask distributed is not installed ({exc}): pip install 'dask[distributed]'") from exc
    if scheduler is not None:
        _reachable(scheduler)
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to a Dask scheduler at {scheduler}: {exc}", key="--scheduler") from exc
        with client:
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except TimeoutError as exc:
                raise InputError(f"the Dask scheduler at {scheduler} has no worker (none joined within "
                                 f"{CONNECT_TIMEOUT_S} s): start some with `dask worker {scheduler}`",
                                 key="--scheduler") from exc
            yield client
        return
    import dask

    with _workers_ignore_ctrl_c(), dask.config.set({NO_MALLOC_TRIM: None}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR,
                               # the scheduler's HTTP server (no dashboard) on any free port: never 8787 taken
                               scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    with cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Ignore SIGINT while the local workers are started: they inherit it, so Ctrl-C (sent to the whole process
    group) reaches only this process, which stops the run, keeps the finished chunks and shuts the cluster down,
    instead of every worker printing its own traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


MAX_HANDSHAKE_BYTES = 1 << 20
"""Largest first message accepted from a Dask scheduler (its handshake is a few hundred bytes)."""


def _reachable(address: str) -> None:
    """Fail fast, with a clear message, unless a Dask scheduler answers at ``address``.

    For ``tcp://`` addresses: a TCP connection is opened and the scheduler's handshake, which a Dask server sends
    unprompted on every new connection (an 8-byte little-endian length, then that many bytes), is read, all
    within :data:`CONNECT_TIMEOUT_S` seconds in total. A server that says nothing (a plain HTTP server), or says
    something that is not a Dask message, or nothing listening, gives one line naming the address.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return  # other transports: Client reports the failure itself
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise InputError(f"not a scheduler address ({exc}); expected e.g. tcp://10.0.0.5:8786",
                         key="--scheduler") from exc
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S) as sock:
            if protocol != "tcp":
                return  # TLS: the handshake is encrypted; Client's own timeout applies
            header = _read_exactly(sock, 8, deadline)
            (length,) = struct.unpack("<Q", header)
            if not 0 < length <= MAX_HANDSHAKE_BYTES:
                raise InputError(f"the server at {address} is not a Dask scheduler (it answered "
                                 f"{header!r}…); is that the scheduler's port (8786 by default)?", key="--scheduler")
            _read_exactly(sock, length, deadline)
    except TimeoutError as exc:
        raise InputError(f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s (something "
                         "listens there but does not speak Dask's protocol, or the network drops the "
                         "connection); is `dask scheduler` running there?", key="--scheduler") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot connect to a Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s "
                         f"({getattr(exc, 'strerror', None) or exc}); is `dask scheduler` running there?",
                         key="--scheduler") from exc


def _read_exactly(sock: socket.socket, n: int, deadline: float) -> bytes:
    """``n`` bytes from ``sock`` before ``deadline`` (``time.monotonic``), or :class:`TimeoutError`, or
    :class:`ConnectionError` if the peer closes first."""
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        more = sock.recv(min(n - len(data), 65536))  # socket.timeout is TimeoutError
        if not more:
            raise ConnectionError("the server closed the connection without a Dask handshake")
        data += more
    return data
