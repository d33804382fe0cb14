"""Zarr v2 through ndfiles against zarr-python 2.x: every store of testdata/zarr/cases.json
(codecs, filters, orders, fill values, ...), against the committed .npy and zarr-python now."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

import ndfiles
from conftest import TESTDATA, assert_same, load_npy

Z = TESTDATA / "zarr"
CASES = json.loads((Z / "cases.json").read_text())


def readable(case):
    try:
        zarr.open(str(Z / case["store"]), mode="r")
    except Exception:  # a codec this venv lacks (lzma is optional)
        return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_store_matches_zarr_python(case):
    store = Z / case["store"]
    ds = ndfiles.open(store)
    assert ds.format == "zarr"
    sel = case["path"] or "/"
    arr = ds[sel]
    want_npy = load_npy(Z / case["npy"])
    if want_npy.dtype.names:  # records: not read yet
        with pytest.raises(ndfiles.Error, match="records"):
            arr[...]
        return
    got = np.asarray(arr)
    assert_same(got, want_npy, case["name"])
    if "NestedDirectoryStore" in case["note"]:
        return
    z = zarr.open(str(store), mode="r")
    if case["path"]:
        z = z[case["path"]]
    assert arr.shape == z.shape and arr.chunks == z.chunks
    assert arr.dtype == z.dtype.newbyteorder("=")
    if got.ndim:
        key = (slice(1, None, 3),) + (slice(None, None, -2),) * (got.ndim - 1)
        # zarr-python 2 takes no negative steps: numpy's indexing of its whole array
        assert_same(arr[key], z[...][key], f"{case['name']} {key}")


def test_hierarchy_keys_and_attributes():
    ds = ndfiles.open(Z / "hier.zarr")
    assert ds.keys() == ["g1/arr", "g1/g2/deep", "top"]
    g = zarr.open_group(str(Z / "hier.zarr"), mode="r")
    for k in ds.keys():
        assert ds[k].shape == g[k].shape
    meta = ds.metadata
    assert meta["nodes"]["g1"]["attributes"] == dict(g["g1"].attrs)
    assert_same(np.asarray(ds["g1/arr"]), g["g1/arr"][...])
