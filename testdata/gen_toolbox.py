"""Fixtures of the astronomer's toolbox (issue 19): cfitsio extended filenames, the inputs users have.

Usage: .venv/bin/python testdata/generate.py toolbox   (writes testdata/toolbox/)

- ext.fits / ext.fits.gz: an empty primary, SCI ver 1 (a float32 cube, numpy shape (4, 6, 8)),
  SCI ver 2 (an int16 image stored with BSCALE/BZERO, numpy shape (20, 30)), written by astropy.
- ext.fits.bz2, ext.fits.zip (deflated), ext_stored.fits.zip (stored): the same file in the containers
  astropy reads (bz2.BZ2File; a zip of exactly one member); containers.json says astropy read each
  to the same values.
- arrays.npy, arrays.npz (np.savez: `cube`, `flags`), arrays_z.npz (np.savez_compressed): .npy/.npz
  sources, values equal to ext.fits' SCI 1 and a bool array.
- info.json: astropy's `HDUList.info(output=False)` rows (index, name, ver, class, cards, dimensions,
  format) of FITS files of the test corpus, for `nd info`'s astropy view.
- tables/<name>.npz: astropy's values of every fixed-width column of a table HDU, field by field
  (`np.asarray(hdul[i].data[name])`, strings with trailing blanks stripped), the reference for
  `nd export t.fits i -o t.npy | .csv | .parquet`; tables.json lists them with the HDU and the
  column names and dtypes.
- extended.json: for each extended filename (cfitsio syntax: 1-based, inclusive, FITS axis order),
  the numpy slices this script derives on its own and what astropy's `section` returns for them
  (shape, dtype, values in C order), so `cargo test` compares nd's cutouts without Python.
"""
import json
import os
import shutil

import numpy as np
from astropy.io import fits

# (extended filename suffix, HDU index astropy reads, FITS-order ranges or None)
EXTENDED_CASES = [
    ("[1]", 1, None),
    ("[SCI]", 1, None),
    ("[sci,2]", 2, None),
    ("[2]", 2, None),
    ("[SCI,2][5:12,3:20]", 2, "5:12,3:20"),
    ("[SCI,2][12:5,20:3]", 2, "12:5,20:3"),
    ("[SCI,2][1:30:2,*]", 2, "1:30:2,*"),
    ("[SCI,2][-*,-*:3]", 2, "-*,-*:3"),
    ("[SCI,2][*:4,7]", 2, "*:4,7"),
    ("[SCI,2][30:1:4,20:20]", 2, "30:1:4,20:20"),
    ("[1][2:7:2,1:6,4:1]", 1, "2:7:2,1:6,4:1"),
    ("[1][*,-*,*:2]", 1, "*,-*,*:2"),
    ("[SCI][8:1:3,6:2:2,3]", 1, "8:1:3,6:2:2,3"),
    # a section alone: cfitsio's fits_open_image takes the first image HDU (SCI 1; the primary is empty)
    ("[1:8,2:5,1:4]", 1, "1:8,2:5,1:4"),
    ("[-*,*,-*]", 1, "-*,*,-*"),
]


def fits_range_to_slice(item, n):
    """cfitsio's pixel range (1-based, inclusive, b < a backwards) as a python slice."""
    parts = item.split(":")
    head, step = parts[0], int(parts[2]) if len(parts) == 3 else None
    if head in ("*", "-*"):
        s = int(parts[1]) if len(parts) == 2 else 1
        return slice(None, None, -s if head == "-*" else s)
    if len(parts) == 1:
        a = int(head)
        return slice(a - 1, a)
    a, b = int(parts[0]), int(parts[1])
    s = step or 1
    assert 1 <= a <= n and 1 <= b <= n, (item, n)
    if a <= b:
        return slice(a - 1, b, s)
    stop = b - 2
    return slice(a - 1, None if stop < 0 else stop, -s)


def numpy_key(section, shape):
    items = [i.strip() for i in section.split(",")]
    assert len(items) == len(shape)
    # FITS order (NAXIS1 first) -> numpy order (last axis first)
    return tuple(fits_range_to_slice(it, n) for it, n in zip(reversed(items), shape))


def extended(outdir):
    rng = np.random.default_rng(20261219)
    cube = rng.normal(0, 1, (4, 6, 8)).astype(np.float32)
    cube[1, 2, 3] = np.nan
    img = rng.normal(100, 20, (20, 30)).astype(np.float32)
    sci2 = fits.ImageHDU(img, name="SCI", ver=2)
    sci2.scale("int16", bscale=0.05, bzero=100.0)
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(cube, name="SCI", ver=1), sci2])
    path = os.path.join(outdir, "ext.fits")
    hdul.writeto(path, overwrite=True)
    hdul.writeto(path + ".gz", overwrite=True)
    cases = []
    with fits.open(path) as f:
        for suffix, hdu, section in EXTENDED_CASES:
            h = f[hdu]
            if section is None:
                got = h.data
                key = None
            else:
                key = numpy_key(section, h.shape)
                got = h.section[key]
            got = np.asarray(got)
            # astropy's section of a strided or reversed cut comes back as float64 even when
            # hdu.data is float32; the values are the same (checked here), and nd keeps the
            # type of hdu.data
            data_dtype = h.data.dtype
            np.testing.assert_array_equal(got.astype(data_dtype), got)
            if key is not None:
                np.testing.assert_array_equal(got.astype(data_dtype), h.data[key])
            cases.append(
                {
                    "name": suffix,
                    "hdu": hdu,
                    "numpy": None if key is None else [[k.start, k.stop, k.step] for k in key],
                    "shape": list(got.shape),
                    "dtype": got.dtype.name,
                    "data_dtype": data_dtype.name,
                    "values": [None if np.isnan(v) else float(v) for v in got.ravel()],
                }
            )
    with open(os.path.join(outdir, "extended.json"), "w") as fh:
        json.dump({"file": "ext.fits", "cases": cases}, fh)


