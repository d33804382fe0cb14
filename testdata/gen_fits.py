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
    # tables and compressed images (issue 4)
    "ascii_i4-i20.fits", "tb.fits", "zerowidth.fits", "logical_null.fits",
    "vla_logical_null.fits", "vla_logical_all_zero.fits", "vla_logical_pre_fix.fits",
    "stddata.fits", "compressed_float_bzero.fits",
]
# astropy's compressed-image test files (hdu/compressed/tests/data)
ASTROPY_COMP_DATA = os.path.join(os.path.dirname(fits.__file__), "hdu", "compressed", "tests", "data")
ASTROPY_COMP_FILES = ["m13_rice.fits", "m13_hcomp.fits", "compressed_with_nan.fits"]


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

    def npy(self, name, arr, gz=False):
        rel = f"expected/{name}.npy" + (".gz" if gz else "")
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("="))
        # Identical arrays (the m13 image in several compressions) are stored once.
        import hashlib
        h = hashlib.sha1(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest() + str(gz)
        seen = self.__dict__.setdefault("_seen", {})
        if h in seen:
            return seen[h]
        if gz:
            import io
            bio = io.BytesIO()
            np.save(bio, a)
            with gzip.GzipFile(os.path.join(self.out, rel), "wb", compresslevel=9, mtime=0) as z:
                z.write(bio.getvalue())
        else:
            np.save(os.path.join(self.out, rel), a)
        seen[h] = rel
        return rel

    def table(self, key, i, hdu):
        """What astropy returns for every column of a table HDU."""
        data = hdu.data
        cols = []
        for ci, col in enumerate(hdu.columns):
            c = {"name": col.name, "tform": str(col.format)}
            arr = data[col.name] if data is not None else None
            if getattr(col.format, "p_format", None):
                c["vla"] = True
                rows = [np.asarray(arr[r]) for r in range(len(arr))]
                if rows and rows[0].dtype.kind in "SU" or str(col.format.p_format) == "A":
                    c["strings"] = [strip(x) for x in (arr[r] for r in range(len(arr)))]
                else:
                    c["shapes"] = [list(r.shape) for r in rows]
                    dt = rows[0].dtype if rows else np.dtype("u1")
                    c["dtype"] = dt.newbyteorder("=").name
                    flat = np.concatenate([r.ravel().astype(dt.newbyteorder("="))
                                           for r in rows]) if rows else np.zeros(0, dt)
                    c["data"] = self.npy(f"{key}.{i}.c{ci}", flat)
            else:
                a = np.asarray(arr)
                if a.dtype.kind == "U":
                    a = a.astype(f"S{max(a.dtype.itemsize // 4, 1)}")
                if a.dtype.kind == "S":
                    w = a.dtype.itemsize
                    a = np.array([x.rstrip() for x in a.ravel().tolist()], dtype=f"S{w}").reshape(a.shape)
                c["dtype"] = a.dtype.newbyteorder("=").name if a.dtype.kind != "S" else f"|S{a.dtype.itemsize}"
                c["shape"] = list(a.shape)
                c["data"] = self.npy(f"{key}.{i}.c{ci}", a)
            cols.append(c)
        return {"nrows": len(data) if data is not None else 0, "columns": cols}

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
                    if kind in ("BinTableHDU", "TableHDU"):
                        h["table"] = self.table(key, i, hdu)
                    if kind == "CompImageHDU":
                        # The header before the data is touched (reading scaled data makes
                        # astropy drop BSCALE/BZERO from it).
                        header = [card_json(c) for c in hdu.header.cards]
                        data = hdu.data
                        ch = {"shape": list(data.shape), "dtype": data.dtype.name,
                              "data": self.npy(f"{key}.{i}", data, gz=True),
                              "header": header}
                        raw_hdr = hdu._bintable.header if hasattr(hdu, "_bintable") else None
                        if raw_hdr is not None:
                            ch["zcmptype"] = raw_hdr.get("ZCMPTYPE")
                            ch["zquantiz"] = raw_hdr.get("ZQUANTIZ")
                        if data.ndim >= 1 and all(n >= 3 for n in data.shape):
                            spec = [(n // 3, max(2 * n // 3, n // 3 + 1)) for n in data.shape]
                            sl = tuple(slice(a, b) for a, b in spec)
                            ch["section"] = {"region": [list(x) for x in spec],
                                             "data": self.npy(f"{key}.{i}.csec", hdu.section[sl], gz=True)}
                        h["comp"] = ch
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
                # Compressed HDUs are verified as their binary tables: astropy's CompImageHDU
                # reports every checksum "absent" (its image header has none).
                with fits.open(path, checksum=True, disable_image_compression=True) as hdul:
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


def strip(x):
    """A string value as astropy's chararray gives it (trailing whitespace removed), as text."""
    if isinstance(x, np.ndarray):
        x = x.item() if x.ndim == 0 else (x.tobytes() if x.dtype.kind == "S" else "".join(x.tolist()))
    if isinstance(x, bytes):
        x = x.decode("latin-1")
    return str(x).rstrip()


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

    # 9. Tables (issue 4).
    tables(g, outdir, rng)

    # 10. Tile-compressed images (issue 4).
    compressed(g, outdir, rng)

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

    for name in ASTROPY_COMP_FILES:
        shutil.copy(os.path.join(ASTROPY_COMP_DATA, name), os.path.join(outdir, "astropy", name))
        g.record(f"astropy/{name}")

    # 11. More HCOMPRESS_1 cases (own random generator, recorded last so that nothing above
    # changes).
    hcompress(g, outdir)

    # 12. Quantized images with fallback tiles, null pixels and edge tiles (own random
    # generator, recorded last so that nothing above changes).
    tile_modes(g, outdir)

    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(g.manifest, f, sort_keys=True, separators=(",", ":"))


def raw_table(path, xtension, cols, nrows, naxis1, rows_bytes, heap=b"", theap=None, extra=()):
    """A primary HDU + one table extension from raw cards and bytes.

    cols: list of (name, tform, [extra cards as (key, value)]).
    """
    cards = [kv("SIMPLE", True), kv("BITPIX", 8), kv("NAXIS", 0), kv("EXTEND", True)]
    prim = "".join(card80(c) for c in cards) + card80("END")
    prim += " " * ((-len(prim)) % 2880)
    gap = 0 if theap is None else theap - naxis1 * nrows
    pcount = gap + len(heap)
    cards = [kv("XTENSION", xtension), kv("BITPIX", 8), kv("NAXIS", 2), kv("NAXIS1", naxis1),
             kv("NAXIS2", nrows), kv("PCOUNT", pcount), kv("GCOUNT", 1), kv("TFIELDS", len(cols))]
    for k, (name, tform, more) in enumerate(cols, 1):
        cards.append(kv(f"TTYPE{k}", name))
        cards.append(kv(f"TFORM{k}", tform))
        for key, val in more:
            cards.append(kv(f"{key}{k}", val) if not isinstance(val, str) or not val.startswith("RAW:")
                         else card80(f"{key}{k}".ljust(8) + "= " + val[4:]))
    if theap is not None:
        cards.append(kv("THEAP", theap))
    cards += [kv(k, v) for k, v in extra]
    text = "".join(card80(c) for c in cards) + card80("END")
    text += " " * ((-len(text)) % 2880)
    data = bytes(rows_bytes) + b"\0" * gap + bytes(heap)
    pad = b" " if xtension == "TABLE" else b"\0"
    data += pad * ((-len(data)) % 2880)
    with open(path, "wb") as f:
        f.write(prim.encode("ascii") + text.encode("ascii") + data)


def tables(g, outdir, rng):
    gen = os.path.join(outdir, "gen")
    n = 7
    # Every TFORM code through astropy's writer, with repeats, TDIM, scaling and unsigned columns.
    strs = np.array([b"abc", b"", b"with space  ", b"x" * 10, b"  lead", b"tab\t", b"end"])
    cols = [
        fits.Column("L1", "L", array=np.array([True, False, True, True, False, False, True])),
        fits.Column("L3", "3L", array=rng.integers(0, 2, (n, 3)).astype(bool)),
        fits.Column("X1", "1X", array=rng.integers(0, 2, (n, 1)).astype(bool)),
        fits.Column("X13", "13X", array=rng.integers(0, 2, (n, 13)).astype(bool)),
        fits.Column("B", "B", array=rng.integers(0, 255, n, dtype=np.uint8)),
        fits.Column("B4", "4B", array=rng.integers(0, 255, (n, 4), dtype=np.uint8)),
        fits.Column("I", "I", array=rng.integers(-32768, 32767, n, dtype=np.int16)),
        fits.Column("J", "J", array=rng.integers(-2**31, 2**31 - 1, n, dtype=np.int32)),
        fits.Column("K", "K", array=rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64)),
        fits.Column("E", "E", array=rng.standard_normal(n).astype(np.float32)),
        fits.Column("D", "D", array=rng.standard_normal(n)),
        fits.Column("C", "C", array=(rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)),
        fits.Column("M", "2M", array=rng.standard_normal((n, 2)) + 1j),
        fits.Column("A10", "10A", array=strs),
        fits.Column("A1", "A", array=np.array([b"a", b"b", b" ", b"", b"e", b"f", b"g"])),
        fits.Column("TD", "6I", dim="(3,2)", array=rng.integers(-100, 100, (n, 2, 3), dtype=np.int16)),
        fits.Column("TDA", "12A", dim="(4,3)", array=np.array([[b"ab", b"cdef", b""]] * n)),
        fits.Column("TD3", "24E", dim="(2,3,4)", array=rng.standard_normal((n, 4, 3, 2)).astype(np.float32)),
        fits.Column("U16", "I", array=rng.integers(0, 65535, n, dtype=np.uint16), bzero=32768),
        fits.Column("U32", "J", array=rng.integers(0, 2**32 - 1, n, dtype=np.uint32), bzero=2**31),
        fits.Column("U64", "K", array=np.array([0, 1, 2**63, 2**64 - 1, 5, 6, 7], dtype=np.uint64), bzero=2**63),
        fits.Column("NJ", "J", null=-999, array=np.array([1, -999, 3, 4, -999, 6, 7], dtype=np.int32)),
        fits.Column("E3", "3E", array=rng.standard_normal((n, 3)).astype(np.float32)),
    ]
    hdu = fits.BinTableHDU.from_columns(cols, name="ALLTYPES")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(os.path.join(gen, "bt_all.fits"))
    g.record("gen/bt_all.fits")

    # Raw binary table: B with TZERO -128, scaled J with TNULL, 0-width column, L nulls,
    # K unsigned, scaled E, bits 5X, strings with NULs, a scaled 2I vector.
    dt = np.dtype([("SB", "u1"), ("SJ", ">i4"), ("LN", "S1"), ("UK", ">i8"), ("SE", ">f4"),
                   ("X5", "u1"), ("AN", "S6"), ("SV", ">i2", (2,)), ("C", ">f4", (2,))])
    m = 5
    rec = np.zeros(m, dtype=dt)
    rec["SB"] = [0, 127, 128, 255, 1]
    rec["SJ"] = [1, -999, 2**31 - 1, -2**31, 0]
    rec["LN"] = [b"T", b"F", b"\0", b"T", b"x"]
    rec["UK"] = [-2**63, 2**63 - 1, 0, -1, 12345]
    rec["SE"] = [1.5, -2.0, np.nan, 1e30, 0.0]
    rec["X5"] = [0b10100000, 0b11111000, 0b00000111, 0, 0b01010101]
    rec["AN"] = [b"ab\0\0\0\0", b"abcdef", b"a c   ", b"\0" * 6, b"  x \0 "]
    rec["SV"] = [[1, 2], [-3, 4], [5, -6], [7, 8], [0, 0]]
    rec["C"] = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]
    cols = [("SB", "B", [("TZERO", -128)]),
            ("SJ", "J", [("TSCAL", 0.25), ("TZERO", -3.0), ("TNULL", -999)]),
            ("LN", "L", []),
            ("UK", "K", [("TZERO", "RAW:9223372036854775808")]),
            ("SE", "E", [("TSCAL", 2.0), ("TZERO", 1.0)]),
            ("X5", "5X", []),
            ("ZW", "0J", []),
            ("AN", "6A", []),
            ("SV", "2I", [("TSCAL", 3.0), ("TZERO", 0.5)]),
            ("C", "1C", [])]
    raw_table(os.path.join(gen, "bt_raw.fits"), "BINTABLE", cols, m, dt.itemsize, rec.tobytes())
    g.record("gen/bt_raw.fits")

    # Variable-length arrays through astropy's writer.
    vj = [np.arange(k, dtype=np.int32) * (k + 1) for k in (0, 1, 5, 3, 2)]
    vd = [rng.standard_normal(k) for k in (3, 0, 1, 4, 2)]
    va = ["hello", "", "a longer string", "x", "yz  "]
    vl = [np.array([True, False, True]), np.array([], dtype=bool), np.array([False]), np.array([True] * 4), np.array([True, False])]
    ve = [rng.standard_normal(k).astype(np.float32) for k in (2, 2, 0, 3, 1)]
    vb = [rng.integers(0, 255, k, dtype=np.uint8) for k in (4, 0, 2, 1, 3)]
    vi = [rng.integers(-100, 100, k, dtype=np.int16) for k in (1, 2, 3, 0, 5)]
    vk = [rng.integers(-2**40, 2**40, k, dtype=np.int64) for k in (2, 1, 0, 1, 2)]
    cols = [fits.Column("VJ", "PJ()", array=np.array(vj, dtype=object)),
            fits.Column("VD", "QD()", array=np.array(vd, dtype=object)),
            fits.Column("VA", "PA()", array=np.array(va, dtype=object)),
            fits.Column("VL", "PL()", array=np.array(vl, dtype=object)),
            fits.Column("VE", "PE()", array=np.array(ve, dtype=object)),
            fits.Column("VB", "PB()", array=np.array(vb, dtype=object)),
            fits.Column("VI", "QI()", array=np.array(vi, dtype=object)),
            fits.Column("VK", "PK()", array=np.array(vk, dtype=object)),
            fits.Column("FIX", "J", array=np.arange(5, dtype=np.int32))]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(
        os.path.join(gen, "bt_vla.fits"))
    g.record("gen/bt_vla.fits")

    # Raw VLA table: THEAP with a gap, descriptors in any order / shared. (A scaled P column is not
    # tested: astropy 8 scales only the first row of it and keeps the integer type.)
    heap = bytearray()
    def put(arr):
        off = len(heap)
        heap.extend(arr.tobytes())
        return off
    rows = []
    d1 = np.array([7, -8, 9], dtype=">i2")
    o1 = put(d1)
    o2 = put(np.array([1.25, -2.5], dtype=">f8"))
    o3 = put(np.array([5], dtype=">i2"))
    vdt = np.dtype([("P", ">i4", (2,)), ("Q", ">i8", (2,)), ("S", ">i4", (2,))])
    rec = np.zeros(3, dtype=vdt)
    rec["P"] = [[3, o1], [1, o3], [0, 0]]
    rec["Q"] = [[2, o2], [0, 0], [1, o2 + 8]]
    rec["S"] = [[3, o1], [3, o1], [1, o3]]
    theap = vdt.itemsize * 3 + 100
    raw_table(os.path.join(gen, "bt_vla_raw.fits"), "BINTABLE",
              [("P", "1PI(3)", []), ("Q", "1QD(2)", []), ("S", "1PI(3)", [])],
              3, vdt.itemsize, rec.tobytes(), bytes(heap), theap=theap)
    g.record("gen/bt_vla_raw.fits")

    # ASCII tables through astropy's writer.
    acols = [fits.Column("NAME", "A8", array=np.array([b"alpha", b"b", b"", b"delta  ", b"e"])),
             fits.Column("I5", "I5", array=np.array([1, -22, 333, 0, 99999 // 10])),
             fits.Column("I12", "I12", array=np.array([2**36, -5, 0, 7, 8])),
             fits.Column("F", "F10.3", array=np.array([1.5, -2.25, 0, 1e5, 3.14159])),
             fits.Column("E", "E14.6", array=np.array([1.5e-10, -2.5e20, 0, 1, 2])),
             fits.Column("D", "D22.14", array=np.array([np.pi, -1e-300, 1e300, 0, 5]))]
    fits.HDUList([fits.PrimaryHDU(), fits.TableHDU.from_columns(acols)]).writeto(
        os.path.join(gen, "ascii_w.fits"))
    g.record("gen/ascii_w.fits")

    # Raw ASCII table: D exponents, blank fields, TNULL strings, implied decimals (ignored by
    # astropy), leading '+', fields separated by gaps (TBCOL not contiguous).
    rows = [
        # cols: A 1-6, I 8-13, F 15-24, E 26-37, D 39-52, I (TNULL 'NULL') 54-59, F (TNULL '***') 61-68
        ("abc", "  12", "  1.5", "1.5E+03", "2.5D-03", "  7", "1.0"),
        ("", "", "", "", "", "NULL", "***"),
        ("  x y", "+42", "12345", "-1.0E-3", "1.25D+10", "  -3", "  2.5"),
        ("last", " -7 ", " -0.0", "  3E2", "-4D0", "NULL", ""),
    ]
    widths = [(1, 6), (8, 6), (15, 10), (26, 12), (39, 14), (54, 6), (61, 8)]
    line_len = 70
    body = b""
    for r in rows:
        line = bytearray(b" " * line_len)
        for (start, w), text in zip(widths, r):
            t = text.encode()[:w]
            # right-justify numbers, left-justify strings
            t = t.ljust(w) if start == 1 else t.rjust(w)
            line[start - 1:start - 1 + w] = t
        body += bytes(line)
    forms = ["A6", "I6", "F10.2", "E12.4", "D14.6", "I6", "F8.3"]
    names = ["S", "I", "F", "E", "D", "INULL", "FNULL"]
    cols = []
    for k, ((start, w), form, name) in enumerate(zip(widths, forms, names)):
        more = [("TBCOL", start)]
        if name == "INULL":
            more.append(("TNULL", "NULL"))
        if name == "FNULL":
            more.append(("TNULL", "***"))
        cols.append((name, form, more))
    # TBCOL must come before TFORM for astropy? no: any order. Insert TBCOL via extra cards.
    raw_table(os.path.join(gen, "ascii_raw.fits"), "TABLE", cols, len(rows), line_len, body)
    g.record("gen/ascii_raw.fits")


def compressed(g, outdir, rng):
    """Tile-compressed images written by astropy (cfitsio's algorithms): every compression type,
    several tile shapes and dtypes, quantization methods, blanks. Grouped as HDUs of a few files
    to keep the test data small."""
    yy, xx = np.mgrid[0:24, 0:30]
    smooth = (1000 + 300 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.float64)
    noisy = smooth + rng.normal(0, 5, smooth.shape)
    ints = {
        "u8": np.clip(noisy / 8, 0, 255).astype(np.uint8),
        "i8": (noisy / 8 - 128).clip(-128, 127).astype(np.int8),
        "i16": (noisy - 1000).astype(np.int16) * 7,
        "u16": (noisy * 20).astype(np.uint16),
        "i32": (noisy * 1000).astype(np.int32) - 500000,
        "u32": (noisy * 1000).astype(np.uint32) + 3000000000,
    }
    ints["i16"][0, :5] = [-32768, 32767, 0, -1, 1]
    ints["i32"][0, :4] = [-2**31, 2**31 - 1, 0, -1]
    floats = {"f32": noisy.astype(np.float32), "f64": noisy * 1.000001}
    files = {}

    def add(fname, data, **kw):
        files.setdefault(fname, [fits.PrimaryHDU()])
        hdu = fits.CompImageHDU(data, name=f"H{len(files[fname])}", **kw)
        hdu.header["OBJECT"] = "nd-fits test"
        files[fname].append(hdu)

    # Integers: every algorithm, several tile shapes.
    for algo, dts in [("RICE_1", ["u8", "i8", "i16", "u16", "i32"]),
                      ("GZIP_1", ["u8", "i16", "u16", "i32", "u32"]),
                      ("GZIP_2", ["u8", "i16", "i32", "u32"]),
                      ("NOCOMPRESS", ["i16", "i32"]),
                      ("PLIO_1", ["u8", "i16", "i32"]),
                      ("HCOMPRESS_1", ["i16", "i32"])]:
        for dt in dts:
            a = ints[dt]
            if algo == "PLIO_1":
                a = (a.astype(np.int64) % 1000).astype(a.dtype)  # PLIO: values < 2^24
                if dt == "i32":
                    a = np.abs(a)
            tiles = {"i16": [None, (7, 30), (8, 16)], "i32": [None, (8, 16)]}.get(dt, [None])
            if algo == "NOCOMPRESS":
                tiles = [None]
            if algo == "HCOMPRESS_1":
                tiles = [(10, 30), (24, 30)]
            for tile in tiles:
                add(f"c_{algo.lower()}", a, compression_type=algo, tile_shape=tile)
    # HCOMPRESS lossy with and without smoothing.
    for sm in (False, True):
        add("c_hcompress_1", ints["i16"], compression_type="HCOMPRESS_1",
            tile_shape=(24, 30), hcomp_scale=4, hcomp_smooth=sm)
    # 3-D and 1-D images.
    cube = (rng.normal(0, 100, (4, 9, 11))).astype(np.int32)
    add("c_misc", cube, compression_type="RICE_1", tile_shape=(2, 5, 11))
    add("c_misc", cube, compression_type="GZIP_1", tile_shape=(1, 9, 4))
    add("c_misc", ints["i16"].ravel()[:500].copy(), compression_type="RICE_1", tile_shape=(64,))
    # Floats: quantization methods, lossless gzip, blanks (NaN), zeros for DITHER_2.
    for dt, a in floats.items():
        a = a.copy()
        a[3, 4:9] = np.nan
        for q, m in (("NO_DITHER", -1), ("SUBTRACTIVE_DITHER_1", 1), ("SUBTRACTIVE_DITHER_2", 2)):
            b = a.copy()
            if m == 2:
                b[5, :6] = 0.0
            add("c_float", b, compression_type="RICE_1", quantize_method=m, quantize_level=16,
                dither_seed=1234 if m != -1 else 0, tile_shape=(5, 30))
        add("c_float", a, compression_type="GZIP_2", quantize_level=0)
        add("c_float", a, compression_type="GZIP_1", quantize_level=-0.5, dither_seed=7)
        add("c_float", a, compression_type="HCOMPRESS_1", tile_shape=(24, 30), quantize_level=8,
            dither_seed=99)
    # Scaled integer image (BSCALE/BZERO in the image header), and an image HDU in between.
    hdu = fits.CompImageHDU(ints["i16"], compression_type="RICE_1", name="SCALED")
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 3.0
    files["c_misc"].append(hdu)
    files["c_misc"].append(fits.ImageHDU(ints["u8"], name="PLAIN"))
    for fname, hdus in files.items():
        rel = f"gen/{fname}.fits"
        fits.HDUList(hdus).writeto(os.path.join(outdir, rel))
        g.record(rel)


def tile_modes(g, outdir):
    """Tile-compressed images whose tiles each need their own parameters: quantized floats with
    tiles astropy stores in GZIP_COMPRESSED_DATA (a constant tile, an all-NaN tile; two equal
    constant tiles, whose compressed bytes are equal), null pixels, tiles that do not divide the
    image, every dither method; and a scaled integer image with BLANK (a ZBLANK-style null)."""
    rng = np.random.default_rng(20261205)
    a = rng.normal(100, 5, (23, 30)).astype(np.float32)
    a[0:5, :] = 7.0                      # constant: GZIP_COMPRESSED_DATA
    a[5:10, :] = np.nan                  # all NaN: GZIP_COMPRESSED_DATA
    a[10:15, :] = 7.0                    # the same bytes as the first tile
    a[16, 3:9] = np.nan                  # null pixels in a quantized tile
    a[21, :4] = 0.0                      # zeros (SUBTRACTIVE_DITHER_2), in the edge tile
    hdus = [fits.PrimaryHDU()]

    def add(data, **kw):
        hdus.append(fits.CompImageHDU(data, name=f"H{len(hdus)}", **kw))

    for m, seed in ((-1, 0), (1, 5), (2, 9999)):
        add(a, compression_type="RICE_1", tile_shape=(5, 30), quantize_method=m, dither_seed=seed)
    add(a.astype(np.float64), compression_type="GZIP_2", tile_shape=(7, 8), quantize_method=2,
        quantize_level=8, dither_seed=3)
    add(a, compression_type="GZIP_1", tile_shape=(7, 8), quantize_method=1, dither_seed=11)
    add(a, compression_type="HCOMPRESS_1", tile_shape=(8, 10), quantize_method=1, dither_seed=13)
    # two rows: astropy's .section of a compressed image with BLANK raises, and the manifest
    # records a section only for images at least 3 long on every axis
    i16 = (rng.normal(0, 900, (2, 345))).astype(np.int16)
    i16[1, 200:205] = -32768
    h = fits.CompImageHDU(i16, compression_type="RICE_1", tile_shape=(1, 100), name="SCALED")
    h.header["BSCALE"] = 0.25
    h.header["BZERO"] = 10.0
    h.header["BLANK"] = -32768
    hdus.append(h)
    rel = "gen/c_tilemodes.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList(hdus).writeto(os.path.join(outdir, rel))
    g.record(rel)


def hcompress(g, outdir):
    """HCOMPRESS_1 through astropy: lossless and lossy integers, smoothing, quantized floats with
    both dither methods, tiles that do not divide the image, non-square and minimal (4-pixel)
    tiles, 2-D tiles of a cube, and full-range int32 (H-transform sums beyond 32 bits).

    astropy refuses tiles narrower than 4 pixels (so no 1xN or Nx1 tile can be written: "Hcompress
    minimum tile dimension is 4 pixels") and its reader wants exactly two tile axes longer than 1."""
    rng = np.random.default_rng(20261122)
    yy, xx = np.mgrid[0:37, 0:45]
    sky = 2000 + 900 * np.sin(xx / 6.0) * np.cos(yy / 4.0) + 3000 * np.exp(
        -((xx - 20) ** 2 + (yy - 15) ** 2) / 20.0)
    noisy = sky + rng.normal(0, 8, sky.shape)
    i16 = (noisy - 2500).astype(np.int16)
    i32 = (noisy * 300).astype(np.int32) - 400000
    full = rng.integers(-2**31, 2**31 - 1, size=(16, 16), dtype=np.int32, endpoint=True)
    full.flat[:4] = [-2**31, 2**31 - 1, -2**31, 2**31 - 1]
    f32 = noisy.astype(np.float32)
    f32[10, 3:7] = np.nan
    f32z = f32.copy()
    f32z[20, :9] = 0.0
    hdus = [fits.PrimaryHDU()]

    def add(data, **kw):
        hdu = fits.CompImageHDU(data, compression_type="HCOMPRESS_1", name=f"H{len(hdus)}", **kw)
        hdus.append(hdu)

    add(i16, tile_shape=(16, 20))                       # lossless, edge tiles 5 wide/high
    add(i32, tile_shape=(8, 45))                        # lossless, full-width strips
    add(i32, tile_shape=(16, 20), hcomp_scale=2.5)      # lossy (astropy uses int(2.5) = 2)
    add(i32, tile_shape=(37, 45), hcomp_scale=8, hcomp_smooth=True)   # one odd-sized tile
    add(i16, tile_shape=(16, 20), hcomp_scale=6, hcomp_smooth=True)   # smoothing, edge tiles
    add(f32, tile_shape=(16, 20), quantize_method=1, dither_seed=17)  # default quantize_level
    add(f32z, tile_shape=(16, 20), quantize_method=2, dither_seed=23)
    add(f32.astype(np.float64), tile_shape=(37, 45), quantize_method=-1, quantize_level=4)
    add(i16[:36, :44].copy(), tile_shape=(4, 11))       # 4-row tiles (the minimum)
    add(i16[:12, :16].copy(), tile_shape=(4, 4))        # 4 x 4 tiles
    add(i16[:8, :40].copy(), tile_shape=(8, 4))         # tall, narrow tiles
    add(np.clip(noisy / 20, 0, 255).astype(np.uint8), tile_shape=(16, 20))
    add((noisy * 10).astype(np.uint16), tile_shape=(16, 20))
    add(full, tile_shape=(8, 8))                        # sums of four pixels exceed 2^32
    add(full, tile_shape=(16, 16), hcomp_scale=3, hcomp_smooth=True)
    cube = np.stack([i16[:16, :18] + 7 * k for k in range(3)]).astype(np.int16)
    add(cube, tile_shape=(1, 8, 9))                     # 2-D tiles of a cube
    rel = "gen/c_hcompress_2.fits"
    fits.HDUList(hdus).writeto(os.path.join(outdir, rel))
    g.record(rel)
