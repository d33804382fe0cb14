"""FITS through ndfiles against astropy: the manifest's images, sections, scaled data and cards
(astropy's arrays as committed .npy), and astropy itself, run now, on the same files."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import ndfiles
from conftest import TESTDATA, assert_same, load_npy

FITS = TESTDATA / "fits"


def images(manifest):
    for rel, entry in sorted(manifest.items()):
        for h in entry["hdus"]:
            if h.get("is_image") and h.get("data"):
                yield rel, h


def test_images_and_sections_match_astropys_npy(fits_manifest):
    n_images = n_sections = 0
    for rel, h in images(fits_manifest):
        ds = ndfiles.open(FITS / rel)
        arr = ds[str(h["index"])]
        want = load_npy(FITS / h["data"])
        what = f"{rel} HDU {h['index']}"
        assert arr.shape == tuple(h["shape"]), what
        assert arr.dtype == np.dtype(h["dtype"]), what
        assert_same(np.asarray(arr), want, what)
        assert_same(arr[...], want, what)
        n_images += 1
        for sec in h.get("sections") or []:
            key = tuple(slice(a, b) for a, b in sec["region"])
            assert_same(arr[key], load_npy(FITS / sec["data"]), f"{what} section {key}")
            n_sections += 1
    assert n_images > 40 and n_sections > 20, (n_images, n_sections)


def test_tile_compressed_images_match_astropys_npy(fits_manifest):
    n = 0
    for rel, entry in sorted(fits_manifest.items()):
        for h in entry["hdus"]:
            comp = h.get("comp")
            if not comp or not comp.get("data"):
                continue
            arr = ndfiles.open(FITS / rel)[str(h["index"])]
            assert_same(np.asarray(arr), load_npy(FITS / comp["data"]), f"{rel} HDU {h['index']}")
            n += 1
    assert n > 5, n


def test_images_match_astropy_now(fits_manifest):
    """astropy run now: physical values (BSCALE/BZERO, BLANK), dtypes, and .section reads."""
    n = 0
    for rel, h in images(fits_manifest):
        if rel.endswith(".gz"):
            continue
        with fits.open(FITS / rel) as hdul, ndfiles.open(FITS / rel) as ds:
            hdu = hdul[h["index"]]
            arr = ds[h["index"]]
            want = hdu.data
            assert_same(np.asarray(arr), want, rel)
            if want.ndim >= 2 and min(want.shape) > 2:
                key = (slice(1, -1),) + (slice(None),) * (want.ndim - 2) + (slice(0, 2),)
                try:
                    ref = hdu.section[key]
                except IndexError:  # astropy's .section refuses scaled data with BLANK
                    ref = want[key]
                assert_same(arr[key], ref, f"{rel} section {key}")
            n += 1
    assert n > 40, n


def test_scaled_data_are_physical_values():
    path = FITS / "gen" / "sc_i16.fits"
    with fits.open(path) as hdul:
        assert "BSCALE" in hdul[0].header
        want = hdul[0].data
    arr = ndfiles.open(path)[0]
    assert arr.dtype == np.float32 == want.dtype
    assert_same(arr[2:5, 3:10], want[2:5, 3:10])
    # BLANK becomes NaN, as astropy gives it
    blank = FITS / "gen" / "blank_sc_i16.fits"
    with fits.open(blank) as hdul:
        want = hdul[0].data
    got = np.asarray(ndfiles.open(blank)[0])
    assert np.isnan(got).sum() == np.isnan(want).sum() > 0
    assert_same(got, want)


def test_as_another_dtype_converts_like_astype(cube_path):
    arr = ndfiles.open(cube_path)["SCI"]
    full = np.asarray(arr)
    for dt in ("f8", "f2", "c16", "i4", "u1", "b1", ">f4"):
        with np.errstate(invalid="ignore"):
            want = full.astype(dt)
        got = np.asarray(arr, dtype=dt)
        assert got.dtype == np.dtype(dt), dt
        # NaN to an integer is undefined in numpy (platform-dependent): compare the rest
        defined = ~np.isnan(full) if np.dtype(dt).kind in "iu" else np.ones(full.shape, bool)
        np.testing.assert_array_equal(got[defined], want[defined], err_msg=dt)


def test_metadata_is_the_cards(fits_manifest):
    n = 0
    for rel, entry in sorted(fits_manifest.items()):
        for h in entry["hdus"]:
            cards = h.get("cards")
            if not cards:
                continue
            meta = ndfiles.open(FITS / rel).metadata
            ours = meta["hdus"][h["index"]]["cards"]
            assert [c["keyword"] for c in ours] == [c[0] for c in cards], rel
            n += 1
    assert n >= 4, n


def test_dataset_api(cube_path):
    with ndfiles.open(cube_path) as ds:
        assert ds.format == "fits"
        assert ds.keys() == ["1"] and list(ds) == ["1"] and len(ds) == 1 and "1" in ds
        assert ds["SCI"].shape == ds[1].shape == ds["SCI,1"].shape == (32, 64, 64)
        assert repr(ds) == ds.info().rstrip("\n")
        assert "SCI" in repr(ds) and "(64, 64, 32)" in repr(ds)
        meta = ds.metadata
        assert [h["name"] for h in meta["hdus"]] == ["PRIMARY", "SCI"]
        sci = ds["SCI"]
    assert ds.closed and "closed" in repr(ds)
    with pytest.raises(ndfiles.Error, match="closed"):
        ds.keys()
    # an array taken before closing stays readable
    assert sci[0, 0, :3].shape == (3,)
    arr = sci
    assert (arr.ndim, arr.size, arr.nbytes, len(arr)) == (3, 32 * 64 * 64, 32 * 64 * 64 * 4, 32)
    assert arr.chunks == (32, 64, 64)
    assert "SCI" in repr(arr) and "float32" in repr(arr)
