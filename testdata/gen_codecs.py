"""Codec fixtures for nd-codecs, written with numcodecs, python lz4 and python asdf.

Layout of testdata/codecs/:
  index.json           list of cases: {"name", "kind", "config" | "compression", "encoded", "decoded"}
                       kind "codec":    encoded = numcodecs codec(config).encode(array); decoded = what
                                        numcodecs decodes it back to (the original array for lossless codecs)
                       kind "pipeline": zarr-style filters + compressor ("config" = {"filters", "compressor"})
                       kind "asdf":     a block's stored bytes (python asdf wrote them) and the decoded block
  enc/<name>.bin       encoded bytes
  dec/<sha1>.bin       decoded bytes (shared between cases); a "decoded" of the form
                       "md5:<length>:<hex>" gives the length and MD5 of a large expected output instead

Every expected decoded buffer comes from the reference library, never from nd.
"""
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess

import numpy as np


def _arrays():
    rng = np.random.default_rng(20240611)
    a = {}
    a["rand_u1"] = rng.integers(0, 40, 2001, dtype="u1")
    a["rand_u2"] = rng.integers(0, 1000, 1025, dtype="u2")
    a["smooth_i4"] = (np.arange(2003, dtype="i4") // 7 - 300).astype("i4")
    a["normal_f8"] = rng.normal(10.0, 3.0, 1001)
    a["const_f4"] = np.full(777, 7.25, dtype="f4")
    a["empty_u2"] = np.zeros(0, dtype="u2")
    a["tiny_u2"] = np.arange(5, dtype="u2")
    # larger, compressible: several blosc blocks with the automatic block size
    a["big_u2"] = ((np.arange(150_001) // 3) % 4096).astype("u2")
    # two 128 KiB zstd blocks and a bit, whose second block zstd 1.5.7 pre-splits (at levels 3,
    # 9, 19); made without the generator so that a test can make it again
    i = np.arange(131_073)
    a["steps_u2"] = (i % 251 * (i // 4096 % 3)).astype("u2")
    return a


def _as_bytes(x):
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    return np.ascontiguousarray(x).tobytes()


def _frame_without_content_size(frame):
    """Rewrite a zstd frame's header to drop the content size (the blocks are unchanged)."""
    assert frame[:4] == b"\x28\xb5\x2f\xfd"
    fhd = frame[4]
    fcs_flag = fhd >> 6
    single = (fhd >> 5) & 1
    checksum = (fhd >> 2) & 1
    dict_flag = fhd & 3
    assert dict_flag == 0
    pos = 5
    if not single:
        pos += 1  # window descriptor
    fcs_size = [1 if single else 0, 2, 4, 8][fcs_flag]
    raw = frame[pos : pos + fcs_size]
    content = int.from_bytes(raw, "little") + (256 if fcs_size == 2 else 0) if fcs_size else 0
    pos += fcs_size
    # window: a power of two covering the whole content (at least 1 KiB)
    exp = max(10, int(np.ceil(np.log2(max(content, 1)))))
    wd = (exp - 10) << 3
    new_fhd = (checksum << 2)  # FCS flag 0, single segment 0
    return frame[:4] + bytes([new_fhd, wd]) + frame[pos:]


def generate(outdir):
    import numcodecs
    from numcodecs import registry

    for sub in ("enc", "dec"):
        shutil.rmtree(os.path.join(outdir, sub), ignore_errors=True)
        os.makedirs(os.path.join(outdir, sub))
    cases = []
    arrays = _arrays()

    def put_dec(b):
        if len(b) > 64 * 1024:
            # large expectations are kept as their length and MD5 (of the reference's output)
            return f"md5:{len(b)}:{hashlib.md5(b).hexdigest()}"
        h = hashlib.sha1(b).hexdigest()[:16]
        p = os.path.join(outdir, "dec", h + ".bin")
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(b)
        return f"dec/{h}.bin"

    def put_enc(name, b):
        with open(os.path.join(outdir, "enc", name + ".bin"), "wb") as f:
            f.write(b)
        return f"enc/{name}.bin"

    def add_codec(name, config, arr):
        codec = registry.get_codec(dict(config))
        enc = bytes(codec.encode(arr))
        try:
            dec = _as_bytes(codec.decode(enc))
        except Exception as e:  # numcodecs cannot read back what it wrote: no reference, no case
            print(f"  skip {name}: numcodecs decode failed: {e}")
            return
        cfg = codec.get_config()
        cases.append({"name": name, "kind": "codec", "config": cfg, "itemsize": arr.dtype.itemsize,
                      "dtype": arr.dtype.str, "encoded": put_enc(name, enc), "decoded": put_dec(dec),
                      "original": put_dec(arr.tobytes())})

    def add_raw(name, kind, config, enc, dec, **extra):
        cases.append({"name": name, "kind": kind, "config": config,
                      "encoded": put_enc(name, enc), "decoded": put_dec(dec), **extra})

    small = ["rand_u2", "smooth_i4", "const_f4", "empty_u2", "normal_f8"]
    for level in (1, 5, 9):
        for an in small:
            add_codec(f"zlib_l{level}_{an}", {"id": "zlib", "level": level}, arrays[an])
    for level in (1, 9):
        for an in small:
            add_codec(f"gzip_l{level}_{an}", {"id": "gzip", "level": level}, arrays[an])
            add_codec(f"bz2_l{level}_{an}", {"id": "bz2", "level": level}, arrays[an])
    for level in (-1, 1, 3, 9, 19):
        for an in small:
            add_codec(f"zstd_l{level}_{an}", {"id": "zstd", "level": level}, arrays[an])
    add_codec("zstd_l3_checksum_rand_u2", {"id": "zstd", "level": 3, "checksum": True}, arrays["rand_u2"])
    add_codec("zstd_l1_big_u2", {"id": "zstd", "level": 1}, arrays["big_u2"])
    # numcodecs' zstd (1.5.6) does not pre-split blocks; nd's frames equal these byte for byte
    # (crates/nd-codecs/tests/fixtures.rs makes the array again: its original is kept as an MD5)
    for level in (3, 9, 19):
        add_codec(f"zstd_l{level}_steps_u2", {"id": "zstd", "level": level}, arrays["steps_u2"])
    # several frames, and frames without a content size (zarr-python 3 and streaming writers make
    # them). numcodecs 0.15.2 itself decodes neither, so the zstd command-line tool (libzstd, the
    # reference implementation) gives the expectation.
    z = numcodecs.Zstd(level=3)
    a1, a2 = arrays["rand_u2"], arrays["smooth_i4"]
    expect = a1.tobytes() + a2.tobytes()
    multi = bytes(z.encode(a1)) + bytes(z.encode(a2))
    nocs = _frame_without_content_size(bytes(z.encode(a2)))
    nocs2 = _frame_without_content_size(bytes(z.encode(a1))) + nocs
    if shutil.which("zstd"):
        for nm, enc, exp in (("zstd_two_frames", multi, expect), ("zstd_no_content_size", nocs, a2.tobytes()),
                             ("zstd_two_frames_no_content_size", nocs2, expect)):
            out = subprocess.run(["zstd", "-d", "-c", "-q"], input=enc, capture_output=True, check=True).stdout
            assert out == exp
            add_raw(nm, "codec", z.get_config(), enc, out)
    else:
        print("  skip zstd multi-frame cases: no zstd tool")

    for acc in (1, 10):
        for an in small:
            add_codec(f"lz4_a{acc}_{an}", {"id": "lz4", "acceleration": acc}, arrays[an])
    add_codec("lz4_a1_big_u2", {"id": "lz4", "acceleration": 1}, arrays["big_u2"])

    # numcodecs 0.15 is built without snappy: blosc-snappy is covered by round trips only
    for cname in ("blosclz", "lz4", "lz4hc", "zlib", "zstd"):
        for shuffle in (0, 1, 2, -1):
            for an in ("rand_u1", "rand_u2", "normal_f8"):
                cfg = {"id": "blosc", "cname": cname, "clevel": 5, "shuffle": shuffle, "blocksize": 0}
                add_codec(f"blosc_{cname}_s{shuffle}_{an}", cfg, arrays[an])
            # explicit small block size: several blocks, last one partial
            cfg = {"id": "blosc", "cname": cname, "clevel": 7, "shuffle": shuffle, "blocksize": 1024}
            add_codec(f"blosc_{cname}_s{shuffle}_b1024_smooth_i4", cfg, arrays["smooth_i4"])
        cfg = {"id": "blosc", "cname": cname, "clevel": 1, "shuffle": 1, "blocksize": 0}
        add_codec(f"blosc_{cname}_big_u2", cfg, arrays["big_u2"])
    for an in ("empty_u2", "tiny_u2", "const_f4"):
        add_codec(f"blosc_lz4_{an}", {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}, arrays[an])
    add_codec("blosc_zstd_clevel0_rand_u2", {"id": "blosc", "cname": "zstd", "clevel": 0, "shuffle": 1}, arrays["rand_u2"])
    add_codec("blosc_zlib_clevel9_normal_f8", {"id": "blosc", "cname": "zlib", "clevel": 9, "shuffle": 2}, arrays["normal_f8"])

    for es in (1, 2, 4, 8):
        add_codec(f"shuffle_e{es}_normal_f8", {"id": "shuffle", "elementsize": es}, arrays["normal_f8"])
    add_codec("shuffle_e4_smooth_i4", {"id": "shuffle", "elementsize": 4}, arrays["smooth_i4"])

    sm = arrays["smooth_i4"]
    add_codec("delta_i4_i4", {"id": "delta", "dtype": "<i4"}, sm)
    add_codec("delta_i4_i2", {"id": "delta", "dtype": "<i4", "astype": "<i2"}, sm)
    add_codec("delta_be_i2", {"id": "delta", "dtype": ">i2", "astype": ">i2"}, sm.astype(">i2"))
    add_codec("delta_u2_u2", {"id": "delta", "dtype": "<u2"}, arrays["rand_u2"])
    add_codec("delta_u2_i1_wrap", {"id": "delta", "dtype": "<u2", "astype": "|i1"},
              (np.arange(300, dtype="u2") * 3))
    add_codec("delta_f8_f8", {"id": "delta", "dtype": "<f8"}, arrays["normal_f8"])
    add_codec("delta_f4_f4", {"id": "delta", "dtype": "<f4"}, arrays["normal_f8"].astype("f4"))
    add_codec("delta_u1_u1", {"id": "delta", "dtype": "|u1"}, arrays["rand_u1"])

    nf = arrays["normal_f8"]
    add_codec("fso_f8_u2", {"id": "fixedscaleoffset", "offset": 10, "scale": 100, "dtype": "<f8", "astype": "<u2"}, nf)
    add_codec("fso_f8_i2_float", {"id": "fixedscaleoffset", "offset": 10.5, "scale": 250.0, "dtype": "<f8", "astype": "<i2"}, nf)
    add_codec("fso_f4_i2", {"id": "fixedscaleoffset", "offset": 0.5, "scale": 100.0, "dtype": "<f4", "astype": "<i2"}, nf.astype("f4"))
    add_codec("fso_f8_u1", {"id": "fixedscaleoffset", "offset": 0, "scale": 10, "dtype": "<f8", "astype": "|u1"},
              np.linspace(0, 25, 1001))
    add_codec("fso_halves", {"id": "fixedscaleoffset", "offset": 0, "scale": 1, "dtype": "<f8", "astype": "<i4"},
              np.arange(-20, 20) + 0.5)
    add_codec("fso_i4_i2_int", {"id": "fixedscaleoffset", "offset": 10, "scale": 2, "dtype": "<i4", "astype": "<i2"}, sm)
    add_codec("fso_i4_f8_float", {"id": "fixedscaleoffset", "offset": 1.5, "scale": 0.5, "dtype": "<i4", "astype": "<f8"}, sm)
    add_codec("fso_be_f8_be_u2", {"id": "fixedscaleoffset", "offset": 10, "scale": 100, "dtype": ">f8", "astype": ">u2"}, nf.astype(">f8"))

    for digits in (1, 3, 5):
        add_codec(f"quantize_d{digits}_f8_f8", {"id": "quantize", "digits": digits, "dtype": "<f8"}, nf)
        add_codec(f"quantize_d{digits}_f8_f4", {"id": "quantize", "digits": digits, "dtype": "<f8", "astype": "<f4"}, nf)
        add_codec(f"quantize_d{digits}_f4_f4", {"id": "quantize", "digits": digits, "dtype": "<f4"}, nf.astype("f4"))
    add_codec("quantize_d2_f2_f2", {"id": "quantize", "digits": 2, "dtype": "<f2"}, nf.astype("f2"))

    add_codec("astype_f8_f4", {"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}, nf)
    add_codec("astype_i4_i2", {"id": "astype", "encode_dtype": "<i2", "decode_dtype": "<i4"}, sm * 37)
    add_codec("astype_f8_i4", {"id": "astype", "encode_dtype": "<i4", "decode_dtype": "<f8"}, nf * 1000 - 5000)
    add_codec("astype_u1_f8", {"id": "astype", "encode_dtype": "<f8", "decode_dtype": "|u1"}, arrays["rand_u1"])
    add_codec("astype_bef4_f8", {"id": "astype", "encode_dtype": ">f4", "decode_dtype": "<f8"}, nf)
    add_codec("astype_f8_f2", {"id": "astype", "encode_dtype": "<f2", "decode_dtype": "<f8"}, nf)

    rng = np.random.default_rng(7)
    for n in (13, 64, 1000):
        add_codec(f"packbits_{n}", {"id": "packbits"}, rng.integers(0, 2, n).astype(bool))
    labels = ["ƒöö", "bar", "baz", "quux"]
    words = np.array(rng.choice(labels + ["zzz", ""], 200), dtype="<U4")
    add_codec("categorize_u4_u1", {"id": "categorize", "labels": labels, "dtype": "<U4", "astype": "|u1"}, words)

    _lzma_checksum_bitround(cases, add_codec, add_raw, put_dec, arrays)

    # zarr-style pipelines: filters then compressor
    def add_pipeline(name, filters, compressor, arr):
        fs = [registry.get_codec(dict(f)) for f in filters]
        comp = registry.get_codec(dict(compressor)) if compressor else None
        x = arr
        for f in fs:
            x = f.encode(x)
        enc = bytes(comp.encode(x)) if comp else np.ascontiguousarray(x).tobytes()
        y = comp.decode(enc) if comp else enc
        for f in reversed(fs):
            y = f.decode(y)
        dec = _as_bytes(y)
        cfg = {"filters": [f.get_config() for f in fs] or None,
               "compressor": comp.get_config() if comp else None}
        cases.append({"name": name, "kind": "pipeline", "config": cfg, "itemsize": arr.dtype.itemsize,
                      "dtype": arr.dtype.str, "encoded": put_enc(name, enc), "decoded": put_dec(dec),
                      "original": put_dec(arr.tobytes())})

    add_pipeline("pipe_delta_blosc", [{"id": "delta", "dtype": "<i4", "astype": "<i2"}],
                 {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}, sm)
    add_pipeline("pipe_fso_zlib", [{"id": "fixedscaleoffset", "offset": 10, "scale": 100, "dtype": "<f8", "astype": "<u2"}],
                 {"id": "zlib", "level": 1}, nf)
    add_pipeline("pipe_quantize_shuffle_zstd", [{"id": "quantize", "digits": 2, "dtype": "<f8"},
                                                {"id": "shuffle", "elementsize": 8}],
                 {"id": "zstd", "level": 1}, nf)
    add_pipeline("pipe_astype_none", [{"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}], None, nf)
    add_pipeline("pipe_none_lz4", [], {"id": "lz4", "acceleration": 1}, arrays["rand_u2"])
    add_pipeline("pipe_crc32_zlib", [{"id": "crc32"}], {"id": "zlib", "level": 1}, arrays["rand_u2"])
    add_pipeline("pipe_bitround_zstd", [{"id": "bitround", "keepbits": 6}], {"id": "zstd", "level": 1},
                 nf.astype("f4"))
    add_pipeline("pipe_bitround_f8_blosc", [{"id": "bitround", "keepbits": 12}],
                 {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}, nf)
    add_pipeline("pipe_adler32_end_lzma", [{"id": "adler32", "location": "end"}],
                 {"id": "lzma", "preset": 1}, sm)
    add_pipeline("pipe_delta_fletcher32", [{"id": "delta", "dtype": "<i4"}], {"id": "fletcher32"}, sm)

    _asdf_cases(outdir, cases, put_enc, put_dec, arrays)
    _fuzz_seeds(outdir, cases)

    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)


def _lzma_checksum_bitround(cases, add_codec, add_raw, put_dec, arrays):
    """lzma, crc32, adler32, fletcher32 and bitround (numcodecs 0.15.2 on Python's liblzma/zlib)."""
    import lzma

    import numcodecs
    from numcodecs import registry

    nf, sm, a1 = arrays["normal_f8"], arrays["smooth_i4"], arrays["rand_u2"]
    for preset in (0, 1, None, 9):
        for an in ("rand_u2", "smooth_i4", "empty_u2"):
            add_codec(f"lzma_p{preset}_{an}", {"id": "lzma", "preset": preset}, arrays[an])
    for check in (0, 1, 4, 10):
        add_codec(f"lzma_check{check}_normal_f8", {"id": "lzma", "check": check, "preset": 1}, nf)
    add_codec("lzma_extreme3_smooth_i4", {"id": "lzma", "preset": 3 | lzma.PRESET_EXTREME}, sm)
    add_codec("lzma_alone_normal_f8", {"id": "lzma", "format": 2, "preset": 1}, nf)
    add_codec("lzma_p1_big_u2", {"id": "lzma", "preset": 1}, arrays["big_u2"])
    # what lzma.decompress accepts besides one stream: concatenated streams, junk after a stream
    # (ignored), and the auto format reading xz and .lzma data
    xz = numcodecs.LZMA(preset=1)
    auto = numcodecs.LZMA(format=0)
    two = bytes(xz.encode(a1)) + bytes(xz.encode(sm))
    junk = bytes(xz.encode(a1)) + b"\0\0\0\0not an xz stream"
    alone = bytes(numcodecs.LZMA(format=2, preset=1).encode(nf))
    for nm, codec, enc in (("lzma_two_streams", xz, two), ("lzma_trailing_junk", xz, junk),
                           ("lzma_auto_xz", auto, bytes(xz.encode(sm))), ("lzma_auto_alone", auto, alone)):
        add_raw(nm, "codec", codec.get_config(), enc, _as_bytes(codec.decode(enc)))

    for cid in ("crc32", "adler32"):
        for loc in (None, "start", "end"):
            cfg = {"id": cid} if loc is None else {"id": cid, "location": loc}
            for an in ("rand_u2", "empty_u2", "rand_u1") if loc is None else ("rand_u1",):
                add_codec(f"{cid}_{loc or 'default'}_{an}", cfg, arrays[an])
    # HDF5's Fletcher-32; rand_u1 has an odd number of bytes. numcodecs 0.15.2 fails on empty data.
    for an in ("rand_u2", "normal_f8", "rand_u1"):
        add_codec(f"fletcher32_{an}", {"id": "fletcher32"}, arrays[an])

    rng = np.random.default_rng(11)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, 2.5, -2.5, 3.0000001, 1e-310, 5e-324,
                         np.finfo("f8").max, -np.finfo("f8").max, np.finfo("f8").tiny], dtype="f8")
    base = np.concatenate([nf[:200], specials, rng.normal(0, 1e6, 100)])
    with np.errstate(over="ignore"):
        # numcodecs 0.15.2 refuses big-endian floats (KeyError on '>f8'): little-endian only
        for dt in ("<f8", "<f4", "<f2"):
            arr = base.astype(dt)
            bits = {"f8": 52, "f4": 23, "f2": 10}[dt[1:]]
            for keep in sorted({0, 1, 6, 10, bits - 1, bits}):
                if keep > bits:
                    continue
                name = f"bitround_k{keep}_{dt[1:]}"
                add_codec(name, {"id": "bitround", "keepbits": keep}, arr)


def _asdf_blocks(data):
    """Parse the blocks of an ASDF file: [(compression, stored bytes, data_size)]."""
    out = []
    pos = data.find(b"\xd3BLK")
    while pos >= 0 and data[pos:pos + 4] == b"\xd3BLK":
        (hsize,) = struct.unpack(">H", data[pos + 4:pos + 6])
        h = data[pos + 6:pos + 6 + hsize]
        flags, comp, alloc, used, size = struct.unpack(">I4sQQQ", h[:32])
        start = pos + 6 + hsize
        out.append((comp, data[start:start + used], size))
        pos = start + alloc
    return out


def _asdf_cases(outdir, cases, put_enc, put_dec, arrays):
    import asdf
    import lz4.frame
    import numcodecs

    big = np.tile(np.arange(256, dtype="u1"), (5 << 20) // 256 + 7)  # a bit over 5 MiB: two lz4 chunks
    items = [("rand_u2", arrays["rand_u2"]), ("normal_f8", arrays["normal_f8"]),
             ("const_f4", arrays["const_f4"]), ("big5m", big)]
    for comp in ("zlib", "bzp2", "lz4"):
        for an, arr in items:
            if an == "big5m" and comp != "lz4":
                continue
            buf = io.BytesIO()
            af = asdf.AsdfFile({"x": arr})
            af.write_to(buf, all_array_compression=comp)
            blocks = _asdf_blocks(buf.getvalue())
            assert len(blocks) == 1, blocks
            label, stored, size = blocks[0]
            # python asdf's own decoding is the expectation
            buf.seek(0)
            with asdf.open(buf, lazy_load=False, memmap=False) as af2:
                dec = np.ascontiguousarray(af2["x"]).tobytes()
            assert len(dec) == size
            cases.append({"name": f"asdf_{comp}_{an}", "kind": "asdf", "compression": label.hex(),
                          "encoded": put_enc(f"asdf_{comp}_{an}", stored), "decoded": put_dec(dec)})
    # the asdf-compression plugin (not installed here) makes these library calls for its blocks:
    #   lz4f: lz4.frame.compress(data); zstd: a zstd frame; blsc: blosc.compress(data, typesize=itemsize)
    arr = arrays["normal_f8"]
    raw = arr.tobytes()
    f = lz4.frame.compress(raw)
    assert lz4.frame.decompress(f) == raw
    cases.append({"name": "asdf_lz4f_normal_f8", "kind": "asdf", "compression": b"lz4f".hex(),
                  "encoded": put_enc("asdf_lz4f_normal_f8", f), "decoded": put_dec(raw)})
    f = lz4.frame.compress(big.tobytes(), block_linked=True, block_size=lz4.frame.BLOCKSIZE_MAX256KB)
    cases.append({"name": "asdf_lz4f_big5m", "kind": "asdf", "compression": b"lz4f".hex(),
                  "encoded": put_enc("asdf_lz4f_big5m", f), "decoded": put_dec(big.tobytes())})
    z = bytes(numcodecs.Zstd(level=3).encode(raw))
    cases.append({"name": "asdf_zstd_normal_f8", "kind": "asdf", "compression": b"zstd".hex(),
                  "encoded": put_enc("asdf_zstd_normal_f8", z), "decoded": put_dec(raw)})
    b = bytes(numcodecs.Blosc(cname="blosclz", clevel=9, shuffle=1).encode(np.frombuffer(raw, "u1")))
    cases.append({"name": "asdf_blsc_normal_f8", "kind": "asdf", "compression": b"blsc".hex(),
                  "encoded": put_enc("asdf_blsc_normal_f8", b), "decoded": put_dec(raw)})


def _fuzz_seeds(outdir, cases):
    """Seed corpora of the codec_* fuzz targets: small fixtures, plus pipeline inputs."""
    from numcodecs import registry

    root = os.path.join(os.path.dirname(os.path.abspath(outdir)), "..", "fuzz", "corpus")
    picks = {
        "codec_blosc": ["blosc_lz4_s1_rand_u2", "blosc_zstd_s2_b1024_smooth_i4", "blosc_blosclz_s-1_rand_u1",
                        "blosc_zlib_s0_normal_f8", "blosc_lz4_tiny_u2", "blosc_lz4hc_s1_b1024_smooth_i4"],
        "codec_zstd": ["zstd_l3_smooth_i4", "zstd_two_frames_no_content_size", "zstd_l3_checksum_rand_u2",
                       "zstd_l-1_const_f4"],
        "codec_zlib": ["zlib_l1_smooth_i4", "gzip_l9_const_f4", "zlib_l5_empty_u2"],
        "codec_bz2": ["bz2_l1_const_f4", "bz2_l9_smooth_i4"],
        "codec_lzma": ["lzma_p1_smooth_i4", "lzma_two_streams", "lzma_trailing_junk", "lzma_alone_normal_f8",
                       "lzma_check10_normal_f8", "crc32_end_rand_u1", "adler32_default_rand_u1",
                       "fletcher32_rand_u1"],
        "codec_lz4": ["lz4_a1_smooth_i4", "lz4_a10_const_f4", "asdf_lz4_const_f4", "asdf_lz4f_normal_f8"],
    }
    by_name = {c["name"]: c for c in cases}
    for target, names in picks.items():
        d = os.path.join(root, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for n in names:
            shutil.copy(os.path.join(outdir, by_name[n]["encoded"]), os.path.join(d, n))
    # codec_pipeline: [config index][decoded length u16 LE][chunk]; configs as in nd_codecs::fuzzing
    d = os.path.join(root, "codec_pipeline")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = np.random.default_rng(3)
    seeds = [
        (0, None, {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
         rng.integers(0, 50, 300, dtype="u2")),
        (1, [{"id": "delta", "dtype": "<i4", "astype": "<i2"}],
         {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0}, np.arange(200, dtype="i4") * 3),
        (2, [{"id": "fixedscaleoffset", "offset": 10, "scale": 100, "dtype": "<f8", "astype": "<u2"}],
         {"id": "zlib", "level": 1}, np.linspace(10, 20, 100)),
        (3, [{"id": "quantize", "digits": 2, "dtype": "<f8"}, {"id": "shuffle", "elementsize": 8}],
         {"id": "zstd", "level": 1}, np.linspace(0, 1, 64)),
        (4, [{"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}], None, np.linspace(0, 1, 16)),
        (8, [{"id": "crc32"}], {"id": "zlib", "level": 1}, np.arange(100, dtype="u2")),
        (9, [{"id": "bitround", "keepbits": 6}], {"id": "zstd", "level": 1}, np.linspace(0, 1, 64).astype("f4")),
        (10, [{"id": "adler32", "location": "end"}], {"id": "lzma", "preset": 1}, np.arange(50, dtype="i4")),
        (11, None, {"id": "fletcher32"}, np.arange(40, dtype="u2")),
    ]
    for sel, filters, comp, arr in seeds:
        x = arr
        for f in filters or []:
            x = registry.get_codec(dict(f)).encode(x)
        enc = bytes(registry.get_codec(dict(comp)).encode(x)) if comp else _as_bytes(x)
        with open(os.path.join(d, f"seed{sel}"), "wb") as f:
            f.write(bytes([sel]) + struct.pack("<H", arr.nbytes) + enc)
