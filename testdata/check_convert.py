#!/usr/bin/env python3
"""Check that astropy, python asdf and zarr-python read what `nd convert` writes, with the values of the
source as the reference library reads it. Not part of `cargo test` (it needs the reference libraries):

    cargo build -p nd-cli && .venv/bin/python testdata/check_convert.py target/debug/nd
"""
import os
import subprocess
import sys
import tempfile
import warnings

import asdf
import numpy as np
import zarr
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
ND = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "debug", "nd"))
checked = failures = 0


def nd(*args):
    subprocess.run([ND, *args, "-q"] if args[0] == "convert" else [ND, *args], check=True)


def same(a, b, what):
    global checked, failures
    checked += 1
    a, b = np.asarray(a), np.asarray(b)
    ok = a.shape == b.shape and (np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if not ok:
        failures += 1
        print("FAIL", what, a.dtype, b.dtype, a.shape, b.shape)


def fits_images(path):
    with fits.open(path) as h:
        return [(x.name, x.ver, x.data.copy(), x.header.copy()) for x in h if x.data is not None and x.is_image]


warnings.simplefilter("error")  # any warning from a reference library is a failure
with tempfile.TemporaryDirectory() as tmp:
    for src in ["fits/gen/mef.fits", "example/cube.fits", "fits/gen/dt_u16.fits", "fits/gen/dt_i8.fits",
                "fits/gen/sc_i16.fits", "fits/gen/blank_i16.fits", "fits/gen/dim4.fits"]:
        s = os.path.join(HERE, src)
        name = os.path.basename(src).replace(".", "_")
        images = fits_images(s)
        z, a, f = (os.path.join(tmp, name + ext) for ext in (".zarr", ".asdf", ".fits"))
        nd("convert", s, z, "--compressor", "zstd:3")
        nd("convert", s, a)
        nd("convert", z, f, "--checksum")
        g = zarr.open(z, mode="r")
        with asdf.open(a) as af:
            keys = [k for k in af.tree if k not in ("asdf_library", "history", "meta")]
            order = g.attrs["fits_hdu_order"]
            for (hname, ver, data, _), zkey, in zip(images, order):
                same(g[zkey][...], data, f"{src} -> zarr {zkey}")
                same(af[zkey], data, f"{src} -> asdf {zkey}")
            assert len(keys) == len(images), (src, keys)
        with fits.open(f, checksum=True) as h:
            h.verify("exception")
        back = fits_images(f)
        for (n1, v1, d1, h1), (n2, v2, d2, h2) in zip(images, back):
            same(d2, d1, f"{src} -> zarr -> fits {n1},{v1}")
    # one array, chunked and compressed, into each format
    cube = os.path.join(HERE, "example/cube.fits")
    want = fits.getdata(cube, "SCI")
    for dst, comp in [("c.zarr", "blosc:lz4:5:bitshuffle"), ("c.asdf", "zlib"), ("c2.asdf", "zstd:1"), ("c.fits", "none")]:
        d = os.path.join(tmp, dst)
        nd("convert", cube, d, "--array", "SCI", "--compressor", comp, "--chunks", "8,32,32")
        if dst.endswith(".zarr"):
            same(zarr.open(d, mode="r")[...], want, dst)
        elif dst.endswith(".asdf"):
            with asdf.open(d) as af:
                same(af["data"][...], want, dst)
        else:
            same(fits.getdata(d), want, dst)

warnings.resetwarnings()
print(f"{checked} arrays read back by astropy, asdf and zarr-python; {failures} failures")
sys.exit(1 if failures else 0)
