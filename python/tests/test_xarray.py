"""xarray.open_dataset(..., engine="ndfiles") against what xarray gets from the reference
libraries: astropy's images and headers (FITS), asdf's arrays (ASDF), xr.open_zarr (Zarr v2
stores written by xarray) and zarr-python (stores without dimension names); lazy (nothing read
at open, boxes read as asked), basic / outer / vectorized indexing, dask chunks."""

from __future__ import annotations

import json
import pickle
import re
import warnings

import asdf
import numpy as np
import pytest
import xarray as xr
import zarr
from astropy.io import fits

import ndfiles
from conftest import TESTDATA, assert_same

FITS = TESTDATA / "fits"
CUBE = TESTDATA / "example" / "cube.fits"

# what ndfiles leaves out of a header's attributes: layout and scaling (values are physical)
STRUCTURAL = {
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "XTENSION", "BSCALE", "BZERO",
    "BLANK", "CHECKSUM", "DATASUM", "GROUPS", "END",
}


def header_attrs(header: fits.Header) -> dict:
    """The attributes the README promises, from astropy's header."""
    out: dict = {}
    for card in header.cards:
        k = card.keyword
        if not k or k in STRUCTURAL or re.fullmatch(r"NAXIS\d+", k):
            continue
        if k in ("COMMENT", "HISTORY"):
            text = str(card.value)
            out[k] = out[k] + "\n" + text if k in out else text
            continue
        v = card.value
        if isinstance(v, fits.card.Undefined) or k in out:
            continue
        if isinstance(v, complex):
            v = [v.real, v.imag]
        out[k] = v
    return out


def ctype_dims(header: fits.Header, ndim: int) -> list[str]:
    """numpy axis i is FITS axis NAXIS - i; the CTYPE stem lowercased, else dim_i."""
    out = []
    for i in range(ndim):
        ct = str(header.get(f"CTYPE{ndim - i}", "")).strip()
        base = ct[:4].rstrip("-") if len(ct) == 8 and ct[4] == "-" else ct
        name = re.sub(r"[^A-Za-z0-9_]", "_", base).lower().strip("_")
        out.append(name or f"dim_{i}")
    for i in range(1, len(out)):
        if out[i] in out[:i]:
            k = 1
            while f"{out[i]}_{k}" in out:
                k += 1
            out[i] = f"{out[i]}_{k}"
    return out


