"""Reads and reductions run with the GIL released (another Python thread keeps running during
one long call); strided selections read only what they need (bytes counted by the loopback
nginx); values equal numpy's indexing of the reference library's array."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import zarr
from astropy.io import fits
from numcodecs import Zstd

import ndfiles
from conftest import assert_same, servers

S = servers()


def run_while_counting(work) -> tuple[float, int, float]:
    """Run ``work`` in a thread while this one counts; (its duration, ticks during it, the
    longest this thread waited between two ticks)."""
    stamps: list[float] = []
    span: list[float] = []
    started = threading.Event()

    def target():
        started.set()
        t0 = time.perf_counter()
        work()
        span.append(time.perf_counter() - t0)

    th = threading.Thread(target=target)
    th.start()
    started.wait()
    while th.is_alive():
        stamps.append(time.perf_counter())
    th.join()
    gaps = np.diff(stamps) if len(stamps) > 1 else np.array([span[0]])
    return span[0], len(stamps), float(gaps.max())


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 48 MiB float32 FITS image and a 48 MiB zstd Zarr array of the same values."""
    d = tmp_path_factory.mktemp("big")
    data = np.random.default_rng(3).normal(size=(3072, 4096)).astype("f4")
    fits.PrimaryHDU(data).writeto(d / "big.fits")
    z = zarr.open(str(d / "big.zarr"), mode="w", shape=data.shape, chunks=(512, 512), dtype="f4",
                  compressor=Zstd(level=1))
    z[...] = data
    return d, data


@pytest.mark.parametrize("what", ["read fits", "read zarr", "stat"])
def test_the_gil_is_released_during_one_long_call(big, what):
    d, data = big
    if what == "read zarr":
        arr = ndfiles.open(d / "big.zarr", threads=1)["/"]
        work = lambda: arr[...]  # noqa: E731
    elif what == "read fits":
        arr = ndfiles.open(d / "big.fits", threads=1)["0"]
        work = lambda: arr[...]  # noqa: E731
    else:
        arr = ndfiles.open(d / "big.fits", threads=1)["0"]
        work = lambda: ndfiles.stat(arr, threads=1, budget=1 << 20)  # noqa: E731
    span, ticks, longest = run_while_counting(work)
    # held for the whole call, this thread would not tick at all until it returned
    print(f"{what}: {span:.3f} s, {ticks} ticks of the other thread, longest wait {longest:.4f} s")
    assert ticks > 1000 and longest < span / 2, (what, span, ticks, longest)


def test_strided_reads_equal_numpy(big):
    d, data = big
    for name, sel in (("big.fits", "0"), ("big.zarr", "/")):
        arr = ndfiles.open(d / name)[sel]
        for key in [(slice(None, None, 4), slice(None, None, 4)), (slice(3000, 10, -97), slice(5, None, 3)),
                    (slice(None, None, 700), 5), (7, slice(None, None, -1000))]:
            assert_same(arr[key], data[key], f"{name} {key}")


def requested_bytes(log: Path, name: str, since: int) -> int:
    """Body bytes nginx sent for ``name`` after byte ``since`` of its access log."""
    with log.open("rb") as f:
        f.seek(since)
        lines = f.read().decode().splitlines()
    total = 0
    for line in lines:
        if f"/{name} " in line:
            total += int(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.skipif("ND_TEST_HTTP_URL" not in S, reason="no test servers (bash .ci/servers.sh)")
def test_strided_reads_fetch_fewer_bytes_over_http(big):
    """arr[::64, ::4] of a 48 MiB image fetches the 48 rows it takes (in small blocks), not the
    bounding box: counted from nginx's access log."""
    d, data = big
    root, log = Path(S["ND_TEST_HTTP_ROOT"]), Path(S["ND_TEST_HTTP_LOG"])
    name = f"big-{uuid.uuid4().hex}.fits"
    (root / name).write_bytes((d / "big.fits").read_bytes())
    try:
        opts = dict(block_size=16 << 10, cache_size=1 << 20, coalesce_gap=0, multi_range=False)
        url = f"{S['ND_TEST_HTTP_URL']}/{name}"
        time.sleep(0.2)
        mark = log.stat().st_size
        arr = ndfiles.open(url, **opts)["0"]
        assert_same(arr[::64, ::4], data[::64, ::4])
        time.sleep(0.5)  # nginx writes its log after the response
        sparse = requested_bytes(log, name, mark)
        box = data[: 3072 - 63].nbytes  # the bounding box a box read would fetch
        rows = 48 * 4096 * 4
        print(f"strided read fetched {sparse} bytes; rows taken {rows}; bounding box {box}")
        assert rows <= sparse < box / 8, (sparse, rows, box)
        # the same selection read as its bounding box, for comparison
        mark = log.stat().st_size
        whole = ndfiles.open(url, **opts)["0"][: 3072 - 63]
        assert_same(whole[::64, ::4], data[::64, ::4])
        time.sleep(0.5)
        assert requested_bytes(log, name, mark) >= box
    finally:
        os.unlink(root / name)
