#!/usr/bin/env python3
"""Check the files nd-fits wrote (testdata/fits/written/, made by
`cargo run -p nd-fits --example write_fits -- testdata/fits/written`) with astropy:
values equal the intended arrays (.npy next to each file; scaled data within BSCALE/2, NaN kept),
header cards read back, verify('exception') passes, and CHECKSUM/DATASUM are valid where present.

Tables and tile-compressed images (written by the nd-fits tests write_tables / write_compressed
with ND_FITS_WRITE_OUT=<dir>) are described by `<name>.json` next to the file: every table
column compared with its expected values (.npy, strings, variable-length rows element by
element); every compressed image compared with its .npy (lossless: equal; quantized: within
the tile's ZSCALE, bit-identical to what nd-fits' own reader decoded (`.ours.npy`), and
bit-identical to astropy's own compression of the same data with the same settings).

Usage: .venv/bin/python testdata/check_fits_written.py [dir]
"""
import glob
import io
import json
import os
import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning


def check_table(d, path, i, hdu, s):
    """Every column of a table HDU against its expected values; returns the number checked."""
    assert isinstance(hdu, fits.BinTableHDU), (path, i, type(hdu))
    data = hdu.data
    if "extname" in s:
        assert hdu.name == s["extname"], (path, i, hdu.name)
    if "nrows" in s:
        assert len(data) == s["nrows"], (path, i, len(data))
    names = list(hdu.columns.names)
    assert set(names) >= set(s["columns"]), (path, i, names)
    n = 0
    for name, c in s["columns"].items():
        got = data[name]
        where = (os.path.basename(path), i, name)
        if "npy" in c:
            want = np.load(os.path.join(d, c["npy"]))
            assert got.shape == want.shape, (where, got.shape, want.shape)
            assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("="), (where, got.dtype, want.dtype)
            assert np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"), (where, got, want)
            col = hdu.columns[name]
            if "unit" in c:
                assert col.unit == c["unit"], (where, col.unit)
            if "tnull" in c:
                assert col.null == c["tnull"], (where, col.null)
            if "tdim" in c:
                assert hdu.header[f"TDIM{names.index(name) + 1}"] == c["tdim"], where
        elif "strings" in c:
            # astropy's chararray strips trailing spaces on element access (not in tolist).
            got_s = np.char.rstrip(np.asarray(got)).tolist()
            assert got_s == c["strings"], (where, got_s, c["strings"])
        elif "vla" in c:
            assert len(got) == len(c["vla"]), where
            for r, (g, w) in enumerate(zip(got, c["vla"])):
                g = np.asarray(g)
                w = np.asarray(w, dtype=c["dtype"])
                assert g.dtype.newbyteorder("=") == w.dtype, (where, r, g.dtype, w.dtype)
                assert np.array_equal(g, w), (where, r, g, w)
        elif "vla_strings" in c:
            # astropy returns a `PA` cell as an array of characters.
            got_s = ["".join(x) if not isinstance(x, str) else x for x in got]
            assert got_s == c["vla_strings"], (where, got_s)
        else:
            raise AssertionError((where, "no expectation"))
        n += 1
    return n


DITHER = {"NO_DITHER": -1, "SUBTRACTIVE_DITHER_1": 1, "SUBTRACTIVE_DITHER_2": 2}