def containers(outdir):
    import bz2
    import zipfile

    src = os.path.join(outdir, "ext.fits")
    raw = open(src, "rb").read()
    with open(src + ".bz2", "wb") as fh:
        fh.write(bz2.compress(raw, 9))
    with zipfile.ZipFile(src + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(src, "ext.fits")
    with zipfile.ZipFile(os.path.join(outdir, "ext_stored.fits.zip"), "w", zipfile.ZIP_STORED) as z:
        z.write(src, "ext.fits")
    checked = {}
    for name in ["ext.fits.gz", "ext.fits.bz2", "ext.fits.zip", "ext_stored.fits.zip"]:
        # fresh files each time: reading scaled data changes astropy's header (BSCALE goes)
        with fits.open(src) as ref, fits.open(os.path.join(outdir, name)) as f:
            assert len(f) == len(ref), name
            assert [str(h.header) for h in f] == [str(h.header) for h in ref], name
            for a, b in zip(f, ref):
                if b.data is not None:
                    np.testing.assert_array_equal(a.data, b.data)
            checked[name] = len(f)
    with open(os.path.join(outdir, "containers.json"), "w") as fh:
        json.dump({"read_by_astropy_as_ext_fits": checked}, fh)


def npy_sources(outdir):
    with fits.open(os.path.join(outdir, "ext.fits")) as f:
        cube = np.asarray(f[1].data)
    flags = (np.arange(24).reshape(4, 6) % 3) == 0
    np.save(os.path.join(outdir, "arrays.npy"), cube)
    np.savez(os.path.join(outdir, "arrays.npz"), cube=cube, flags=flags)
    np.savez_compressed(os.path.join(outdir, "arrays_z.npz"), cube=cube.astype(">f8"), flags=flags)


INFO_FILES = [
    "example/cube.fits",
    "example/image.fits",
    "fits/astropy/scale.fits",
    "fits/astropy/table.fits",
    "fits/astropy/ascii.fits",
    "fits/astropy/m13_rice.fits",
    "fits/astropy/random_groups.fits",
    "fits/gen/dt_u16.fits",
    "fits/gen/mef.fits",
    "fits/gen/bt_all.fits",
    "fits/gen/dim1.fits",
    "toolbox/ext.fits",
]

TABLE_FILES = [
    ("fits/astropy/table.fits", 1),
    ("fits/astropy/tb.fits", 1),
    ("fits/astropy/ascii.fits", 1),
    ("fits/gen/bt_all.fits", 1),
]


def info(outdir):
    root = os.path.dirname(outdir)
    rows = {}
    for rel in INFO_FILES:
        with fits.open(os.path.join(root, rel)) as f:
            rows[rel] = [
                [r[0], r[1], r[2], r[3], r[4], list(r[5]) if isinstance(r[5], tuple) else r[5], r[6]]
                for r in f.info(output=False)
            ]
    with open(os.path.join(outdir, "info.json"), "w") as fh:
        json.dump(rows, fh, indent=1)


def tables(outdir):
    root = os.path.dirname(outdir)
    os.makedirs(os.path.join(outdir, "tables"), exist_ok=True)
    listing = {}
    for rel, hdu in TABLE_FILES:
        name = os.path.basename(rel).replace(".fits", "")
        with fits.open(os.path.join(root, rel)) as f:
            data = f[hdu].data
            fields = {}
            cols = []
            for c in f[hdu].columns:
                if "P" in c.format or "Q" in c.format:
                    continue
                v = np.asarray(data[c.name])
                if v.dtype.kind in "SU":
                    # astropy gives str with trailing blanks stripped; nd exports the bytes
                    v = np.char.rstrip(v)
                    if v.dtype.kind == "U":
                        v = np.char.encode(v, "ascii")
                    v = v.astype(f"S{max(1, v.dtype.itemsize)}")
                v = v.astype(v.dtype.newbyteorder("="))
                fields[c.name] = v
                cols.append([c.name, v.dtype.str, list(v.shape[1:])])
            np.savez(os.path.join(outdir, "tables", f"{name}.npz"), **fields)
            listing[name] = {"file": rel, "hdu": hdu, "rows": len(data), "columns": cols}
    with open(os.path.join(outdir, "tables.json"), "w") as fh:
        json.dump(listing, fh, indent=1)


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    extended(outdir)
    containers(outdir)
    npy_sources(outdir)
    info(outdir)
    tables(outdir)


if __name__ == "__main__":
    generate(os.path.join(os.path.dirname(os.path.abspath(__file__)), "toolbox"))
