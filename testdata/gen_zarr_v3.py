#!/usr/bin/env python3
"""Zarr v3 fixtures written by zarr-python 3 (pinned in requirements-zarr3.txt).

Run with the zarr-python 3 venv (zarr 2 lives in /.venv; they cannot share one):

    python3 -m venv .venv-zarr3 && .venv-zarr3/bin/pip install -r testdata/requirements-zarr3.txt
    .venv-zarr3/bin/python testdata/gen_zarr_v3.py

Writes testdata/zarr/v3/{stores/*.zarr, expected/*.npy, manifest.json}. Expected values are what
zarr-python 3 reads back (whole array and a few regions), never what we wrote; an array that
zarr-python reads but nd cannot represent is listed with "error". Arrays of the variable-length
types `string` / `bytes` (zarr-python 3 gives numpy StringDType / object arrays) are saved as nd
reads them: fixed-width `U<w>` / `S<w>`, `w` the longest element of the whole array (at least 1),
the values zarr-python read converted with numpy (`np.array(items, dtype=f"U{w}")`).
"""
import json
import os
import shutil
import warnings

import numpy as np
import zarr
import zarr.codecs as zc
from zarr.core.dtype import VariableLengthBytes, VariableLengthUTF8

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "zarr", "v3")
STORES = os.path.join(OUT, "stores")
EXPECTED = os.path.join(OUT, "expected")
CASES = []
RNG = np.random.default_rng(3)


