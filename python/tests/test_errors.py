"""Every failure of nd is ndfiles.Error (an OSError) with nd's message; none crashes Python."""

from __future__ import annotations

import numpy as np
import pytest

import ndfiles
from conftest import TESTDATA

CUBE = TESTDATA / "example" / "cube.fits"


def test_error_is_an_oserror():
    assert issubclass(ndfiles.Error, OSError)
    assert ndfiles.Error.__module__ == "ndfiles"


def test_missing_file(tmp_path):
    with pytest.raises(ndfiles.Error, match="missing.fits") as e:
        ndfiles.open(tmp_path / "missing.fits")
    assert isinstance(e.value, OSError)


def test_not_a_format(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, world\n")
    with pytest.raises(ndfiles.Error, match="not a FITS, ASDF, Zarr"):
        ndfiles.open(p)
    with pytest.raises(ndfiles.Error, match="not a Zarr store"):
        ndfiles.open(tmp_path)


def test_unknown_selector():
    ds = ndfiles.open(CUBE)
    with pytest.raises(ndfiles.Error, match="NOPE"):
        ds["NOPE"]
    with pytest.raises(ndfiles.Error):
        ds[7]
    with pytest.raises(TypeError):
        ds[1.5]


def test_truncated_and_damaged_files(tmp_path):
    data = CUBE.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ndfiles.Error, match="cut.fits"):
        ds = ndfiles.open(cut)
        np.asarray(ds["SCI"])
    # random damage anywhere: an error or values, never a crash
    rng = np.random.default_rng(3)
    for src in [CUBE, TESTDATA / "asdf" / "py" / "compressed_zlib.asdf"]:
        raw = bytearray(src.read_bytes())
        for i in range(20):
            bad = bytearray(raw)
            for pos in rng.integers(0, len(bad), 8):
                bad[pos] = int(rng.integers(0, 256))
            p = tmp_path / f"bad{i}{src.suffix}"
            p.write_bytes(bytes(bad))
            try:
                ds = ndfiles.open(p)
                for k in ds.keys():
                    ds[k][...]
            except ndfiles.Error:
                pass


def test_damaged_zarr_chunk(tmp_path):
    import shutil

    src = TESTDATA / "zarr" / "stores" / "zstd.zarr"
    dst = tmp_path / "z.zarr"
    shutil.copytree(src, dst)
    chunk = sorted(p for p in dst.iterdir() if not p.name.startswith("."))[0]
    chunk.write_bytes(b"garbage")
    arr = ndfiles.open(dst)["/"]
    with pytest.raises(ndfiles.Error, match=chunk.name):
        np.asarray(arr)


def test_record_arrays_are_refused_clearly():
    arr = ndfiles.open(TESTDATA / "zarr" / "stores" / "dtype_struct.zarr")["/"]
    with pytest.raises(ndfiles.Error, match="records"):
        arr[0]
    with pytest.raises(ndfiles.Error, match="records"):
        np.asarray(arr)


def test_bad_options():
    with pytest.raises(ndfiles.Error):
        ndfiles.open(CUBE, timeout=-1)
    with pytest.raises(TypeError):
        ndfiles.open(CUBE, retries="many")


def test_bad_urls():
    with pytest.raises(ndfiles.Error):
        ndfiles.open("http://127.0.0.1:9/none.fits", retries=0, timeout=2)
