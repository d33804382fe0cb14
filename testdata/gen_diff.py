"""Fixtures for `nd diff` and `nd header`, written with astropy, with what astropy's fitsdiff and
fitsheader say about them.

Run from the repository root: python testdata/gen_diff.py

Writes testdata/diff/:
  <case>_a.fits, <case>_b.fits   pairs made by perturbing small files (headers, values, tables)
  expected.json                  per comparison (pair + fitsdiff options): FITSDiff's verdict and
                                 counts (HDU count, per HDU: keywords only in a / b, differing
                                 values and comments per keyword, card counts, differing pixels,
                                 max abs/rel difference, the first differing indices, table
                                 column differences and differing rows)
  fitsdiff_<name>.txt            fitsdiff's own report, for reading beside nd's
and testdata/header/:
  h<N>.fits                      a handful of files with varied headers
  fitsheader_*.txt               fitsheader's output (-t and plain) for the queries in
                                 queries.json
  edit_*.fits, edit_*.json       a file and the header astropy's fits.setval / delval /
                                 add_history leaves (cards as text), for nd header set/delete/
                                 history to match
"""
import contextlib
import io
import json
import os
import shutil
import warnings

import numpy as np
from astropy.io import fits
from astropy.io.fits.scripts import fitsheader

ROOT = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(ROOT, "diff")
HDR = os.path.join(ROOT, "header")


def rng(seed):
    return np.random.default_rng(seed)


def primary(**cards):
    h = fits.Header()
    h["TELESCOP"] = ("HST", "telescope")
    h["INSTRUME"] = ("WFC3", "instrument")
    h["EXPTIME"] = (1200.0, "exposure time (s)")
    h["GAIN"] = (1.5, "e-/ADU")
    h["OBSERVER"] = "E. Hubble"
    h["HISTORY"] = "first history card"
    h["HISTORY"] = "second history card"
    for k, v in cards.items():
        h[k] = v
    return fits.PrimaryHDU(header=h)


def image(seed, dtype=np.float32, shape=(20, 30), name="SCI", ver=1):
    data = (rng(seed).normal(100, 10, shape)).astype(dtype)
    h = fits.ImageHDU(data=data, name=name, ver=ver)
    h.header["BUNIT"] = ("electron", "units")
    h.header["CRVAL1"] = 150.0
    h.header["CRVAL2"] = 2.5
    return h


def table(seed, nrows=12):
    r = rng(seed)
    cols = [
        fits.Column(name="flux", format="E", array=r.normal(10, 2, nrows).astype(np.float32), unit="Jy"),
        fits.Column(name="id", format="J", array=np.arange(nrows, dtype=np.int32)),
        fits.Column(name="name", format="8A", array=np.array([f"obj{i}" for i in range(nrows)])),
        fits.Column(name="flag", format="L", array=(np.arange(nrows) % 3 == 0)),
        fits.Column(name="vec", format="3D", array=r.normal(0, 1, (nrows, 3))),
    ]
    return fits.BinTableHDU.from_columns(cols, name="CAT")


def write(hdus, path):
    fits.HDUList(hdus).writeto(path, overwrite=True)


