#!/usr/bin/env python3
"""One Python reader, one task, one process, for bench/run.py:

    python bench/peers.py READER TASK PATH [REGION | DESTINATION [CHUNKS]]

READER: astropy, fitsio, asdf, zarr-python, ndfiles; astropy+zarr (task fits_convert: the FITS
cube written as a Zarr v2 store DESTINATION of CHUNKS, e.g. 64,256,256, zstd level 3). Prints one JSON line: "seconds" (the
reader's own clock around open + full read, after the imports) and "check" (the sum of the
values, in float64, to compare readers); for the cutout tasks also "bytes", what the process
read through system calls meanwhile (/proc/self/io rchar). Exit status 3 with "skipped" when the reader is not
installed. Each reader returns what its users get: astropy and fitsio physical values (astropy
leaves float32 big-endian, no byte swap), asdf and zarr-python native arrays.
"""

from __future__ import annotations

import json
import sys
import time


def rchar() -> int:
    """Bytes this process has read through read/pread system calls so far (Linux; else 0)."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cutout(reader: str, path: str, region: str):
    """Open and read bench/run.py's 100 x 100 cutout, as each library's users would: astropy's
    `.section` (memmap=False locally, so its reads are system calls /proc/self/io counts; fsspec
    for a URL), fitsio's HDU slicing (cfitsio's own URL drivers for http://)."""
    import numpy as np

    url = "://" in path
    key = tuple(slice(*map(int, r.split(":"))) for r in region.split(","))
    if reader == "astropy":
        from astropy.io import fits

        t = time.perf_counter()
        kw = {"use_fsspec": True} if url else {"memmap": False}
        with fits.open(path, **kw) as h:
            a = np.array(h[0].section[key])
        return time.perf_counter() - t, a
    if reader == "fitsio":
        import fitsio

        t = time.perf_counter()
        with fitsio.FITS(path) as f:
            a = f[0][key]
        return time.perf_counter() - t, a
    raise SystemExit(f"cutout: no reader {reader}")


def run(reader: str, task: str, path: str, region: str = "", chunks: str = ""):
    import numpy as np

    if task.startswith("fits_cutout"):
        return cutout(reader, path, region)
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
    if reader == "zarr-python" and task == "zarr_cutout":
        import zarr

        key = tuple(slice(*map(int, r.split(":"))) for r in region.split(","))
        t = time.perf_counter()
        a = zarr.open(path, mode="r")[key]
        return time.perf_counter() - t, a
    if reader == "zarr-python" and task == "zarr_write":
        import zarr
        from numcodecs import Zstd

        src = zarr.open(path, mode="r")
        a = src[...]
        t = time.perf_counter()
        z = zarr.open(region, mode="w", shape=src.shape, chunks=src.chunks, dtype=src.dtype,
                      compressor=Zstd(level=1))
        z[...] = a
        return time.perf_counter() - t, a
    if reader == "astropy+zarr" and task == "fits_convert":
        # as the README's conversion benchmark: astropy's memory map, zarr-python 2 writing it
        # chunk by chunk (one thread, no sync of the output)
        import numcodecs
        import zarr
        from astropy.io import fits

        t = time.perf_counter()
        with fits.open(path, memmap=True) as h:
            d = h[0].data
            z = zarr.open(region, mode="w", shape=d.shape, chunks=tuple(map(int, chunks.split(","))),
                          dtype="<f4", compressor=numcodecs.Zstd(level=3))
            z[...] = d
        return time.perf_counter() - t, float("nan")  # bench/run.py reads the store back
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
    region = sys.argv[4] if len(sys.argv) > 4 else ""
    chunks = sys.argv[5] if len(sys.argv) > 5 else ""
    try:
        if task.startswith("fits_cutout"):  # imports are not part of the bytes counted
            import numpy  # noqa: F401
            if reader == "astropy":
                import astropy.io.fits  # noqa: F401
                if "://" in path:
                    import fsspec.implementations.http  # noqa: F401
            elif reader == "fitsio":
                import fitsio  # noqa: F401
        r0 = rchar()
        seconds, out = run(reader, task, path, region, chunks)
        read = rchar() - r0
    except ImportError as e:
        print(json.dumps({"skipped": f"{reader} not installed ({e})"}))
        sys.exit(3)
    import numpy as np

    check = out if isinstance(out, float) else float(np.sum(out, dtype=np.float64))
    d = {"seconds": seconds, "check": check}
    if task.startswith("fits_cutout"):
        d["bytes"] = read  # local reads; over HTTP bench/run.py counts the server's log instead
    print(json.dumps(d))


if __name__ == "__main__":
    main()
