"""python asdf on the files `cargo bench -p nd-asdf` writes (median of N runs, in-process timings)."""
import os
import statistics
import sys
import time

import numpy as np

import asdf

D = os.environ.get("ND_ASDF_BENCH_DIR", "/tmp/nd-asdf-bench")


# ND_BENCH_CPU=1: CPU time of the process (time.process_time) instead of wall time, for loaded
# machines; compare with `examples/open_many` (which reports both).
CLOCK = time.process_time if os.environ.get("ND_BENCH_CPU") else time.perf_counter


MIN = os.environ.get("ND_BENCH_MIN")  # report the fastest run (robust on a loaded machine)


def t(f, n=5):
    xs = []
    for _ in range(n):
        s = CLOCK()
        f()
        xs.append(CLOCK() - s)
    return min(xs) if MIN else statistics.median(xs)


def open_touch():
    with asdf.open(os.path.join(D, "many.asdf")) as af:
        arr = af["arrays"]
        return sum(float(np.asarray(arr[f"a{i}"])[0]) for i in range(5000))


def open_only():
    with asdf.open(os.path.join(D, "many.asdf")) as af:
        return len(af["arrays"])


def read(name):
    def f():
        with asdf.open(os.path.join(D, name), memmap=False) as af:
            return np.array(af["data"]).nbytes
    return f


def cutout():
    with asdf.open(os.path.join(D, "mosaic.asdf")) as af:
        return af["mosaic"][1500:2500, 700:1700].nbytes


ONLY = os.environ.get("ND_BENCH_ONLY")  # a substring of the names to run

for name, f, n in [("open_5000_blocks_touch_all", open_touch, 3), ("open_5000_blocks", open_only, 3),
                   ("read_256MiB_uncompressed", read("big.asdf"), 5), ("read_256MiB_zlib", read("big_zlib.asdf"), 3),
                   ("zarr_mosaic_cutout_1000x1000", cutout, 5)]:
    if ONLY and ONLY not in name:
        continue
    try:
        print(f"{name}: {t(f, n):.4f} s")
    except Exception as e:  # noqa: BLE001
        print(f"{name}: error {e}", file=sys.stderr)
