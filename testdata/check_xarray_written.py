#!/usr/bin/env python3
"""Convert testdata files with `nd convert` to Zarr v2, Zarr v3 and sharded Zarr v3, then open
every output with xarray.open_zarr (the root group and every sub-group) and check its dimension
names and that its values are what zarr-python reads (xarray must not mask real values).

Usage (the zarr-python 3 venv with xarray, see gen_zarr_v3.py):
    cargo build -p nd-cli
    .venv-zarr3/bin/python testdata/check_xarray_written.py [target/debug/nd]
With zarr-python 2.18 (testdata/requirements.txt plus an xarray that still supports it, e.g.
xarray 2024.11.0) only the Zarr v2 outputs are checked.
Exit status 1 when anything differs.
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import xarray as xr
import zarr

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# source, extra options, {array: dims} expected at the root group
CASES = [
    ("example/cube.fits", [], {"SCI": ("freq", "dec", "ra")}),
    ("fits/astropy/test0.fits", [], {"SCI_1": ("line", "unitless"), "SCI_2": ("dec", "ra")}),
    ("fits/astropy/o4sp040b0_raw.fits", [], {"SCI_1": ("angle", "lambda")}),
    ("fits/astropy/scale.fits", [], {"PRIMARY": ("dec", "ra")}),
    ("fits/gen/mef.fits", [], {}),
    ("fits/gen/dim4.fits", [], {}),
    ("fits/astropy/tdim.fits", [], {}),
    ("fits/astropy/btable.fits", [], {}),
    ("zarr/hier.zarr", [], {}),
    ("zarr/v3/stores/hier.zarr", [], {}),
    # object (string) columns and arrays nd cannot read (left out) of an anndata-shaped store
    ("zarr/anndata.zarr", [], {}),
]
ZARR2 = zarr.__version__.startswith("2.")
FORMATS = [("v2", [])] + ([] if ZARR2 else [("v3", ["--zarr-format", "3"])])


def subgroups(g):
    """Paths of every group below `g`, in zarr-python 2 or 3."""
    if not ZARR2:
        return [p for p, m in g.members(max_depth=None) if isinstance(m, zarr.Group)]
    out = []

    def visit(name, obj):
        if isinstance(obj, zarr.hierarchy.Group):
            out.append(name)

    g.visititems(visit)
    return out


def main():
    nd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "nd")
    bad, n = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for src, extra, want_dims in CASES:
            for fmt, opts in FORMATS + ([("v3s", ["--zarr-format", "3", "--shards", "16,64,64", "--chunks", "8,32,32"])]
                                        if src == "example/cube.fits" and not ZARR2 else []):
                dst = os.path.join(tmp, f"{src.replace('/', '_')}.{fmt}.zarr")
                r = subprocess.run([nd, "convert", os.path.join(HERE, src), dst, "-q", *opts, *extra],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    bad.append(f"{src} {fmt}: nd convert: {r.stderr.strip()}")
                    continue
                g = zarr.open_group(dst, mode="r")
                groups = [""] + subgroups(g)
                for gp in groups:
                    n += 1
                    try:
                        ds = xr.open_zarr(dst, group=gp or None)
                        for name, v in ds.data_vars.items():
                            a = g[f"{gp}/{name}" if gp else name]
                            raw = a[...]
                            got = v.values
                            if got.dtype != raw.dtype or not np.array_equal(got, raw, equal_nan=raw.dtype.kind in "fc"):
                                bad.append(f"{src} {fmt} {gp}/{name}: xarray values differ from zarr-python's ({got.dtype} vs {raw.dtype})")
                            if len(v.dims) != raw.ndim:
                                bad.append(f"{src} {fmt} {gp}/{name}: dims {v.dims}")
                        if not gp:
                            for k, d in want_dims.items():
                                if ds[k].dims != d:
                                    bad.append(f"{src} {fmt}: {k} dims {ds[k].dims}, expected {d}")
                        print(f"{os.path.basename(src):24} {fmt:4} {gp or '/':8}",
                              {k: v.dims for k, v in ds.data_vars.items()})
                    except Exception as e:  # noqa: BLE001
                        bad.append(f"{src} {fmt} group {gp or '/'}: {type(e).__name__}: {e}")
    print(f"{n - len(bad)} of {n} groups opened by xarray {xr.__version__} with zarr-python {zarr.__version__} "
          "with dimension names and the values zarr-python reads")
    for b in bad:
        print("  FAIL", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
