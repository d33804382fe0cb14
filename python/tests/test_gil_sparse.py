"""Reads and reductions run with the GIL released (they fetch from an HTTP server that is a Python
thread of the same process); strided selections read only what they need (bytes counted by the loopback
nginx); values equal numpy's indexing of the reference library's array."""

from __future__ import annotations

import http.server
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


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves the files of ``directory`` with single byte ranges (HEAD and GET)."""

    directory: Path

    def log_message(self, *args):  # quiet
        pass

    def _body(self) -> tuple[bytes, int, str | None]:
        data = (self.directory / self.path.lstrip("/")).read_bytes()
        rng = self.headers.get("Range")
        if not rng:
            return data, 200, None
        first, last = rng.split("=", 1)[1].split("-")
        start = int(first) if first else len(data) - int(last)
        end = min(int(last), len(data) - 1) if first and last else len(data) - 1
        return data[start : end + 1], 206, f"bytes {start}-{end}/{len(data)}"

    def _send(self, with_body: bool):
        try:
            body, code, content_range = self._body()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self.send_error(404)
            return
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if content_range:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self):
        self._send(False)

    def do_GET(self):
        self._send(True)


@pytest.fixture(scope="module")
def python_http(big):
    """An HTTP server on 127.0.0.1 running in a thread of this Python process: it can answer only
    while the calling thread has released the GIL."""
    d, _ = big
    handler = type("Handler", (RangeHandler,), {"directory": d})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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
def test_the_gil_is_released_during_io_and_decode(big, python_http, what):
    """The file is served by a Python thread of this process, so every byte nd fetches needs that
    thread to run: holding the GIL through the call, nd would wait for an answer that cannot come
    and fail with its timeout. Each call fetches many blocks (small block size, no cache) and
    decodes them inside the same GIL-free section."""
    d, data = big
    opts = dict(threads=1, timeout=20, block_size=1 << 20, cache_size=0)
    if what == "read zarr":
        # a Zarr store over HTTP: chunk by chunk (zstd decode between the fetches)
        arr = ndfiles.open(f"{python_http}/big.zarr", **opts)["/"]
        assert_same(arr[...], data)
    elif what == "read fits":
        arr = ndfiles.open(f"{python_http}/big.fits", **opts)["0"]
        assert_same(arr[...], data)
    else:
        arr = ndfiles.open(f"{python_http}/big.fits", **opts)["0"]
        s = ndfiles.stat(arr, threads=1, budget=1 << 20)
        assert s["count"] == data.size
        assert s["sum"] == pytest.approx(float(data.sum(dtype="f8")), rel=1e-9)


def test_small_reads_from_a_url_release_the_gil(big, python_http):
    """A small cutout keeps the GIL only when it is a copy from a local file; from a URL it
    releases it (held, the request would wait for this process's server thread until the
    timeout)."""
    d, data = big
    # this server answers single ranges only
    opts = dict(threads=1, timeout=20, block_size=1 << 20, cache_size=0, multi_range=False)
    arr = ndfiles.open(f"{python_http}/big.fits", **opts)["0"]
    t0 = time.monotonic()
    assert_same(arr[100:110, 200:260], data[100:110, 200:260])
    assert_same(arr[7], data[7])
    assert time.monotonic() - t0 < 15


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
