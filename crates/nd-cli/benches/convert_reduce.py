#!/usr/bin/env python3
"""Benchmark the two out-of-core jobs of the `nd` command against the Python stack doing the same.

1. Convert a 1 GiB float32 FITS cube to Zarr v2 with zstd level 3, chunks (64, 256, 256):
   `nd convert` vs astropy (memmap) + zarr-python 2 (`z[...] = data`, chunk by chunk).
2. Reduce the same cube along its slowest axis (the spectral axis, FITS NAXIS3): NaN-aware sum,
   `nd stat --axis 0 --stat sum` vs numpy `np.nansum(hdul[0].data, axis=0)` on astropy's memmap.

Every measurement runs as its own child process; wall time from perf_counter around it, peak
resident memory from os.wait4's rusage of that child (ru_maxrss: anonymous memory plus the file
pages the process mapped) and peak anonymous memory sampled from /proc. Page cache is hot (each job runs once untimed first); the median of
REPS runs is reported. The results are checked against each other (same Zarr values, same sums).

Usage: .venv/bin/python crates/nd-cli/benches/convert_reduce.py PATH/TO/nd [GiB=1] [REPS=3]
Files go to $ND_BENCH_DIR, default /tmp/nd-cli-bench (about 2.5x the cube size of disk).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

ND = os.path.abspath(sys.argv[1])
GIB = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PY = sys.executable
D = os.environ.get("ND_BENCH_DIR", "/tmp/nd-cli-bench")
os.makedirs(D, exist_ok=True)

NY = NX = 1024
NZ = int(GIB * (1 << 30) / (NY * NX * 4))
CUBE = f"{D}/cube_{NZ}x{NY}x{NX}.fits"
CHUNKS = (64, 256, 256)


def make_cube():
    """Write the cube plane by plane (never whole in memory): smooth values, 0.1% NaN."""
    if os.path.exists(CUBE):
        return
    from astropy.io import fits

    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -32
    hdr["NAXIS"] = 3
    hdr["NAXIS1"] = NX
    hdr["NAXIS2"] = NY
    hdr["NAXIS3"] = NZ
    hdr["BUNIT"] = "Jy/beam"
    tmp = CUBE + ".tmp"
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:NY, 0:NX].astype(np.float32)
    with open(tmp, "wb") as f:
        f.write(hdr.tostring().encode("ascii"))
        for z in range(NZ):
            plane = (np.sin(xx / 37.0 + z / 11.0) * np.cos(yy / 53.0) * 10.0).astype(np.float32)
            plane += rng.standard_normal((NY, NX), dtype=np.float32)
            nan = rng.integers(0, NY * NX, NY * NX // 1000)
            plane.reshape(-1)[nan] = np.nan
            f.write(plane.astype(">f4").tobytes())
        pad = (-f.tell()) % 2880
        f.write(b"\0" * pad)
    os.replace(tmp, CUBE)


PY_CONVERT = r"""
import sys, numcodecs, zarr
from astropy.io import fits
src, dst = sys.argv[1], sys.argv[2]
with fits.open(src, memmap=True) as h:
    d = h[0].data
    z = zarr.open(dst, mode="w", shape=d.shape, chunks=(64, 256, 256), dtype="<f4",
                  compressor=numcodecs.Zstd(level=3))
    z[...] = d
if len(sys.argv) > 3:  # make the output durable, as nd does (it syncs the store before renaming it into place)
    import os
    os.sync()
"""

PY_REDUCE = r"""
import sys, numpy as np
from astropy.io import fits
src, dst = sys.argv[1], sys.argv[2]
with fits.open(src, memmap=True) as h:
    np.save(dst, np.nansum(h[0].data, axis=0))
