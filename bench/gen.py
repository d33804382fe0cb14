#!/usr/bin/env python3
"""Write bench/run.py's datasets, deterministically (seeded numpy), with the reference libraries.

    python bench/gen.py DIR [--smoke] [--only NAME,...]

Full sizes (smoke: a few KiB each, same layouts):
  f32.fits        8192 x 8192 float32 image (256 MiB), astropy
  i16s.fits       8192 x 8192 int16, BSCALE 0.5 / BZERO 100 (physical float32), astropy
  many.fits       500 HDUs: an empty primary and 499 small int32 images with a few cards, astropy
  zstd.zarr       1024 x 512 x 512 uint16 (512 MiB), chunks 64 x 256 x 256, zstd level 1,
  blosc.zarr      the same with blosc lz4 + byte shuffle,
  raw.zarr        and uncompressed; Zarr v2, zarr-python 2
  plain.asdf      4096 x 8192 float64 (256 MiB), python asdf, one uncompressed block
  zlib.asdf       the same values, zlib-compressed block
  many.asdf       5,000 arrays of 64 float64, one block each
  cube.fits       256 x 1024 x 1024 float32 (1 GiB), astropy (the conversion benchmark's input)
  scale-<N>M.fits N MiB float32 cube of 1024 x 1024 planes (N/4 planes: a smooth sky plus noise,
                  rounded to 0.1 so zstd finds something), written a plane at a time with astropy's
                  StreamingHDU (bounded memory at any size): bench/scaling.py's inputs; the smoke
                  sizes are the same names with 64 x 64 planes

A file already present with the same size and settings (a stamp beside it) is not rewritten.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import numpy as np

SEED = 21


def sizes(smoke: bool) -> dict:
    if smoke:
        return dict(img=64, hdus=20, zarr=(16, 32, 32), zchunks=(8, 16, 16), asdf=(32, 64),
                    many=50, cube=(4, 32, 32))
    return dict(img=8192, hdus=500, zarr=(1024, 512, 512), zchunks=(64, 256, 256),
                asdf=(4096, 8192), many=5000, cube=(256, 1024, 1024))


def f32_fits(p: Path, sz: dict) -> None:
    from astropy.io import fits
    rng = np.random.default_rng(SEED)
    n = sz["img"]
    a = rng.standard_normal((n, n), dtype=np.float32)
    fits.PrimaryHDU(a).writeto(p, overwrite=True)


def i16s_fits(p: Path, sz: dict) -> None:
    from astropy.io import fits
    rng = np.random.default_rng(SEED + 1)
    n = sz["img"]
    ints = rng.integers(-20000, 20000, (n, n), dtype=np.int16)
    hdu = fits.PrimaryHDU(ints.astype(np.float32) * np.float32(0.5) + np.float32(100))
    hdu.scale("int16", bscale=0.5, bzero=100.0)
    hdu.writeto(p, overwrite=True)


def many_fits(p: Path, sz: dict) -> None:
    from astropy.io import fits
    hdus = [fits.PrimaryHDU()]
    for i in range(1, sz["hdus"]):
        h = fits.ImageHDU(np.full((8, 8), i, dtype=np.int32), name=f"EXT{i}")
        h.header["OBJECT"] = f"target {i}"
        h.header["EXPTIME"] = (float(i), "seconds")
        hdus.append(h)
    fits.HDUList(hdus).writeto(p, overwrite=True)


def zarr_cube(p: Path, sz: dict, compressor) -> None:
    import zarr
    shutil.rmtree(p, ignore_errors=True)
    shape, chunks = sz["zarr"], sz["zchunks"]
    z = zarr.open(str(p), mode="w", shape=shape, chunks=chunks, dtype="<u2", compressor=compressor)
    rng = np.random.default_rng(SEED + 2)
    yy, xx = np.mgrid[0:shape[1], 0:shape[2]]
    ramp = ((yy + xx) % 4096).astype(np.uint16)
    for k in range(0, shape[0], chunks[0]):
        m = min(chunks[0], shape[0] - k)
        noise = rng.integers(0, 64, (m, shape[1], shape[2]), dtype=np.uint16)
        z[k:k + m] = ramp[None] + noise


def zarr_zstd(p: Path, sz: dict) -> None:
    from numcodecs import Zstd
    zarr_cube(p, sz, Zstd(level=1))


def zarr_blosc(p: Path, sz: dict) -> None:
    from numcodecs import Blosc
    zarr_cube(p, sz, Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE))


def zarr_raw(p: Path, sz: dict) -> None:
    zarr_cube(p, sz, None)


def asdf_values(sz: dict) -> np.ndarray:
    rng = np.random.default_rng(SEED + 3)
    # quarter steps: zlib finds something to compress, as in real data
    return np.round(rng.standard_normal(sz["asdf"]) * 400) / 4


def plain_asdf(p: Path, sz: dict) -> None:
    import asdf
    asdf.AsdfFile({"data": asdf_values(sz)}).write_to(p)


def zlib_asdf(p: Path, sz: dict) -> None:
    import asdf
    asdf.AsdfFile({"data": asdf_values(sz)}).write_to(p, all_array_compression="zlib")


def many_asdf(p: Path, sz: dict) -> None:
    import asdf
    arrays = [np.arange(64, dtype=np.float64) + i for i in range(sz["many"])]
    asdf.AsdfFile({"arrays": arrays}).write_to(p)


def cube_fits(p: Path, sz: dict) -> None:
    from astropy.io import fits
    shape = sz["cube"]
    rng = np.random.default_rng(SEED + 4)
    a = rng.standard_normal(shape, dtype=np.float32) + np.linspace(0, 10, shape[0], dtype=np.float32)[:, None, None]
    fits.PrimaryHDU(a).writeto(p, overwrite=True)


def scale_cube(p: Path, sz: dict, mib: int) -> None:
    from astropy.io import fits
    n = 64 if sz["img"] < 1024 else 1024
    planes = max(1, mib * 2**20 // (4 * n * n))
    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -32
    hdr["NAXIS"] = 3
    hdr["NAXIS1"] = n
    hdr["NAXIS2"] = n
    hdr["NAXIS3"] = planes
    x = np.arange(n, dtype=np.float32)
    sky = np.sin(x[None, :] / 150) * np.cos(x[:, None] / 90) * 50 + 1000
    rng = np.random.default_rng(SEED + 5)
    s = fits.StreamingHDU(p, hdr)
    for _ in range(planes):
        s.write(np.round(sky + rng.normal(0, 10, (n, n)), 1).astype(np.float32))
    s.close()


DATASETS = {
    "f32.fits": f32_fits,
    "i16s.fits": i16s_fits,
    "many.fits": many_fits,
    "zstd.zarr": zarr_zstd,
    "blosc.zarr": zarr_blosc,
    "raw.zarr": zarr_raw,
    "plain.asdf": plain_asdf,
    "zlib.asdf": zlib_asdf,
    "many.asdf": many_asdf,
    "cube.fits": cube_fits,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated dataset names")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sz = sizes(args.smoke)
    want = [n for n in args.only.split(",") if n] or list(DATASETS)
    for name in want:
        p = args.dir / name
        stamp = args.dir / f".{name}.stamp"
        tag = json.dumps({"seed": SEED, "sizes": sz, "version": 1}, sort_keys=True)
        if p.exists() and stamp.exists() and stamp.read_text() == tag:
            continue
        m = re.fullmatch(r"scale-(\d+)M\.fits", name)
        if not m and name not in DATASETS:
            raise SystemExit(f"gen: no dataset {name}")
        print(f"gen: writing {p}", flush=True)
        if m:
            p.unlink(missing_ok=True)  # StreamingHDU appends to an existing file
            scale_cube(p, sz, int(m.group(1)))
        else:
            DATASETS[name](p, sz)
        stamp.write_text(tag)


if __name__ == "__main__":
    main()