def tile_index(shape, tile):
    """For each pixel (numpy order), the 0-based tile (table row) it belongs to."""
    grid = [-(-n // t) for n, t in zip(shape, tile)]
    idx = np.zeros(shape, dtype=np.int64)
    for ax, (n, t) in enumerate(zip(shape, tile)):
        a = np.arange(n) // t
        sh = [1] * len(shape)
        sh[ax] = n
        idx = idx * grid[ax] + a.reshape(sh)
    return idx


def check_compressed(d, base, path, i, hdu, s):
    """A tile-compressed image against its expected values; returns 1."""
    where = (os.path.basename(path), i)
    assert isinstance(hdu, fits.CompImageHDU), (where, type(hdu))
    got = hdu.data
    want = np.load(f"{base}.{i}.npy")
    assert got.shape == want.shape, (where, got.shape, want.shape)
    assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("="), (where, got.dtype, want.dtype)
    if "extname" in s:
        assert hdu.name == s["extname"], (where, hdu.name)
    with fits.open(path, disable_image_compression=True) as raw:
        th = raw[i].header
        table = raw[i].data
        assert th["ZCMPTYPE"] == s["algorithm"], (where, th["ZCMPTYPE"])
        tile = [th[f"ZTILE{k}"] for k in range(th["ZNAXIS"], 0, -1)]
        zscale = np.array(table["ZSCALE"]) if "ZSCALE" in table.dtype.names else None
        ours_raw = [bytes(np.asarray(x).tobytes()) for x in table["COMPRESSED_DATA"]]
        zq = th.get("ZQUANTIZ", "NO_DITHER")
        dither0 = th.get("ZDITHER0", 0)
        noisebit = None
        for k in range(1, 10):
            if th.get(f"ZNAME{k}") == "NOISEBIT":
                noisebit = th[f"ZVAL{k}"]
    lossy = s.get("lossy", False)
    if not lossy:
        assert zscale is None or "GZIP_COMPRESSED_DATA" in table.dtype.names, where
        assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), where
        if want.dtype.kind == "f":
            return 1  # lossless floats: nothing for astropy to compare its compression with
    else:
        # Quantized: within the tile's step of the original, NaN kept.
        step = zscale[tile_index(want.shape, tile)]
        assert np.array_equal(np.isnan(got), np.isnan(want)), where
        ok = ~np.isnan(want)
        # Fallback tiles (ZSCALE 0) are lossless.
        assert np.all(np.abs(got[ok].astype(np.float64) - want[ok]) <= np.maximum(step[ok], 0) * 1.0000001), where
        # nd-fits' reader decoded the same file to the same bits.
        ours = np.load(f"{base}.{i}.ours.npy")
        assert ours.dtype == got.dtype.newbyteorder("="), where
        assert np.array_equal(ours.view(f"u{ours.itemsize}"), got.astype(ours.dtype).view(f"u{ours.itemsize}")), (where, "ours")
    # astropy compressing the same data with the same settings gives the same values (and, for
    # RICE_1 and PLIO_1, the same bytes).
    kw = {}
    if lossy:
        kw = dict(quantize_level=noisebit, quantize_method=DITHER[zq], dither_seed=dither0 if zq != "NO_DITHER" else 0)
    ref = fits.CompImageHDU(want, compression_type=s["algorithm"], tile_shape=tuple(tile), **kw)
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), ref]).writeto(buf)
    blob = buf.getvalue()
    with fits.open(io.BytesIO(blob)) as r:
        theirs = r[1].data
        assert theirs.dtype == got.dtype, (where, theirs.dtype, got.dtype)
        assert np.array_equal(theirs.view(f"u{theirs.itemsize}"), got.view(f"u{got.itemsize}")), (where, "astropy's own compression decodes differently")
    if s["algorithm"] in ("RICE_1", "PLIO_1"):
        with fits.open(io.BytesIO(blob), disable_image_compression=True) as r:
            theirs_raw = [bytes(np.asarray(x).tobytes()) for x in r[1].data["COMPRESSED_DATA"]]
        same = theirs_raw == ours_raw
        if s["algorithm"] == "RICE_1":
            assert same, (where, "RICE_1 bytes differ from astropy's")
        elif not same:
            print(f"note: {where}: PLIO_1 line lists differ from cfitsio's (both decode equal)")
    return 1


def main(d):
    # Any astropy warning (bad card, failed checksum, verify problem) fails the check.
    warnings.simplefilter("error", AstropyUserWarning)
    warnings.simplefilter("error", fits.verify.VerifyWarning)
    n = 0
    for path in sorted(glob.glob(os.path.join(d, "*.fits"))):
        base = path[:-5]
        spec = {}
        if os.path.exists(f"{base}.json"):
            with open(f"{base}.json") as f:
                spec = json.load(f)["hdus"]
        with fits.open(path, checksum=True) as hdul:
            hdul.verify("exception")
            for i, hdu in enumerate(hdul):
                if "CHECKSUM" in hdu.header:
                    assert hdu.verify_checksum() == 1, (path, i, "CHECKSUM")
                    assert hdu.verify_datasum() == 1, (path, i, "DATASUM")
                if str(i) in spec:
                    s = spec[str(i)]
                    if s["kind"] == "table":
                        n += check_table(d, path, i, hdu, s)
                    else:
                        n += check_compressed(d, base, path, i, hdu, s)
                    continue
                npy = f"{base}.{i}.npy"
                if not os.path.exists(npy):
                    assert hdu.data is None or i == 0, (path, i, "no expected array")
                    continue
                want = np.load(npy)
                got = hdu.data
                assert got.shape == want.shape, (path, i, got.shape, want.shape)
                if "BSCALE" in hdu.header and hdu.header["BSCALE"] != 1:
                    tol = abs(hdu.header["BSCALE"]) / 2 * 1.0001
                    assert np.array_equal(np.isnan(got), np.isnan(want)), (path, i)
                    ok = ~np.isnan(want)
                    assert np.all(np.abs(got[ok] - want[ok]) <= tol), (path, i)
                else:
                    assert got.dtype.name == want.dtype.name, (path, i, got.dtype, want.dtype)
                    assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), (path, i)
                n += 1
            if os.path.basename(path) == "all_dtypes.fits":
                h = hdul[0].header
                assert h["LONGSTR"].startswith("A long string written by nd-fits") and h["LONGSTR"].endswith("ends here.")
                assert "'quotes'" in h["LONGSTR"]
                assert h.comments["LONGSTR"] == "long string"
                assert h["ESO DET CHIP NAME"] == "CCD 1"
                assert h["ESO TEL AIRM"] == 1.25
                assert h["CPLX"] == complex(1.5, -2.0)
                assert h["BIGINT"] == 123456789012345678901
                assert h["FLAG"] is True
                assert h["UNDEF"] is None or h["UNDEF"] is fits.card.UNDEFINED
                assert [hdu.name for hdu in hdul] == ["U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F32", "F64"]
            if os.path.basename(path) == "streamed.fits":
                assert [hdu.name for hdu in hdul] == ["PRIMARY", "APPENDED", "STREAMAPP"]
    assert n >= 14, n
    print(f"astropy read {n} arrays from {d}: values, cards, verify() and checksums OK")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fits", "written"))
