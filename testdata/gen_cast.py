"""Expected results of numpy's astype for nd_core::cast (crates/nd-core/tests/cast.rs).

Run with the project venv:  .venv/bin/python testdata/gen_cast.py

Layout of testdata/cast/:
  SRC.npy                   source values of numpy dtype SRC (edge values, then a few random ones)
  SRC__to__DST.npy          SRC.npy's array .astype(DST) (casting='unsafe', warnings suppressed)
  SRC__to__DST.defined.npy  only for float/complex SRC to integer DST: a bool mask, True where numpy's
                            result is defined (the source is finite and its truncation fits in DST).
                            Elsewhere (NaN, inf, out of range) C leaves the conversion undefined, numpy's
                            result depends on the platform, and the expected value is not numpy's: the
                            test checks nd's documented saturating rule there instead.

Every DTYPE is one of the numeric numpy types nd_core::DataType has: bool, int8..int64, uint8..uint64,
float16, float32, float64, complex64, complex128. Files are little-endian, C order.
"""
import os
import shutil
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cast")

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float16", "float32", "float64"]
COMPLEX = ["complex64", "complex128"]
ALL = ["bool"] + INTS + FLOATS + COMPLEX


def int_candidates():
    """Integers worth converting: 0, +-1, every integer type's limits and their neighbours,
    the edges of exact float representation and of float16's range."""
    vals = {0, 1, -1, 2, 3, -2, 7, 100, -100}
    for t in INTS:
        info = np.iinfo(t)
        for v in (int(info.min), int(info.max)):
            vals.update({v, v - 1, v + 1})
    for e in (8, 11, 15, 16, 24, 25, 31, 32, 53, 54, 63, 64):
        vals.update({2**e, 2**e - 1, 2**e + 1, -(2**e), -(2**e) + 1, -(2**e) - 1})
    # float32 / float64 round-half-even ties and just-above-ties
    vals.update({2**24 + 1, 2**24 + 3, 2**53 + 1, 2**53 + 3, 2**62 + 2**38, 2**62 + 2**38 + 1})
    vals.update({2**64 - 2**39, 2**64 - 2**39 - 1, 2**63 + 2**39, 2**63 + 2**39 + 1})
    # float16: 2048 is exact, 2049 ties down, 2051 ties up; 65504 is the max, 65520 ties to inf
    vals.update({2049, 2051, 4097, 65504, 65505, 65519, 65520, 65521, -65504, -65520, 10**10, -(10**10)})
    return sorted(vals)


def float_candidates():
    inf, nan = float("inf"), float("nan")
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 0.9999, -0.9999, 1e10, -1e10]
    vals += [65504.0, -65504.0, 65519.0, 65519.99, 65520.0, -65520.0, 65536.0, 1e5]
    # float16 subnormals and the ties around them: 2**-24 is the smallest, 2**-25 ties to 0
    vals += [2.0**-24, 2.0**-25, 3 * 2.0**-26, 2.0**-25 + 2.0**-40, -(2.0**-24), 2.0**-14, 6.1e-5]
    # smallest float32 and float64 subnormals, and values that underflow float32
    vals += [1e-45, 1.4e-45, -1e-45, 5e-324, -5e-324, 1e-300, 1.17549435e-38]
    # rounding of float64 to float32 and float16 (ties, and just above a tie hidden in low bits)
    vals += [1 + 2.0**-24, 1 + 2.0**-24 + 2.0**-50, 1 + 3 * 2.0**-24, 1 + 2.0**-11, 1 + 2.0**-11 + 2.0**-40]
    vals += [1 + 3 * 2.0**-11, 3.4028235e38, 3.4028236e38, 3.5e38, -3.5e38, 1e300, -1e300]
    # integer limits as floats, and their neighbours (truncation toward zero, range edges)
    for t in INTS:
        info = np.iinfo(t)
        for v in (float(info.min), float(info.max)):
            vals += [v, v - 1, v + 1, v - 0.5, v + 0.5]
    vals += [2.0**63, -(2.0**63), 2.0**64, 2.0**63 - 1024, 2.0**64 - 2048, 2.0**31 - 0.5, 2.0**32 + 0.5]
    vals += [127.9, 128.5, -128.9, -129.5, 255.5, 256.0, -1.5, 4294967295.5]
    vals += [nan, -nan, inf, -inf]
    return vals


def random_values(dtype, rng, n=24):
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        a = rng.integers(int(info.min), int(info.max), n, dtype=dt, endpoint=True)
        small = rng.integers(max(int(info.min), -70000), min(int(info.max), 70000), n, dtype=dt)
        return np.concatenate([a, small])
    # floats: wide exponent range with random mantissas, and values near float16's range
    mant = rng.uniform(-2, 2, n)
    wide = np.ldexp(mant, rng.integers(-30, 70, n))
    near16 = rng.uniform(-70000, 70000, n)
    x = np.concatenate([wide, near16])
    if dt.kind == "c":
        c = np.empty(n * 2, dtype=dt)
        c.real, c.imag = x, np.roll(x, 3)
        return c
    return x.astype(dt)


def sources():
    rng = np.random.default_rng(20250101)
    src = {}
    src["bool"] = np.array([False, True, True, False, True], dtype=bool)
    ints = int_candidates()
    for t in INTS:
        info = np.iinfo(t)
        fit = [v for v in ints if info.min <= v <= info.max]
        src[t] = np.concatenate([np.array(fit, dtype=t), random_values(t, rng)])
    floats = np.array(float_candidates(), dtype=np.float64)
    for t in FLOATS:
        src[t] = np.concatenate([floats.astype(t), random_values(t, rng)])
    inf, nan = float("inf"), float("nan")
    imag = np.array([1.0, -2.5, 0.0, 3e10, -0.5, nan, inf, 7.0, 1e-45])
    for t in COMPLEX:
        re = floats
        im = np.resize(imag, re.shape)
        special = np.array([0j, 1j, -1j, complex(0, nan), complex(nan, 0), complex(0, inf), complex(-0.0, -0.0)])
        c = np.empty(re.shape, dtype=t)
        c.real, c.imag = re, im  # not re + 1j * im: 1j * nan would make the real part NaN too
        src[t] = np.concatenate([c, special.astype(t), random_values(t, rng)])
    return src


def defined_mask(src, dst):
    """True where converting src to integer dst is defined in C (numpy then agrees everywhere)."""
    vals = src.real if src.dtype.kind == "c" else src
    vals = vals.astype(np.float64)  # exact for float16/32/64
    info = np.iinfo(dst)
    out = np.zeros(vals.shape, dtype=bool)
    for i, v in enumerate(vals):
        if np.isfinite(v):
            t = int(v)  # exact truncation toward zero
            out[i] = info.min <= t <= info.max
    return out


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        srcs = sources()
    total = 0
    for s, a in srcs.items():
        assert a.dtype == np.dtype(s), (s, a.dtype)
        a = a.astype(np.dtype(s).newbyteorder("<"))
        np.save(os.path.join(OUT, f"{s}.npy"), a)
        for d in ALL:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                b = a.astype(d, casting="unsafe")
            b = b.astype(np.dtype(d).newbyteorder("<"))
            np.save(os.path.join(OUT, f"{s}__to__{d}.npy"), b)
            if np.dtype(s).kind in "fc" and np.dtype(d).kind in "iu":
                np.save(os.path.join(OUT, f"{s}__to__{d}.defined.npy"), defined_mask(a, d))
        total += 1
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{total} sources, {len(os.listdir(OUT))} files, {size} bytes in {OUT}")


if __name__ == "__main__":
    main()
