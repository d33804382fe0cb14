#!/usr/bin/env python3
"""Make the benchmark files with astropy under /tmp/nd-fits-bench and time astropy and python
`fitsio` (cfitsio) on them, the same operations as benches/fits.rs (in-library, hot cache, median).

Run this FIRST: the criterion bench (`cargo bench -p nd-fits --bench fits`) reads the files written
here (and the expected values under /tmp/nd-fits-bench/expected/, which it checks nd-fits against
once before timing); it skips the table and compressed-image cases with a message if they are
missing.

Usage: .venv/bin/python crates/nd-fits/benches/compare.py [side=8192] [--only=image,table,wide,rice]

Cases (`--only` picks some; default all):
  image  header parsing, opening 500 HDUs, full read / section of a side^2 float32 image
  table  one float32 (E) column of a 1M-row, 7-column mixed table (J E D K 16A L 3E)
  wide   every column of a 100k-row x 50-column numeric table (J E D I K B)
  rice   full decompression of 4096x4096 RICE_1 images: int32 with astropy's default tiles (one
         row per tile) and 256x256 tiles, float32 quantized (default level 16, SUBTRACTIVE_DITHER_1)
Times are medians of several runs in-process, hot page cache, open included (as nd-fits is timed).
astropy and fitsio return big-endian arrays for tables; nd-fits returns native order, so both are
timed as returned ("BE") and converted to native order ("native", what nd-fits returns).
"""
import os
import statistics
import sys
import time

import numpy as np
from astropy.io import fits

D = "/tmp/nd-fits-bench"
E = f"{D}/expected"
os.makedirs(E, exist_ok=True)
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 8192
ONLY = {"image", "table", "wide", "rice"}
for a in sys.argv[1:]:
    if a.startswith("--only="):
        ONLY = set(a[len("--only="):].split(","))


def med(f, reps=7):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def native(a):
    """The array in native byte order (a copy when it is big-endian, as astropy's .astype)."""
    return a.astype(a.dtype.newbyteorder("="), copy=False)


def same(a, b):
    """Bit-identical values (NaN-aware, byte order ignored)."""
    a, b = native(np.asarray(a)), native(np.asarray(b))
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


try:
    import fitsio
except ImportError:
    fitsio = None
    print("fitsio not installed: only astropy is timed")


