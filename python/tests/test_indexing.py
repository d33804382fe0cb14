"""numpy basic indexing of an ndfiles.Array is numpy's indexing of the whole array."""

from __future__ import annotations

import itertools
import random
import threading

import numpy as np
import pytest

import ndfiles
from conftest import TESTDATA, assert_same

CUBE = TESTDATA / "example" / "cube.fits"
ZARR = TESTDATA / "zarr" / "stores"

KEYS = [
    (),
    0,
    -1,
    np.int64(5),
    slice(None),
    slice(3, 9),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(-3, None),
    slice(10, 2, -3),
    slice(100, -100, -7),
    slice(5, 5),
    slice(7, 2),
    Ellipsis,
    (Ellipsis, 0),
    (0, Ellipsis),
    (0, Ellipsis, -1),
    (None,),
    (None, 2, None),
    (Ellipsis, None),
    (1, slice(None, None, -5), None, slice(2, 60, 9)),
    (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)),
    (-32, -64, -64),
    (31, 63, 63),
    (slice(1, 2), 5, Ellipsis, None),
    (0, 0, 0),
    (0, 0, Ellipsis, 0),
    (slice(0, 0), 3),
]


@pytest.fixture(scope="module")
def cube():
    arr = ndfiles.open(CUBE)["SCI"]
    return arr, np.asarray(arr)


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_basic_indexing_is_numpys(cube, key):
    arr, full = cube
    got = arr[key]
    want = full[key]
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, np.ndarray):
        assert_same(got, want, repr(key))
    else:
        assert got.dtype == want.dtype and (got == want or (np.isnan(got) and np.isnan(want)))


# ints, slices of step 1 and one `...`: parsed, allocated and read in Rust (getitem.rs)
RUST_KEYS = [(), 0, -1, np.int64(5), slice(None), slice(3, 9), slice(-3, None), Ellipsis,
             (Ellipsis, 0), (0, Ellipsis), (0, Ellipsis, -1), (-32, -64, slice(None)),
             (31, slice(2, 7), 63), (slice(1, 2), 5, Ellipsis), (0, 0, Ellipsis, 0)]
# everything else: Python's path (numpy's errors, scalars, steps, newaxis, empty selections)
PYTHON_KEYS = [slice(None, None, 2), slice(5, 5), (None,), (Ellipsis, None), (0, 0, 0), (slice(0, 0), 3),
               32, -33, True, np.bool_(False), 1.5, [1, 2], "a", (Ellipsis, Ellipsis), (0, 0, 0, 0)]


def test_common_keys_are_read_in_rust_and_others_in_python(cube):
    arr, full = cube
    for key in RUST_KEYS:
        got = arr._getitem_fast(key)
        assert got is not None, key
        # a new array of the result's shape, owning its memory (no view of a larger box)
        assert got.flags.owndata and got.flags.c_contiguous and got.flags.writeable, key
        assert_same(got, full[key], repr(key))
    for key in PYTHON_KEYS:
        assert arr._getitem_fast(key) is None, key


def test_the_common_path_runs_no_python_code(cube):
    """``ndfiles.open(path)[selector][key]`` for a clean absolute path and a common key runs no
    Python function (the base classes in Rust do it all), and gives numpy's values; a key of
    the Python path (a step) runs Python's, which the hook sees."""
    import sys

    _, full = cube
    path = str(CUBE.resolve())
    key = (2, slice(10, 20), slice(5, 9))

    def opened(k):
        return ndfiles.open(path)["SCI"][k]

    calls: list[str] = []

    def hook(frame, event, arg):
        if event == "call":
            calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    opened(key)  # first use: imports, caches
    sys.setprofile(hook)
    try:
        got = ndfiles.open(path)["SCI"][key]
    finally:
        sys.setprofile(None)
    assert calls == []
    assert_same(got, full[key], "common key")
    sys.setprofile(hook)
    try:
        ndfiles.open(path)["SCI"][::2]
    finally:
        sys.setprofile(None)
    assert any(c.endswith(":_getitem_python") for c in calls), calls