def hdu_names(hdul: fits.HDUList) -> list[str]:
    base = [h.name or ("PRIMARY" if i == 0 else f"HDU{i}") for i, h in enumerate(hdul)]
    vers = [h.ver if isinstance(h.ver, int) else i for i, h in enumerate(hdul)]
    names = [f"{b}_{v}" if base.count(b) > 1 else b for b, v in zip(base, vers)]
    return [f"{base[i]}_{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def astropy_dataset(path) -> tuple[xr.Dataset, bool]:
    """The image HDUs of a FITS file as xarray would hold them, read by astropy; and whether a
    dimension name got two lengths (then ndfiles renames, see the README)."""
    variables = {}
    lengths: dict[str, int] = {}
    clash = False
    with fits.open(path) as hdul:
        names = hdu_names(hdul)
        for i, h in enumerate(hdul):
            if not h.is_image or h.data is None:
                continue
            data = np.asarray(h.data)
            data = data.astype(data.dtype.newbyteorder("="))
            dims = ctype_dims(h.header, data.ndim)
            for d, n in zip(dims, data.shape):
                clash |= lengths.setdefault(d, n) != n
            variables[names[i]] = xr.Variable(dims, data, header_attrs(h.header))
        attrs = header_attrs(hdul[0].header)
    if clash:
        return xr.Dataset(), True
    return xr.Dataset(variables, attrs=attrs), False


def fits_files(manifest):
    for rel, entry in sorted(manifest.items()):
        if any(h.get("is_image") and h.get("shape") or h.get("comp") for h in entry["hdus"]):
            yield rel


def test_fits_files_equal_astropys(fits_manifest):
    """Every FITS file of the manifest with an image: variables, dims, values, attributes."""
    checked = skipped = 0
    for rel in fits_files(fits_manifest):
        path = FITS / rel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                want, clash = astropy_dataset(path)
            except Exception:  # astropy refuses the file (damaged on purpose)
                skipped += 1
                continue
        got = xr.open_dataset(path, engine="ndfiles")
        if clash:  # one name, two lengths: renamed; values still astropy's
            with fits.open(path) as hdul:
                names = hdu_names(hdul)
                for i, h in enumerate(hdul):
                    if h.is_image and h.data is not None:
                        assert_same(got[names[i]].values, np.asarray(h.data), f"{rel} {i}")
            continue
        assert sorted(got.data_vars) == sorted(want.data_vars), rel
        for name, v in want.data_vars.items():
            g = got[name]
            assert g.dims == v.dims, (rel, name)
            assert_same(g.values, v.values, f"{rel} {name}")
            assert g.attrs == v.attrs, (rel, name)
        assert got.attrs == want.attrs, rel
        got.close()
        checked += 1
    assert checked > 60, (checked, skipped)


def test_cube_dims_from_ctype_and_chunks():
    ds = xr.open_dataset(CUBE, engine="ndfiles")
    assert ds["SCI"].dims == ("freq", "dec", "ra")
    assert ds["SCI"].encoding["preferred_chunks"] == {"freq": 32, "dec": 64, "ra": 64}
    lazy = xr.open_dataset(CUBE, engine="ndfiles", chunks={})
    import dask.array as da

    assert isinstance(lazy["SCI"].data, da.Array)
    with fits.open(CUBE) as hdul:
        want = hdul["SCI"].data.astype("=f4")
    xr.testing.assert_identical(lazy.load(), ds.load())
    assert_same(lazy["SCI"].values, want)


def test_compressed_image_chunks_are_tiles():
    path = TESTDATA / "fits" / "astropy" / "compressed_image.fits"
    ds = xr.open_dataset(path, engine="ndfiles", chunks={})
    with fits.open(path) as hdul:
        i, h = next((i, h) for i, h in enumerate(hdul) if isinstance(h, fits.CompImageHDU))
        want = np.asarray(h.data)
    with fits.open(path, disable_image_compression=True) as raw:
        zh = raw[i].header  # the compressed table's header: ZTILEn (default: rows)
        tile = tuple(
            zh.get(f"ZTILE{k}", zh["ZNAXIS1"] if k == 1 else 1) for k in range(want.ndim, 0, -1)
        )
    assert tile != want.shape  # more than one tile
    (name,) = ds.data_vars
    var = ds[name]
    assert var.data.chunksize == tuple(min(t, n) for t, n in zip(tile, want.shape))
    assert_same(var.values, want.astype(want.dtype.newbyteorder("=")))


def test_outer_and_vectorized_indexing_equal_numpy():
    ds = xr.open_dataset(CUBE, engine="ndfiles")
    with fits.open(CUBE) as hdul:
        cube = hdul["SCI"].data.astype("=f4")
    sci = ds["SCI"]
    got = sci.isel(freq=[5, 1, 3], ra=slice(2, 40, 3), dec=7).values
    assert_same(got, cube[[5, 1, 3], 7, 2:40:3])
    got = sci.isel(freq=[2], dec=[9, 0, 9], ra=[-1, 4]).values
    assert_same(got, cube[np.ix_([2], [9, 0, 9], [63, 4])])
    # vectorized (pointwise): xarray reads the bounding box, then indexes
    pts = xr.DataArray([0, 3, 31], dims="p")
    got = sci.isel(freq=pts, dec=pts, ra=pts).values
    assert_same(got, cube[[0, 3, 31], [0, 3, 31], [0, 3, 31]])
    assert_same(sci[4, -3:, ::-5].values, cube[4, -3:, ::-5])
    assert_same(sci.isel(freq=[]).values, cube[[]])


def test_lazy_nothing_read_at_open_and_only_the_box_later(monkeypatch):
    reads = []
    real_getitem, real_array = ndfiles.Array.__getitem__, ndfiles.Array.__array__

    def getitem(self, key):
        # the box the key reads (ints and slices of step 1 are read by Rust, without `_read`)
        start, stop, _, _ = ndfiles._plan(key, self.shape)
        reads.append((start, stop))
        return real_getitem(self, key)

    def array(self, dtype=None, copy=None):
        reads.append(([0] * self.ndim, list(self.shape)))
        return real_array(self, dtype, copy)

    monkeypatch.setattr(ndfiles.Array, "__getitem__", getitem)
    monkeypatch.setattr(ndfiles.Array, "__array__", array)
    ds = xr.open_dataset(CUBE, engine="ndfiles")
    ds2 = xr.open_dataset(CUBE, engine="ndfiles", chunks={})
    assert reads == []
    ds["SCI"][3, 10:20, 5].values
    assert reads == [([3, 10, 5], [4, 20, 6])]
    ds2["SCI"].sum().compute()
    assert reads[1:] == [([0, 0, 0], [32, 64, 64])]


def test_lazy_open_of_a_damaged_store(xr_zarr):
    """A store with a truncated chunk opens (metadata only) and fails only when that chunk is
    read; the other chunks read fine."""
    (xr_zarr / "temp" / "0.0.0").write_bytes(b"\x00" * 7)
    ds = xr.open_dataset(xr_zarr, engine="ndfiles")
    lazy = xr.open_dataset(xr_zarr, engine="ndfiles", chunks={})
    assert ds["temp"].shape == (6, 10, 12)
    want = zarr.open(str(xr_zarr), mode="r")["temp"][2:, :, :]
    assert_same(ds["temp"][2:].values, want)
    with pytest.raises(ndfiles.Error, match="0.0.0"):
        ds["temp"].values
    with pytest.raises(ndfiles.Error):
        lazy["temp"].sum().compute()


def test_drop_variables_and_selectors():
    path = FITS / "gen" / "mef.fits"
    ds = xr.open_dataset(path, engine="ndfiles")
    assert sorted(ds.data_vars) == ["DQ_1", "DQ_2", "ERR_1", "ERR_2", "SCI_1", "SCI_2"]
    ds = xr.open_dataset(path, engine="ndfiles", drop_variables=["DQ_1", "DQ_2"])
    assert sorted(ds.data_vars) == ["ERR_1", "ERR_2", "SCI_1", "SCI_2"]
    one = xr.open_dataset(path, engine="ndfiles", selectors="4")
    assert list(one.data_vars) == ["SCI_2"]
    with fits.open(path) as hdul:
        assert_same(one["SCI_2"].values, hdul[4].data)
    with pytest.raises(ndfiles.Error):
        xr.open_dataset(path, engine="ndfiles", selectors="NOPE")


def test_guess_can_open(tmp_path):
    from ndfiles.xarray_backend import NdfilesBackendEntrypoint

    e = NdfilesBackendEntrypoint()
    assert e.guess_can_open(str(CUBE))
    assert e.guess_can_open(TESTDATA / "asdf" / "py" / "views.asdf")
    assert e.guess_can_open(TESTDATA / "zarr" / "hier.zarr")
    assert e.guess_can_open("s3://bucket/cube.fits")
    assert not e.guess_can_open(TESTDATA / "fits" / "manifest.json")
    assert not e.guess_can_open(tmp_path)
    assert not e.guess_can_open(tmp_path / "missing.fits")
    assert "group" in e.open_dataset_parameters and "drop_variables" in e.open_dataset_parameters
    # xarray picks the engine itself
    assert "SCI" in xr.open_dataset(CUBE)


def asdf_arrays(tree, prefix=""):
    if isinstance(tree, np.ma.MaskedArray):  # a core/ndarray with a mask: nd lists both
        yield prefix, tree.data
        yield f"{prefix}/mask", np.ma.getmaskarray(tree)
    elif isinstance(tree, np.ndarray):
        yield prefix, tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from asdf_arrays(v, f"{prefix}/{k}" if prefix else str(k))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from asdf_arrays(v, f"{prefix}/{i}" if prefix else str(i))


@pytest.mark.parametrize(
    "name", ["views.asdf", "compressed_lz4_multi.asdf", "dtypes.asdf", "masked.asdf", "inline.asdf"]
)
def test_asdf_arrays_equal_asdfs(name):
    path = TESTDATA / "asdf" / "py" / name
    got = xr.open_dataset(path, engine="ndfiles", mask_and_scale=False)
    with asdf.open(path, lazy_load=False, memmap=False) as af:
        want = {p: np.asarray(a) for p, a in asdf_arrays(af.tree) if np.asarray(a).dtype.kind in "biufc"}
        tree_attrs = {k for k in af.tree if not any(True for _ in asdf_arrays(af.tree[k]))}
    numeric = {k for k in got.data_vars if got[k].dtype.kind in "biufc"}
    assert numeric == set(want), name
    for p, a in want.items():
        assert got[p].shape == a.shape, p
        assert_same(got[p].values, a, f"{name} {p}")
    assert set(got.attrs) == tree_attrs
    assert got.attrs["asdf_library"]["value"]["name"] == "asdf"


def test_asdf_dimension_names_one_length_each():
    ds = xr.open_dataset(TESTDATA / "asdf" / "py" / "views.asdf", engine="ndfiles")
    assert ds["base"].dims == ("dim_0", "dim_1")  # [6, 20]
    assert ds["transposed"].dims == ("dim_0_transposed", "dim_1_transposed")  # [20, 6]
    assert ds["rows"].dims == ("dim_0_rows", "dim_1")  # [3, 20]
    assert ds["column"].dims == ("dim_0",)  # [6]


@pytest.fixture
def xr_zarr(tmp_path):
    """A Zarr v2 store written by xarray (dimension names, attributes, chunks, a group)."""
    rng = np.random.default_rng(7)
    temp = rng.normal(size=(6, 10, 12)).astype("f4")
    temp[1, 2, 3] = np.nan
    ds = xr.Dataset(
        {
            "temp": (("time", "y", "x"), temp, {"units": "K", "long_name": "temperature"}),
            "count": (("y", "x"), rng.integers(0, 1000, size=(10, 12)).astype("i2")),
            "flag": (("x",), rng.integers(0, 2, size=12).astype(bool)),
            "z": (("cplx",), (rng.normal(size=5) + 1j).astype("c16")),
        },
        attrs={"title": "nd test", "version": 3, "tags": ["a", "b"]},
    )
    path = tmp_path / "xr.zarr"
    ds.to_zarr(path, encoding={"temp": {"chunks": (2, 5, 6)}})
    sub = xr.Dataset({"deep": (("k",), np.arange(7, dtype="i8"), {"note": "in a group"})})
    sub.to_zarr(path, group="sub", mode="a")
    return path


def test_zarr_written_by_xarray_equals_open_zarr(xr_zarr):
    for kw in ({}, {"group": "sub"}):
        want = xr.open_zarr(xr_zarr, **kw).load()
        got = xr.open_dataset(xr_zarr, engine="ndfiles", **kw).load()
        xr.testing.assert_identical(got, want)
        lazy = xr.open_dataset(xr_zarr, engine="ndfiles", chunks={}, **kw)
        xr.testing.assert_identical(lazy.load(), want)
    lazy = xr.open_dataset(xr_zarr, engine="ndfiles", chunks={})
    assert lazy["temp"].data.chunksize == (2, 5, 6)
    assert lazy["temp"].dims == ("time", "y", "x")


def test_zarr_without_dimension_names_equals_zarr_python():
    store = TESTDATA / "zarr" / "hier.zarr"
    got = xr.open_dataset(store, engine="ndfiles", group="g1")
    z = zarr.open(str(store), mode="r")
    assert list(got.data_vars) == ["arr"]
    assert got["arr"].dims == ("dim_0", "dim_1")
    assert_same(got["arr"].values, z["g1/arr"][...])
    assert got.attrs == dict(z["g1"].attrs)
    assert got["arr"].attrs == dict(z["g1/arr"].attrs)


@pytest.mark.filterwarnings("ignore:The specified chunks separate")
def test_pickles_lazily(tmp_path):
    ds = xr.open_dataset(CUBE, engine="ndfiles")
    again = pickle.loads(pickle.dumps(ds))
    xr.testing.assert_identical(again.load(), ds.load())
    # dask worker processes get the variables pickled and read their own chunks
    lazy = xr.open_dataset(CUBE, engine="ndfiles", chunks={"freq": 8})
    with fits.open(CUBE) as hdul:
        want = np.nansum(hdul["SCI"].data.astype("=f8"), axis=(1, 2))
    got = lazy["SCI"].astype("f8").sum(dim=("dec", "ra")).compute(scheduler="processes")
    np.testing.assert_allclose(got.values, want, rtol=1e-12)


def test_json_attrs_round_trip(xr_zarr):
    got = xr.open_dataset(xr_zarr, engine="ndfiles")
    json.dumps(got.attrs)
    json.dumps(got["temp"].attrs)