def make_pairs():
    os.makedirs(DIFF, exist_ok=True)
    pairs = {}

    # identical content
    write([primary(), image(1)], f"{DIFF}/same_a.fits")
    write([primary(), image(1)], f"{DIFF}/same_b.fits")
    pairs["same"] = None

    # header changes: value, comment, extra and missing keywords, duplicate count, a float
    # that differs by 1e-9 relative (caught at rtol 0, passed at rtol 1e-6)
    a = [primary(), image(2)]
    b = [primary(), image(2)]
    h = b[0].header
    h["EXPTIME"] = (1200.0, "exposure (seconds)")  # comment only
    h["GAIN"] = 1.5 * (1 + 1e-9)  # tiny float change
    h["OBSERVER"] = "E. P. Hubble"
    del h["INSTRUME"]
    h["FILTER"] = ("F606W", "filter")
    h["HISTORY"] = "third history card"
    b[1].header["CRVAL1"] = 150.5
    b[1].header["DATE-OBS"] = "2024-01-01"
    write(a, f"{DIFF}/hdr_a.fits")
    write(b, f"{DIFF}/hdr_b.fits")

    # pixel changes in a float image: perturbed values, a NaN on both sides (equal), a NaN on
    # one side (differs), an inf on both sides, tiny relative changes
    a = [primary(), image(3)]
    b = [primary(), image(3)]
    da, db = a[1].data, b[1].data
    db[2, 3] += 5
    db[10, 0] -= 0.25
    db[19, 29] *= 2
    da[5, 5] = db[5, 5] = np.nan
    db[6, 6] = np.nan
    da[7, 7] = db[7, 7] = np.inf
    db[8, 1:9] *= np.float32(1 + 1e-6)
    write(a, f"{DIFF}/pix_a.fits")
    write(b, f"{DIFF}/pix_b.fits")

    # integer image
    a = [primary(), image(4, np.int16, (16, 16))]
    b = [primary(), image(4, np.int16, (16, 16))]
    b[1].data[0, :4] += 1
    b[1].data[15, 15] = -7
    write(a, f"{DIFF}/int_a.fits")
    write(b, f"{DIFF}/int_b.fits")

    # tables: values in several columns, an extra column in b, a header keyword
    ta, tb = table(5), table(5)
    tb.data["flux"][[1, 4]] += 1
    tb.data["id"][7] = 99
    tb.data["name"][3] = "other"
    tb.data["flag"][2] = not tb.data["flag"][2]
    tb.data["vec"][9, 1] += 0.5
    tb.data["vec"][9, 2] += 0.5
    write([primary(), ta], f"{DIFF}/tab_a.fits")
    write([primary(), tb], f"{DIFF}/tab_b.fits")
    cols = tb.columns.columns + [fits.Column(name="extra", format="I", array=np.zeros(12, np.int16))]
    write([primary(), fits.BinTableHDU.from_columns(cols, name="CAT")], f"{DIFF}/tabcol_b.fits")

    # structure: another HDU, a renamed extension, a different shape
    write([primary(), image(6), image(7, name="ERR")], f"{DIFF}/mef_a.fits")
    write([primary(), image(6), image(7, name="DQ"), image(8, name="SCI", ver=2)], f"{DIFF}/mef_b.fits")
    write([primary(), image(9, shape=(20, 30))], f"{DIFF}/shape_a.fits")
    write([primary(), image(9, shape=(30, 20))], f"{DIFF}/shape_b.fits")
    # a tile-compressed image (compared by the image header astropy shows) and a scaled integer
    # image (compared as physical values, BLANK as NaN)
    data = (rng(10).normal(1000, 50, (32, 24))).astype(np.int16)
    ca = fits.CompImageHDU(data.copy(), compression_type="RICE_1", name="COMP")
    d2 = data.copy()
    d2[3, 4] += 9
    d2[31, 0] -= 2
    cb = fits.CompImageHDU(d2, compression_type="RICE_1", name="COMP")
    cb.header["FILTER"] = "R"
    write([primary(), ca], f"{DIFF}/comp_a.fits")
    write([primary(), cb], f"{DIFF}/comp_b.fits")
    raw = rng(11).integers(-3000, 3000, (10, 12)).astype(np.int16)
    for tag, tweak in (("a", None), ("b", (4, 5))):
        r = raw.copy()
        if tweak:
            r[tweak] += 1
            r[0, 0] = -32768  # BLANK on one side: NaN against a number
        h = fits.ImageHDU(r, name="SC")
        h.header["BSCALE"] = 0.5
        h.header["BZERO"] = 100.0
        h.header["BLANK"] = -32768
        write([primary(), h], f"{DIFF}/scaled_{tag}.fits")
    return pairs


