"""Zarr v3 arrays of the variable-length types `string` (vlen-utf8) and `bytes` (vlen-bytes)
through ndfiles, against zarr-python 3: nd gives fixed-width numpy `U<w>` / `S<w>` (`w` the
longest element of the array, at least 1), zarr-python 3 StringDType / object arrays; the values
are the same once zarr-python's are converted with numpy. The committed fixtures of
testdata/zarr/v3 (testdata/gen_zarr_v3.py) and arrays written here by zarr-python 3."""

from __future__ import annotations

import json

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", minversion="3")

import zarr.codecs as zc  # noqa: E402
from zarr.core.dtype import VariableLengthBytes, VariableLengthUTF8  # noqa: E402

import ndfiles  # noqa: E402
from conftest import TESTDATA, assert_same, load_npy  # noqa: E402

V3 = TESTDATA / "zarr" / "v3"
MANIFEST = json.loads((V3 / "manifest.json").read_text())
VLEN = [c for c in MANIFEST["cases"] if "zarr_python_dtype" in c]


def as_fixed(values: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """zarr-python 3's StringDType / object values as nd reads them: `U<w>` / `S<w>`, `w` the
    longest item (at least 1), or `like`'s dtype."""
    items = np.asarray(values, dtype=object).reshape(-1).tolist()
    if like is not None:
        dt = like.dtype
    else:
        text = all(isinstance(v, str) for v in items)
        w = max([1] + [len(v) for v in items])
        dt = np.dtype(f"U{w}" if text else f"S{w}")
    return np.array(items, dtype=dt).reshape(np.shape(values))


def test_fixtures_are_there():
    assert len(VLEN) >= 18
    kinds = {c["zarr_python_dtype"] for c in VLEN}
    assert "object" in kinds and any(k.startswith("StringDType") for k in kinds), kinds


@pytest.mark.parametrize("case", VLEN, ids=[c["name"] for c in VLEN])
def test_fixture_matches_zarr_python_3(case):
    store = V3 / case["store"]
    arr = ndfiles.open(store)[case["path"] or "/"]
    got = np.asarray(arr)
    want_npy = load_npy(V3 / case["npy"])
    assert_same(got, want_npy, case["name"])
    # and zarr-python 3 now, not only the committed file
    z = zarr.open_array(str(store), path=case["path"], mode="r")
    assert arr.shape == z.shape
    assert_same(got, as_fixed(z[...]), case["name"])
    for r in case["regions"]:
        key = tuple(slice(*map(int, p.split(":"))) for p in r["region"].split(","))
        assert_same(arr[key], as_fixed(z[key], like=got), f"{case['name']}[{r['region']}]")


def texts(rng, n):
    pool = list("abc xyz_019éøßΩжこんにちは😀\t")
    return np.array(["".join(rng.choice(pool, int(rng.integers(0, 20)))) for _ in range(n)], dtype=object)


@pytest.mark.parametrize("sharded", [False, True])
def test_written_by_zarr_python_3_now(tmp_path, sharded):
    rng = np.random.default_rng(7)
    g = zarr.open_group(str(tmp_path / "s.zarr"), mode="w", zarr_format=3)
    t = texts(rng, 9 * 7).reshape(9, 7)
    kw = {"chunks": (2, 2), "shards": (4, 6)} if sharded else {"chunks": (4, 3)}
    a = g.create_array("t", shape=t.shape, dtype=VariableLengthUTF8(), fill_value="fill", **kw)
    a[0:5, 1:6] = t[0:5, 1:6]  # the rest reads as the fill value
    b = g.create_array("b", shape=t.shape, dtype=VariableLengthBytes(),
                       compressors=zc.GzipCodec(level=1), **kw)
    b[...] = np.array([s.encode("utf-8") + b"\0" * (len(s) % 3) for s in t.reshape(-1)], dtype=object).reshape(t.shape)
    ds = ndfiles.open(tmp_path / "s.zarr")
    for name in ["t", "b"]:
        z = g[name][...]
        got = np.asarray(ds[name])
        assert_same(got, as_fixed(z), name)
        assert_same(ds[name][1:8:3, ::-2], as_fixed(z[1:8:3, ::-2], like=got), name)
    assert ds["t"].dtype.kind == "U" and ds["b"].dtype.kind == "S"
