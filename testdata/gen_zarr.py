"""Zarr v2 test stores written by zarr-python 2.18 + numcodecs, with the arrays zarr-python reads back.

Layout written into testdata/zarr/:
  stores/<case>.zarr/     one store per case (the array at the root unless `path` says otherwise)
  expected/<case>.npy     what `zarr.open(store)[path][...]` returns (read back by zarr-python itself)
  cases.json              [{name, store, path, npy, has_fill}] -- the list the Rust tests walk
  cases_object.json       [{name, store, npy, dtype}] -- object (|O) arrays, expected as numpy strings
  hier.zarr/              a hierarchy of nested groups with attributes and consolidated metadata
  hier.json               the hierarchy as zarr-python sees it (paths, kinds, attributes, shapes)
  anndata.zarr/           a hierarchy shaped like an anndata store, with object (string) arrays
                          and two arrays nd cannot read; anndata.json + expected/anndata/*.npy
Needs numcodecs' optional crc32c and pcodec packages (testdata/requirements.txt).
"""
import base64
import json
import lzma
import os
import shutil

import numcodecs
import numpy as np
import zarr
from numcodecs import (
    BZ2,
    LZ4,
    LZMA,
    Adler32,
    AsType,
    Base64,
    BitRound,
    Blosc,
    Categorize,
    CRC32,
    CRC32C,
    Delta,
    FixedScaleOffset,
    Fletcher32,
    GZip,
    PackBits,
    Quantize,
    Shuffle,
    Zlib,
    Zstd,
)

assert zarr.__version__.startswith("2.18"), zarr.__version__