"""


def anon_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd, env=None):
    """Run one child; return (seconds, peak RSS MiB, peak anonymous RSS MiB).

    Peak RSS (ru_maxrss) includes the file pages a process maps (astropy's memmap, nd's mmap):
    those are page cache, reclaimable. Peak anonymous memory (heap, sampled every 5 ms from
    /proc/PID/status RssAnon) is what the process itself allocated."""
    peak = [0]
    stop = threading.Event()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], anon_kib(p.pid))
            stop.wait(0.005)

    th = threading.Thread(target=sample)
    th.start()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    stop.set()
    th.join()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}")
    return dt, ru.ru_maxrss / 1024.0, peak[0] / 1024.0


def clean(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def measure(name, make_cmd, out, env=None):
    clean(out)
    run(make_cmd(), env)  # warm-up, untimed
    ts, ms, an = [], [], []
    for _ in range(REPS):
        clean(out)
        t, m, a = run(make_cmd(), env)
        ts.append(t)
        ms.append(m)
        an.append(a)
    r = {"name": name, "seconds": statistics.median(ts), "all": ts, "peak_rss_mib": max(ms),
         "peak_anon_mib": max(an)}
    print(f"  {name:<34} {r['seconds']:7.2f} s  (runs {', '.join(f'{x:.2f}' for x in ts)})  "
          f"peak RSS {r['peak_rss_mib']:6.0f} MiB, anonymous {r['peak_anon_mib']:6.0f} MiB", flush=True)
    return r


def main():
    make_cube()
    size = os.path.getsize(CUBE)
    print(f"cube: {CUBE}, {NZ}x{NY}x{NX} float32, {size / 2**30:.2f} GiB; {os.cpu_count()} cores; {REPS} timed runs each")
    one = dict(os.environ, RAYON_NUM_THREADS="1")
    res = {}

    print("convert to Zarr (zstd:3, chunks 64,256,256):")
    zc = f"{D}/nd.zarr"
    zp = f"{D}/py.zarr"
    nd_conv = lambda: [ND, "convert", CUBE, zc, "--array", "0", "--compressor", "zstd:3",
                       "--chunks", ",".join(map(str, CHUNKS)), "-q", "--force"]
    res["nd_convert"] = measure("nd convert", nd_conv, zc)
    res["nd_convert_1t"] = measure("nd convert, 1 thread", nd_conv, zc, one)
    res["py_convert"] = measure("astropy + zarr-python", lambda: [PY, "-c", PY_CONVERT, CUBE, zp], zp)
    res["py_convert_sync"] = measure("astropy + zarr-python + os.sync()",
                                     lambda: [PY, "-c", PY_CONVERT, CUBE, zp, "sync"], zp)

    print("reduce along axis 0 (NaN-aware sum):")
    sn = f"{D}/nd_sum.npy"
    sp = f"{D}/py_sum.npy"
    nd_red = lambda: [ND, "stat", CUBE, "0", "--axis", "0", "--stat", "sum", "-o", sn]
    res["nd_reduce"] = measure("nd stat --axis 0", nd_red, sn)
    res["nd_reduce_1t"] = measure("nd stat --axis 0, 1 thread", nd_red, sn, one)
    res["py_reduce"] = measure("astropy + numpy nansum", lambda: [PY, "-c", PY_REDUCE, CUBE, sp], sp)

    # The outputs must agree.
    import zarr

    a, b = zarr.open(zc, mode="r"), zarr.open(zp, mode="r")
    # (chunks may differ along a short axis: nd clamps a chunk to the array's extent, zarr-python not)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    for z0 in range(0, NZ, 64):
        x, y = a[z0:z0 + 64], b[z0:z0 + 64]
        assert np.array_equal(x, y, equal_nan=True), f"zarr values differ at planes {z0}.."
    s1, s2 = np.load(sn), np.load(sp)
    assert s1.shape == s2.shape, (s1.shape, s2.shape)
    # a float64 reference, accumulated 16 planes at a time
    from astropy.io import fits

    ref = np.zeros(s1.shape, np.float64)
    with fits.open(CUBE, memmap=True) as h:
        d = h[0].data
        for z0 in range(0, NZ, 16):
            ref += np.nansum(d[z0:z0 + 16].astype(np.float64), axis=0)
    scale = np.maximum(1.0, np.abs(ref))
    e1 = float(np.max(np.abs(s1 - ref) / scale))
    e2 = float(np.max(np.abs(s2.astype(np.float64) - ref) / scale))
    print(f"outputs agree: Zarr arrays equal; sums against a float64 reference: max relative error "
          f"nd ({s1.dtype}) {e1:.1e}, numpy nansum ({s2.dtype}) {e2:.1e}")
    assert e1 < 1e-9, e1

    print("ratios (Python time / nd time; >1 means nd is faster):")
    for job, py in (("convert", "py_convert"), ("convert", "py_convert_sync"), ("reduce", "py_reduce")):
        p = res[py]
        print(f"  against {p['name']}:")
        for k in (f"nd_{job}", f"nd_{job}_1t"):
            print(f"  {job:<8} {res[k]['name']:<30} {p['seconds'] / res[k]['seconds']:5.2f}x faster, "
                  f"peak anonymous memory {res[k]['peak_anon_mib']:.0f} MiB vs {p['peak_anon_mib']:.0f} MiB, "
                  f"peak RSS {res[k]['peak_rss_mib']:.0f} MiB vs {p['peak_rss_mib']:.0f} MiB")
    with open(f"{D}/results.json", "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
