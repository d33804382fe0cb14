#!/usr/bin/env python3
"""Read every file nd-asdf wrote (testdata/asdf/written/, made by `cargo test -p nd-asdf --test written`)
with python asdf (and asdf-zarr where installed) and compare with the intended values.

Usage: .venv/bin/python testdata/check_asdf_written.py   (exit status 1 on any mismatch)
"""
import json
import os
import sys
import warnings

import numpy as np

import asdf

HERE = os.path.dirname(os.path.abspath(__file__))
W = os.path.join(HERE, "asdf", "written")


def get(tree, path):
    node = tree
    for seg in path.split("/"):
        node = node[int(seg)] if isinstance(node, list) else node[seg]
    return node


def main():
    failures = 0
    checked = 0
    for name in sorted(os.listdir(W)):
        if not name.endswith(".asdf"):
            continue
        exp = os.path.join(W, "expected", name[:-5])
        index = json.load(open(os.path.join(exp, "index.json")))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any warning (bad index, unknown tag) is a failure
            try:
                af = asdf.open(os.path.join(W, name), validate_checksums=True, lazy_load=False)
            except Exception as e:  # noqa: BLE001
                print(f"FAIL {name}: {type(e).__name__}: {e}")
                failures += 1
                continue
        with af:
            for path, entry in index.items():
                try:
                    got = get(af.tree, path)
                    if type(got).__name__ == "Array":  # zarr
                        got = got[...]
                    mask = np.ma.getmaskarray(got) if isinstance(got, np.ma.MaskedArray) else None
                    got = np.asarray(np.ma.getdata(got) if mask is not None else got)
                    want = np.load(os.path.join(exp, entry["npy"]))
                    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
                    assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("=") or (
                        got.dtype.fields and [got.dtype[i].newbyteorder("=") for i in range(len(got.dtype))]
                        == [want.dtype[i].newbyteorder("=") for i in range(len(want.dtype))]
                    ), f"dtype {got.dtype} != {want.dtype}"
                    if got.dtype.fields:
                        for fld in got.dtype.names:
                            assert np.array_equal(got[fld], want[fld], equal_nan=got[fld].dtype.kind in "fc"), fld
                    else:
                        assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc"), "values differ"
                    if "mask" in entry:
                        assert mask is not None, "python sees no mask"
                        assert np.array_equal(mask, np.load(os.path.join(exp, entry["mask"]))), "mask differs"
                    checked += 1
                except Exception as e:  # noqa: BLE001
                    print(f"FAIL {name} {path}: {e}")
                    failures += 1
            if name == "w_dtypes.asdf":
                meta = af.tree["meta"]
                for k, v in meta.items():
                    if k.startswith("k"):
                        if v != k[1:]:
                            print(f"FAIL {name} meta/{k}: {v!r} != {k[1:]!r}")
                            failures += 1
                        checked += 1
                if meta["float"] != 1e20 or meta["int"] != -7 or meta["list"] != [True, None]:
                    print(f"FAIL {name} meta numbers: {meta}")
                    failures += 1
        print(f"ok   {name}")
    print(f"{checked} values checked, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
