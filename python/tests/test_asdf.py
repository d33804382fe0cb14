"""ASDF through ndfiles against python asdf: every array of testdata/asdf/py (written by python
asdf) and the ASDF standard's reference files, against the arrays asdf returned (committed .npy
or md5) and against asdf itself, run now."""

from __future__ import annotations

import hashlib
import json

import asdf
import numpy as np

import ndfiles
from conftest import TESTDATA, assert_same, load_npy


def cases():
    """(file, expected dir) for python asdf's files and the standard's reference files."""
    py = TESTDATA / "asdf" / "py"
    for d in sorted((py / "expected").iterdir()):
        f = py / f"{d.name}.asdf"
        if f.exists():
            yield f, d
    std = TESTDATA / "asdf-standard"
    for ver in sorted((TESTDATA / "asdf" / "expected").iterdir()):
        for d in sorted(ver.iterdir()):
            for f in sorted(std.glob(f"{ver.name}/**/{d.name}.asdf")):
                yield f, d


def test_arrays_match_asdfs_npy():
    n = 0
    files = 0
    for path, exp in cases():
        index = json.loads((exp / "index.json").read_text())
        ds = ndfiles.open(path)
        keys = set(ds.keys())
        files += 1
        for key, entry in index.items():
            if key not in keys:
                continue
            arr = ds[key]
            if arr.dtype.kind not in "biufc":
                continue
            what = f"{path.name} {key}"
            got = np.asarray(arr)
            if "npy" in entry:
                assert_same(got, load_npy(exp / entry["npy"]), what)
            else:
                assert got.shape == tuple(entry["shape"]), what
                assert got.dtype == np.dtype(entry["dtype"]), what
                assert hashlib.md5(np.ascontiguousarray(got).tobytes()).hexdigest() == entry["md5"], what
            if "mask" in entry and f"{key}/mask" in keys:
                assert_same(np.asarray(ds[f"{key}/mask"]), load_npy(exp / entry["mask"]), what)
            n += 1
    assert files > 20 and n > 100, (files, n)


def node(tree, path):
    for part in path.split("/"):
        tree = tree[int(part)] if isinstance(tree, (list, tuple)) else tree[part]
    return tree


def test_arrays_match_asdf_now():
    n = 0
    for path in sorted((TESTDATA / "asdf" / "py").glob("*.asdf")):
        ds = ndfiles.open(path)
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            for key in ds.keys():
                arr = ds[key]
                if arr.dtype.kind not in "biufc" or key.endswith("/mask"):
                    continue
                try:
                    want = node(af.tree, key)
                except (KeyError, IndexError, TypeError, ValueError):
                    # not reached the same way in asdf's tree, or a damaged block asdf refuses
                    # (compared with the .npy asdf wrote when it could, above)
                    continue
                if not isinstance(want, np.ndarray):  # Zarr inside ASDF needs asdf_zarr
                    continue
                want = np.ma.getdata(want)
                assert_same(np.asarray(arr), np.asarray(want), f"{path.name} {key}")
                # a section with a step, as numpy does it on asdf's array
                if want.ndim >= 1 and want.shape[0] > 2:
                    assert_same(arr[1::2], np.asarray(want)[1::2], f"{path.name} {key}[1::2]")
                n += 1
    assert n > 50, n


def test_metadata_is_the_tree():
    path = TESTDATA / "asdf" / "py" / "compressed_zlib.asdf"
    ds = ndfiles.open(path)
    meta = ds.metadata
    assert "core/asdf-" in meta["tree"]["!"]
    assert ds.format == "asdf"
    assert ds.keys() == ["data", "small"]
