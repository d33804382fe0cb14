"""FITS table columns in `nd refs` references (the `nd_fits_column` codec of ndfiles), read
through fsspec's reference filesystem and zarr-python 2 and xarray, against astropy: every column
of binary and ASCII tables of testdata in chunks of a few rows, a generated table of every
fixed-width type over several chunks with a short last one, a row cutout that fetches only its
chunk, and variable-length columns listed as not mapped.

Strings: astropy gives ``<U`` (trailing whitespace stripped on access); the references give the
fixed-width bytes ``|S`` nd reads (spec-notes/virtual-zarr.md, "Tables"), compared here as
astropy's strings stripped and encoded one byte a character."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")
fits = pytest.importorskip("astropy.io.fits")
pytest.importorskip("ndfiles.codecs")

from conftest import TESTDATA, assert_same  # noqa: E402
from fsspec.implementations.local import LocalFileSystem  # noqa: E402
from test_refs import nd_bin, open_parquet, refs  # noqa: E402,F401  (the fixture)

TABLE_CASES = [
    "fits/gen/bt_all.fits",  # every TFORM code, TDIM, unsigned, scaled
    "fits/gen/bt_raw.fits",  # TZERO -128 on B, scaled J with TNULL, 0-width, NULs in strings
    "fits/gen/ascii_w.fits",  # ASCII table
    "fits/gen/ascii_raw.fits",
    "fits/astropy/ascii.fits",  # ASCII numbers with TNULL '*' -> NaN
    "fits/astropy/tdim.fits",
    "fits/astropy/chandra_time.fits",
    "fits/astropy/zerowidth.fits",
    "fits/gen/bt_vla.fits",  # fixed columns beside variable-length ones
]


def astropy_column(hdul, attrs):
    """astropy's values of the column an array's attributes name (strings as stripped bytes)."""
    want = np.asarray(hdul[attrs["fits_hdu"]].data.field(attrs["fits_column"] - 1))
    if want.dtype.kind == "U":
        cells = [s.rstrip().encode("latin-1") for s in want.ravel().tolist()]
        want = np.array(cells, dtype=f"S{max(want.dtype.itemsize // 4, 1)}").reshape(want.shape)
    return want


class CountingFS(LocalFileSystem):
    """A local filesystem that counts the bytes it serves."""

    nbytes = 0

    def cat_file(self, path, start=None, end=None, **kw):
        out = super().cat_file(path, start=start, end=end, **kw)
        CountingFS.nbytes += len(out)
        return out


def open_counted(path):
    with open(path) as f:
        fo = json.load(f)
    cfs = CountingFS()
    fs = fsspec.filesystem("reference", fo=fo, fs={"file": cfs, None: cfs})
    return fo, zarr.open(fs.get_mapper(""), mode="r")


def column_arrays(root):
    """(path, array) of every table column (arrays with `fits_column`), in groups."""
    out = []
    for gname, g in root.groups():
        out += [(f"{gname}/{n}", a) for n, a in g.arrays() if "fits_column" in a.attrs]
    return out


@pytest.mark.parametrize("rel", TABLE_CASES)
def test_table_columns_equal_astropy(nd_bin, tmp_path, rel):
    src = TESTDATA / rel
    out = tmp_path / "r.json"
    p = refs(nd_bin, out, src, "--chunk-mib", "0.0001")  # chunks of a row or a few
    assert p.returncode == 0, p.stderr
    fo, root = open_counted(out)
    cols = column_arrays(root)
    assert cols, f"{rel}: no table columns"
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name, a in cols:
            assert a.compressor.codec_id == "nd_fits_column"
            want = astropy_column(hdul, a.attrs)
            assert_same(a[...], want, f"{rel} {name}")
            if len(want) > 2:
                assert_same(a[1:-1], want[1:-1], f"{rel} {name} rows 1:-1")
            unit = hdul[a.attrs["fits_hdu"]].header.get(f"TUNIT{a.attrs['fits_column']}")
            assert a.attrs.get("units") == (unit or None), f"{rel} {name}"


def test_variable_length_columns_are_listed_not_mapped(nd_bin, tmp_path):
    src = TESTDATA / "fits" / "gen" / "bt_vla.fits"
    out = tmp_path / "r.json"
    p = refs(nd_bin, out, src)
    assert p.returncode == 0, p.stderr
    _, root = open_counted(out)
    skipped = root.attrs["nd_skipped"]
    with fits.open(src) as hdul:
        cols = hdul[1].columns
        for c in cols:
            listed = any(f"column '{c.name}' ({c.format}" in s for s in skipped)
            assert listed == c.format.startswith(("P", "Q")), (c.name, c.format, skipped)


@pytest.fixture(scope="module")
def big_table(tmp_path_factory):
    """A table of every fixed-width kind, 10,007 rows (a prime: the last chunk is short)."""
    n = 10_007
    rng = np.random.default_rng(7)
    cols = [
        fits.Column("I", "I", array=rng.integers(-30000, 30000, n, dtype=np.int16), unit="count"),
        fits.Column("U", "J", bzero=2**31, array=rng.integers(0, 2**32, n, dtype=np.uint32)),
        fits.Column("S", "J", null=-1, array=rng.integers(-1000, 1000, n, dtype=np.int32)),
        fits.Column("E", "2E", array=rng.standard_normal((n, 2), dtype=np.float32), unit="Jy"),
        fits.Column("D", "6D", dim="(3,2)", array=rng.standard_normal((n, 2, 3))),
        fits.Column("L", "L", array=rng.integers(0, 2, n).astype(bool)),
        fits.Column("X", "11X", array=rng.integers(0, 2, (n, 11)).astype(bool)),
        fits.Column("A", "7A", array=np.array([f"r{i % 997} " for i in range(n)])),
        fits.Column("C", "M", array=rng.standard_normal(n) + 1j * rng.standard_normal(n)),
        fits.Column("B", "B", bzero=-128, array=rng.integers(-128, 128, n, dtype=np.int8)),
    ]
    path = tmp_path_factory.mktemp("big") / "big_table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="EVENTS")]).writeto(path)
    # scale the stored integers of S (astropy scales a column given with bscale as it writes)
    with fits.open(path, mode="update") as hdul:
        hdul[1].header["TSCAL3"] = 0.1
        hdul[1].header["TZERO3"] = 5.0
    return path


def test_a_table_over_several_chunks_and_a_row_cutout(nd_bin, tmp_path, big_table):
    out = tmp_path / "big.json"
    p = refs(nd_bin, out, big_table, "--chunk-mib", "0.1")
    assert p.returncode == 0, p.stderr
    fo, root = open_counted(out)
    g = root["EVENTS"]
    assert g.attrs["fits_table"]["nrows"] == 10_007
    with fits.open(big_table) as hdul:
        h = hdul[1]
        row_bytes = h.header["NAXIS1"]
        for name, a in g.arrays():
            rows = a.chunks[0]
            assert 1 < -(-a.shape[0] // rows), f"{name}: one chunk"
            assert a.shape[0] % rows, "a short last chunk"
            assert rows * max(row_bytes, a.dtype.itemsize * int(np.prod(a.shape[1:]))) <= 0.1 * 2**20
            assert_same(a[...], astropy_column(hdul, a.attrs), name)
            assert a.attrs["_ARRAY_DIMENSIONS"][0] == "dim_0"
        assert g["E"].attrs["units"] == "Jy"
        # ten rows in the middle fetch one chunk of rows (the same range for every column)
        d = g["D"]
        rows = d.chunks[0]
        start = 3 * rows + 5
        CountingFS.nbytes = 0
        got = d[start : start + 10]
        assert_same(got, astropy_column(hdul, d.attrs)[start : start + 10], "D rows")
        assert 0 < CountingFS.nbytes <= rows * row_bytes, CountingFS.nbytes
        keys = [k for k in fo["refs"] if k.startswith("EVENTS/") and k.endswith("/3.0.0")]
        assert {tuple(fo["refs"][k][1:]) for k in keys} == {tuple(fo["refs"]["EVENTS/I/3"][1:])}


def test_xarray_opens_a_table_group_as_one_dataset(nd_bin, tmp_path, big_table):
    xr = pytest.importorskip("xarray")
    out = tmp_path / "big.json"
    assert refs(nd_bin, out, big_table).returncode == 0
    fo = json.loads(out.read_text())
    ds = xr.open_dataset("reference://", engine="zarr", group="EVENTS", mask_and_scale=False,
                         backend_kwargs={"consolidated": False, "storage_options": {"fo": fo}})
    assert ds.sizes["dim_0"] == 10_007
    assert set(ds.data_vars) == {"I", "U", "S", "E", "D", "L", "X", "A", "C", "B"}
    with fits.open(big_table) as hdul:
        for v in ds.data_vars:
            assert_same(ds[v].values, astropy_column(hdul, ds[v].attrs), v)
    assert ds["I"].attrs["units"] == "count"
    sel = ds.isel(dim_0=slice(100, 110))
    assert sel["D"].shape == (10, 2, 3)


def test_parquet_layout_of_tables(nd_bin, tmp_path, big_table):
    """kerchunk's parquet layout (`-o out.parq`, read lazily by fsspec) holds the table groups
    and their column chunks like the JSON."""
    pytest.importorskip("fastparquet")
    for src in [big_table, TESTDATA / "fits" / "gen" / "bt_all.fits"]:
        out = tmp_path / f"{src.stem}.parq"
        p = refs(nd_bin, out, src, "--chunk-mib", "0.05")
        assert p.returncode == 0, p.stderr
        cols = column_arrays(open_parquet(out))
        assert cols
        with fits.open(src) as hdul:
            for name, a in cols:
                assert_same(a[...], astropy_column(hdul, a.attrs), f"{src.name} {name}")
