"""FITS table columns in `nd refs --zarr-format 3` references (the `nd_fits_column` codec of
ndfiles' `zarr.codecs` entry points), read with zarr-python 3, xarray (zarr_format=3) and the
VirtualiZarr FITS parser, against astropy. Strings compared as ../test_refs_tables.py does."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", minversion="3")
fsspec = pytest.importorskip("fsspec")
fits = pytest.importorskip("astropy.io.fits")
xr = pytest.importorskip("xarray")

import ndfiles  # noqa: E402
from conftest import TESTDATA, assert_same  # noqa: E402
from test_refs_v3 import nd_bin, nd_refs, open_group  # noqa: E402,F401  (the fixture)

TABLE_CASES = [
    "fits/gen/bt_all.fits",
    "fits/gen/bt_raw.fits",
    "fits/gen/ascii_w.fits",
    "fits/astropy/ascii.fits",
    "fits/astropy/tdim.fits",
    "fits/gen/bt_vla.fits",
]


def astropy_column(hdul, attrs):
    want = np.asarray(hdul[attrs["fits_hdu"]].data.field(attrs["fits_column"] - 1))
    if want.dtype.kind == "U":
        cells = [s.rstrip().encode("latin-1") for s in want.ravel().tolist()]
        want = np.array(cells, dtype=f"S{max(want.dtype.itemsize // 4, 1)}").reshape(want.shape)
    return want


def columns(refs, root):
    """(path, array) of every table column, by the keys (zarr-python 3.1's FsspecStore at the
    root lists a nested group as `/NAME`, which fsspec's reference filesystem does not know)."""
    out = []
    for k, v in sorted(refs["refs"].items()):
        meta = json.loads(v) if k.endswith("zarr.json") else {}
        if meta.get("node_type") == "array" and "fits_column" in meta["attributes"]:
            name = k[: -len("/zarr.json")]
            out.append((name, root[name]))
    return out


@pytest.mark.parametrize("rel", TABLE_CASES)
def test_table_columns_v3_equal_astropy(nd_bin, tmp_path, rel):
    src = TESTDATA / rel
    refs = nd_refs(nd_bin, tmp_path / "r.json", src, "--chunk-mib", "0.0001")
    root = open_group(refs)
    cols = columns(refs, root)
    assert cols, f"{rel}: no table columns"
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name, a in cols:
            meta = json.loads(refs["refs"][f"{name}/zarr.json"])
            assert meta["codecs"][-1]["name"] == "nd_fits_column"
            assert meta["dimension_names"][0] == "dim_0"
            want = astropy_column(hdul, a.attrs)
            assert_same(np.asarray(a[...]), want, f"{rel} {name}")
            if len(want) > 2:
                assert_same(np.asarray(a[1:-1]), want[1:-1], f"{rel} {name} rows 1:-1")


def test_xarray_and_virtualizarr_read_a_table(tmp_path):
    src = TESTDATA / "fits" / "gen" / "bt_all.fits"
    refs = ndfiles.refs(src, zarr_format=3, chunk_mib=0.0001)
    # the group as the URL's path (see `columns` for why not `group=`)
    ds = xr.open_dataset("reference://ALLTYPES", engine="zarr", zarr_format=3,
                         consolidated=False, mask_and_scale=False,
                         backend_kwargs={"storage_options": {"fo": refs}})
    assert len(ds.data_vars) == 23
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        assert len({ds[v].dims[0] for v in ds.data_vars}) == 1, "one row dimension"
        for v in ds.data_vars:
            assert_same(ds[v].values, astropy_column(hdul, ds[v].attrs), v)
        pytest.importorskip("virtualizarr")
        from obspec_utils.registry import ObjectStoreRegistry
        from obstore.store import LocalStore

        from ndfiles.virtualizarr import FITSParser

        store = FITSParser()(src.as_uri(), ObjectStoreRegistry({"file://": LocalStore()}))
        g = zarr.open_group(store=store, mode="r", zarr_format=3)["ALLTYPES"]
        n = 0
        for name, a in g.arrays():
            assert_same(np.asarray(a[...]), astropy_column(hdul, dict(a.attrs)), name)
            n += 1
        assert n == len(ds.data_vars)


def test_http_row_cutout_of_a_table_fetches_one_chunk_of_rows(tmp_path):
    """Over the loopback nginx: 10 rows of one column of a 200,000-row table (4.6 MB, 1 MiB
    chunks of rows) fetch the one chunk of whole rows holding them, counted from nginx's log."""
    from test_refs_v3 import _fetched, _open_http, _served, S

    if "ND_TEST_HTTP_URL" not in S:
        pytest.skip("no test servers (bash .ci/servers.sh)")
    pytest.importorskip("aiohttp")
    n = 200_000
    rng = np.random.default_rng(5)
    cols = [fits.Column("T", "D", array=np.arange(n) * 0.5, unit="s"),
            fits.Column("F", "3E", array=rng.standard_normal((n, 3), dtype=np.float32)),
            fits.Column("Q", "J", bzero=2**31, array=rng.integers(0, 2**32, n, dtype=np.uint32))]
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="EVENTS")])
    url, path, log = _served(tmp_path, "table.fits", hdul)
    try:
        refs = ndfiles.refs(url, zarr_format=3, chunk_mib=1)
        f = _open_http(refs)["EVENTS/F"]
        rows = f.chunks[0]
        row_bytes = 8 + 12 + 4
        assert rows * row_bytes <= 1 << 20 and -(-n // rows) > 4, f.chunks
        mark = log.stat().st_size
        start = 2 * rows + 17
        got = np.asarray(f[start : start + 10])
        requests, nbytes = _fetched(log, path.name, mark)
        print(f"HTTP 10 rows of a {n}-row table: {requests} requests, {nbytes} bytes "
              f"(chunks of {rows} rows, {rows * row_bytes} bytes)")
        with fits.open(path) as h:
            assert_same(got, np.asarray(h[1].data["F"][start : start + 10]), "F rows")
        assert requests == 1 and nbytes == rows * row_bytes, (requests, nbytes)
    finally:
        path.unlink()