def values(shape, dtype):
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        v = RNG.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        v = RNG.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    elif dt.kind == "f":
        v = (RNG.standard_normal(n) * 100).astype(dt)
        v[::7] = np.nan
        v[1::11] = np.inf
    elif dt.kind == "c":
        v = (RNG.standard_normal(n) + 1j * RNG.standard_normal(n)).astype(dt)
    elif dt.kind == "U":
        v = np.array(["".join(chr(0x41 + (i * 7 + j) % 50) for j in range(i % (dt.itemsize // 4 + 1))) + ("é" if i % 3 == 0 and dt.itemsize >= 8 else "") for i in range(n)], dtype=dt)
    elif dt.kind == "S":
        v = np.array([bytes([0x61 + (i + j) % 26 for j in range(i % (dt.itemsize + 1))]) for i in range(n)], dtype=dt)
    elif dt.kind == "V":
        v = np.frombuffer(RNG.integers(0, 256, n * dt.itemsize, dtype=np.uint8).tobytes(), dtype=dt)
    elif dt.kind == "M":
        v = RNG.integers(-10**9, 10**9, n).astype("int64").view(dt)
    else:
        raise ValueError(dtype)
    return v.reshape(shape)


def regions_of(shape):
    """A few regions: a middle cutout, one element, the last edge corner."""
    if not shape or 0 in shape:
        return []
    out = []
    mid = tuple(slice(n // 3, max((2 * n + 2) // 3, n // 3 + 1)) for n in shape)
    out.append(mid)
    out.append(tuple(slice(n - 1, n) for n in shape))
    out.append(tuple(slice(0, 1) for n in shape))
    return out


def spec(sl):
    return ",".join(f"{s.start}:{s.stop}" for s in sl)


def fixed_width(full):
    """For an array of variable-length items (StringDType or object), the function that makes
    any part of it fixed-width `U<w>` / `S<w>` as nd reads it, `w` from the whole array; None for
    other arrays."""
    if full.dtype.kind not in "OT":
        return None
    items = np.asarray(full, dtype=object).reshape(-1).tolist()
    text = full.dtype.kind == "T" or all(isinstance(v, str) for v in items)
    w = max([1] + [len(v) for v in items])
    dt = np.dtype(f"U{w}" if text else f"S{w}")
    return lambda x: np.array(np.asarray(x, dtype=object).reshape(-1).tolist(), dtype=dt).reshape(np.shape(x))


def record(name, store, path, error=None):
    """Read the array back with zarr-python and save the expected values."""
    entry = {"name": name, "store": f"stores/{store}", "path": path}
    a = zarr.open_array(os.path.join(STORES, store), path=path, mode="r")
    entry["shape"] = list(a.shape)
    entry["data_type"] = json.loads(json.dumps(a.metadata.to_dict()["data_type"]))
    if error is not None:
        entry["error"] = error
        CASES.append(entry)
        return
    full = a[...]
    if isinstance(full, (str, bytes)):  # a 0-d array of items reads as the item
        full = np.array(full, dtype=object)
    conv = fixed_width(full)
    if conv is not None:
        entry["zarr_python_dtype"] = str(full.dtype)
    else:
        conv = lambda x: x  # noqa: E731
    np.save(os.path.join(EXPECTED, f"{name}.npy"), conv(full))
    entry["npy"] = f"expected/{name}.npy"
    entry["regions"] = []
    for i, sl in enumerate(regions_of(a.shape)):
        f = f"expected/{name}.r{i}.npy"
        np.save(os.path.join(OUT, f), conv(a[sl]))
        entry["regions"].append({"region": spec(sl), "npy": f})
    CASES.append(entry)


def arr(store, path, data, *, chunks, name=None, write=None, **kw):
    g = zarr.open_group(os.path.join(STORES, store), mode="a", zarr_format=3)
    a = g.create_array(path, shape=data.shape, dtype=kw.pop("dtype", data.dtype), chunks=chunks, **kw)
    if write is None:
        a[...] = data
    else:
        for sl in write:
            a[sl] = data[sl]
    record(name or f"{store.removesuffix('.zarr')}.{path.replace('/', '.')}", store, path)
    return a


def patch(store, path, **fields):
    """Rewrite fields of an array's zarr.json (spellings zarr-python reads but does not write)."""
    p = os.path.join(STORES, store, path, "zarr.json")
    with open(p) as f:
        doc = json.load(f)
    doc.update(fields)
    with open(p, "w") as f:
        json.dump(doc, f, indent=2)


def dtypes():
    st = "dtypes.zarr"
    shape, chunks = (7, 5), (3, 2)
    for dt in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64", "complex64", "complex128", "U3", "S4", "V3",
               "datetime64[s]"]:
        name = dt.replace("[", "_").replace("]", "")
        arr(st, name, values(shape, dt), chunks=chunks, compressors=None)
    # big-endian storage of every multi-byte type
    for dt in ["int16", "uint32", "int64", "float16", "float32", "float64", "complex64", "complex128", "U3"]:
        arr(st, f"be_{dt}", values(shape, dt), chunks=chunks, compressors=None,
            serializer=zc.BytesCodec(endian="big"))
    # variable-length types: nd reads them as fixed-width U / S (more in vlen())
    g = zarr.open_group(os.path.join(STORES, st), mode="a", zarr_format=3)
    s = g.create_array("vlen_string", shape=(4,), dtype=VariableLengthUTF8(), chunks=(2,))
    s[...] = np.array(["a", "bé", "", "long string"], dtype=object)
    record("dtypes.vlen_string", st, "vlen_string")
    b = g.create_array("vlen_bytes", shape=(4,), dtype=VariableLengthBytes(), chunks=(2,))
    b[...] = np.array([b"a", b"bc", b"", b"\x00\x01"], dtype=object)
    record("dtypes.vlen_bytes", st, "vlen_bytes")


def texts(n, seed):
    """n strings of 0..12 characters: ASCII, Latin-1, CJK and a non-BMP character."""
    pool = "abcXYZ019 _éøßΩжこんにちは😀"
    r = np.random.default_rng(seed)
    return np.array(["".join(r.choice(list(pool), int(r.integers(0, 13)))) for _ in range(n)], dtype=object)


def blobs(n, seed):
    """n byte strings of 0..9 bytes, NULs included (inside and at the end)."""
    r = np.random.default_rng(seed)
    return np.array([bytes(r.integers(0, 4, int(r.integers(0, 10))).astype("uint8") * 40) for _ in range(n)], dtype=object)


def vlen():
    """`string` (vlen-utf8) and `bytes` (vlen-bytes) arrays as zarr-python 3 writes them: its
    default codecs (vlen-* + zstd), fill values over missing chunks, sharding."""
    st = "vlen.zarr"
    g = zarr.open_group(os.path.join(STORES, st), mode="a", zarr_format=3)

    def mk(path, data, dtype, write=None, **kw):
        a = g.create_array(path, shape=data.shape, dtype=dtype, **kw)
        if write is None:
            a[...] = data
        else:
            for sl in write:
                a[sl] = data[sl]
        return a

    U, B = VariableLengthUTF8(), VariableLengthBytes()
    t = texts(35, 1).reshape(7, 5)
    mk("string", t, U, chunks=(3, 2))
    record("vlen.string", st, "string")
    # missing chunks read as the fill value
    part = [np.s_[0:3, 0:2], np.s_[6:7, 4:5]]
    mk("string_fill", t, U, chunks=(3, 2), fill_value="zé", write=part)
    record("vlen.string_fill", st, "string_fill")
    mk("string_nofill", t, U, chunks=(3, 2), write=part)
    record("vlen.string_nofill", st, "string_nofill")
    # fill values zarr-python 3 reads as str() of a JSON number (zarr-python 2 wrote ints)
    for name, fv in [("string_fill_int", 0), ("string_fill_float", 1.5)]:
        mk(name, t, U, chunks=(3, 2), write=part)
        patch(st, name, fill_value=fv)
        record(f"vlen.{name}", st, name)
    # uncompressed, gzip, blosc after vlen-utf8
    mk("string_raw", t, U, chunks=(4, 4), compressors=None)
    record("vlen.string_raw", st, "string_raw")
    mk("string_gzip_crc", t, U, chunks=(4, 4), compressors=[zc.GzipCodec(level=1), zc.Crc32cCodec()])
    record("vlen.string_gzip_crc", st, "string_gzip_crc")
    # sharded: inner chunks (2, 2) in shards (4, 4); some inner chunks and a shard left empty
    mk("string_sharded", t, U, chunks=(2, 2), shards=(4, 4), write=[np.s_[0:1, 0:3], np.s_[4:7, 4:5], np.s_[2:3, 4:5]])
    record("vlen.string_sharded", st, "string_sharded")
    a = g.create_array("string_shard_start", shape=t.shape, dtype=U, chunks=(4, 4), fill_value="-",
                       serializer=zc.ShardingCodec(chunk_shape=(2, 2), codecs=[zc.VLenUTF8Codec(), zc.GzipCodec(level=1)],
                                                   index_location="start"),
                       compressors=None)
    a[1:6, 1:4] = t[1:6, 1:4]
    record("vlen.string_shard_start", st, "string_shard_start")
    # one dimension, 0-d
    mk("string_1d", texts(11, 2), U, chunks=(4,))
    record("vlen.string_1d", st, "string_1d")
    mk("string_0d", np.array("scalaire é", dtype=object), U, chunks=())
    record("vlen.string_0d", st, "string_0d")
    b = blobs(35, 3).reshape(7, 5)
    mk("bytes", b, B, chunks=(3, 2))
    record("vlen.bytes", st, "bytes")
    mk("bytes_fill", b, B, chunks=(3, 2), fill_value=b"\x00ab", write=part)
    record("vlen.bytes_fill", st, "bytes_fill")
    mk("bytes_sharded", b, B, chunks=(2, 2), shards=(4, 4), write=[np.s_[0:2, 0:2], np.s_[5:7, 3:5]])
    record("vlen.bytes_sharded", st, "bytes_sharded")


def codecs():
    st = "codecs.zarr"
    d = values((9, 10), "int32")
    f = values((9, 10), "float64")
    arr(st, "none", d, chunks=(4, 3), compressors=None)
    arr(st, "gzip", d, chunks=(4, 3), compressors=zc.GzipCodec(level=6))
    arr(st, "zstd", d, chunks=(4, 3), compressors=zc.ZstdCodec(level=3))
    arr(st, "zstd_checksum", f, chunks=(4, 3), compressors=zc.ZstdCodec(level=1, checksum=True))
    for cname, shuffle in [("lz4", "shuffle"), ("zstd", "bitshuffle"), ("blosclz", "noshuffle"),
                           ("zlib", "shuffle"), ("lz4hc", "noshuffle")]:
        arr(st, f"blosc_{cname}_{shuffle}", f, chunks=(4, 3),
            compressors=zc.BloscCodec(cname=cname, clevel=5, shuffle=shuffle, typesize=8, blocksize=0))
    arr(st, "blosc_blocksize", f, chunks=(5, 5),
        compressors=zc.BloscCodec(cname="lz4", clevel=9, shuffle="shuffle", typesize=8, blocksize=64))
    arr(st, "crc32c", d, chunks=(4, 3), compressors=zc.Crc32cCodec())
    arr(st, "gzip_crc32c", d, chunks=(4, 3), compressors=[zc.GzipCodec(level=1), zc.Crc32cCodec()])
    arr(st, "transpose", d, chunks=(4, 3), filters=[zc.TransposeCodec(order=(1, 0))], compressors=None)
    d3 = values((5, 6, 7), "uint16")
    arr(st, "transpose3", d3, chunks=(2, 4, 3), filters=[zc.TransposeCodec(order=(2, 0, 1))],
        compressors=zc.ZstdCodec(level=1))
    arr(st, "combo", f, chunks=(4, 3), filters=[zc.TransposeCodec(order=(1, 0))],
        serializer=zc.BytesCodec(endian="big"), compressors=[zc.GzipCodec(level=1), zc.Crc32cCodec()])
    arr(st, "scalar", np.array(42.5, dtype="float32"), chunks=(), compressors=None)
    arr(st, "one_d", values((13,), "uint8"), chunks=(5,), compressors=zc.ZstdCodec(level=1))


def keys():
    st = "keys.zarr"
    d = values((5, 4, 3), "int16")
    arr(st, "default_slash", d, chunks=(2, 3, 2), chunk_key_encoding={"name": "default", "separator": "/"})
    arr(st, "default_dot", d, chunks=(2, 3, 2), chunk_key_encoding={"name": "default", "separator": "."})
    arr(st, "v2_dot", d, chunks=(2, 3, 2), chunk_key_encoding={"name": "v2", "separator": "."})
    arr(st, "v2_slash", d, chunks=(2, 3, 2), chunk_key_encoding={"name": "v2", "separator": "/"})


def fills():
    st = "fill.zarr"
    # only the first chunk row is written: the rest reads as the fill value
    part = [np.s_[0:2, :]]
    arr(st, "nan", values((5, 4), "float32"), chunks=(2, 2), fill_value=np.nan, write=part, compressors=None)
    arr(st, "inf", values((5, 4), "float64"), chunks=(2, 2), fill_value=np.inf, write=part, compressors=None)
    arr(st, "ninf", values((5, 4), "float16"), chunks=(2, 2), fill_value=-np.inf, write=part, compressors=None)
    arr(st, "int", values((5, 4), "int16"), chunks=(2, 2), fill_value=-5, write=part, compressors=None)
    arr(st, "uint64max", values((5, 4), "uint64"), chunks=(2, 2), fill_value=2**64 - 1, write=part, compressors=None)
    arr(st, "bool", values((5, 4), "bool"), chunks=(2, 2), fill_value=True, write=part, compressors=None)
    arr(st, "complex", values((5, 4), "complex128"), chunks=(2, 2), fill_value=1.5 - 2j, write=part, compressors=None)
    arr(st, "float", values((5, 4), "float64"), chunks=(2, 2), fill_value=0.1, write=part, compressors=None)
    arr(st, "U", values((5, 4), "U2"), chunks=(2, 2), fill_value="zé", write=part, compressors=None)
    arr(st, "S", values((5, 4), "S3"), chunks=(2, 2), fill_value=b"ab", write=part, compressors=None)
    # spellings zarr-python reads but writes differently: patch zarr.json, then record what it reads
    for name, dt, fv in [("hex_f32", "float32", "0x7fc00001"), ("hex_f64", "float64", "0xfff0000000000001"),
                         ("hex_f16", "float16", "0x7e00"), ("complex_nan", "complex64", ["NaN", "-Infinity"]),
                         ("int_as_float", "int32", 7.0)]:
        g = zarr.open_group(os.path.join(STORES, st), mode="a", zarr_format=3)
        a = g.create_array(name, shape=(5, 4), dtype=dt, chunks=(2, 2), compressors=None)
        a[0:2, :] = values((2, 4), dt)
        patch(st, name, fill_value=fv)
        record(f"fill.{name}", st, name)


def sharded():
    st = "sharded.zarr"
    f = values((10, 9), "float32")
    arr(st, "end", f, chunks=(2, 3), shards=(4, 6), compressors=zc.ZstdCodec(level=1))
    # index at the start, gzip inside
    g = zarr.open_group(os.path.join(STORES, st), mode="a", zarr_format=3)
    for name, loc in [("start", "start"), ("end_explicit", "end")]:
        a = g.create_array(name, shape=(10, 9), dtype="float32", chunks=(4, 6),
                           serializer=zc.ShardingCodec(chunk_shape=(2, 3), codecs=[zc.BytesCodec(), zc.GzipCodec(level=1)],
                                                       index_location=loc),
                           compressors=None, fill_value=-1.0)
        a[...] = f
        record(f"sharded.{name}", st, name)
    # empty inner chunks (only some written) and empty shards, fill value NaN
    arr(st, "sparse", f, chunks=(2, 3), shards=(4, 6), fill_value=np.nan,
        write=[np.s_[0:1, 0:2], np.s_[5:6, 7:8], np.s_[9:10, 0:9]], compressors=None)
    # inner transpose + big endian + crc32c; uneven edge shards; 3-d
    d3 = values((7, 5, 9), "int64")
    a = g.create_array("inner_codecs", shape=d3.shape, dtype="int64", chunks=(4, 4, 6),
                       serializer=zc.ShardingCodec(chunk_shape=(2, 2, 3),
                                                   codecs=[zc.TransposeCodec(order=(2, 1, 0)), zc.BytesCodec(endian="big"),
                                                           zc.Crc32cCodec()],
                                                   index_codecs=[zc.BytesCodec(), zc.Crc32cCodec()],
                                                   index_location="start"),
                       compressors=None)
    a[...] = d3
    record("sharded.inner_codecs", st, "inner_codecs")
    # index without crc32c, blosc outside the shard (a bytes->bytes codec after sharding)
    a = g.create_array("outer_blosc", shape=(10, 9), dtype="float32", chunks=(5, 9),
                       serializer=zc.ShardingCodec(chunk_shape=(5, 3), codecs=[zc.BytesCodec()],
                                                   index_codecs=[zc.BytesCodec()]),
                       compressors=zc.BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=4))
    a[...] = f
    record("sharded.outer_blosc", st, "outer_blosc")
    # nested sharding
    a = g.create_array("nested", shape=(8, 8), dtype="uint16", chunks=(8, 8),
                       serializer=zc.ShardingCodec(chunk_shape=(4, 4), codecs=[
                           zc.ShardingCodec(chunk_shape=(2, 2), codecs=[zc.BytesCodec()])]),
                       compressors=None)
    a[...] = values((8, 8), "uint16")
    record("sharded.nested", st, "nested")
    # a larger one for the request-counting test: 4 shards of 4x4 inner chunks of 8x8
    arr(st, "counting", values((64, 64), "uint16"), chunks=(8, 8), shards=(32, 32), compressors=zc.ZstdCodec(level=1))


def hierarchy(consolidate):
    st = "consolidated.zarr" if consolidate else "hier.zarr"
    path = os.path.join(STORES, st)
    root = zarr.open_group(path, mode="w", zarr_format=3, attributes={"title": "root", "n": 3, "nan": "NaN"})
    g = root.create_group("g", attributes={"kind": "group"})
    a = g.create_array("a", shape=(6, 4), dtype="int32", chunks=(4, 4), dimension_names=["y", "x"],
                       attributes={"units": "m", "list": [1, 2.5, None]})
    a[...] = values((6, 4), "int32")
    g.create_group("empty")
    deep = root.create_array("i/j/k", shape=(3,), dtype="uint8", chunks=(2,))
    deep[...] = np.array([1, 2, 3], dtype="uint8")
    # make i and i/j implicit groups (no zarr.json), as the v3 spec allows
    for p in ["i", "i/j"]:
        os.remove(os.path.join(path, p, "zarr.json"))
    s = root.create_array("s", shape=(2,), dtype=VariableLengthUTF8(), chunks=(2,), dimension_names=["n"])
    s[...] = np.array(["x", "y"], dtype=object)
    if consolidate:
        zarr.consolidate_metadata(path)
    record(f"{st.removesuffix('.zarr')}.g.a", st, "g/a")
    record(f"{st.removesuffix('.zarr')}.i.j.k", st, "i/j/k")
    record(f"{st.removesuffix('.zarr')}.s", st, "s")


def root_array():
    st = "root_array.zarr"
    a = zarr.create_array(os.path.join(STORES, st), shape=(4, 3), dtype="float64", chunks=(3, 2),
                          attributes={"a": 1})
    a[...] = values((4, 3), "float64")
    record("root_array", st, "")


def main():
    # only what this script writes: written/ is nd's (crates/nd-zarr/examples/write_testdata_v3.rs)
    shutil.rmtree(STORES, ignore_errors=True)
    shutil.rmtree(EXPECTED, ignore_errors=True)
    os.makedirs(STORES)
    os.makedirs(EXPECTED)
    dtypes()
    codecs()
    keys()
    fills()
    sharded()
    vlen()
    hierarchy(False)
    hierarchy(True)
    root_array()
    hier = {}
    for st in ["hier.zarr", "consolidated.zarr"]:
        g = zarr.open_group(os.path.join(STORES, st), mode="r")
        hier[st] = {
            "groups": sorted(p for p, n in g.members(max_depth=None) if isinstance(n, zarr.Group)),
            "arrays": sorted(p for p, n in g.members(max_depth=None) if isinstance(n, zarr.Array)),
            "root_attributes": dict(g.attrs),
            "g/a": {"attributes": dict(g["g/a"].attrs), "dimension_names": list(g["g/a"].metadata.dimension_names)},
        }
    manifest = {"zarr": zarr.__version__, "numpy": np.__version__, "cases": CASES, "hierarchies": hier}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"{len(CASES)} cases")


if __name__ == "__main__":
    main()
