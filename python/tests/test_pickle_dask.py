"""Pickling (location + selector, reopened) and dask on worker processes."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import ndfiles
from conftest import TESTDATA, assert_same

ZARR = TESTDATA / "zarr" / "stores" / "zstd.zarr"
CUBE = TESTDATA / "example" / "cube.fits"


def test_pickle_round_trip(tmp_path, monkeypatch):
    arr = ndfiles.open(os.path.relpath(CUBE))["SCI"]
    assert os.path.isabs(arr.location)
    data = pickle.dumps(arr)
    # reopened from anywhere (the location is absolute)
    monkeypatch.chdir(tmp_path)
    back = pickle.loads(data)
    assert isinstance(back, ndfiles.Array)
    assert (back.shape, back.dtype, back.chunks, back.selector) == (arr.shape, arr.dtype, arr.chunks, "SCI")
    assert_same(back[3:5, ::-4], arr[3:5, ::-4])


def test_unpickled_in_another_process():
    arr = ndfiles.open(ZARR)["/"]
    code = (
        "import pickle, sys, numpy as np; a = pickle.loads(sys.stdin.buffer.read()); "
        "sys.stdout.write(repr(float(np.asarray(a, dtype='f8').sum())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(arr), capture_output=True, check=True
    )
    assert float(out.stdout) == float(np.asarray(arr, dtype="f8").sum())


def test_pickling_a_missing_file_fails_with_error_on_load(tmp_path):
    p = tmp_path / "gone.fits"
    p.write_bytes(CUBE.read_bytes())
    data = pickle.dumps(ndfiles.open(p)["SCI"])
    p.unlink()
    with pytest.raises(ndfiles.Error, match="gone.fits"):
        pickle.loads(data)


def test_dask_processes_scheduler():
    da = pytest.importorskip("dask.array")
    arr = ndfiles.open(ZARR)["/"]
    x = da.from_array(arr, chunks=arr.chunks)
    assert x.chunksize == arr.chunks and x.dtype == arr.dtype
    full = np.asarray(arr)
    assert x.sum().compute(scheduler="processes", num_workers=2) == full.sum()
    assert_same(x[::-3, 2:].compute(scheduler="processes", num_workers=2), full[::-3, 2:])


def test_dask_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    arr = ndfiles.open(CUBE)["SCI"]
    x = da.from_array(arr, chunks=(8, 32, 32))
    full = np.asarray(arr)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        got = client.compute(da.nanmean(x.astype("f8"), axis=0)).result()
    np.testing.assert_allclose(got, np.nanmean(full.astype("f8"), axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    "path",
    ["/data/x.fits", "/data/../x.fits", "/data/./x.fits", "//data/x.fits", "/data//x.fits",
     "/data/x/", "/data/.hidden.fits", "x.fits", "../x.fits", "./d/../x.fits", "/"],
)
def test_a_location_is_the_absolute_path_abspath_gives(path):
    # what an array pickles and reopens from: the fast path for clean absolute paths agrees
    assert ndfiles._location(path) == os.path.abspath(path)
