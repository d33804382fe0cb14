#!/usr/bin/env python3
"""Read every store nd-zarr wrote into testdata/zarr/written/ with zarr-python 2.18 and compare
with the values zarr-python read from the original stores (testdata/zarr/expected/).

Usage: .venv/bin/python testdata/check_zarr_written.py   (after `cargo run -p nd-zarr --example write_testdata`)
Exit status 1 when anything differs.
"""
import json
import os
import sys

import numpy as np
import zarr

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zarr")
W = os.path.join(HERE, "written")


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind in "mM":  # NaT != NaT: compare the integers
        return bool(np.array_equal(a.view("i8"), b.view("i8")))
    if a.dtype.kind == "V" and a.dtype.fields:
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def main():
    bad = []
    cases = json.load(open(os.path.join(W, "written.json")))
    for c in cases:
        try:
            got = zarr.open(os.path.join(W, c["store"]), mode="r")[...]
            want = np.load(os.path.join(HERE, c["npy"]))
            if not same(got, want):
                bad.append(f"{c['name']}: values differ")
        except Exception as e:  # noqa: BLE001
            bad.append(f"{c['name']}: {type(e).__name__}: {e}")
    # the hierarchy, through consolidated metadata
    h = zarr.open_consolidated(os.path.join(W, "hier.zarr"), mode="r")
    try:
        assert h.attrs["title"] == "written by nd-zarr"
        assert h["a/b"].attrs["level"] == 2
        d = h["a/b/data"]
        assert d.attrs["units"] == "K"
        want = (np.arange(120) * 0.5).reshape(10, 12)
        want[8:] = np.nan
        assert same(d[...], want), d[...]
        assert list(h["top"][...]) == [0, 10, 20, 30, 40, 50, 60]
        assert sorted(h.group_keys()) == ["a"] and sorted(h.array_keys()) == ["top"]
    except AssertionError as e:
        bad.append(f"hier.zarr: {e!r}")
    print(f"{len(cases) + 1 - len(bad)} of {len(cases) + 1} stores read back by zarr-python {zarr.__version__} as expected")
    for b in bad:
        print("  FAIL", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