def test_random_slices_of_chunked_zarr_are_numpys():
    rng = random.Random(7)
    arr = ndfiles.open(ZARR / "zstd.zarr")["/"]
    full = np.asarray(arr)
    assert arr.chunks != arr.shape
    for _ in range(300):
        key = []
        for dim in arr.shape:
            kind = rng.randrange(4)
            if kind == 0:
                key.append(rng.randrange(-dim, dim))
            else:
                a, b = rng.randrange(-dim - 2, dim + 2), rng.randrange(-dim - 2, dim + 2)
                step = rng.choice([1, 1, 2, 3, -1, -2, -5, None])
                key.append(slice(rng.choice([a, None]), rng.choice([b, None]), step))
        if rng.random() < 0.3:
            key.insert(rng.randrange(len(key) + 1), None)
        key = tuple(key)
        got, want = arr[key], full[key]
        if isinstance(want, np.ndarray):
            assert_same(got, want, repr(key))
        else:
            assert got == want, key


def test_zero_d_array():
    arr = ndfiles.open(TESTDATA / "asdf" / "py" / "dtypes.asdf")["scalar0d"]
    assert arr.shape == () and arr.ndim == 0 and arr.size == 1
    full = np.asarray(arr)
    assert full.shape == ()
    assert type(arr[()]) is type(full[()]) and arr[()] == full[()]
    assert_same(arr[...], full[...])
    assert_same(arr[None], full[None])
    with pytest.raises(TypeError):
        len(arr)


@pytest.mark.parametrize(
    "key, error",
    [
        (32, IndexError),
        (-33, IndexError),
        ((0, 0, 0, 0), IndexError),
        ((Ellipsis, 0, Ellipsis), IndexError),
        ([0, 1], IndexError),
        (np.array([0, 1]), IndexError),
        (True, IndexError),
        ("a", IndexError),
        (1.5, IndexError),
    ],
    ids=repr,
)
def test_bad_keys_raise_what_numpy_raises(cube, key, error):
    arr, full = cube
    with pytest.raises(error):
        arr[key]


def test_array_protocol(cube):
    arr, full = cube
    assert_same(np.array(arr), full)
    assert_same(np.asarray(arr, dtype=np.float32), full)
    assert np.asarray(arr, dtype="f8").dtype == np.float64
    assert np.array(arr, copy=True).shape == full.shape
    with pytest.raises(ValueError, match="copy=False"):
        np.array(arr, copy=False)
    # numbers are read straight into an array numpy allocated: the result is that array, no
    # view of another buffer (a copy from a Rust buffer would need one more array)
    out = np.asarray(arr)
    assert out.flags.owndata and out.base is None
    assert out.flags.writeable and out.flags.c_contiguous
    # values of other types (strings here) are handed over from Rust without a copy
    words = ndfiles.open(TESTDATA / "zarr" / "stores" / "dtype_S5.zarr")["/"][...]
    assert not words.flags.owndata and words.base is not None


def test_dtypes_of_every_kind_equal_asdfs():
    import asdf

    path = TESTDATA / "asdf" / "py" / "dtypes.asdf"
    ds = ndfiles.open(path)
    seen = set()
    with asdf.open(path, lazy_load=False, memmap=False) as af:
        for key in ds.keys():
            arr = ds[key]
            want = np.asarray(af.tree[key])
            if want.dtype.names:  # records: not read yet
                with pytest.raises(ndfiles.Error, match="records"):
                    arr[...]
                continue
            got = np.asarray(arr)
            assert got.dtype == arr.dtype and got.dtype.isnative, key
            assert_same(got, want, key)
            # strided and reversed selections of every kind (bool, complex, strings) too
            if got.ndim:
                k = (slice(None, None, -2),) + (slice(None),) * (got.ndim - 1)
                assert_same(arr[k], want[k], f"{key} {k}")
            if got.ndim:  # numbers through the Rust path, strings through Python's
                assert_same(arr[...], want, key)
                assert_same(arr[1:, ...], want[1:, ...], key)
            seen.add(got.dtype.str)
    assert {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8",
            "<c8", "<c16"} <= seen, seen
    assert any(s.startswith(("|S", "<U")) for s in seen), seen


def test_threads_read_concurrently(cube):
    arr, full = cube
    errors = []

    def work(i):
        try:
            for k in range(20):
                z = (i * 7 + k) % 32
                assert_same(arr[z, ::3, 5:40], full[z, ::3, 5:40])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_every_axis_combination_of_steps(cube):
    arr, full = cube
    for steps in itertools.product([1, 2, -1, -3], repeat=3):
        key = tuple(slice(None, None, s) for s in steps)
        assert_same(arr[key], full[key], repr(key))
