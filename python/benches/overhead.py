#!/usr/bin/env python3
"""What each step of a small FITS cutout costs from Python, per call: `ndfiles.open`, `ds["0"]`,
`arr[cut]`, the three together, and nd's own parts of them (the base class `_ndfiles.Dataset`
opened without the Python subclass, the read alone into a preallocated array). CPU time per call (process time: less
sensitive to a loaded machine than wall time), the median of 5 runs of N calls each, in
microseconds; then the wall time of the whole cutout (open included), each call on its own
clock, the median; with `--nd`, nd from Rust timed the same way (`bench_read N cutout`).

    python python/benches/overhead.py [IMAGE.fits] [--calls 2000] [--nd target/release/examples/bench_read]

IMAGE defaults to the benchmark's 8192x8192 float32 image (`bench.py` writes it); the cutout is
its [4000:4100, 4000:4100], as `bench.py`'s fits_cutout.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import ndfiles
from ndfiles import _ndfiles

ROOT = Path(__file__).resolve().parents[2]


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """Median over 5 runs of the CPU microseconds one call takes."""
    fn()
    runs = []
    for _ in range(5):
        c0 = time.process_time()
        for _ in range(calls):
            fn()
        runs.append((time.process_time() - c0) / calls * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", nargs="?", type=Path,
                   default=ROOT / "target" / "bench-data" / "full" / "image-8192x8192.fits")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--nd", type=Path, help="the bench_read example, for nd from Rust")
    a = p.parse_args(argv)
    img = str(a.image)
    cut = (slice(4000, 4100), slice(4000, 4100))
    ds = ndfiles.open(img)
    arr = ds["0"]
    out = np.empty((100, 100), arr.dtype)
    steps: dict[str, Callable[[], Any]] = {
        "ndfiles.open(img)": lambda: ndfiles.open(img),
        'ds["0"]': lambda: ds["0"],
        "arr[cut]": lambda: arr[cut],
        'ndfiles.open(img)["0"][cut]': lambda: ndfiles.open(img)["0"][cut],
        "nd: _ndfiles.Dataset + warnings": lambda: _ndfiles.Dataset(img)._warnings_so_far(),
        "nd: the read alone": lambda: _ndfiles.read_into(arr, [4000, 4000], [4100, 4100], out),
    }
    res = {name: per_call(fn, a.calls) for name, fn in steps.items()}
    for name, us in res.items():
        print(f"{name:32s} {us:8.1f} us")
    # as bench_read times nd from Rust: each call on its own clock, the median
    one = steps['ndfiles.open(img)["0"][cut]']
    walls = []
    for _ in range(a.calls):
        t0 = time.perf_counter()
        one()
        walls.append(time.perf_counter() - t0)
    res["wall"] = statistics.median(walls) * 1e6
    print(f"{'open+cutout, median call (wall)':32s} {res['wall']:8.1f} us")
    if a.nd:
        got = subprocess.run([str(a.nd), str(a.calls), "cutout", img, "0", "4000:4100,4000:4100"],
                             check=True, capture_output=True, text=True).stdout.split("\n")
        secs = sorted(float(line.split()[0]) for line in got if line.strip())
        res["rust"] = secs[len(secs) // 2] * 1e6
        print(f"{'nd from Rust, median call (wall)':32s} {res['rust']:8.1f} us")
    return res


if __name__ == "__main__":
    main()