# comparisons: (name, a, b, fitsdiff keyword arguments)
COMPARISONS = [
    ("same", "same", {}),
    ("hdr", "hdr", {}),
    ("hdr_rtol", "hdr", {"rtol": 1e-6}),
    ("hdr_ignore", "hdr", {"ignore_keywords": ["OBSERVER", "CRVAL*", "DATE-*"], "ignore_comments": ["EXPTIME"]}),
    ("hdr_ignore_all", "hdr", {"ignore_keywords": ["*"]}),
    ("pix", "pix", {}),
    ("pix_rtol", "pix", {"rtol": 1e-5}),
    ("pix_atol", "pix", {"atol": 0.3}),
    ("pix_numdiffs", "pix", {"numdiffs": 3}),
    ("int", "int", {}),
    ("tab", "tab", {}),
    ("tab_rtol", "tab", {"rtol": 0.2}),
    ("tab_ignore_fields", "tab", {"ignore_fields": ["flux", "VEC"]}),
    ("tabcol", ("tab_a", "tabcol_b"), {}),
    ("mef", "mef", {}),
    ("mef_ignore_hdus", "mef", {"ignore_hdus": ["ERR", "D?"]}),
    ("shape", "shape", {}),
    ("comp", "comp", {}),
    ("scaled", "scaled", {}),
    ("scaled_atol", "scaled", {"atol": 1.0}),
]


