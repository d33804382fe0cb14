"""ndfiles.stat: nd's out-of-core NaN-aware reductions against numpy's nan-functions on the
reference library's arrays (astropy, zarr-python), whole and along each axis."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import zarr
from astropy.io import fits

import ndfiles
from conftest import TESTDATA

CUBE = TESTDATA / "example" / "cube.fits"


def numpy_stats(a: np.ndarray, axis=None) -> dict:
    a = a.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "count": np.sum(~np.isnan(a), axis=axis),
            "nan_count": np.sum(np.isnan(a), axis=axis),
            "sum": np.nansum(a, axis=axis),
            "mean": np.nanmean(a, axis=axis),
            "min": np.nanmin(a, axis=axis),
            "max": np.nanmax(a, axis=axis),
            "std": np.nanstd(a, axis=axis),
        }


def check(got: dict, want: dict, what: str) -> None:
    assert set(got) == set(want), what
    for k, w in want.items():
        g = got[k]
        assert np.shape(g) == np.shape(w), (what, k)
        if k in ("count", "nan_count", "min", "max"):
            np.testing.assert_array_equal(g, w, err_msg=f"{what} {k}")
        else:
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{what} {k}")


def test_cube_whole_and_along_every_axis():
    with fits.open(CUBE) as hdul:
        cube = hdul["SCI"].data
    assert np.isnan(cube).any()  # NaN are skipped, as numpy's nan-functions do
    arr = ndfiles.open(CUBE)["SCI"]
    got = ndfiles.stat(arr)
    assert isinstance(got["count"], int) and isinstance(got["mean"], float)
    check(got, numpy_stats(cube), "cube")
    for axis in (0, 1, 2, -1):
        got = ndfiles.stat(arr, axis=axis)
        assert got["count"].dtype == np.uint64 and got["mean"].dtype == np.float64
        check(got, numpy_stats(cube, axis), f"axis {axis}")


def test_small_budget_and_one_thread_give_the_same():
    with fits.open(CUBE) as hdul:
        cube = hdul["SCI"].data
    got = ndfiles.stat(CUBE, selector="SCI", threads=1, budget=64 << 10)
    check(got, numpy_stats(cube), "budget 64 KiB")
    got = ndfiles.stat(CUBE, "SCI", axis=1, threads=2, budget=16 << 10)
    check(got, numpy_stats(cube, 1), "axis 1, budget 16 KiB")


@pytest.mark.parametrize(
    "rel,sel",
    [("fits/astropy/scale.fits", "0"), ("fits/gen/blank_i16.fits", "0"), ("fits/gen/dt_u64.fits", "0")],
)
def test_scaled_and_integer_images(rel, sel):
    with fits.open(TESTDATA / rel) as hdul:
        want = np.asarray(hdul[int(sel)].data)
    check(ndfiles.stat(TESTDATA / rel, sel), numpy_stats(want), rel)
    check(ndfiles.stat(TESTDATA / rel, sel, axis=0), numpy_stats(want, 0), rel)


def test_chunked_zarr_array():
    store = TESTDATA / "zarr" / "hier.zarr"
    want = zarr.open(str(store), mode="r")["top"][...]
    check(ndfiles.stat(store, "top"), numpy_stats(want), "zarr top")
    check(ndfiles.stat(store, "top", axis=1), numpy_stats(want, 1), "zarr top axis 1")


def test_all_nan_and_errors(tmp_path):
    path = tmp_path / "nan.fits"
    fits.PrimaryHDU(np.full((3, 4), np.nan, dtype="f4")).writeto(path)
    got = ndfiles.stat(path)
    assert got["count"] == 0 and got["nan_count"] == 12 and got["sum"] == 0.0
    assert all(np.isnan(got[k]) for k in ("mean", "min", "max", "std"))
    with pytest.raises(np.exceptions.AxisError):
        ndfiles.stat(path, axis=2)
    with pytest.raises(ndfiles.Error, match="selector"):
        ndfiles.stat(TESTDATA / "fits" / "gen" / "mef.fits")
    with pytest.raises(ndfiles.Error):
        ndfiles.stat(TESTDATA / "fits" / "gen" / "bt_all.fits", "1")
    with pytest.raises(TypeError):
        ndfiles.stat(ndfiles.open(CUBE)["SCI"], selector="SCI")
