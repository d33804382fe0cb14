#!/usr/bin/env python3
"""Make the benchmark files with astropy under /tmp/nd-fits-bench and time astropy and python
`fitsio` (cfitsio) on them, the same operations as benches/fits.rs (in-library, hot cache, median).

Usage: .venv/bin/python crates/nd-fits/benches/compare.py [side=8192]
"""
import os
import statistics
import sys
import time

import numpy as np
from astropy.io import fits

D = "/tmp/nd-fits-bench"
os.makedirs(D, exist_ok=True)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 8192


def med(f, reps=7):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


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

try:
    import fitsio

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
except ImportError:
    print("fitsio not installed")


# Interleaved rounds: astropy, fitsio and nd-fits (examples/bench_read, in-process timings) one
# after the other, so that all three see the same machine load. Medians over the rounds.
ND = os.environ.get("ND_BENCH_READ")
if ND:
    import subprocess
    import fitsio

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
