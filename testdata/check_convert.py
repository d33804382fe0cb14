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


def failures_note(msg):
    global checked, failures
    checked += 1
    failures += 1
    print("FAIL", msg)


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

    # FITS tables: a Zarr group / ASDF mapping per table, one array per fixed-width column, and
    # back to a BINTABLE (spec-notes/convert.md, "Tables")
    def clean(n):
        return "".join(c if c.isascii() and (c.isalnum() or c in "_-.") else "_" for c in n.strip())

    def norm(x):
        x = np.asarray(x)
        if x.dtype.kind == "U":
            x = np.char.encode(x, "ascii")
        if x.dtype.kind == "S":
            x = np.char.rstrip(x)  # astropy compares table strings without trailing whitespace
        return x

    for src in ["fits/gen/bt_all.fits", "fits/astropy/chandra_time.fits", "fits/astropy/zerowidth.fits",
                "fits/gen/ascii_w.fits", "fits/gen/bt_vla.fits", "fits/astropy/stddata.fits"]:
        s = os.path.join(HERE, src)
        name = "t_" + os.path.basename(src).replace(".", "_")
        z, a = os.path.join(tmp, name + ".zarr"), os.path.join(tmp, name + ".asdf")
        nd("convert", s, z)
        nd("convert", s, a)
        backs = []
        for mid in (z, a):
            f = mid + ".fits"
            nd("convert", mid, f, "--checksum")
            backs.append(f)
        g = zarr.open(z, mode="r")
        with fits.open(s) as h, asdf.open(a) as af, fits.open(backs[0], checksum=True) as b1, \
                fits.open(backs[1], checksum=True) as b2:
            for i, hdu in enumerate(h):
                if not isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                    continue
                t = clean(hdu.name) if hdu.name else f"HDU{i}"
                for col in hdu.columns:
                    if col.format.startswith(("P", "Q")) or "P" in col.format[:3] or "Q" in col.format[:3]:
                        assert clean(col.name) not in g[t], (src, col.name)  # skipped with a note
                        continue
                    want = norm(hdu.data[col.name])
                    key = clean(col.name)
                    same(norm(g[t][key][...]), want, f"{src} -> zarr {t}/{key}")
                    same(norm(af[t][key][...]), want, f"{src} -> asdf {t}/{key}")
                    for b, via in ((b1, "zarr"), (b2, "asdf")):
                        bt = b[i]
                        same(norm(bt.data[col.name]), want, f"{src} -> {via} -> fits {i}/{col.name}")
                        bc = bt.columns[col.name]
                        if (bc.unit or "") != (col.unit or "") or (col.dim and bc.dim != col.dim):
                            failures_note(f"{src} -> {via} -> fits {i}/{col.name}: unit/dim {bc.unit!r} {bc.dim!r}")
            for b in (b1, b2):
                b.verify("exception")

    # tile-compressed FITS output: astropy decodes what nd wrote as nd does; integers exactly the
    # source, floats within half their tile's quantization step (exact when lossless)
    for src, comps in [("fits/gen/mef.fits", ["rice", "gzip_1", "gzip_2:lossless", "rice:q=64:dither=2"]),
                       ("example/cube.fits", ["rice", "gzip_2"]), ("fits/gen/dt_u8.fits", ["plio"]),
                       ("fits/gen/dt_i64.fits", ["gzip_1"]), ("fits/gen/dt_f64.fits", ["rice:q=-0.01"])]:
        s = os.path.join(HERE, src)
        images = fits_images(s)
        for comp in comps:
            f = os.path.join(tmp, os.path.basename(src) + "." + comp.replace(":", "_") + ".fits")
            nd("convert", s, f, "--compressor", comp, "--checksum")
            with fits.open(f, checksum=True) as h, fits.open(f, disable_image_compression=True) as raw:
                h.verify("exception")
                comp_hdus = [x for x in h if isinstance(x, fits.CompImageHDU)]
                assert len(comp_hdus) == len(images), (src, comp, len(comp_hdus))
                for (n1, v1, d1, h1), x in zip(images, comp_hdus):
                    what = f"{src} --compressor {comp} {n1},{v1}"
                    k = h.index_of(x)
                    npy = os.path.join(tmp, "nd.npy")
                    nd("export", f, str(k), "-o", npy)
                    same(np.load(npy), x.data, what + " (astropy = nd)")
                    for key in ("OBJECT", "EXTNAME", "EXTVER", "BUNIT"):
                        if key in h1 and (key not in x.header or x.header[key] != h1[key]):
                            failures_note(f"{what}: header {key}")
                    if d1.dtype.kind in "iu" or comp.endswith("lossless"):
                        same(x.data, d1, what)
                    else:
                        zs = raw[k].data["ZSCALE"]
                        tile_rows = x.data.reshape(len(zs), -1)
                        want = d1.reshape(len(zs), -1).astype(np.float64)
                        with np.errstate(invalid="ignore"):  # inf - inf in a lossless tile
                            err = np.abs(tile_rows.astype(np.float64) - want)
                        fin = np.isfinite(want)
                        bound = (zs[:, None] * 0.5 * (1 + 1e-6)) + 1e-6 * np.abs(want)
                        ok = np.all(np.where(fin, err <= bound, np.isnan(tile_rows) == np.isnan(want)))
                        same(np.array(ok), np.array(True), what + " (within ZSCALE / 2)")

warnings.resetwarnings()
print(f"{checked} arrays and columns read back by astropy, asdf and zarr-python; {failures} failures")
sys.exit(1 if failures else 0)
