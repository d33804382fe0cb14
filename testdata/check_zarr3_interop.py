#!/usr/bin/env python3
"""Check that zarr-python 3, tensorstore and zarrs read what `nd convert --zarr-format 3` writes
(sharded with --shards and not; several dtypes and codecs) equal to the source's values as nd
exports them from the source file (`nd export SRC SEL -o ref.npy`; nd's FITS reads are checked
against astropy by check_convert.py). Not part of `cargo test` (it needs the reference libraries):

    cargo build -p nd-cli
    cargo build --release --manifest-path bench/zarr-v3/Cargo.toml   # the zarrs reader
    .venv-zarr3/bin/python testdata/check_zarr3_interop.py target/debug/nd \
        bench/zarr-v3/target/release/nd-zarr-v3-bench

(the venv from testdata/requirements-zarr3.txt). Prints one line per array and reader; exit
status 1 when any reader fails or differs. Without the second argument zarrs is skipped (and
said so).
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import tensorstore as ts
import zarr

HERE = os.path.dirname(os.path.abspath(__file__))
ND = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "debug", "nd"))
ZARRS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
results = {"zarr-python": [0, 0], "tensorstore": [0, 0], "zarrs": [0, 0]}  # [equal, failed]


def nd(*args):
    return subprocess.run([ND, *args], check=True, capture_output=True, text=True).stdout


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def note(reader, ok, what):
    results[reader][0 if ok else 1] += 1
    print(("ok    " if ok else "FAIL  ") + f"{reader:12} {what}")


def fits_selector(zarr_path):
    # nd convert names arrays EXTNAME or EXTNAME_EXTVER
    name, _, ver = zarr_path.rpartition("_")
    return f"{name},{ver}" if name and ver.isdigit() else zarr_path


def layouts(shape):
    """(label, extra convert arguments) for an array of `shape`."""
    chunks = [max(1, -(-n // 3)) for n in shape]  # about 3 chunks per axis, uneven edges
    inner = [max(1, -(-n // 6)) for n in shape]
    shards = [2 * i for i in inner]  # 2 inner chunks per axis; edge shards are partial
    c = ",".join(map(str, chunks))
    return [
        ("none", ["--compressor", "none", "--chunks", c]),
        ("zstd", ["--compressor", "zstd:3", "--chunks", c]),
        ("gzip", ["--compressor", "gzip:6", "--chunks", c]),
        ("blosc", ["--compressor", "blosc:lz4:5:shuffle", "--chunks", c]),
        ("sharded_zstd", ["--compressor", "zstd:3", "--chunks", ",".join(map(str, inner)),
                          "--shards", ",".join(map(str, shards))]),
        ("sharded_none", ["--compressor", "none", "--chunks", ",".join(map(str, inner)),
                          "--shards", ",".join(map(str, shards))]),
    ]


SOURCES = ["example/cube.fits", "fits/gen/dt_u16.fits", "fits/gen/dt_i8.fits", "fits/gen/dt_i32.fits",
           "fits/gen/dt_i64.fits", "fits/gen/dt_f64.fits", "fits/gen/sc_i16.fits", "fits/gen/dim4.fits",
           "fits/gen/dim1.fits"]

warnings.simplefilter("ignore")
with tempfile.TemporaryDirectory() as tmp:
    for src in SOURCES:
        s = os.path.join(HERE, src)
        info = json.loads(nd("info", "--json", s))
        arrays = [a for a in info["arrays"] if a.get("kind") in ("image", "array") and 0 not in a["shape"]]
        if len(arrays) != 1:
            print(f"skip {src}: {len(arrays)} arrays")
            continue
        shape = arrays[0]["shape"]
        ref_npy = os.path.join(tmp, "ref.npy")
        nd("export", s, arrays[0]["path"], "-o", ref_npy, "--force")
        want = np.load(ref_npy)
        for label, extra in layouts(shape):
            dst = os.path.join(tmp, os.path.basename(src).replace(".", "_") + f"_{label}.zarr")
            nd("convert", s, dst, "--zarr-format", "3", "-q", *extra)
            out = json.loads(nd("info", "--json", dst))
            for a in out["arrays"]:
                path = a["path"].strip("/")
                what = f"{src} -> {label} {path} {want.dtype} {list(want.shape)} ({a.get('codec')})"
                try:
                    got = zarr.open_array(dst, path=path, mode="r", zarr_format=3)[...]
                    note("zarr-python", same(got, want), what)
                except Exception as e:  # noqa: BLE001
                    note("zarr-python", False, f"{what}: {type(e).__name__}: {e}")
                try:
                    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file",
                                 "path": os.path.join(dst, path)}}, open=True).result()
                    note("tensorstore", same(t.read().result(), want), what)
                except Exception as e:  # noqa: BLE001
                    note("tensorstore", False, f"{what}: {type(e).__name__}: {e}")
                if ZARRS:
                    r = subprocess.run([ZARRS, "check", dst, f"{path}={ref_npy}"], capture_output=True, text=True)
                    ok = r.returncode == 0 and "zarrs equal" in r.stdout
                    note("zarrs", ok, what + ("" if ok else f": {r.stdout.strip()} {r.stderr.strip()}"))

for k, (good, bad) in results.items():
    print(f"{k}: {good} arrays equal, {bad} failed" + ("" if k != "zarrs" or ZARRS else " (not run: no zarrs reader given)"))
sys.exit(1 if any(bad for _, bad in results.values()) else 0)
