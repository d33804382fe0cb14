"""Check `nd header` against astropy: listings over many files and in-place edits.

Usage: python testdata/check_header.py path/to/nd [N_FILES]

1. Writes N_FILES (default 500) small FITS files with varied headers (ints, floats, strings,
   logicals, HIERARCH, missing keywords, several HDUs) to a temporary directory and compares
   `nd header -t -k KEY ... 'DIR/*.fits'` with `fitsheader -t -k KEY ... DIR/*.fits` (astropy's
   script, files sorted by name as the shell sorts them): the outputs must be identical.
2. Edits copies of files with `nd header set/delete/history` and with astropy's fits.setval /
   delval / add_history, and checks: the edited file opens with fits.open(checksum=True) without
   warnings (CHECKSUM/DATASUM valid), every card equals astropy's result (CHECKSUM/DATASUM
   values aside), and the data bytes are unchanged.
Exits 1 on any difference.
"""
import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import contextlib
import logging

import numpy as np
from astropy.io import fits
from astropy.io.fits.scripts import fitsheader

ND = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
failures = []


def make_files(d):
    rng = np.random.default_rng(0)
    for i in range(N):
        h = fits.Header()
        h["OBJECT"] = f"field {i % 37}"
        h["EXPTIME"] = float(rng.choice([1.0, 30.5, 1200.0, 1e-5, 12345.678]))
        h["NCOMBINE"] = int(i % 7)
        h["DITHERED"] = bool(i % 2)
        if i % 3:
            h["AIRMASS"] = 1 + (i % 10) / 7
        if i % 5 == 0:
            h["HIERARCH ESO TEL ALT"] = 45.0 + i / 100
        h["DATE-OBS"] = f"2024-01-{1 + i % 28:02d}"
        hdus = [fits.PrimaryHDU(header=h)]
        for k in range(i % 3):
            img = fits.ImageHDU(np.zeros((2 + k, 3), np.int16), name="SCI", ver=k + 1)
            img.header["BUNIT"] = "adu"
            img.header["CRVAL1"] = 10.0 * k + i / 1000
            hdus.append(img)
        fits.HDUList(hdus).writeto(os.path.join(d, f"f{i:04d}.fits"))


def fitsheader_out(args):
    buf = io.StringIO()
    logging.disable(logging.WARNING)
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitsheader.main(args)
    logging.disable(logging.NOTSET)
    return buf.getvalue()


def check_listing(d):
    files = sorted(glob.glob(os.path.join(d, "*.fits")))
    queries = [
        ["-k", "OBJECT", "-k", "EXPTIME"],
        ["-k", "NAXIS*", "-k", "DITHERED", "-k", "AIRMASS"],
        ["-e", "SCI", "-k", "CRVAL1", "-k", "BUNIT"],
        ["-k", "ESO TEL ALT", "-k", "DATE-OBS", "-k", "NCOMBINE"],
    ]
    for q in queries:
        want = fitsheader_out(["-t"] + q + files)
        got = subprocess.run([ND, "header", "-t"] + q + [os.path.join(d, "*.fits")],
                             capture_output=True, text=True)
        if got.stdout != want:
            failures.append(f"listing {q}: nd and fitsheader differ")
            for a, b in zip(got.stdout.splitlines(), want.splitlines()):
                if a != b:
                    print("nd:        ", a)
                    print("fitsheader:", b)
                    break
        else:
            print(f"listing {' '.join(q)}: {len(want.splitlines()) - 1} rows over {len(files)} files, identical")


def data_bytes(path):
    out = []
    with fits.open(path) as hl:
        for h in hl:
            off = h._data_offset
            size = h._data_size
            with open(path, "rb") as f:
                f.seek(off)
                out.append(f.read(size))
    return out


EDITS = [
    (0, ["set", "{f}", "OBSERVER='E. Hubble'", "--comment", "who"], lambda p: fits.setval(p, "OBSERVER", value="E. Hubble", comment="who", ext=0)),
    (0, ["set", "{f}", "EXPTIME=42.5"], lambda p: fits.setval(p, "EXPTIME", value=42.5, ext=0)),
    (1, ["set", "{f}[1]", "GAIN=T"], lambda p: fits.setval(p, "GAIN", value=True, ext=1)),
    (1, ["set", "{f}[SCI]", "NEXP=3"], lambda p: fits.setval(p, "NEXP", value=3, ext=1)),
    (0, ["set", "{f}", "NOTE='" + "long text " * 20 + "end'"], lambda p: fits.setval(p, "NOTE", value="long text " * 20 + "end", ext=0)),
    (0, ["delete", "{f}", "DATE-OBS"], lambda p: fits.delval(p, "DATE-OBS", ext=0)),
    (0, ["history", "{f}", "processed"], None),
    # enough cards for the header to need another block
    (0, ["set", "{f}", "BIG='" + "y" * 2000 + "'"], lambda p: fits.setval(p, "BIG", value="y" * 2000, ext=0)),
]


def check_edits(d):
    src = os.path.join(d, "f0002.fits")  # primary + 2 SCI extensions
    for k, (hdu, cmd, ref) in enumerate(EDITS):
        ours = os.path.join(d, f"e{k}_nd.fits")
        theirs = os.path.join(d, f"e{k}_astropy.fits")
        shutil.copy(src, ours)
        # give the file checksums, as a pipeline that wants them does
        with fits.open(ours, mode="update", checksum=True) as hl:
            for h in hl:
                h.add_checksum()
        shutil.copy(ours, theirs)
        before = data_bytes(ours)
        args = [a.replace("{f}", ours) for a in cmd]
        r = subprocess.run([ND, "header"] + args, capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"edit {cmd}: nd failed: {r.stderr}")
            continue
        if ref is None:
            with fits.open(theirs, mode="update") as hl:
                hl[hdu].header.add_history("processed")
        else:
            ref(theirs)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with fits.open(ours, checksum=True) as hl:
                ha = [h.header.copy() for h in hl]
            if w:
                failures.append(f"edit {cmd}: astropy warns: {[str(x.message) for x in w]}")
        with fits.open(theirs) as hl:
            hb = [h.header.copy() for h in hl]
        skip = {"CHECKSUM", "DATASUM"}
        for i, (x, y) in enumerate(zip(ha, hb)):
            cx = [str(c) for c in x.cards if c.keyword not in skip]
            cy = [str(c) for c in y.cards if c.keyword not in skip]
            if cx != cy:
                failures.append(f"edit {cmd}: HDU {i} cards differ from astropy's")
                for a, b in zip(cx, cy):
                    if a != b:
                        print("nd:     ", a)
                        print("astropy:", b)
                        break
        if data_bytes(ours) != before:
            failures.append(f"edit {cmd}: data bytes changed")
        print(f"edit {' '.join(cmd[:1] + cmd[2:])[:60]}: checked")


def main():
    with tempfile.TemporaryDirectory() as d:
        make_files(d)
        check_listing(d)
        check_edits(d)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all identical")


if __name__ == "__main__":
    main()
