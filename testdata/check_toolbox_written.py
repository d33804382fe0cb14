#!/usr/bin/env python3
"""Check with the reference libraries what the toolbox commands of issue 19 write. Not part of
`cargo test` (it needs astropy, numpy, pandas and pyarrow; see testdata/requirements.txt):

    cargo build -p nd-cli && python testdata/check_toolbox_written.py target/debug/nd

- `nd export t.fits N -o t.npy | t.csv | t.parquet` of every table of the test corpus: each field
  equals astropy's `hdul[N].data[name]` (numpy for .npy, pandas.read_csv for CSV, pyarrow and
  pandas for Parquet);
- extended-filename exports equal astropy's `section` of the same (converted) region;
- `nd convert x out.fits.gz` is read by astropy with the values of the source;
- `nd export masked.asdf NAME -o m.npz`: numpy's data and mask equal python asdf's MaskedArray.
"""
import glob
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
ND = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "debug", "nd"))
checked = failures = 0


def nd(*args):
    r = subprocess.run([ND, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"nd {' '.join(args)}: {r.stderr.strip()}")
    return r


def ok(cond, what):
    global checked, failures
    checked += 1
    if not cond:
        failures += 1
        print("FAIL", what)


def same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    eq = a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")
    if not eq:
        print("   ", a.dtype, b.dtype, a.shape, b.shape, a.ravel()[:4], b.ravel()[:4])
    ok(eq, what)


def astropy_field(data, name):
    v = np.asarray(data[name])
    if v.dtype.kind == "U":
        v = np.char.encode(np.char.rstrip(v), "ascii")
    elif v.dtype.kind == "S":
        v = np.char.rstrip(v)
    return v


def tables(tmp):
    import pandas as pd
    import pyarrow.parquet as pq

    files = sorted(glob.glob(os.path.join(HERE, "fits", "**", "*.fits"), recursive=True))
    # a known, warned divergence: astropy reads this ASCII field past its TFORM width
    known = {"lenient_ascii_last_field.fits"}
    for path in files:
        if os.path.basename(path) in known:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hdul = fits.open(path)
                hdus = [i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
        except Exception:
            continue
        for i in hdus:
            rel = f"{os.path.relpath(path, HERE)}[{i}]"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    data = hdul[i].data
                    cols = [c for c in hdul[i].columns if "P" not in c.format and "Q" not in c.format]
                    ref = {c.name: astropy_field(data, c.name) for c in cols}
            except Exception as e:  # astropy cannot read it either: nothing to compare
                print("skip", rel, type(e).__name__)
                continue
            if len(ref) == 0:
                continue
            out = os.path.join(tmp, "t")
            try:
                nd("export", path, str(i), "-o", out + ".npy", "--force")
            except RuntimeError as e:
                ok(False, f"{rel}: npy export failed: {e}")
                continue
            got = np.load(out + ".npy")
            for name, want in ref.items():
                g = got[name]
                if want.dtype.kind == "S":
                    g = np.char.rstrip(g)
                same(g, want, f"{rel} npy {name}")
            # CSV and Parquet hold no complex values (left out with a note)
            # nor columns of no values per row (`0D`)
            flat = {n: v for n, v in ref.items() if v.dtype.kind != "c" and 0 not in v.shape[1:]}
            nd("export", path, str(i), "-o", out + ".csv", "--force")
            csv = pd.read_csv(out + ".csv", keep_default_na=False, na_values=["nan"])
            for name, want in flat.items():
                if want.ndim > 1:
                    cols = [f"{name}[{k}]" for k in range(int(np.prod(want.shape[1:])))]
                    g = csv[cols].to_numpy().reshape(want.shape)
                else:
                    g = csv[name].to_numpy()
                if want.dtype.kind == "S":
                    g = np.array([("" if isinstance(x, float) else str(x)).encode() for x in g.ravel()]).reshape(want.shape)
                    w = want
                elif want.dtype.kind == "f":
                    # the text is the shortest form that reads back to the same float32/64
                    g, w = g.astype(want.dtype), want
                elif want.dtype.kind == "b":
                    w = want
                    g = g.astype(bool)
                else:
                    g, w = g.astype(want.dtype), want
                same(g.reshape(w.shape) if g.size == w.size else g, w, f"{rel} csv {name}")
            nd("export", path, str(i), "-o", out + ".parquet", "--force")
            table = pq.read_table(out + ".parquet")
            frame = table.to_pandas()
            for name, want in flat.items():
                col = frame[name]
                if want.ndim > 1:
                    g = np.stack([np.asarray(x) for x in col]).reshape(want.shape) if len(col) else np.empty(want.shape)
                else:
                    g = col.to_numpy()
                if want.dtype.kind == "S":
                    g = np.array([x.encode() for x in g.ravel()], dtype="S").reshape(want.shape)
                    if g.size == 0:
                        g = want
                same(g.astype(want.dtype) if want.dtype.kind != "S" else g, want, f"{rel} parquet {name}")
                ok(str(table.schema.field(name).type) != "null", f"{rel} parquet {name} type")


def extended(tmp):
    cube = os.path.join(HERE, "example", "cube.fits")
    with fits.open(cube) as f:
        sec = f["SCI"].section
        cases = {
            "[SCI][11:30,21:40:2,*]": sec[:, 20:40:2, 10:30],
            "[1][64:1,*,32:1:3]": sec[31::-3, :, 63::-1],
            "[SCI,1][-*,5,2:3]": sec[1:3, 4:5, ::-1],
        }
        for br, want in cases.items():
            out = os.path.join(tmp, "x.npy")
            nd("export", cube + br, "-o", out, "--force")
            same(np.load(out), np.asarray(want, dtype=np.float32), f"extended {br}")


def fits_gz(tmp):
    src = os.path.join(HERE, "example", "cube.fits")
    out = os.path.join(tmp, "cube.fits.gz")
    nd("convert", src, out, "-q", "--force")
    with open(out, "rb") as fh:
        ok(fh.read(2) == b"\x1f\x8b", "fits.gz is gzip")
    with fits.open(out) as a, fits.open(src) as b:
        ok(len(a) == len(b), "fits.gz HDUs")
        same(a["SCI"].data, b["SCI"].data, "fits.gz SCI values")
        ok(a["SCI"].header["CRPIX1"] == b["SCI"].header["CRPIX1"], "fits.gz cards")


def masked(tmp):
    import asdf

    path = os.path.join(HERE, "asdf", "py", "masked.asdf")
    with asdf.open(path) as af:
        for name in ["masked", "masked_int"]:
            out = os.path.join(tmp, "m.npz")
            nd("export", path, name, "-o", out, "--force")
            z = np.load(out)
            m = np.ma.array(z["data"], mask=z["mask"])
            want = af[name]
            same(m.data, want.data, f"masked {name} data")
            same(m.mask, np.ma.getmaskarray(want), f"masked {name} mask")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        extended(tmp)
        fits_gz(tmp)
        masked(tmp)
        tables(tmp)
    print(f"{checked} checks, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
