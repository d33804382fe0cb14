"""FITS tables through ndfiles.Table against astropy's hdul[n].data, on every table HDU of the
testdata manifest (binary and ASCII, scaled, unsigned, strings, bool and bit columns, TDIM,
variable-length arrays): columns, rows as structured arrays, single rows."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from astropy.io import fits

import ndfiles
from conftest import TESTDATA, assert_same

FITS = TESTDATA / "fits"


def tables(manifest):
    for rel, entry in sorted(manifest.items()):
        for h in entry["hdus"]:
            if h.get("astropy_class") in ("BinTableHDU", "TableHDU"):
                yield rel, h["index"]


def vla_string(cell) -> str:
    """astropy gives a ``PA`` cell as a chararray of single characters (a blank as '')."""
    return "".join(c if c else " " for c in np.asarray(cell).tolist()).rstrip()


def same_column(got: np.ndarray, want, what: str) -> None:
    if got.dtype == object:
        assert got.dtype == object and len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want)):
            w = np.asarray(w)
            if w.dtype.kind == "U":
                assert str(g) == vla_string(w), f"{what} row {i}"
            else:
                assert_same(np.asarray(g), w, f"{what} row {i}")
        return
    want_arr = np.asarray(want)
    if want_arr.dtype.kind == "U":
        # astropy's chararray strips trailing blanks (and ends at a NUL) when an element is
        # taken; its buffer (np.asarray) keeps them: compare what a user sees, astropy's width
        assert got.dtype == want_arr.dtype, what
        # (a NUL that ends up last after astropy's strip, as in '  x \x00 ', is dropped: a numpy
        # str array cannot hold a trailing NUL)
        flat_want = [str(want[idx]).rstrip("\x00") for idx in np.ndindex(want_arr.shape)]
        assert [str(x) for x in got.ravel()] == flat_want, what
        return
    assert_same(got, want_arr, what)


def test_every_column_equals_astropys(fits_manifest):
    n_tables = n_columns = n_vla = 0
    for rel, index in tables(fits_manifest):
        path = FITS / rel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                hdul = fits.open(path)
                data = hdul[index].data
                names = list(hdul[index].columns.names)
                wants = {c: data[c] for c in names} if data is not None else {}
            except Exception:  # damaged on purpose: astropy refuses it
                continue
        with ndfiles.open(path) as ds:
            t = ds[str(index)]
            assert isinstance(t, ndfiles.Table), rel
            assert t.columns == names, rel
            assert len(t) == (0 if data is None else len(data)), rel
            for c in names:
                got = t[c]
                same_column(got, wants[c], f"{rel} HDU {index} {c}")
                n_vla += got.dtype == object
                n_columns += 1
        hdul.close()
        n_tables += 1
    assert n_tables > 15 and n_columns > 80 and n_vla >= 8, (n_tables, n_columns, n_vla)


@pytest.mark.parametrize(
    "rel", ["gen/bt_all.fits", "gen/bt_vla.fits", "gen/ascii_w.fits", "gen/bt_raw.fits"]
)
def test_rows_are_structured_arrays_equal_to_astropys(rel):
    path = FITS / rel
    t = ndfiles.open(path)[1]
    with fits.open(path) as hdul:
        data = hdul[1].data
        n = len(data)
        for key in (slice(1, 3), slice(None), slice(None, None, 2), slice(-2, None), slice(3, 1)):
            rows = t[key]
            assert isinstance(rows, np.ndarray) and rows.dtype == t.dtype, (rel, key)
            want_idx = range(n)[key]
            assert len(rows) == len(want_idx), (rel, key)
            for c in t.columns:
                col = data[c]
                want = [col[i] for i in want_idx]
                if rows.dtype[c] != object:
                    want = col[key]
                same_column(rows[c], want, f"{rel} {key} {c}")
        row = t[-1]
        assert isinstance(row, np.void)
        for c in t.columns:
            if t.dtype[c].kind == "U":
                assert str(row[c]) == str(data[c][-1]).rstrip("\x00"), (rel, c)
            elif t.dtype[c] != object:
                assert_same(np.asarray(row[c]), np.asarray(np.asarray(data[c])[-1]), f"{rel} {c}")
    assert t.dtype.names == tuple(t.columns)


def test_table_by_extname_units_and_errors():
    path = FITS / "gen" / "bt_all.fits"
    with fits.open(path) as hdul:
        extname = hdul[1].name
        units = [c.unit for c in hdul[1].columns]
    ds = ndfiles.open(path)
    if extname:
        assert ds[extname].columns == ds[1].columns
    t = ds.table(1)
    assert t.units == units
    assert_same(t["l1"], t["L1"])  # case-insensitive, as astropy
    with pytest.raises(KeyError):
        t["NOPE"]
    with pytest.raises(IndexError):
        t[len(t)]
    with pytest.raises(ndfiles.Error):
        ndfiles.open(TESTDATA / "example" / "cube.fits").table(1)
    with pytest.raises(ndfiles.Error):
        ds["0"]  # the primary HDU: no data, not a table
    assert_same(np.asarray(pickle.loads(pickle.dumps(t))["J"]), t["J"])
    assert_same(t.column(6), t["I"])
