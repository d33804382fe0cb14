#!/usr/bin/env python3
"""Time zarr-python 3 and tensorstore on the store `nd-zarr-v3-bench bench DIR` wrote (same
reads: the whole array, one inner chunk), interleaved rounds, medians. Usage (the venv from
testdata/requirements-zarr3.txt): python bench/zarr-v3/bench_py.py DIR [ROUNDS]
"""
import statistics
import sys
import time

import tensorstore as ts
import zarr

d = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
z = zarr.open_array(d, mode="r")
t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": d}}, open=True).result()
one = (slice(320, 384), slice(64, 128), slice(448, 512))
assert (z[one] == t[one].read().result()).all()
times = {k: [] for k in ["zp_full", "ts_full", "zp_one", "ts_one"]}


def timed(key, f):
    s = time.perf_counter()
    f()
    times[key].append(time.perf_counter() - s)


for r in range(rounds):
    order = [("zp", lambda: z[...], lambda: z[one]), ("ts", lambda: t.read().result(), lambda: t[one].read().result())]
    if r % 2:
        order.reverse()
    for name, full, _ in order:
        timed(name + "_full", full)
    for _ in range(10):
        for name, _, o in order:
            timed(name + "_one", o)
m = {k: statistics.median(v) for k, v in times.items()}
print(f"full read:        zarr-python {m['zp_full']:8.4f} s   tensorstore {m['ts_full']:8.4f} s")
print(f"one inner chunk:  zarr-python {m['zp_one']:8.5f} s   tensorstore {m['ts_one']:8.5f} s")
