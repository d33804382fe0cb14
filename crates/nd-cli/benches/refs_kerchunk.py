#!/usr/bin/env python3
"""Benchmark `nd refs` beside kerchunk's FITS reader (`kerchunk.fits.process_file`).

1. Build time: 500 small FITS files (deterministic: 64x64 int16 images with BSCALE/BZERO and a
   few header cards, a second float32 extension), references for all of them:
   - `nd refs DIR/*.fits --concat-dim n` (one process, one combined reference set);
   - `nd refs FILE` once per file (one process each: includes process start-up);
   - `kerchunk.fits.process_file(FILE, extension=...)` per file and per HDU, in this process
     (imports done before timing; kerchunk's combining step, MultiZarrToZarr, not included).
   Median of REPS runs each, page cache hot.
2. Bytes fetched for a 100x100 cutout of a 64 MiB float32 image (4096x4096) through each
   reference set: fsspec's reference filesystem + zarr-python 2 over a local filesystem that
   counts the bytes and requests it serves.
3. Values: the cutout and both HDUs of the first survey file through each reference set,
   compared with astropy's (nd's must be equal; kerchunk's result is reported).

Requirements: crates/nd-cli/benches/requirements-refs.txt (kerchunk pinned; not used by CI).
Usage: python crates/nd-cli/benches/refs_kerchunk.py PATH/TO/nd [REPS=3]
Files go to a temporary directory (about 100 MiB).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import fsspec
import numpy as np
import zarr
from astropy.io import fits
from fsspec.implementations.local import LocalFileSystem
from kerchunk.fits import process_file

warnings.simplefilter("ignore")
ND = os.path.abspath(sys.argv[1])
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
NFILES = 500


class CountingFS(LocalFileSystem):
    requests = 0
    nbytes = 0

    def cat_file(self, path, start=None, end=None, **kw):
        out = super().cat_file(path, start=start, end=end, **kw)
        CountingFS.requests += 1
        CountingFS.nbytes += len(out)
        return out


def survey(d):
    rng = np.random.default_rng(2026)
    paths = []
    for i in range(NFILES):
        sci = fits.ImageHDU(rng.integers(-1000, 1000, (64, 64), dtype=np.int16), name="SCI")
        sci.header["BSCALE"] = 0.5
        sci.header["BZERO"] = 100.0
        sci.header["EXPTIME"] = float(i)
        sci.header["CTYPE1"] = "RA---TAN"
        sci.header["CTYPE2"] = "DEC--TAN"
        err = fits.ImageHDU(rng.random((64, 64), dtype=np.float32), name="ERR")
        p = os.path.join(d, f"img_{i:04d}.fits")
        fits.HDUList([fits.PrimaryHDU(), sci, err]).writeto(p)
        paths.append(p)
    return paths


def median_time(f):
    f()  # untimed: warms the page cache and imports
    ts = []
    for _ in range(REPS):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def cutout(refs, sl):
    CountingFS.requests = CountingFS.nbytes = 0
    cfs = CountingFS()
    fs = fsspec.filesystem("reference", fo=refs, fs={"file": cfs, None: cfs})
    root = zarr.open(fs.get_mapper(""), mode="r")
    return root, CountingFS.requests, CountingFS.nbytes


def main():
    with tempfile.TemporaryDirectory() as d:
        paths = survey(d)
        out = os.path.join(d, "out.json")

        def nd_concat():
            subprocess.run([ND, "refs", os.path.join(d, "img_*.fits"), "--concat-dim", "n",
                            "-o", out, "--force"], check=True, capture_output=True)

        def nd_each():
            for p in paths:
                subprocess.run([ND, "refs", p, "-o", out, "--force"], check=True, capture_output=True)

        def kc_each():
            for p in paths:
                for ext in (1, 2):
                    process_file(p, extension=ext)

        t_concat = median_time(nd_concat)
        t_each = median_time(nd_each)
        t_kc = median_time(kc_each)
        n_refs = len(json.load(open(out))["refs"])
        print(f"build references for {NFILES} files (64x64 int16 + 64x64 float32 each), median of {REPS}:")
        print(f"  nd refs 'img_*.fits' --concat-dim n (1 process):  {t_concat:8.3f} s")
        print(f"  nd refs FILE, one process per file:               {t_each:8.3f} s")
        print(f"  kerchunk.fits.process_file per file and HDU:      {t_kc:8.3f} s")
        print(f"  ratio kerchunk / nd (one process):  {t_kc / t_concat:6.1f}")
        print(f"  ratio kerchunk / nd (per file):     {t_kc / t_each:6.1f}")
        print(f"  ({n_refs} keys in the last per-file reference set)")

        # 64 MiB image, 100x100 cutout
        big = os.path.join(d, "big.fits")
        data = np.random.default_rng(1).random((4096, 4096), dtype=np.float32)
        fits.PrimaryHDU(data).writeto(big)
        sl = (slice(2000, 2100), slice(3000, 3100))
        want = data[sl]
        subprocess.run([ND, "refs", big, "-o", out, "--force"], check=True)
        nd_refs = json.load(open(out))
        root, _, _ = cutout(nd_refs, sl)
        CountingFS.requests = CountingFS.nbytes = 0
        got = root["PRIMARY"][sl]
        nd_req, nd_bytes = CountingFS.requests, CountingFS.nbytes
        assert np.array_equal(got, want), "nd cutout differs from the data"
        subprocess.run([ND, "refs", big, "-o", out, "--force", "--chunk-mib", "1"], check=True)
        root, _, _ = cutout(json.load(open(out)), sl)
        CountingFS.requests = CountingFS.nbytes = 0
        assert np.array_equal(root["PRIMARY"][sl], want), "nd cutout differs from the data"
        nd1_req, nd1_bytes = CountingFS.requests, CountingFS.nbytes
        kc_refs = process_file(big)
        root, _, _ = cutout(kc_refs, sl)
        CountingFS.requests = CountingFS.nbytes = 0
        arrays = [k for k, _ in root.arrays()]
        got = root[arrays[0]][sl]
        kc_req, kc_bytes = CountingFS.requests, CountingFS.nbytes
        kc_dtype = root[arrays[0]].dtype.str
        kc_ok = np.array_equal(got, want)
        print("100x100 cutout of a 4096x4096 float32 image (64 MiB), bytes read from the file:")
        print(f"  nd refs (default 8 MiB chunks): {nd_bytes:>10} bytes in {nd_req} requests")
        print(f"  nd refs --chunk-mib 1:          {nd1_bytes:>10} bytes in {nd1_req} requests")
        print(f"  kerchunk.fits.process_file:     {kc_bytes:>10} bytes in {kc_req} requests")
        print(f"  values equal astropy's: nd yes, kerchunk {'yes' if kc_ok else 'NO'} (kerchunk dtype {kc_dtype})")
        print(f"  ratio kerchunk / nd bytes:      {kc_bytes / nd_bytes:6.1f} (--chunk-mib 1: {kc_bytes / nd1_bytes:.1f})")

        print("values of the first survey file (SCI: int16, BSCALE 0.5, BZERO 100; ERR: float32):")
        subprocess.run([ND, "refs", paths[0], "-o", out, "--force"], check=True)
        root, _, _ = cutout(json.load(open(out)), sl)
        for ext, name in ((1, "SCI"), (2, "ERR")):
            want = fits.getdata(paths[0], name)
            nd_ok = np.array_equal(root[name][...], want)
            assert nd_ok, f"nd {name} differs from astropy"
            kr, _, _ = cutout(process_file(paths[0], extension=ext), sl)
            ka = kr[[k for k, _ in kr.arrays()][0]]
            try:
                kc = "equal" if np.array_equal(ka[...], want) else "NOT equal"
            except Exception as e:  # noqa: BLE001
                kc = f"read fails ({type(e).__name__}: {e})"
            print(f"  {name}: nd equal; kerchunk {kc} (kerchunk dtype {ka.dtype.str}, filters {ka.filters})")


if __name__ == "__main__":
    main()