def image_cases():
    big = f"{D}/f32_{N}.fits"
    if not os.path.exists(big):
        a = (np.arange(N * N, dtype=np.int64) % 1000).astype(np.float32).reshape(N, N) * 0.5
        fits.PrimaryHDU(a).writeto(big)
    many = f"{D}/many_500.fits"
    if not os.path.exists(many):
        hl = [fits.PrimaryHDU()] + [fits.ImageHDU(np.ones((2, 3), np.int16), name=f"E{i}") for i in range(1, 500)]
        fits.HDUList(hl).writeto(many)

    # Header parsing: 1000 cards.
    h = fits.Header()
    for i in range(1000):
        k = i % 4
        if k == 0:
            h[f"INT{i}"] = (i, "an integer")
        elif k == 1:
            h[f"FLT{i}"] = (i * 1.5e-3, "a float")
        elif k == 2:
            h[f"STR{i}"] = ("some text value", "a string")
        else:
            h.add_history("a history card with some text in it")
    s = h.tostring()
    ncards = len(h) + 1

    def parse_astropy():
        hh = fits.Header.fromstring(s)
        for c in hh.cards:  # astropy parses values lazily: touch them
            c.value

    t = med(parse_astropy)
    print(f"astropy header parse (values touched): {t * 1e3:.2f} ms = {ncards / t:,.0f} cards/s")
    t = med(lambda: fits.Header.fromstring(s))
    print(f"astropy header parse (lazy): {t * 1e3:.2f} ms = {ncards / t:,.0f} cards/s")

    def walk_astropy():
        with fits.open(many) as hl:
            len(hl)

    print(f"astropy open 500 HDUs + len: {med(walk_astropy) * 1e3:.1f} ms")

    def full_astropy():
        with fits.open(big, memmap=False) as hl:
            d = hl[0].data
            d.astype(np.float32)  # native order, as nd-fits returns (astropy alone leaves big-endian)

    def full_astropy_be():
        with fits.open(big, memmap=False) as hl:
            hl[0].data

    print(f"astropy full read f32 {N}^2 big-endian (no swap): {med(full_astropy_be, 5):.3f} s")
    print(f"astropy full read f32 {N}^2 + to native: {med(full_astropy, 5):.3f} s")

    def sec_astropy():
        with fits.open(big) as hl:
            hl[0].section[N // 2:N // 2 + 100, N // 3:N // 3 + 100]

    print(f"astropy open + 100x100 section: {med(sec_astropy) * 1e3:.2f} ms")

    if fitsio is not None:
        def parse_fitsio():
            fitsio.FITSHDR([fitsio.FITSRecord(s[i:i + 80]) for i in range(0, len(s) - 80, 80)])

        try:
            t = med(parse_fitsio, 3)
            print(f"fitsio header parse (FITSRecord per card): {t * 1e3:.2f} ms = {ncards / t:,.0f} cards/s")
        except Exception as e:  # noqa
            print("fitsio header parse failed:", e)

        def walk_fitsio():
            with fitsio.FITS(many) as f:
                len(f)

        print(f"fitsio open 500 HDUs + len: {med(walk_fitsio) * 1e3:.1f} ms")

        def full_fitsio():
            with fitsio.FITS(big) as f:
                f[0].read()

        print(f"fitsio full read f32 {N}^2: {med(full_fitsio, 5):.3f} s")

        def sec_fitsio():
            with fitsio.FITS(big) as f:
                f[0][N // 2:N // 2 + 100, N // 3:N // 3 + 100]

        print(f"fitsio open + 100x100 section: {med(sec_fitsio) * 1e3:.2f} ms")

    # Interleaved rounds: astropy, fitsio and nd-fits (examples/fits_timings, in-process timings) one
    # after the other, so that all three see the same machine load. Medians over the rounds.
    ND = os.environ.get("ND_BENCH_READ")
    if ND and fitsio is not None:
        import subprocess

        rows = {k: [] for k in ["nd_open_read_all", "nd_read_into", "nd_open_section", "nd_walk",
                                "fitsio_read", "fitsio_section", "fitsio_walk",
                                "astropy_read_native", "astropy_section", "astropy_walk"]}
        for _ in range(7):
            out = subprocess.run([ND, big, many], capture_output=True, text=True, check=True).stdout.split()
            for k, v in zip(["nd_open_read_all", "nd_read_into", "nd_open_section", "nd_walk"], out):
                rows[k].append(float(v))
            rows["fitsio_read"].append(med(full_fitsio, 1))
            rows["fitsio_section"].append(med(sec_fitsio, 1))
            rows["fitsio_walk"].append(med(walk_fitsio, 1))
            rows["astropy_read_native"].append(med(full_astropy, 1))
            rows["astropy_section"].append(med(sec_astropy, 1))
            rows["astropy_walk"].append(med(walk_astropy, 1))
        m = {k: statistics.median(v) for k, v in rows.items()}
        print("interleaved medians (s):", {k: round(v, 5) for k, v in m.items()})
        print(f"full read (open + read, fresh buffer): nd {m['nd_open_read_all']:.3f} s, fitsio {m['fitsio_read']:.3f} s "
              f"-> {m['fitsio_read'] / m['nd_open_read_all']:.1f}x; astropy (+to native) {m['astropy_read_native']:.3f} s")
        print(f"full read into a reused buffer: nd {m['nd_read_into']:.3f} s -> {m['fitsio_read'] / m['nd_read_into']:.1f}x fitsio")
        print(f"open + 100x100 section: nd {m['nd_open_section'] * 1e3:.2f} ms, fitsio {m['fitsio_section'] * 1e3:.2f} ms, "
              f"astropy {m['astropy_section'] * 1e3:.2f} ms")
        print(f"open 500 HDUs + count: nd {m['nd_walk'] * 1e3:.2f} ms, fitsio {m['fitsio_walk'] * 1e3:.2f} ms, "
              f"astropy {m['astropy_walk'] * 1e3:.1f} ms")


TABLE = f"{D}/table_1m.fits"
WIDE = f"{D}/wide_100k_x50.fits"
WIDE_CODES = ["J", "E", "D", "I", "K", "B"]
RICE = {  # name -> (file, what)
    "rice_i32_rows": (f"{D}/rice_i32_4096_rows.fits", "int32, tiles 1x4096 (astropy default)"),
    "rice_i32_256": (f"{D}/rice_i32_4096_t256.fits", "int32, tiles 256x256"),
    "rice_f32q_rows": (f"{D}/rice_f32q_4096_rows.fits", "float32 quantized, tiles 1x4096"),
}


def make_table():
    n = 1_000_000
    rng = np.random.default_rng(1)
    cols = [
        fits.Column("ID", "J", array=np.arange(n, dtype=np.int32)),
        fits.Column("FLUX", "E", array=rng.normal(100, 10, n).astype(np.float32)),
        fits.Column("RA", "D", array=rng.uniform(0, 360, n)),
        fits.Column("SEQ", "K", array=np.arange(n, dtype=np.int64) * 7),
        fits.Column("NAME", "16A", array=np.char.add("obj", np.arange(n).astype("U10"))),
        fits.Column("FLAG", "L", array=np.arange(n) % 3 == 0),
        fits.Column("VEC", "3E", array=rng.normal(size=(n, 3)).astype(np.float32)),
    ]
    fits.BinTableHDU.from_columns(cols).writeto(TABLE + ".tmp", overwrite=True)
    os.replace(TABLE + ".tmp", TABLE)


def make_wide():
    n = 100_000
    rng = np.random.default_rng(2)
    dt = {"J": np.int32, "E": np.float32, "D": np.float64, "I": np.int16, "K": np.int64, "B": np.uint8}
    cols = []
    for k in range(50):
        code = WIDE_CODES[k % len(WIDE_CODES)]
        if code in "ED":
            a = rng.normal(0, 1000, n).astype(dt[code])
        else:
            a = rng.integers(0, 120, n).astype(dt[code])
        cols.append(fits.Column(f"C{k:02d}", code, array=a))
    fits.BinTableHDU.from_columns(cols).writeto(WIDE + ".tmp", overwrite=True)
    os.replace(WIDE + ".tmp", WIDE)


def make_rice():
    rng = np.random.default_rng(3)
    side = 4096
    ramp = (np.arange(side, dtype=np.int32) // 16)[None, :]
    img = rng.poisson(1000, (side, side)).astype(np.int32) + ramp
    fimg = (rng.normal(100, 5, (side, side)) + ramp).astype(np.float32)
    for name, data, kw in [
        ("rice_i32_rows", img, {}),
        ("rice_i32_256", img, {"tile_shape": (256, 256)}),
        ("rice_f32q_rows", fimg, {}),
    ]:
        path = RICE[name][0]
        if os.path.exists(path):
            continue
        hdu = fits.CompImageHDU(data, compression_type="RICE_1", **kw)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path + ".tmp", overwrite=True)
        os.replace(path + ".tmp", path)


def ratio_line(label, t_ap_be, t_ap, t_fi_be=None, t_fi=None, unit=1e3, u="ms"):
    s = f"{label}: astropy {t_ap_be * unit:.2f} {u} (BE) / {t_ap * unit:.2f} {u} (native)"
    if t_fi is not None:
        s += f"; fitsio {t_fi_be * unit:.2f} {u} (BE) / {t_fi * unit:.2f} {u} (native)"
    print(s)


def table_cases():
    if not os.path.exists(TABLE):
        make_table()

    def ap_be():
        with fits.open(TABLE) as hl:  # memmap (default): materialize the values
            return np.array(hl[1].data["FLUX"])

    def ap():
        with fits.open(TABLE) as hl:
            return native(hl[1].data["FLUX"])

    ref = ap()
    np.save(f"{E}/table_1m_FLUX.npy", ref)
    t_fi_be = t_fi = None
    if fitsio is not None:
        def fi_be():
            with fitsio.FITS(TABLE) as f:
                return f[1].read_column("FLUX")

        def fi():
            return native(fi_be())

        assert same(fi(), ref), "fitsio and astropy disagree on table_1m FLUX"
        t_fi_be, t_fi = med(fi_be), med(fi)
    ratio_line("table 1M rows: open + read column FLUX (E)", med(ap_be), med(ap), t_fi_be, t_fi)


def wide_cases():
    if not os.path.exists(WIDE):
        make_wide()
    names = [f"C{k:02d}" for k in range(50)]

    def ap_be():
        with fits.open(WIDE) as hl:
            d = hl[1].data
            return [np.array(d[c]) for c in names]

    def ap():
        with fits.open(WIDE) as hl:
            d = hl[1].data
            return [native(d[c]) for c in names]

    ref = ap()
    for c, a in zip(names, ref):
        np.save(f"{E}/wide_{c}.npy", a)
    t_fi_be = t_fi = None
    if fitsio is not None:
        def fi_be():  # the whole table as one structured array (fitsio's natural call)
            return fitsio.read(WIDE, ext=1)

        def fi():  # ... then one native-order array per column, as nd-fits returns
            r = fi_be()
            return [native(r[c]) for c in names]

        assert all(same(a, b) for a, b in zip(fi(), ref)), "fitsio and astropy disagree on the wide table"
        t_fi_be, t_fi = med(fi_be), med(fi)
    ratio_line("wide table 100k x 50: open + read every column", med(ap_be), med(ap), t_fi_be, t_fi)


def rice_cases():
    make_rice()
    for name, (path, what) in RICE.items():
        def ap():
            with fits.open(path) as hl:
                return hl[1].data

        ref = ap()
        assert ref.dtype.isnative and ref.shape == (4096, 4096)
        np.save(f"{E}/{name}.npy", ref)
        t_ap = med(ap, 5)
        s = f"RICE_1 4096^2 {what}: open + decompress: astropy {t_ap * 1e3:.1f} ms"
        if fitsio is not None:
            def fi():
                with fitsio.FITS(path) as f:
                    return f[1].read()

            assert same(fi(), ref), f"fitsio and astropy disagree on {name}"
            t_fi = med(fi, 5)
            s += f", fitsio {t_fi * 1e3:.1f} ms (native order: {fi().dtype.isnative})"
        print(s)


if __name__ == "__main__":
    for case, fn in [("image", image_cases), ("table", table_cases), ("wide", wide_cases), ("rice", rice_cases)]:
        if case in ONLY:
            fn()
