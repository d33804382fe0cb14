"""FITS test files for nd-fits, written with astropy, with the values astropy reads from them.

generate(outdir) writes into testdata/fits/:
  gen/*.fits[.gz]     files made here (astropy HDUs, or astropy headers + numpy data for special
                      scalings and junk headers)
  astropy/*.fits      small files copied from astropy's own test data (real-world inputs)
  expected/*.npy      what astropy returns: hdul[i].data, hdul[i].section[...]
  manifest.json       per file: HDUs (kind, name, ver, shape, dtype, data/section npy),
                      checksum verdicts (astropy verify_checksum / verify_datasum),
                      cards (keyword, kind, value, comment) for header test files,
                      random-groups raw parameters / data.
"""
import gzip
import json
import os
import shutil
import warnings

import numpy as np
from astropy.io import fits

ASTROPY_DATA = os.path.join(os.path.dirname(fits.__file__), "tests", "data")
ASTROPY_FILES = [
    "arange.fits", "blank.fits", "scale.fits", "test0.fits",
    "o4sp040b0_raw.fits", "checksum.fits", "checksum_false.fits", "chandra_time.fits",
    "random_groups.fits", "group.fits", "history_header.fits", "verify.fits",
    "double_ext.fits", "compressed_image.fits", "btable.fits", "table.fits", "tdim.fits",
    "theap-gap.fits", "variable_length_table.fits", "ascii.fits",
]


def card80(s):
    assert len(s) <= 80, s
    return s.ljust(80)


def raw_file(path, cards, data_be):
    """Write a FITS file from raw card strings (END added) and big-endian data bytes."""
    text = "".join(card80(c) for c in cards) + card80("END")
    text += " " * ((-len(text)) % 2880)
    data = bytes(data_be)
    data += b"\0" * ((-len(data)) % 2880)
    with open(path, "wb") as f:
        f.write(text.encode("ascii") + data)


def kv(key, value, comment=None):
    """A fixed-format card through astropy's formatter."""
    return str(fits.Card(key, value, comment))


class Gen:
    def __init__(self, outdir):
        self.out = outdir
        self.manifest = {}
        for d in ("gen", "astropy", "expected"):
            p = os.path.join(outdir, d)
            if os.path.isdir(p):
                shutil.rmtree(p)
            os.makedirs(p)

    def npy(self, name, arr):
        rel = f"expected/{name}.npy"
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("="))
        np.save(os.path.join(self.out, rel), a)
        return rel

    def record(self, rel, sections=None, cards=False, groups=False, data_hdus=None):
        """Open `rel` with astropy and record what it returns."""
        path = os.path.join(self.out, rel)
        key = rel.replace("/", "_").replace(".", "_")
        entry = {"path": rel, "hdus": []}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path) as hdul:
                entry["n_hdus"] = len(hdul)
                for i, hdu in enumerate(hdul):
                    kind = type(hdu).__name__
                    h = {"index": i, "astropy_class": kind, "name": hdu.name, "ver": hdu.ver}
                    is_image = kind in ("PrimaryHDU", "ImageHDU")
                    h["is_image"] = is_image
                    if is_image:
                        data = hdu.data
                        if data is None:
                            h["shape"] = None
                        else:
                            h["shape"] = list(data.shape)
                            h["dtype"] = data.dtype.name
                            if data_hdus is None or i in data_hdus:
                                h["data"] = self.npy(f"{key}.{i}", data)
                            for k, spec in enumerate((sections or {}).get(i, [])):
                                sl = tuple(slice(a, b) for a, b in spec)
                                note = None
                                try:
                                    sec = hdu.section[sl]
                                except Exception as e:  # astropy bug: .section with BLANK
                                    note = f"astropy .section raised {type(e).__name__}: {e}; expected is data[...]"
                                    sec = data[sl]
                                h.setdefault("sections", []).append({
                                    "region": [list(x) for x in spec],
                                    "data": self.npy(f"{key}.{i}.sec{k}", sec),
                                    "note": note,
                                })
                    entry["hdus"].append(h)
                if cards:
                    # A fresh open: reading data makes astropy rewrite BITPIX/BSCALE in its header.
                    with fits.open(path) as fresh:
                        for h, hdu in zip(entry["hdus"], fresh):
                            h["cards"] = [card_json(c) for c in hdu.header.cards]
                if groups:
                    # Raw (stored) group records as astropy holds them, before PSCAL/PZERO.
                    raw = hdul[0].data.view(np.ndarray)
                    names = raw.dtype.names
                    pc = hdul[0].header["PCOUNT"]
                    entry["groups"] = {
                        "params": self.npy(f"{key}.params", np.array([raw[names[i]] for i in range(pc)]).T),
                        "data": self.npy(f"{key}.gdata", raw[names[pc]]),
                    }
            try:
                with fits.open(path, checksum=True) as hdul:
                    verdict = {0: "invalid", 1: "valid", 2: "absent"}
                    entry["checksums"] = [
                        {"checksum": verdict[int(h.verify_checksum())],
                         "datasum": verdict[int(h.verify_datasum())]}
                        for h in hdul
                    ]
            except Exception as e:
                print(f"  {rel}: astropy checksum verification failed: {e}")
                entry["checksums"] = None
        self.manifest[rel] = entry


