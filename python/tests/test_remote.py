"""URLs through the facade: the loopback nginx (HTTP ranges) and moto (S3) that
`bash .ci/servers.sh` starts (.ci/run does); skipped when they are not running."""

from __future__ import annotations

import pickle
import urllib.request
import uuid

import numpy as np
import pytest

import ndfiles
from conftest import TESTDATA, assert_same, servers

S = servers()
needs_http = pytest.mark.skipif("ND_TEST_HTTP_URL" not in S, reason="no test servers (bash .ci/servers.sh)")
needs_s3 = pytest.mark.skipif("ND_TEST_S3_ENDPOINT" not in S, reason="no test servers (bash .ci/servers.sh)")


@needs_http
def test_http_fits_and_zarr_match_local():
    base = S["ND_TEST_HTTP_URL"]
    for rel, sel in [("example/cube.fits", "SCI"), ("zarr/stores/zstd.zarr/", "/"),
                     ("asdf/py/compressed_zlib.asdf", "small")]:
        remote = ndfiles.open(f"{base}/{rel}")[sel]
        local = ndfiles.open(TESTDATA / rel)[sel]
        assert remote.location.startswith("http://")
        assert_same(np.asarray(remote), np.asarray(local), rel)
        key = (slice(None, None, -2),) * remote.ndim
        assert_same(remote[key], local[key], rel)
        back = pickle.loads(pickle.dumps(remote))
        assert back.location == remote.location
        assert_same(back[...], local[...], rel)


@needs_http
def test_local_cluster_nansum_over_http():
    """dask.distributed, 2 worker processes: each reopens the URL and reads its own chunks from
    the loopback nginx; nansum of a FITS cube and of a Zarr array equal numpy's of the local
    file (read by astropy / zarr-python)."""
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    import zarr
    from astropy.io import fits

    base = S["ND_TEST_HTTP_URL"]
    with fits.open(TESTDATA / "example" / "cube.fits") as hdul:
        fits_want = np.nansum(hdul["SCI"].data.astype("f8"))
    zarr_want = np.nansum(zarr.open(str(TESTDATA / "zarr" / "stores" / "zstd.zarr"), mode="r")[...].astype("f8"))
    cube = ndfiles.open(f"{base}/example/cube.fits")["SCI"]
    store = ndfiles.open(f"{base}/zarr/stores/zstd.zarr/")["/"]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        x = da.from_array(cube, chunks=(8, 32, 32))
        y = da.from_array(store, chunks=store.chunks)
        assert y.npartitions > 1 and x.npartitions > 1
        got_fits, got_zarr = client.compute([da.nansum(x.astype("f8")), da.nansum(y.astype("f8"))], sync=True)
        workers = client.run(lambda: "ndfiles" in __import__("sys").modules)
    assert len(workers) == 2 and all(workers.values())
    np.testing.assert_allclose(got_fits, fits_want, rtol=1e-12)
    np.testing.assert_allclose(got_zarr, zarr_want, rtol=1e-12)


@needs_http
def test_http_missing_object():
    with pytest.raises(ndfiles.Error, match="nope.fits"):
        ndfiles.open(f"{S['ND_TEST_HTTP_URL']}/example/nope.fits")


@needs_s3
def test_s3_with_options():
    endpoint, bucket = S["ND_TEST_S3_ENDPOINT"], S["ND_TEST_S3_BUCKET"]
    # a new key each run: moto refuses an unsigned PUT over an existing object
    key = f"ndfiles-py/{uuid.uuid4().hex}/cube.fits"
    req = urllib.request.Request(
        f"{endpoint}/{bucket}/{key}", data=(TESTDATA / "example/cube.fits").read_bytes(), method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    opts = dict(aws_endpoint=endpoint, aws_access_key_id="testing",
                aws_secret_access_key="testing-secret", aws_region="us-east-1", allow_http=True)
    arr = ndfiles.open(f"s3://{bucket}/{key}", **opts)["SCI"]
    local = ndfiles.open(TESTDATA / "example/cube.fits")["SCI"]
    assert_same(arr[5:9, ::3, -1], local[5:9, ::3, -1])
    # the options travel with a pickled array
    assert_same(pickle.loads(pickle.dumps(arr))[0], local[0])


def put_cube(endpoint: str, bucket: str) -> str:
    """Upload the cube under a new key, readable by anyone (for unsigned GETs)."""
    key = f"ndfiles-py/{uuid.uuid4().hex}/cube.fits"
    req = urllib.request.Request(
        f"{endpoint}/{bucket}/{key}", data=(TESTDATA / "example/cube.fits").read_bytes(), method="PUT",
        headers={"Content-Type": "application/octet-stream", "x-amz-acl": "public-read"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    return key


@needs_s3
def test_s3_fsspec_storage_options_and_xarray():
    endpoint, bucket = S["ND_TEST_S3_ENDPOINT"], S["ND_TEST_S3_BUCKET"]
    key = put_cube(endpoint, bucket)
    local = ndfiles.open(TESTDATA / "example/cube.fits")["SCI"]
    so = {"key": "testing", "secret": "testing-secret", "endpoint_url": endpoint,
          "client_kwargs": {"region_name": "us-east-1"}}
    ds = ndfiles.open(f"s3://{bucket}/{key}", storage_options=so, cache_size=1 << 20,
                      block_size=64 << 10, timeout=20, retries=1, threads=1)
    assert_same(ds["SCI"][3, 10:20], local[3, 10:20])
    # anonymous (unsigned) requests: moto serves them
    anon = ndfiles.open(f"s3://{bucket}/{key}", storage_options={"anon": True, "endpoint_url": endpoint,
                                                                  "region_name": "us-east-1"})
    assert_same(anon["SCI"][-1], local[-1])
    import xarray as xr

    got = xr.open_dataset(f"s3://{bucket}/{key}", engine="ndfiles", storage_options=so)
    assert_same(got["SCI"][0:2].values, local[0:2])


def test_bad_options_are_errors():
    cube = TESTDATA / "example/cube.fits"
    with pytest.raises(ndfiles.Error, match="timeout"):
        ndfiles.open("s3://bucket/x.fits", timeout=0)
    with pytest.raises(ndfiles.Error, match="limits"):
        ndfiles.open(cube, limits={"nope": 1})
    with pytest.raises(TypeError):
        ndfiles.open(cube, threads="two")
    # a closed port: refused at once, one line naming the URL (no retries of a refusal)
    with pytest.raises(ndfiles.Error, match="127.0.0.1:9"):
        ndfiles.open("http://127.0.0.1:9/cube.fits", timeout=2, connect_timeout=1, retries=0)
    # limits apply to local files: a .fits.gz larger than allowed decompressed
    gz = TESTDATA / "fits/gen/sc_i16.fits.gz"
    assert ndfiles.open(gz).keys()
    with pytest.raises(ndfiles.Error, match="(?i)decompress"):
        ndfiles.open(gz, limits={"decompressed_bytes": 1000})
    assert_same(ndfiles.open(cube, threads=1)["SCI"][...], ndfiles.open(cube)["SCI"][...])
