"""Shared helpers: where testdata is, how values are compared, the loopback test servers."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"


def load_npy(path: Path) -> np.ndarray:
    if path.suffix == ".gz":
        with gzip.open(path) as f:
            return np.load(f)
    return np.load(path)


def assert_same(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    """Same shape, same dtype (as native byte order), same values bit for bit (NaN equal NaN)."""
    want = np.asarray(want)
    assert isinstance(got, np.ndarray), f"{what}: got {type(got).__name__}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype.newbyteorder("="), f"{what}: dtype {got.dtype} != {want.dtype}"
    want = want.astype(want.dtype.newbyteorder("="))
    if got.dtype.kind in "fc":
        np.testing.assert_array_equal(got, want, err_msg=what, strict=True)
        # and bit for bit where not NaN (signed zeros, NaN payloads aside)
        mask = ~np.isnan(want)
        assert np.array_equal(got[mask].view(np.uint8), want[mask].view(np.uint8)), what
    elif got.dtype.kind in "mM":  # NaT is not equal to itself
        assert np.array_equal(got.view("i8"), want.view("i8")), what
    else:
        assert np.array_equal(got, want), what


def servers() -> dict[str, str]:
    """The loopback test servers' addresses (`bash .ci/servers.sh` writes them), or {}."""
    env = ROOT / "target" / "nd-test-servers.env"
    try:
        text = env.read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


@pytest.fixture(scope="session")
def fits_manifest() -> dict:
    return json.loads((TESTDATA / "fits" / "manifest.json").read_text())


@pytest.fixture
def cube_path() -> str:
    return os.fspath(TESTDATA / "example" / "cube.fits")