def card_json(c):
    kw = c.keyword
    comment = c.comment
    try:
        v = c.value
    except Exception:
        return [kw, "unparsable", None, None]
    if kw in ("COMMENT", "HISTORY", ""):
        return [kw, "text", str(v), None]
    if isinstance(v, bool):
        return [kw, "bool", v, comment]
    if isinstance(v, (int, np.integer)):
        return [kw, "int", str(int(v)), comment]
    if isinstance(v, float):
        return [kw, "float", repr(v), comment]
    if isinstance(v, complex):
        return [kw, "complex", [repr(v.real), repr(v.imag)], comment]
    if isinstance(v, str):
        return [kw, "str", v, comment]
    if v is fits.card.UNDEFINED or v is None:
        return [kw, "undefined", None, comment]
    return [kw, "other", str(v), comment]


def generate(outdir):
    g = Gen(outdir)
    gen = os.path.join(outdir, "gen")
    rng = np.random.default_rng(12345)

    # 1. Every dtype through astropy's writer (unsigned and int8 get BZERO).
    for name, dt in [("u8", np.uint8), ("i8", np.int8), ("i16", np.int16), ("u16", np.uint16),
                     ("i32", np.int32), ("u32", np.uint32), ("i64", np.int64), ("u64", np.uint64),
                     ("f32", np.float32), ("f64", np.float64)]:
        shape = (7, 13)
        if np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
            a.flat[0], a.flat[1] = info.min, info.max
        else:
            a = (rng.standard_normal(shape) * 1e3).astype(dt)
            a.flat[0], a.flat[1], a.flat[2] = np.nan, np.inf, -0.0
        rel = f"gen/dt_{name}.fits"
        fits.PrimaryHDU(a).writeto(os.path.join(outdir, rel))
        g.record(rel, sections={0: [[(1, 4), (2, 9)], [(6, 7), (0, 13)]]})

    # 2. Scalings written as raw integers with BSCALE/BZERO/BLANK (astropy header cards).
    def scaled(name, bitpix, raw, extra, sections=None):
        shape = raw.shape
        be = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}[bitpix]
        cards = [kv("SIMPLE", True), kv("BITPIX", bitpix), kv("NAXIS", len(shape))]
        cards += [kv(f"NAXIS{i + 1}", n) for i, n in enumerate(reversed(shape))]
        cards += extra
        rel = f"gen/{name}.fits"
        raw_file(os.path.join(outdir, rel), cards, raw.astype(be).tobytes())
        g.record(rel, sections=sections)

    r16 = rng.integers(-32768, 32767, size=(9, 11), dtype=np.int16, endpoint=True)
    r16.flat[:3] = [-32768, 32767, 0]
    scaled("sc_i16", 16, r16, [kv("BSCALE", 0.01), kv("BZERO", 100.5)], {0: [[(2, 5), (3, 10)]]})
    r8 = rng.integers(0, 255, size=(5, 6), dtype=np.uint8, endpoint=True)
    scaled("sc_u8", 8, r8, [kv("BSCALE", 2.5), kv("BZERO", -3.0)])
    r32 = rng.integers(-2**31, 2**31 - 1, size=(4, 5), dtype=np.int32, endpoint=True)
    scaled("sc_i32", 32, r32, [kv("BSCALE", 1e-3), kv("BZERO", 7)])
    r64 = rng.integers(-2**63, 2**63 - 1, size=(3, 4), dtype=np.int64, endpoint=True)
    scaled("sc_i64", 64, r64, [kv("BSCALE", 2), kv("BZERO", 1e10)])
    rf = rng.standard_normal((4, 4)).astype(np.float32)
    scaled("sc_f32", -32, rf, [kv("BSCALE", 2.0), kv("BZERO", 1.0)])
    scaled("sc_f64", -64, rf.astype(np.float64), [kv("BSCALE", 3.0), kv("BZERO", -1.0)])
    rb = r16.copy()
    rb.flat[5:20:3] = -32768
    scaled("blank_sc_i16", 16, rb, [kv("BSCALE", 0.5), kv("BZERO", 10), kv("BLANK", -32768)],
           {0: [[(0, 3), (4, 8)]]})
    scaled("blank_i16", 16, rb, [kv("BLANK", -32768)])
    r32b = r32.copy()
    r32b.flat[:4] = [0, 0, 99, 99]
    scaled("blank_zero_i32", 32, r32b, [kv("BLANK", 0)])
    scaled("blank_i32", 32, r32b, [kv("BLANK", 99), kv("BSCALE", 1.5)])
    scaled("blank_u8", 8, r8, [kv("BLANK", 255)])
    scaled("bzero_float_u16", 16, r16, [kv("BSCALE", 1.0), kv("BZERO", 32768.0)])
    scaled("bzero_odd_i16", 16, r16, [kv("BSCALE", 1), kv("BZERO", 32767)])
    scaled("u32_bzero", 32, r32, [kv("BZERO", 2147483648)])
    u64 = rng.integers(-2**63, 2**63 - 1, size=(3, 3), dtype=np.int64, endpoint=True)
    u64.flat[:2] = [2**63 - 1, -2**63]
    scaled("u64_bzero", 64, u64, [kv("BSCALE", 1), "BZERO   =  9223372036854775808"])
    scaled("i8_bzero", 8, r8, [kv("BZERO", -128)])
    scaled("blank_float_ignored", -32, rf, [kv("BLANK", 5)])

    # 3. Dimensions 1-D to 4-D (and an empty axis).
    for nd in (1, 2, 3, 4):
        shape = (3, 4, 5, 6)[-nd:]
        a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) * 0.5
        rel = f"gen/dim{nd}.fits"
        fits.PrimaryHDU(a).writeto(os.path.join(outdir, rel))
        secs = {1: [[(1, 4)]], 2: [[(1, 3), (2, 5)]], 3: [[(1, 2), (0, 4), (2, 4)], [(0, 3), (1, 3), (0, 5)]],
                4: [[(1, 3), (1, 3), (2, 4), (0, 6)], [(2, 3), (3, 4), (4, 5), (5, 6)]]}[nd]
        g.record(rel, sections={0: secs})
    fits.PrimaryHDU(np.zeros((0, 4), dtype=np.int16)).writeto(os.path.join(gen, "dim_zero.fits"))
    g.record("gen/dim_zero.fits")

    # 4. HST-like: empty primary, SCI/ERR/DQ x 2 versions.
    hdus = [fits.PrimaryHDU(header=fits.Header([("TELESCOP", "HST"), ("INSTRUME", "WFC3")]))]
    for ver in (1, 2):
        sci = fits.ImageHDU((rng.standard_normal((20, 30)) * 100).astype(np.float32), name="SCI", ver=ver)
        err = fits.ImageHDU(np.abs(rng.standard_normal((20, 30))).astype(np.float32), name="ERR", ver=ver)
        dq = fits.ImageHDU(rng.integers(0, 2**16 - 1, (20, 30), dtype=np.uint16), name="DQ", ver=ver)
        hdus += [sci, err, dq]
    fits.HDUList(hdus).writeto(os.path.join(gen, "mef.fits"))
    g.record("gen/mef.fits", sections={4: [[(5, 15), (10, 12)]], 6: [[(0, 20), (29, 30)]]})

    # 5. 500 HDUs (gzip-compressed: small on disk) and a gzipped scaled image.
    hdus = [fits.PrimaryHDU()]
    for i in range(1, 500):
        hdus.append(fits.ImageHDU(np.full((2, 3), i, dtype=np.int16), name=f"E{i}"))
    tmp = os.path.join(gen, "many_ext.fits")
    fits.HDUList(hdus).writeto(tmp)
    with open(tmp, "rb") as f, gzip.open(tmp + ".gz", "wb", compresslevel=9) as z:
        z.write(f.read())
    os.remove(tmp)
    g.record("gen/many_ext.fits.gz", data_hdus={1, 250, 499})
    with open(os.path.join(gen, "sc_i16.fits"), "rb") as f, \
            gzip.open(os.path.join(gen, "sc_i16.fits.gz"), "wb") as z:
        z.write(f.read())
    g.record("gen/sc_i16.fits.gz", sections={0: [[(2, 5), (3, 10)]]})

    # 6. Checksums: valid, stale data, stale header.
    a = rng.integers(0, 1000, (10, 10), dtype=np.int32)
    hl = fits.HDUList([fits.PrimaryHDU(a), fits.ImageHDU(a.astype(np.float32), name="X")])
    good = os.path.join(gen, "checksum_ok.fits")
    hl.writeto(good, checksum=True)
    g.record("gen/checksum_ok.fits")
    raw = bytearray(open(good, "rb").read())
    raw[2880 + 17] ^= 0x01  # one data bit of the primary HDU
    open(os.path.join(gen, "checksum_stale_data.fits"), "wb").write(raw)
    g.record("gen/checksum_stale_data.fits")
    raw = bytearray(open(good, "rb").read())
    i = raw.index(b"EXTNAME = 'X")
    raw[i + 11] = ord("Y")  # header of HDU 1 changed after checksumming
    open(os.path.join(gen, "checksum_stale_header.fits"), "wb").write(raw)
    g.record("gen/checksum_stale_header.fits")

    # 7. Header cards: CONTINUE, HIERARCH, complex, D exponents, big ints, undefined, junk.
    h = fits.Header()
    h["LONGSTR"] = ("This is a long string value that needs CONTINUE cards; it has 'quotes' "
                    "and goes on and on past eighty columns, twice over, to be sure it continues.",
                    "and a comment")
    h["HIERARCH ESO DET CHIP NAME"] = "CCD 1"
    h["HIERARCH ESO TEL AIRM START"] = (1.234, "airmass")
    h["HIERARCH LONG HIERARCH STRING"] = "x" * 90
    h["CPLX"] = (complex(1.5, -2.25), "complex")
    h["EMPTY"] = ""
    h["UNDEF"] = (None, "undefined value")
    h["LEADSP"] = "   lead"
    h["TRAILSP"] = "trail   "
    h["QUOTE"] = "it's"
    h["BIGF"] = 1.5e300
    h["SMALLF"] = -2.5e-300
    h.add_comment("a comment card")
    h.add_history("a history card")
    h.add_blank("a blank-keyword card")
    h["DUP"] = 1
    h.append(("DUP", 2, "duplicate"))
    fits.PrimaryHDU(np.arange(6, dtype=np.int16).reshape(2, 3), header=h).writeto(
        os.path.join(gen, "cards.fits"))
    g.record("gen/cards.fits", cards=True)

    junk = [
        "SIMPLE  =    T / free-format mandatory value",
        "BITPIX  = 16",
        "naxis   =                    2 / lowercase keyword",
        "NAXIS1  =                    3",
        "NAXIS2  =                    2",
        "BSCALE  =                 2.0D0 / D exponent",
        "BZERO   = 1.0E1",
        "DEXP    = 1.3550135501355D-08",
        "DEXPL   = -4.5d+2",
        "CPLXD   = (1.5D0, -2.0E3) / complex with D",
        "CPLXI   = (1, 2)",
        "BIGINT  = 123456789012345678901234567890",
        "NEGBIG  = -9223372036854775809",
        "ZEROS   = 000123",
        "PLUS    = +42",
        "SPACES  = - 1 2",
        "BADVAL  = 12abc / not a number",
        "NOQUOTE = hello",
        "BADSTR  = 'unterminated",
        "KEY= 5 / value indicator in column 4",
        "NOVALIND  this card has no value indicator",
        "LOWER   = 'x' / fine",
        "ESC     = 'O''Hara''s  '",
        "ONLYCOM =  / only a comment",
        "LOGF    =                    F",
        "TAB     = 'a' /comment without space",
        "HISTORY   history with leading spaces",
        "        blank keyword text",
    ]
    raw_file(os.path.join(gen, "junk_header.fits"), junk,
             np.arange(6, dtype=">i2").tobytes())
    g.record("gen/junk_header.fits", cards=True)

    # A truncated copy: data cut short (the walk lists the HDU; reading its data fails).
    src = open(os.path.join(gen, "mef.fits"), "rb").read()
    open(os.path.join(gen, "truncated.fits"), "wb").write(src[: 2880 * 6 + 1000])
    # Trailing junk after the last HDU (astropy warns and ignores it).
    open(os.path.join(gen, "trailing_junk.fits"), "wb").write(
        open(os.path.join(gen, "dim2.fits"), "rb").read() + b"JUNK" * 100)
    g.record("gen/trailing_junk.fits")

    # 8. astropy's own test files (real-world inputs).
    for name in ASTROPY_FILES:
        shutil.copy(os.path.join(ASTROPY_DATA, name), os.path.join(outdir, "astropy", name))
        rel = f"astropy/{name}"
        sections = {}
        if name == "test0.fits":
            sections = {1: [[(10, 20), (5, 25)]], 2: [[(0, 40), (3, 4)]]}
        if name == "o4sp040b0_raw.fits":
            sections = {1: [[(3, 9), (0, 62)]]}
        if name == "scale.fits":
            sections = {0: [[(1, 3), (2, 7)]]}
        g.record(rel, sections=sections, groups=name in ("random_groups.fits", "group.fits"),
                 cards=name in ("history_header.fits", "verify.fits"))

    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(g.manifest, f, sort_keys=True, separators=(",", ":"))
