"""Expected order statistics of every FITS image of the test data, as numpy and astropy compute
them: nanmedian, nanpercentile, numpy.histogram, astropy.stats.sigma_clipped_stats, and the
same along axes for small outputs. Written to testdata/stats/expected.json, which
crates/nd/tests/stats_reference.rs checks nd against.

Run through testdata/generate.py (`generate.py stats`) after the FITS files exist.
"""
import hashlib
import json
import os
import warnings

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats

HERE = os.path.dirname(os.path.abspath(__file__))
PERCENTILES = [0, 5, 25, 50, 75, 95, 99.5, 100]
# axis results are kept only when the output is this small (the JSON stays small)
MAX_AXIS_OUT = 128


def num(v):
    """A JSON number, None for NaN and infinities."""
    v = float(v)
    return v if np.isfinite(v) else None


def nums(a):
    return [num(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def whole(d):
    fin = d[np.isfinite(d)] if d.dtype.kind == "f" else d.ravel()
    out = {
        "dtype": d.dtype.name,
        "shape": list(d.shape),
        "absmax": num(np.max(np.abs(fin.astype(np.float64)))) if fin.size else 0.0,
        "median": num(np.nanmedian(d)),
        "percentiles": nums(np.nanpercentile(d, PERCENTILES)),
    }
    counts, edges = np.histogram(fin, bins=10)
    out["hist10"] = {"counts": counts.tolist(), "edges": nums(edges)}
    if fin.size:
        lo, hi = (float(x) for x in np.nanpercentile(d, [10, 90]))
        counts, edges = np.histogram(d, bins=7, range=(lo, hi))
        out["hist7"] = {"range": [lo, hi], "counts": counts.tolist(), "edges": nums(edges)}
    mean, median, std = sigma_clipped_stats(d)
    out["sigma_clipped"] = [num(mean), num(median), num(std)]
    if d.ndim >= 2 and np.prod(d.shape[1:]) <= MAX_AXIS_OUT:
        out["median_axis0"] = nums(np.nanmedian(d, axis=0))
        mean, median, std = sigma_clipped_stats(d, axis=0)
        out["clipped_axis0"] = [nums(mean), nums(median), nums(std)]
    if d.ndim >= 2 and d.shape[0] <= MAX_AXIS_OUT:
        rest = tuple(range(1, d.ndim))
        out["p90_rest"] = nums(np.nanpercentile(d, 90, axis=rest))
    return out


def generate(outdir):
    manifest = json.load(open(os.path.join(HERE, "fits", "manifest.json")))
    images = [
        (os.path.join("fits", f), h["index"])
        for f, e in sorted(manifest.items())
        for h in e["hdus"]
        if h.get("is_image") and h.get("shape") and np.prod(h["shape"]) > 0
    ]
    images += [(os.path.join("example", f), 0) for f in ("image.fits",)]
    images += [(os.path.join("example", "cube.fits"), "SCI")]
    seen = {}
    result = {}
    warnings.simplefilter("ignore")
    for path, hdu in images:
        with fits.open(os.path.join(HERE, path)) as hdul:
            d = np.asarray(hdul[hdu].data)
        key = f"{path}[{hdu}]"
        digest = hashlib.sha256(d.dtype.str.encode() + str(d.shape).encode() + d.tobytes()).hexdigest()
        if digest in seen:
            # the same values as an image already listed (e.g. the 500 HDUs of many_ext)
            result[key] = {"same_as": seen[digest]}
            continue
        seen[digest] = key
        result[key] = whole(d)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(
            {
                "generator": "testdata/gen_stats.py",
                "numpy": np.__version__,
                "astropy": __import__("astropy").__version__,
                "percentiles": PERCENTILES,
                "images": result,
            },
            f,
            indent=None,
            allow_nan=False,
            separators=(",", ":"),
        )
