#!/usr/bin/env python3
"""One Python reader, one task, one process, for bench/run.py:

    python bench/peers.py READER TASK PATH

READER: astropy, fitsio, asdf, zarr-python, ndfiles. Prints one JSON line: "seconds" (the
reader's own clock around open + full read, after the imports) and "check" (the sum of the
values, in float64, to compare readers). Exit status 3 with "skipped" when the reader is not
installed. Each reader returns what its users get: astropy and fitsio physical values (astropy
leaves float32 big-endian, no byte swap), asdf and zarr-python native arrays.
"""

from __future__ import annotations

import json
import sys
import time


def run(reader: str, task: str, path: str):
    import numpy as np

    if reader == "astropy":
        from astropy.io import fits

        t = time.perf_counter()
        if task == "fits_walk":
            with fits.open(path) as h:
                n = len([hdu.header for hdu in h])
            return time.perf_counter() - t, float(n)
        with fits.open(path, memmap=False) as h:
            a = h[0].data
        return time.perf_counter() - t, a
    if reader == "fitsio":
        import fitsio

        t = time.perf_counter()
        if task == "fits_walk":
            with fitsio.FITS(path) as f:
                n = len([h.read_header() for h in f])
            return time.perf_counter() - t, float(n)
        a = fitsio.read(path, ext=0)
        return time.perf_counter() - t, a
    if reader == "asdf":
        import asdf

        t = time.perf_counter()
        with asdf.open(path, memmap=False, lazy_load=False) as af:
            if task == "asdf_many":
                arrays = [np.asarray(x) for x in af["arrays"]]
                s = time.perf_counter() - t
                return s, float(sum(x.sum(dtype=np.float64) for x in arrays))
            a = np.asarray(af["data"])
        return time.perf_counter() - t, a
    if reader == "zarr-python":
        import zarr

        t = time.perf_counter()
        a = zarr.open(path, mode="r")[...]
        return time.perf_counter() - t, a
    if reader == "ndfiles":
        import ndfiles

        t = time.perf_counter()
        f = ndfiles.open(path)
        if task == "fits_walk":
            n = len(f.metadata["hdus"])  # every header, as nd's Rust reader does
            return time.perf_counter() - t, float(n)
        if task == "asdf_many":
            arrays = [np.asarray(f[k]) for k in f.keys()]
            s = time.perf_counter() - t
            return s, float(sum(x.sum(dtype=np.float64) for x in arrays))
        sel = {"zarr": "/", "asdf": "data"}.get(task.split("_")[0], "0")
        a = np.asarray(f[sel])
        return time.perf_counter() - t, a
    raise SystemExit(f"unknown reader {reader}")


def main() -> None:
    reader, task, path = sys.argv[1:4]
    try:
        seconds, out = run(reader, task, path)
    except ImportError as e:
        print(json.dumps({"skipped": f"{reader} not installed ({e})"}))
        sys.exit(3)
    import numpy as np

    check = out if isinstance(out, float) else float(np.sum(out, dtype=np.float64))
    print(json.dumps({"seconds": seconds, "check": check}))


if __name__ == "__main__":
    main()