def py(v):
    """A header or data value as JSON."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if np.isfinite(v) else str(v)
    if isinstance(v, bytes):
        return v.decode("ascii", "replace")
    if isinstance(v, np.ndarray):
        return [py(x) for x in v.tolist()]
    return str(v)


def expected(name, pair, opts):
    a, b = (pair, pair) if isinstance(pair, str) else pair
    pa = f"{DIFF}/{a}_a.fits" if isinstance(pair, str) else f"{DIFF}/{a}.fits"
    pb = f"{DIFF}/{b}_b.fits" if isinstance(pair, str) else f"{DIFF}/{b}.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = fits.FITSDiff(pa, pb, **opts)
    out = {
        "a": os.path.relpath(pa, ROOT),
        "b": os.path.relpath(pb, ROOT),
        "options": opts,
        "identical": d.identical,
        "hdu_count": list(d.diff_hdu_count) if d.diff_hdu_count else None,
        "hdus": [],
    }
    for idx, hd, extname, extver in d.diff_hdus:
        h = hd.diff_headers
        e = {
            "index": idx,
            "extnames": list(hd.diff_extnames) if hd.diff_extnames else None,
            "extvers": list(hd.diff_extvers) if hd.diff_extvers else None,
            "header": {
                "card_count": list(h.diff_keyword_count) if h.diff_keyword_count else None,
                "only_in_a": list(h.diff_keywords[0]) if h.diff_keywords else [],
                "only_in_b": list(h.diff_keywords[1]) if h.diff_keywords else [],
                "duplicates": {k: list(v) for k, v in h.diff_duplicate_keywords.items()},
                "values": {k: sum(1 for x in v if x is not None) for k, v in h.diff_keyword_values.items()},
                "comments": {k: sum(1 for x in v if x is not None) for k, v in h.diff_keyword_comments.items()},
            },
            "data": None,
            "table": None,
        }
        dd = hd.diff_data
        if isinstance(dd, fits.diff.ImageDataDiff) and not dd.identical:
            e["data"] = {
                "shapes": [list(x) for x in dd.diff_dimensions] if dd.diff_dimensions else None,
                "total": int(dd.diff_total),
                "max_absolute": py(dd.max_absolute),
                "max_relative": py(dd.max_relative),
                "first": [[int(i) for i in idx] for idx, _ in dd.diff_pixels],
            }
        elif isinstance(dd, fits.diff.TableDataDiff) and not dd.identical:
            e["table"] = {
                "column_count": list(dd.diff_column_count) if dd.diff_column_count else None,
                "only_in_a": list(dd.diff_column_names[0]) if dd.diff_column_names else [],
                "only_in_b": list(dd.diff_column_names[1]) if dd.diff_column_names else [],
                "rows": list(dd.diff_rows) if dd.diff_rows else None,
                "total": int(dd.diff_total),
                "first": [[c, int(r)] for (c, r), _ in dd.diff_values],
            }
        out["hdus"].append(e)
    rep = io.StringIO()
    d.report(fileobj=rep)
    with open(f"{DIFF}/fitsdiff_{name}.txt", "w") as f:
        f.write(rep.getvalue().replace(ROOT + "/", ""))
    return out


def make_header_files():
    os.makedirs(HDR, exist_ok=True)
    for i in range(4):
        hdus = [primary(OBJECT=f"target {i}", AIRMASS=1.0 + i / 10)]
        hdus.append(image(10 + i, name="SCI"))
        if i % 2 == 0:
            hdus.append(image(20 + i, name="ERR"))
        if i == 3:
            hdus.append(table(30))
        hdus[0].header["HIERARCH ESO DET CHIP NAME"] = f"CCD {i}"
        write(hdus, f"{HDR}/h{i}.fits")


HEADER_QUERIES = [
    ("naxis", ["-t", "-k", "NAXIS*", "-k", "EXTNAME", "-k", "OBJECT"]),
    ("sci", ["-t", "-e", "SCI", "-k", "BUNIT", "-k", "CRVAL1"]),
    ("mixed", ["-t", "-k", "EXPTIME", "-k", "AIRMASS", "-k", "SIMPLE", "-k", "ESO DET CHIP NAME"]),
    ("plain", ["-e", "0", "-k", "TELESCOP", "-k", "HISTORY"]),
]


def header_expected():
    files = sorted(f for f in os.listdir(HDR) if f.startswith("h") and f.endswith(".fits"))
    out = {}
    for name, args in HEADER_QUERIES:
        buf = io.StringIO()
        cwd = os.getcwd()
        os.chdir(HDR)
        try:
            with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import logging
                logging.disable(logging.WARNING)
                fitsheader.main(args + files)
                logging.disable(logging.NOTSET)
        finally:
            os.chdir(cwd)
        with open(f"{HDR}/fitsheader_{name}.txt", "w") as f:
            f.write(buf.getvalue())
        out[name] = args
    with open(f"{HDR}/queries.json", "w") as f:
        json.dump({"files": files, "queries": out}, f, indent=1)


# edits: (name, source file, hdu, operation, arguments)
EDITS = [
    ("set_new", "h0", 0, "set", ("FILTER", "F606W", "filter name")),
    ("set_existing", "h0", 0, "set", ("EXPTIME", 300.5, None)),
    ("set_int", "h0", 1, "set", ("NCOMBINE", 12, "frames")),
    ("set_bool", "h1", 1, "set", ("DITHERED", True, None)),
    ("set_long", "h1", 0, "set", ("NOTE", ("a long string value " * 6).strip(), "continued")),
    ("set_hierarch", "h2", 0, "set", ("ESO INS FILT1 NAME", "R-band", None)),
    ("delete", "h2", 0, "delete", ("OBSERVER",)),
    ("history", "h3", 0, "history", ("calibrated with nd",)),
    ("history_ext", "h3", 1, "history", ("a history card in an extension " * 4,)),
]


def make_edits():
    for name, src, hdu, op, args in EDITS:
        path = f"{HDR}/edit_{name}.fits"
        shutil.copy(f"{HDR}/{src}.fits", path)
        result = f"{HDR}/edit_{name}.expected.fits"
        shutil.copy(path, result)
        if op == "set":
            k, v, c = args
            fits.setval(result, k, value=v, comment=c, ext=hdu)
        elif op == "delete":
            fits.delval(result, args[0], ext=hdu)
        else:
            with fits.open(result, mode="update") as hl:
                hl[hdu].header.add_history(args[0])
        with fits.open(result) as hl:
            cards = [str(c) for c in hl[hdu].header.cards]
        os.remove(result)
        with open(f"{HDR}/edit_{name}.json", "w") as f:
            json.dump({"hdu": hdu, "op": op, "args": [py(a) if a is not None else None for a in args],
                       "cards": cards}, f, indent=1)
        os.remove(path)  # the source file is h<N>.fits; the test copies it


def main():
    make_pairs()
    exp = {}
    for name, pair, opts in COMPARISONS:
        exp[name] = expected(name, pair, opts)
    with open(f"{DIFF}/expected.json", "w") as f:
        json.dump(exp, f, indent=1)
    make_header_files()
    header_expected()
    make_edits()


if __name__ == "__main__":
    main()
