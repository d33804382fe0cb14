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
