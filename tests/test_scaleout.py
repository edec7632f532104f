"""Chunks of draws run here or on Dask workers, checkpointed: the arrays are bit-identical whichever way."""

from __future__ import annotations

import contextlib
import http.server
import socketserver
import threading
import time

import numpy as np
import pytest
from scenario_files import write_small

from sim import scaleout
from sim.checkpoint import ChunkStore, manifest
from sim.cohort import prepare
from sim.ensemble import run_draws
from sim.errors import InputError
from sim.scaleout import chunk_plan, dask_client, run_chunks
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return prepare(load_scenario(write_small(tmp_path_factory.mktemp("s"))))  # chunk size 64


@pytest.fixture(scope="module")
def reference(model):
    """Draws 0 … 149 in one go, single process, no checkpoint."""
    return run_draws(model, 0, 150)


def _store(tmp_path, resume=False) -> ChunkStore:
    record = manifest(scenario_sha256="x" * 64, seed=1, engine="cohort", chunk_size=64)
    return ChunkStore.open(tmp_path / "chunks", record, resume=resume)


def _assert_same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.parametrize(
    ("start", "stop", "size", "pad", "expected"),
    [
        (0, 200, 128, True, [(0, 128), (128, 256)]),
        (0, 64, 512, True, [(0, 64)]),
        (192, 300, 128, True, [(192, 256), (256, 320)]),  # on the run's grid, not restarted at 192
        (0, 150, 64, True, [(0, 64), (64, 128), (128, 192)]),
        (3, 70, 64, False, [(3, 64), (64, 70)]),  # the agent engine: exactly the draws asked for
    ],
)
def test_chunk_plan(start, stop, size, pad, expected):
    assert chunk_plan(start, stop, size, pad=pad) == expected


def test_chunk_plan_rejects_a_start_inside_a_block():
    with pytest.raises(ValueError, match="multiple of 64"):
        chunk_plan(10, 100, 64)


def test_checkpointed_chunks_give_the_arrays_of_one_plain_run(model, reference, tmp_path):
    store = _store(tmp_path)
    _assert_same(run_chunks(model, 0, 150, store=store), reference)
    assert store.finished() == [(0, 64), (64, 128), (128, 192)]
    # and the same arrays when every chunk is loaded back (nothing simulated)
    seen = []
    again = run_chunks(model, 0, 150, store=store, on_chunk=lambda a, b, reused: seen.append(reused))
    _assert_same(again, reference)
    assert seen == [True, True, True]


def test_batches_of_draws_put_together_are_the_plain_run(model, reference):
    first, second = run_chunks(model, 0, 64), run_chunks(model, 64, 150)
    _assert_same({k: np.concatenate([first[k], second[k]]) for k in first}, reference)


def test_an_interrupted_run_resumed_is_identical_to_an_uninterrupted_one(model, reference, tmp_path):
    def stop_after_first(a, b, reused):
        if not reused:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_chunks(model, 0, 150, store=_store(tmp_path), on_chunk=stop_after_first)
    store = _store(tmp_path, resume=True)
    assert store.finished() == [(0, 64)]
    progress: list[int] = []
    reused: list[bool] = []
    resumed = run_chunks(model, 0, 150, store=store, on_year=progress.append,
                         on_chunk=lambda a, b, r: reused.append(r))
    _assert_same(resumed, reference)
    assert reused == [True, False, False]
    assert sum(progress) == 192 * len(model.years)  # draw-years of whole blocks, loaded ones included


def test_run_draws_keeps_its_signature_and_takes_a_store(model, reference, tmp_path):
    _assert_same(run_draws(model, 0, 150, None, store=_store(tmp_path)), reference)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "--workers: must be at least 1, got 0"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, "not both"),
        ({"scheduler": "foo"}, "--scheduler: not a scheduler address"),
        ({"scheduler": "tcp://127.0.0.1:1"}, "--scheduler: cannot connect to a Dask scheduler at tcp://127.0.0.1:1"),
    ],
)
def test_bad_cluster_options_are_input_errors(kwargs, message):
    with pytest.raises(InputError) as info, dask_client(**kwargs):
        pass
    assert message in str(info.value)


def test_no_cluster_options_run_in_this_process():
    with dask_client() as client:
        assert client is None


@pytest.mark.slow
def test_two_local_dask_workers_give_bit_identical_arrays_and_resume(model, reference, tmp_path):
    """A 2-worker LocalCluster: the same arrays as one process; interrupted there and resumed, the same again."""
    with dask_client(workers=2) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        _assert_same(run_chunks(model, 0, 150, client=client), reference)

        def stop_after_first(a, b, reused):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_chunks(model, 0, 150, client=client, store=_store(tmp_path), on_chunk=stop_after_first)
        store = _store(tmp_path, resume=True)
        assert len(store.finished()) == 1
        _assert_same(run_chunks(model, 0, 150, client=client, store=store), reference)
        assert len(store.finished()) == 3


# -- --scheduler at something that is not a Dask scheduler: one line, within the time limit (issue 11, item 6) --

@contextlib.contextmanager
def _server(answer: bytes | None):
    """A TCP server on 127.0.0.1 that accepts connections and sends ``answer`` (``None``: a plain HTTP server,
    which says nothing until it is sent a request). Yields its port."""
    if answer is None:
        server: socketserver.TCPServer = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                                          http.server.SimpleHTTPRequestHandler)
    else:
        class Junk(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(answer)
                time.sleep(3)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Junk)
        server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("answer", "message", "limit_s"), [
    (None, "no Dask scheduler answered at tcp://127.0.0.1:{port} within 2 s", 6),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "is not a Dask scheduler", 2),
    (b"\x05\x00\x00", "no Dask scheduler answered", 6),  # a few bytes, then silence
])
def test_a_scheduler_address_that_is_not_dask_fails_in_one_line_within_the_limit(monkeypatch, answer, message,
                                                                                    limit_s):
    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT_S", 2)  # the 10 s of the command line, shortened for the test
    with _server(answer) as port:
        begun = time.monotonic()
        with pytest.raises(InputError) as info, dask_client(scheduler=f"tcp://127.0.0.1:{port}"):
            pass
        assert time.monotonic() - begun < limit_s
    text = str(info.value)
    assert message.format(port=port) in text and "\n" not in text and text.startswith("<command line>: --scheduler")


def test_the_scheduler_check_accepts_a_real_dask_scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        scaleout._reachable(cluster.scheduler_address)  # no error
