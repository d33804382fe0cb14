#!/usr/bin/env python3
"""Generate (once) the benchmark stores with zarr-python 2.18 and time zarr-python on them.

  zarr_python_bench.py gen DIR     write DIR/{zstd,blosc_lz4,raw}.zarr: uint16 (1024, 512, 512)
                                   (512 MiB), chunks (64, 256, 256)
  zarr_python_bench.py time DIR    print JSON {case: median seconds} for zarr-python reads and writes

Timing is in-process (no interpreter start-up): the median of N runs, as criterion reports medians.
"""
import json
import os
import shutil
import sys
import time

import numpy as np
import zarr
from numcodecs import Blosc, Zstd

SHAPE = (1024, 512, 512)
CHUNKS = (64, 256, 256)
COMPRESSORS = {
    "zstd": Zstd(level=1),
    "blosc_lz4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "raw": None,
}
CUTOUT = np.s_[100:164, 200:264, 300:364]


def data():
    rng = np.random.default_rng(42)
    z = np.arange(SHAPE[0], dtype=np.uint16)[:, None, None]
    y = np.arange(SHAPE[1], dtype=np.uint16)[None, :, None]
    x = np.arange(SHAPE[2], dtype=np.uint16)[None, None, :]
    a = (z * 7 + y * 3 + x) & 0x0FFF
    a = a + rng.integers(0, 64, size=SHAPE, dtype=np.uint16)  # detector-like noise
    return a.astype(np.uint16)


def gen(d):
    os.makedirs(d, exist_ok=True)
    a = None
    for name, comp in COMPRESSORS.items():
        p = os.path.join(d, name + ".zarr")
        if os.path.exists(os.path.join(p, ".zarray")):
            continue
        if a is None:
            a = data()
        z = zarr.open_array(p, mode="w", shape=SHAPE, chunks=CHUNKS, dtype="<u2", compressor=comp)
        z[...] = a
    print("stores in", d)


def median(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def timing(d, n=5):
    out = {}
    for name in COMPRESSORS:
        z = zarr.open_array(os.path.join(d, name + ".zarr"), mode="r")
        out[f"read_full/{name}"] = median(lambda: z[...], n)
        out[f"read_cutout/{name}"] = median(lambda: z[CUTOUT], 50)
    a = zarr.open_array(os.path.join(d, "raw.zarr"), mode="r")[...]
    for name, comp in COMPRESSORS.items():
        p = os.path.join(d, "py_write_" + name + ".zarr")

        def w():
            z = zarr.open_array(p, mode="w", shape=SHAPE, chunks=CHUNKS, dtype="<u2", compressor=comp)
            z[...] = a

        out[f"write_full/{name}"] = median(w, 3)
        shutil.rmtree(p, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    gen(d) if cmd == "gen" else timing(d)