def ramp(shape, dtype, seed=0):
    """Deterministic, compressible but not trivial values."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    base = np.arange(n) % 97 + rng.integers(0, 3, n)
    return base.reshape(shape).astype(dtype)


def strict(v):
    """Attributes as strict JSON: non-finite floats become the strings zarr uses for fill values."""
    if isinstance(v, float) and not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, dict):
        return {k: strict(x) for k, x in v.items()}
    if isinstance(v, list):
        return [strict(x) for x in v]
    return v


def generate(outdir):
    for sub in ["stores", "expected", "hier.zarr"]:
        p = os.path.join(outdir, sub)
        if os.path.exists(p):
            shutil.rmtree(p)
    os.makedirs(os.path.join(outdir, "stores"))
    os.makedirs(os.path.join(outdir, "expected"))
    cases = []

    def finish(name, path="", has_fill=True, note="", nested=False):
        store = os.path.join(outdir, "stores", name + ".zarr")
        if nested:
            # the legacy layout: only a NestedDirectoryStore finds the chunks
            store = zarr.NestedDirectoryStore(store)
        z = zarr.open(store, mode="r")
        if path:
            z = z[path]
        got = z[...]
        np.save(os.path.join(outdir, "expected", name + ".npy"), got)
        cases.append(
            dict(name=name, store=f"stores/{name}.zarr", path=path, npy=f"expected/{name}.npy",
                 has_fill=has_fill, note=note)
        )

    def case(name, data, chunks, write=None, has_fill=True, note="", **kw):
        """Create an array with zarr.open_array(**kw), store `data` (or only the `write` regions)."""
        store = os.path.join(outdir, "stores", name + ".zarr")
        z = zarr.open_array(store, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype, **kw)
        if write is None:
            z[...] = data
        else:
            for sel in write:
                z[sel] = data[sel]
        finish(name, has_fill=has_fill, note=note)
        return store

    def edit_zarray(store, fn):
        p = os.path.join(store, ".zarray")
        with open(p) as f:
            meta = json.load(f)
        fn(meta)
        with open(p, "w") as f:
            json.dump(meta, f, indent=4, sort_keys=True)

    u2 = ramp((20, 30), "<u2")
    f4 = ramp((20, 30), "<f4") * 0.25
    i4_ = (ramp((20, 30), "<i4") - 40) * 1000

    # --- compressors -------------------------------------------------------------
    case("raw", u2, (7, 8), compressor=None)
    case("zlib", u2, (7, 8), compressor=Zlib(level=1))
    case("gzip", u2, (7, 8), compressor=GZip(level=5))
    case("bz2", u2, (7, 8), compressor=BZ2(level=9))
    case("zstd", u2, (7, 8), compressor=Zstd(level=3))
    case("zstd_neg", f4, (7, 8), compressor=Zstd(level=-1))
    case("lz4", u2, (7, 8), compressor=LZ4(acceleration=1))
    case("lzma", u2, (7, 8), compressor=LZMA(preset=1), note="lzma: not required")
    # numcodecs accepts what zlib / the zstd library accept: gzip -1 is zlib's default level,
    # zstd levels beyond -131072..22 are clamped by the library (decoding never looks at them)
    case("gzip_level_default", u2, (7, 8), compressor=GZip(level=-1))
    case("zstd_level_100", u2, (7, 8), compressor=Zstd(level=100))
    case("zstd_level_min", f4, (7, 8), compressor=Zstd(level=-131072))
    case("zstd_level_below_min", f4, (7, 8), compressor=Zstd(level=-200000))
    # lzma with a custom filter chain: FORMAT_RAW (the only format numcodecs can decode with
    # filters) with delta + lzma2, and with a BCJ filter + lzma1 with explicit options
    case("lzma_raw_delta", u2, (7, 8),
         compressor=LZMA(format=lzma.FORMAT_RAW,
                         filters=[dict(id=lzma.FILTER_DELTA, dist=2),
                                  dict(id=lzma.FILTER_LZMA2, preset=1)]))
    case("lzma_raw_lzma1_opts", i4_, (7, 8),
         compressor=LZMA(format=lzma.FORMAT_RAW,
                         filters=[dict(id=lzma.FILTER_X86),
                                  dict(id=lzma.FILTER_LZMA1, preset=3, dict_size=1 << 16, lc=2,
                                       lp=1, pb=1, mode=lzma.MODE_FAST, nice_len=32,
                                       mf=lzma.MF_HC4, depth=8)]))
    case("lzma_raw_lzma2_opts", f4, (7, 8),
         compressor=LZMA(format=lzma.FORMAT_RAW,
                         filters=[dict(id=lzma.FILTER_DELTA, dist=4),
                                  dict(id=lzma.FILTER_LZMA2, dict_size=1 << 20, mode=lzma.MODE_NORMAL,
                                       mf=lzma.MF_BT4)]))
    # more numcodecs codecs: crc32c (needs the crc32c package), base64
    case("crc32c", u2, (7, 8), compressor=CRC32C())
    case("filter_crc32c_zstd", u2, (7, 8), filters=[CRC32C()], compressor=Zstd(1))
    case("base64", u2, (7, 8), compressor=Base64())
    case("filter_base64_zlib", f4, (7, 8), filters=[Base64()], compressor=Zlib(1))
    # pcodec (numcodecs' PCodec, needs the pcodec package): pco's standalone format
    from numcodecs import PCodec
    case("pcodec_i4", i4_, (7, 8), compressor=PCodec())
    case("pcodec_f8_classic", ramp((20, 30), "<f8") * 0.173 + 10.0, (7, 8),
         compressor=PCodec(level=3, mode_spec="classic", delta_spec="none"))
    case("pcodec_u2_pages", u2, (10, 30), compressor=PCodec(level=12, equal_pages_up_to=64))
    case("pcodec_f4_lookback", f4, (7, 8), compressor=PCodec(delta_spec="try_lookback"))
    case("pcodec_i8_order", ramp((20, 30), "<i8") * 1000, (7, 8),
         compressor=PCodec(delta_spec="try_consecutive", delta_encoding_order=2))
    case("pcodec_f2", ramp((20, 30), "<f2"), (7, 8), compressor=PCodec(level=0))
    for cname in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
        for shuffle, sname in [(0, "noshuffle"), (1, "shuffle"), (2, "bitshuffle"), (-1, "auto")]:
            case(f"blosc_{cname}_{sname}", f4, (7, 8),
                 compressor=Blosc(cname=cname, clevel=5, shuffle=shuffle))
    # blosc with an explicit small block size (several blocks per chunk) and typesize-1 data
    case("blosc_blocksize", ramp((64, 64), "<u8"), (32, 64),
         compressor=Blosc(cname="zstd", clevel=1, shuffle=Blosc.SHUFFLE, blocksize=4096))
    case("blosc_u1", ramp((40, 50), "|u1"), (16, 16),
         compressor=Blosc(cname="lz4", clevel=9, shuffle=Blosc.BITSHUFFLE))
    # checksum codecs used as compressor
    case("crc32", u2, (7, 8), compressor=CRC32())
    case("adler32", u2, (7, 8), compressor=Adler32())
    case("fletcher32", u2, (7, 8), compressor=Fletcher32())

    # --- filters -----------------------------------------------------------------
    i4 = (ramp((20, 30), "<i4") - 40) * 1000
    case("delta", i4, (7, 8), filters=[Delta(dtype="<i4")], compressor=Zlib(1))
    case("delta_astype", ramp((20, 30), "<i8"), (7, 8),
         filters=[Delta(dtype="<i8", astype="<i2")], compressor=None)
    f8 = ramp((20, 30), "<f8") * 0.173 + 10.0
    case("fixedscaleoffset", f8, (7, 8),
         filters=[FixedScaleOffset(offset=10, scale=100, dtype="<f8", astype="<u2")],
         compressor=Zstd(1))
    case("quantize", f8, (7, 8), filters=[Quantize(digits=2, dtype="<f8")], compressor=Blosc())
    case("quantize_f4", f8.astype("<f4"), (7, 8),
         filters=[Quantize(digits=3, dtype="<f4", astype="<f4")], compressor=None)
    case("astype", f8, (7, 8), filters=[AsType(encode_dtype="<f4", decode_dtype="<f8")],
         compressor=LZ4())
    case("shuffle", u2, (7, 8), filters=[Shuffle(elementsize=2)], compressor=Zlib(1))
    case("bitround", f4, (7, 8), filters=[BitRound(keepbits=6)], compressor=Zstd(1))
    b = ramp((20, 30), "<u1") % 3 == 0
    case("packbits", b, (7, 8), filters=[PackBits()], compressor=None)
    labels = np.array(["red", "green", "blue", "purple"], dtype="<U6")
    u = labels[ramp((12, 10), "<u1") % 4]
    case("categorize", u, (5, 4),
         filters=[Categorize(labels=list(labels), dtype="<U6", astype="|u1")], compressor=Zlib(1))
    case("two_filters", i4, (7, 8), filters=[Delta(dtype="<i4"), Shuffle(elementsize=4)],
         compressor=Blosc(cname="zstd", shuffle=0))
    case("filter_crc", u2, (7, 8), filters=[CRC32()], compressor=Zlib(1))

    # --- dtypes ------------------------------------------------------------------
    dtypes = ["|b1", "|i1", "|u1", "<i2", ">i2", "<i4", ">i4", "<i8", ">u8", "<u4", "<f2", ">f2",
              "<f4", ">f4", "<f8", ">f8", "<c8", ">c16"]
    for dt in dtypes:
        d = np.dtype(dt)
        if d.kind == "b":
            data = ramp((9, 11), "<u1") % 2 == 1
        elif d.kind == "c":
            data = (ramp((9, 11), "<f8") + 1j * ramp((9, 11), "<f8", seed=1)).astype(d)
        elif d.kind == "i":
            data = (ramp((9, 11), "<i8") - 50).astype(d)
        else:
            data = ramp((9, 11), d)
        nm = "dtype_" + dt.replace("<", "le_").replace(">", "be_").replace("|", "na_")
        case(nm, data, (4, 5), compressor=Zlib(1), write=[np.s_[0:8, 0:10]])
    s = np.array([b"abc", b"", b"hello", b"xy\x00z", b"q"] * 6, dtype="|S5").reshape(5, 6)
    case("dtype_S5", s, (2, 4), compressor=Blosc(), fill_value=b"zz", write=[np.s_[0:4, 0:4]])
    us = np.array(["abc", "", "héllo", "日本", "q"] * 6, dtype="<U5").reshape(5, 6)
    case("dtype_le_U5", us, (2, 4), compressor=Zlib(1), fill_value="fil", write=[np.s_[0:4, 0:4]])
    case("dtype_be_U3", us.astype(">U3"), (2, 4), compressor=None, fill_value="", write=[np.s_[0:4, :]])
    v = np.frombuffer(bytes(range(120)), dtype="|V4").reshape(5, 6)
    case("dtype_V4", v, (2, 4), compressor=Zlib(1),
         fill_value=np.frombuffer(b"\x01\x02\x03\x04", dtype="|V4")[0], write=[np.s_[0:4, :]])
    t = (np.arange(30, dtype="<i8") * 86_400_000_000_123).view("<M8[ns]").reshape(5, 6)
    case("dtype_M8ns", t, (2, 4), compressor=Zlib(1), fill_value=np.datetime64("NaT"),
         write=[np.s_[0:4, :]])
    case("dtype_M8D", (np.arange(30, dtype="<i8") * 17).view("<M8[D]").reshape(5, 6), (2, 4),
         compressor=None, fill_value=np.datetime64("2000-01-01"), write=[np.s_[0:4, :]])
    case("dtype_m8s", (np.arange(30, dtype=">i8") - 9).view(">m8[s]").reshape(5, 6), (2, 4),
         compressor=Zstd(1), fill_value=np.timedelta64(7, "s"), write=[np.s_[0:4, :]])
    case("dtype_M8_10ms", (np.arange(30, dtype="<i8") * 3).view("<M8[10ms]").reshape(5, 6), (2, 4),
         compressor=None)
    rec = np.dtype([("a", "<i4"), ("b", ">f8", (2,)), ("c", "|S3")])
    r = np.zeros((5, 6), dtype=rec)
    r["a"] = np.arange(30).reshape(5, 6) - 7
    r["b"] = np.arange(60).reshape(5, 6, 2) * 0.5
    r["c"] = np.array([b"ab", b"xyz", b""] * 10).reshape(5, 6)
    fv = np.zeros((), dtype=rec)
    fv["a"] = -1
    fv["b"] = [1.5, -2.5]
    fv["c"] = b"f"
    case("dtype_struct", r, (2, 4), compressor=Blosc(cname="zstd", shuffle=Blosc.SHUFFLE),
         fill_value=fv[()], write=[np.s_[0:4, :]])
    nested = np.dtype([("p", [("x", "<f4"), ("y", ">f4")]), ("id", "<u2"), ("m", "<i2", (2, 2))])
    n = np.zeros((7,), dtype=nested)
    n["p"]["x"] = np.arange(7) * 1.5
    n["p"]["y"] = -np.arange(7)
    n["id"] = np.arange(7) + 100
    n["m"] = np.arange(28).reshape(7, 2, 2)
    case("dtype_nested", n, (3,), compressor=Zlib(1), write=[np.s_[0:5]])

    # --- fill values and missing chunks ------------------------------------------
    part = [np.s_[0:7, 0:8], np.s_[14:20, 24:30]]
    case("fill_nan", f4, (7, 8), fill_value=np.nan, write=part)
    case("fill_inf", f4, (7, 8), fill_value=np.inf, write=part)
    case("fill_neginf", f8, (7, 8), fill_value=-np.inf, write=part)
    case("fill_float", f8, (7, 8), fill_value=-1.25, write=part)
    case("fill_int", i4, (7, 8), fill_value=-42, write=part)
    case("fill_u8_big", ramp((20, 30), "<u8"), (7, 8), fill_value=2**64 - 1, write=part)
    case("fill_bool", b, (7, 8), fill_value=True, write=part)
    case("fill_complex", (f8 + 1j * f8).astype("<c16"), (7, 8), fill_value=complex(1.5, np.nan),
         write=part)
    case("fill_none_full", u2, (7, 8), fill_value=None, has_fill=False)
    case("fill_zero_all_missing", u2, (7, 8), fill_value=0, write=[])
    # chunks equal to the fill value are written by zarr-python 2.18 (write_empty_chunks=True);
    # with write_empty_chunks=False they are not.
    z0 = np.zeros((20, 30), "<u2")
    z0[0:3, 0:3] = 5
    case("empty_chunks_skipped", z0, (7, 8), fill_value=0, write_empty_chunks=False)

    # --- orders, separators, shapes ----------------------------------------------
    c3 = ramp((9, 10, 11), "<i2")
    case("order_F", c3, (4, 3, 5), order="F", compressor=Zstd(1))
    case("order_F_filters", c3.astype(">i4"), (4, 3, 5), order="F",
         filters=[Delta(dtype=">i4")], compressor=Blosc(shuffle=Blosc.BITSHUFFLE))
    case("order_F_missing", c3, (4, 3, 5), order="F", fill_value=3, write=[np.s_[0:4, :, 0:5]])
    case("sep_slash", c3, (4, 3, 5), dimension_separator="/", compressor=Zlib(1))
    case("sep_dot_explicit", c3, (4, 3, 5), dimension_separator=".", compressor=Zlib(1))
    st = case("legacy_nested", c3, (4, 3, 5), dimension_separator="/", compressor=Zlib(1),
              note="dimension_separator key removed by hand: keys are nested, no key says so")
    edit_zarray(st, lambda m: m.pop("dimension_separator", None))
    finish("legacy_nested", nested=True,
           note="dimension_separator key removed by hand; expected read through NestedDirectoryStore")
    cases.pop(-2)
    st = case("filters_empty_list", u2, (7, 8), compressor=Zlib(1),
              note="'filters': [] instead of null (seen in the wild)")
    edit_zarray(st, lambda m: m.__setitem__("filters", []))
    finish("filters_empty_list", note="'filters': [] instead of null (seen in the wild)")
    cases.pop(-2)
    st = case("be_u1", ramp((5, 6), "|u1"), (2, 4), compressor=None, note="dtype '>u1' by hand")
    edit_zarray(st, lambda m: m.__setitem__("dtype", ">u1"))
    finish("be_u1", note="dtype '>u1' by hand")
    cases.pop(-2)
    st = case("unknown_keys", u2, (7, 8), compressor=Zlib(1), note="extra keys in .zarray")
    edit_zarray(st, lambda m: m.update({"extra": {"x": 1}, "_note": "ignored"}))
    finish("unknown_keys", note="extra keys in .zarray")
    cases.pop(-2)
    case("zero_d", np.array(3.5, dtype="<f8"), (), compressor=None)
    case("one_d", ramp((100,), "<i8"), (13,), compressor=Zstd(1))
    case("chunk_bigger", ramp((5, 3), "<u2"), (8, 8), compressor=Zlib(1))
    case("empty_axis", np.zeros((0, 5), "<f4"), (3, 5), compressor=Zlib(1))
    case("four_d", ramp((3, 4, 5, 6), "<u1"), (2, 3, 2, 4), compressor=Zlib(1))
    case("blosc_shuffle_filter_order_F", f8, (7, 8), order="F",
         filters=[Quantize(digits=3, dtype="<f8")], compressor=Blosc(cname="lz4", shuffle=-1))

    # zip stores as zarr-python's ZipStore writes them (stored entries; and one deflated)
    import zipfile
    for nm, comp in [("zipstore", zipfile.ZIP_STORED), ("zipstore_deflate", zipfile.ZIP_DEFLATED)]:
        zp = os.path.join(outdir, "stores", nm + ".zarr.zip")
        if os.path.exists(zp):
            os.remove(zp)
        zs = zarr.ZipStore(zp, mode="w", compression=comp)
        g = zarr.group(store=zs)
        g.attrs["kind"] = nm
        arr = g.create_dataset("sub/a", data=ramp((9, 10), "<i4"), chunks=(4, 4), compressor=Zlib(1),
                               fill_value=-5)
        arr[8:, :] = -5
        zarr.consolidate_metadata(zs)
        zs.close()
        zs = zarr.ZipStore(zp, mode="r")
        np.save(os.path.join(outdir, "expected", nm + ".npy"), zarr.open_consolidated(zs, mode="r")["sub/a"][...])
        zs.close()

    with open(os.path.join(outdir, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)

    # --- object (|O) arrays: expected as numpy strings (astype(str), or astype(bytes) for
    # vlen-bytes), the form nd reads them in; listed apart (cases_object.json)
    ocases = []

    def ocase(name, data, chunks, write=None, as_bytes=False, **kw):
        store = os.path.join(outdir, "stores", name + ".zarr")
        z = zarr.open_array(store, mode="w", shape=data.shape, chunks=chunks, dtype=object, **kw)
        if write is None:
            z[...] = data
        else:
            for sel in write:
                z[sel] = data[sel]
        got = zarr.open(store, mode="r")[...]
        got = got.astype(bytes) if as_bytes else got.astype(str)
        np.save(os.path.join(outdir, "expected", name + ".npy"), got)
        ocases.append(dict(name=name, store=f"stores/{name}.zarr", npy=f"expected/{name}.npy",
                           dtype=got.dtype.str))

    words = np.array(["", "a", "héllo", "日本語", "xyz", "longest-word-here", "q"] * 6,
                     dtype=object)
    ocase("object_vlen_utf8", words[:30].reshape(5, 6), (2, 4), object_codec=numcodecs.VLenUTF8(),
          compressor=Zstd(1))
    ocase("object_vlen_utf8_order_F", words[:30].reshape(5, 6), (2, 4), order="F",
          object_codec=numcodecs.VLenUTF8(), compressor=Blosc(cname="lz4"))
    # missing chunks read as the fill value (zarr-python's default 0 for str arrays: "0")
    ocase("object_missing_fill0", words[:30].reshape(5, 6), (2, 4),
          write=[np.s_[0:2, 0:4], np.s_[4:5, :]], object_codec=numcodecs.VLenUTF8())
    ocase("object_missing_fill_str", words[:30].reshape(5, 6), (2, 4), fill_value="fill-value-wide",
          write=[np.s_[0:2, 0:4]], object_codec=numcodecs.VLenUTF8(), compressor=Zlib(1))
    # the longest string only in an edge chunk's padding would not count: write short ones last
    ocase("object_edge", np.array(["ab", "c", "de", "f", "g"], dtype=object), (3,),
          object_codec=numcodecs.VLenUTF8(), compressor=None)
    ocase("object_vlen_bytes", np.array([b"", b"\x00\x01", b"abc", b"zzzzzz", b"q"] * 4,
                                        dtype=object).reshape(4, 5),
          (3, 2), as_bytes=True, object_codec=numcodecs.VLenBytes(), compressor=Zlib(1))
    ocase("object_json2", np.array(["α", "b", "", "dd", "e\"q", "f\\", "g\n", "h", "i"],
                                   dtype=object).reshape(3, 3),
          (2, 2), object_codec=numcodecs.JSON(), compressor=Zstd(1))
    ocase("object_vlen_utf8_filter_after", words[:12], (5,),
          filters=[numcodecs.VLenUTF8(), CRC32()], compressor=Zlib(1))
    with open(os.path.join(outdir, "cases_object.json"), "w") as f:
        json.dump(ocases, f, indent=1)

    # --- hierarchy with attributes and consolidated metadata ----------------------
    hp = os.path.join(outdir, "hier.zarr")
    root = zarr.open_group(hp, mode="w")
    root.attrs.update({"title": "nd test hierarchy", "nan": float("nan"), "inf": float("inf"),
                       "ninf": float("-inf"), "list": [1, 2.5, "x", None, True],
                       "nested": {"a": {"b": [1, {"c": "é"}]}}})
    g1 = root.create_group("g1")
    g1.attrs["level"] = 1
    g2 = g1.create_group("g2")
    g2.attrs["level"] = 2
    a = root.create_dataset("top", data=ramp((10, 12), "<i2"), chunks=(4, 5), compressor=Zlib(1))
    a.attrs["units"] = "m"
    a.attrs["scale"] = float("nan")
    g1.create_dataset("arr", data=ramp((6, 7), "<f8") * 0.5, chunks=(4, 4), fill_value=np.nan,
                      compressor=Blosc(cname="zstd", shuffle=-1))
    d = g2.create_dataset("deep", shape=(8,), chunks=(3,), dtype="|S3", fill_value=b"abc",
                          compressor=None)
    d[0:3] = np.array([b"x", b"yy", b"zzz"])
    root.create_group("empty_group")
    zarr.consolidate_metadata(hp)
    desc = {}
    rz = zarr.open_consolidated(hp, mode="r")

    def visit(name, obj):
        entry = {"kind": "array" if isinstance(obj, zarr.Array) else "group",
                 "attrs": strict(dict(obj.attrs))}
        if isinstance(obj, zarr.Array):
            entry["shape"] = list(obj.shape)
            entry["dtype"] = obj.dtype.str
            np.save(os.path.join(outdir, "expected", "hier_" + name.replace("/", "_") + ".npy"), obj[...])
        desc[name] = entry

    visit("", rz)
    rz.visititems(visit)
    with open(os.path.join(outdir, "hier.json"), "w") as f:
        json.dump(desc, f, indent=1, sort_keys=True)

    generate_anndata(outdir)


def generate_anndata(outdir):
    """A hierarchy laid out as anndata writes an AnnData object to Zarr v2 (consolidated): numeric
    X, obs/var dataframes with object (vlen-utf8 / vlen-bytes / json2) and numeric columns, a
    categorical column, obsm, uns; plus two arrays nd cannot read (a pickle object column and an
    unknown compressor id, edited in by hand). anndata.json records, per node, what zarr-python
    reads: kind, dtype, shape, and for arrays an .npy of the values (object arrays as numpy
    strings: `astype(str)` for text, `astype(bytes)` for vlen-bytes) or `unreadable_by_zarr`."""
    hp = os.path.join(outdir, "anndata.zarr")
    if os.path.exists(hp):
        shutil.rmtree(hp)
    exp = os.path.join(outdir, "expected", "anndata")
    if os.path.exists(exp):
        shutil.rmtree(exp)
    os.makedirs(exp)
    root = zarr.open_group(hp, mode="w")
    root.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
    n_obs, n_var = 13, 7
    x = ramp((n_obs, n_var), "<f4") * 0.5
    root.create_dataset("X", data=x, chunks=(5, 7), compressor=Blosc(cname="lz4", shuffle=1))

    def dataframe(name, index, columns):
        g = root.create_group(name)
        g.attrs.update({"_index": "_index", "column-order": [c for c, _ in columns],
                        "encoding-type": "dataframe", "encoding-version": "0.2.0"})
        a = g.create_dataset("_index", data=np.array(index, dtype=object), chunks=(5,),
                             dtype=object, object_codec=numcodecs.VLenUTF8(),
                             compressor=Zstd(1))
        a.attrs.update({"encoding-type": "string-array", "encoding-version": "0.2.0"})
        for col, fn in columns:
            fn(g, col)
        return g

    def cat_col(g, col):
        c = g.create_group(col)
        c.attrs.update({"encoding-type": "categorical", "encoding-version": "0.2.0",
                        "ordered": False})
        c.create_dataset("categories", data=np.array(["B cell", "T cell", "NK ☃"], dtype=object),
                         dtype=object, object_codec=numcodecs.VLenUTF8(), compressor=None)
        c.create_dataset("codes", data=(ramp((n_obs,), "<i1") % 4 - 1).astype("|i1"),
                         chunks=(6,), compressor=Zlib(1))

    def str_col(g, col):
        vals = np.array([f"cell-{i}-{'é' * (i % 3)}" if i % 5 else "" for i in range(n_obs)],
                        dtype=object)
        g.create_dataset(col, data=vals, chunks=(4,), dtype=object,
                         object_codec=numcodecs.VLenUTF8(), compressor=Blosc(cname="zstd"))

    def num_col(g, col):
        g.create_dataset(col, data=ramp((n_obs,), "<i8"), chunks=(6,), compressor=Zlib(1))

    def pickle_col(g, col):
        g.create_dataset(col, data=np.array([{"a": i} for i in range(n_obs)], dtype=object),
                         chunks=(6,), dtype=object, object_codec=numcodecs.Pickle())

    def unknown_codec_col(g, col):
        g.create_dataset(col, data=ramp((n_obs,), "<f8"), chunks=(6,), compressor=Zlib(1))

    dataframe("obs", [f"AAAC-{i}" for i in range(n_obs)],
              [("cell_type", cat_col), ("note", str_col), ("n_genes", num_col),
               ("pickled", pickle_col), ("weird", unknown_codec_col)])

    def bytes_col(g, col):
        g.create_dataset(col, data=np.array([b"ENSG%03d" % i if i % 3 else b"" for i in range(n_var)],
                                            dtype=object),
                         chunks=(3,), dtype=object, object_codec=numcodecs.VLenBytes(),
                         compressor=Zlib(1))

    def json_col(g, col):
        g.create_dataset(col, data=np.array(["α", "b", "", "dd", "e\"q", "f\\", "g\n"], dtype=object),
                         chunks=(3,), dtype=object, object_codec=numcodecs.JSON(),
                         compressor=None)

    def mean_col(g, col):
        g.create_dataset(col, data=ramp((n_var,), "<f8") * 0.25, chunks=(7,), compressor=None)

    dataframe("var", [f"gene{i}" for i in range(n_var)],
              [("gene_ids", bytes_col), ("symbol_json", json_col), ("mean", mean_col)])
    obsm = root.create_group("obsm")
    obsm.create_dataset("X_pca", data=ramp((n_obs, 3), "<f4"), chunks=(8, 3), compressor=Zstd(3))
    uns = root.create_group("uns")
    uns.create_dataset("names", data=np.array([["a", "bb"], ["ccc", ""]], dtype=object),
                       chunks=(1, 2), dtype=object, object_codec=numcodecs.VLenUTF8())
    # an unknown compressor id: neither zarr-python nor nd can decode it
    zp = os.path.join(hp, "obs", "weird", ".zarray")
    with open(zp) as f:
        meta = json.load(f)
    meta["compressor"] = {"id": "nd-test-unknown-codec", "level": 3}
    with open(zp, "w") as f:
        json.dump(meta, f, indent=4, sort_keys=True)
    zarr.consolidate_metadata(hp)

    desc = {}
    rz = zarr.open_consolidated(hp, mode="r")

    def visit(name, obj):
        entry = {"kind": "array" if isinstance(obj, zarr.Array) else "group"}
        if isinstance(obj, Exception):
            # zarr-python cannot even open it (and its visititems stops there: walk by hand)
            entry = {"kind": "array", "unreadable_by_zarr": f"{type(obj).__name__}: {obj}"}
        elif isinstance(obj, zarr.Array):
            entry["shape"] = list(obj.shape)
            entry["dtype"] = obj.dtype.str
            entry["filters"] = [f.codec_id for f in (obj.filters or [])]
            try:
                v = obj[...]
            except Exception as e:  # noqa: BLE001
                entry["unreadable_by_zarr"] = f"{type(e).__name__}: {e}"
            else:
                if v.dtype == object:
                    if "pickle" in entry["filters"]:
                        v = None  # dicts: no numpy string form
                    elif "vlen-bytes" in entry["filters"]:
                        v = v.astype(bytes)
                    else:
                        v = v.astype(str)
                if v is not None:
                    npy = "expected/anndata/" + name.replace("/", "_") + ".npy"
                    np.save(os.path.join(outdir, npy), v)
                    entry["npy"] = npy
        desc[name] = entry

    with open(os.path.join(hp, ".zmetadata")) as f:
        keys = json.load(f)["metadata"]
    for key in sorted(keys):
        path, _, leaf = key.rpartition("/")
        if leaf not in (".zarray", ".zgroup"):
            continue
        try:
            obj = rz[path] if path else rz
        except Exception as e:  # noqa: BLE001
            obj = e
        visit(path, obj)
    with open(os.path.join(outdir, "anndata.json"), "w") as f:
        json.dump(desc, f, indent=1, sort_keys=True)
