#!/usr/bin/env python3
"""Read every array nd-zarr wrote into testdata/zarr/v3/written/ with zarr-python 3 and compare
with the values zarr-python 3 read from its own stores (testdata/zarr/v3/expected/).

Usage (the zarr-python 3 venv, see gen_zarr_v3.py):
    cargo run -p nd-zarr --example write_testdata_v3
    .venv-zarr3/bin/python testdata/check_zarr3_written.py
Exit status 1 when anything differs.
"""
import json
import os
import sys
import warnings

import numpy as np
import zarr

warnings.filterwarnings("ignore")
# zarr-python 3.1.6 cannot write or read a sharded raw_bytes (numpy V) array of its own:
# `TypeError: unhashable type: 'writeable void-scalar'` (its sharding codec hashes the fill value)
KNOWN = {"matrix.V3.zstd_sharded": "unhashable type: 'writeable void-scalar'"}
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zarr", "v3")
W = os.path.join(HERE, "written")


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.dtype.kind in "mM":
        return bool(np.array_equal(a.view("i8"), b.view("i8")))
    if a.dtype.kind == "V":
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def main():
    bad, known = [], []
    cases = json.load(open(os.path.join(W, "written.json")))
    groups = {}
    for c in cases:
        try:
            st = os.path.join(W, c["store"])
            # through consolidated metadata (nd writes it) and without it
            if c["store"] not in groups:
                groups[c["store"]] = zarr.open_consolidated(st, mode="r", zarr_format=3)
            g = groups[c["store"]]
            a = g[c["path"]]
            b = zarr.open_array(st, path=c["path"], mode="r", zarr_format=3, use_consolidated=False)
            want = np.load(os.path.join(HERE, c["npy"]))
            for x, how in [(a, "consolidated"), (b, "walked")]:
                got = x[...]
                if not same(got, want):
                    bad.append(f"{c['name']} ({how}): values differ")
            if "dimension_names" in c and list(a.metadata.dimension_names) != c["dimension_names"]:
                bad.append(f"{c['name']}: dimension_names {a.metadata.dimension_names}")
        except Exception as e:  # noqa: BLE001
            if KNOWN.get(c["name"], "?") in str(e):
                known.append(f"{c['name']}: {type(e).__name__}: {e}")
            else:
                bad.append(f"{c['name']}: {type(e).__name__}: {e}")
    try:
        g = groups["rewritten.zarr"]
        assert g.attrs["title"] == "written by nd-zarr", dict(g.attrs)
        assert g.attrs["list"] == [1, 2.5, None], dict(g.attrs)
        listed = sorted(p for p, n in g.members(max_depth=None) if isinstance(n, zarr.Array))
        assert listed == sorted(c["path"] for c in cases if c["store"] == "rewritten.zarr"), listed
        m = groups["matrix.zarr"]
        assert m["float64/zstd_sharded"].attrs["sharded"] is True
        assert m["float64/zstd_sharded"].shards == (6, 4) and m["float64/zstd_sharded"].chunks == (3, 2)
    except AssertionError as e:
        bad.append(f"hierarchy: {e!r}")
    print(f"{len(cases) + 1 - len(bad) - len(known)} of {len(cases) + 1} checks passed: arrays written by nd read back by "
          f"zarr-python {zarr.__version__} (consolidated and walked) as zarr-python read the originals")
    for k in known:
        print("  zarr-python limitation (fails on its own stores too):", k)
    for b in bad:
        print("  FAIL", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
