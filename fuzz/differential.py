#!/usr/bin/env python3
"""Differential fuzzing: mutate testdata files and compare nd with the reference libraries.

    python fuzz/differential.py --nd target/release/nd [--format fits,asdf,zarr|zarr3|all]
        [--count N] [--seed S] [--keep DIR] [--report out.json]
    python fuzz/differential.py --merge a.json b.json --report all.json   # runs of other seeds
    python fuzz/differential.py --classes DIR/cases.jsonl                 # disagreement classes
    python fuzz/differential.py --replay DIR    # the kept files again, after a fix: verdicts now
    python fuzz/differential.py --format zarr3 --sources hier.zarr dtypes.zarr ...  # only those sources

`zarr3` (Zarr v3 stores, mutated `zarr.json` and chunk/shard files) needs zarr-python 3: run
that format with the interpreter of testdata/requirements-zarr3.txt. Several runs (formats, or
one format split between seeds) can go in parallel into one --keep directory; --merge adds
their reports up.

For each format, N mutated files are made from the files in testdata/ by structure-aware
mutations (header cards, NAXISn, BITPIX, TFORMn, PCOUNT/THEAP, scaling keys, tile keys; ASDF
YAML keys, block headers and the block index; `.zarray` keys, `zarr.json` keys and codec
configurations, chunk and shard bytes; plus truncations and byte flips everywhere). Each file is
read by nd (`nd info --json`, then `nd export` of every listed array) and by the reference library (astropy, python asdf, zarr-python
2 or 3), and every array gets one verdict:

- `equal`: both read it, same values (NaN equal to NaN, same shape);
- `both-refuse`: neither reads it;
- `nd-refuses`: the reference reads it, nd refuses (nd stricter);
- `ref-refuses`: nd reads it, the reference refuses (nd more lenient);
- `differ`: both read it with different values or shapes (the serious one);
- `only-nd` / `only-ref`: listed by one reader alone;
- `not-compared`: listed by both but not read: beyond the MAX_ARRAYS read per file (the mutated
  Zarr array is always read first), or with `--mutated-only` an array the mutation did not
  touch; counted so that nothing is left out silently.

A file the opener refuses counts once, as an array named `<file>`. The summary prints counts per
verdict and per mutation; disagreeing cases are copied to --keep with a JSON line describing
them, for triage in spec-notes/differential.md. The script needs the testdata venv
(testdata/requirements.txt) and a built nd binary; it talks to no network.
"""

import argparse
import functools
import io
import json
import os
import pickle
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TESTDATA = HERE.parent / "testdata"
# Seconds per reader and file; a reader that takes longer counts as refusing (astropy loops over
# NAXIS before it looks at the NAXISn cards, so a mutated NAXIS = 2**31 takes it hours).
TIMEOUT = 5
MAX_ARRAYS = 24  # arrays compared per file (tables with many columns; the rest count `not-compared`)
MAX_BYTES = 64 << 20  # inputs larger than this are skipped as mutation sources


# ---------------------------------------------------------------- mutations


def rand_int(rng):
    return rng.choice(
        [0, 1, -1, 2, 7, 8, 16, 255, 256, 1023, 2880, 65535, 2**31 - 1, 2**31, 2**32 + 1, 2**40, -(2**31),
         10**12, rng.randint(-100, 100), rng.randint(0, 1 << 20)]
    )


def flip_bytes(rng, data, n=None):
    b = bytearray(data)
    if not b:
        return bytes(b), "flip(empty)"
    n = n or rng.randint(1, 8)
    for _ in range(n):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)
    return bytes(b), f"flip({n})"


def truncate(rng, data):
    if len(data) < 2:
        return data, "truncate(none)"
    cut = rng.choice([rng.randrange(len(data)), len(data) - rng.randint(1, 2880), len(data) // 2])
    cut = max(0, min(len(data) - 1, cut))
    return data[:cut], "truncate"


# FITS: the header is 80-character cards in 2880-byte blocks; mutate cards by keyword.
FITS_KEYS = [
    "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT",
    "TFIELDS", "TFORM1", "TFORM2", "TFORM3", "TTYPE1", "TDIM1", "TDIM2", "THEAP", "TSCAL1", "TZERO1", "TNULL1",
    "TBCOL1", "TBCOL2", "BSCALE", "BZERO", "BLANK", "ZIMAGE", "ZCMPTYPE", "ZBITPIX", "ZNAXIS", "ZNAXIS1",
    "ZNAXIS2", "ZTILE1", "ZTILE2", "ZQUANTIZ", "ZDITHER0", "ZNAME1", "ZVAL1", "ZBLANK", "ZSCALE", "ZZERO",
    "EXTNAME", "END",
]
TFORMS = ["1E", "1D", "1J", "1I", "1K", "1B", "1L", "1X", "8X", "10A", "2E", "1PB", "1PJ(10)", "1QD", "0E",
          "E", "3C", "1M", "Z", "1PE(999999999)", "100000000000D", "A3", "I10", "F8.3", "E12.4"]


def fits_cards(data):
    """(offset, keyword) of every card of every header, by walking blocks as astropy would."""
    out = []
    for off in range(0, len(data) - 79, 80):
        kw = data[off:off + 8].decode("ascii", "replace").rstrip()
        if kw in FITS_KEYS or re.fullmatch(r"(T|Z)[A-Z]+\d+|NAXIS\d+|BITPIX|EXTNAME", kw):
            out.append((off, kw))
    return out


def fits_value_for(rng, kw):
    if kw.startswith("TFORM"):
        return f"'{rng.choice(TFORMS)}'"
    if kw in ("ZCMPTYPE",):
        return f"'{rng.choice(['RICE_1', 'GZIP_1', 'GZIP_2', 'PLIO_1', 'HCOMPRESS_1', 'NOCOMPRESS', 'BOGUS'])}'"
    if kw in ("ZQUANTIZ",):
        return f"'{rng.choice(['NO_DITHER', 'SUBTRACTIVE_DITHER_1', 'SUBTRACTIVE_DITHER_2', 'X'])}'"
    if kw in ("XTENSION",):
        return f"'{rng.choice(['IMAGE   ', 'BINTABLE', 'TABLE   ', 'A3DTABLE', 'FOO'])}'"
    if kw in ("BITPIX", "ZBITPIX"):
        return str(rng.choice([8, 16, 32, 64, -32, -64, 0, 12, -16]))
    if kw in ("SIMPLE", "EXTEND", "ZIMAGE"):
        return rng.choice(["T", "F", "1", "'T'"])
    if kw in ("BSCALE", "BZERO", "TSCAL1", "TZERO1", "ZSCALE", "ZZERO"):
        return rng.choice(["0.0", "1.0", "-1.0", "32768", "2147483648", "9223372036854775808", "1E300",
                           "NAN", "'x'", "1.5"])
    if kw.startswith("TDIM"):
        return rng.choice(["'(2,3)'", "'(0)'", "'(100000,100000)'", "'(2,'", "'()'", "'(1,1,1)'"])
    if kw == "END":
        return None
    return str(rand_int(rng))


def mutate_fits(rng, data):
    cards = fits_cards(data)
    choice = rng.random()
    if not cards or choice < 0.12:
        return truncate(rng, data) if rng.random() < 0.5 else flip_bytes(rng, data)
    off, kw = rng.choice(cards)
    b = bytearray(data)
    what = rng.random()
    if what < 0.6:
        val = fits_value_for(rng, kw)
        if val is None:  # END: blank it, the header then runs on
            b[off:off + 80] = b" " * 80
            return bytes(b), "END removed"
        card = f"{kw:<8}= {val:>20}".encode()[:80].ljust(80)
        b[off:off + 80] = card
        return bytes(b), f"{kw}={val}"
    if what < 0.75:  # delete the card (shift the rest of its block up, blank at the end)
        block_end = (off // 2880 + 1) * 2880
        b[off:block_end] = b[off + 80:block_end] + b" " * 80
        return bytes(b), f"{kw} deleted"
    if what < 0.85:  # duplicate the card over the next one
        if off + 160 <= len(b):
            b[off + 80:off + 160] = b[off:off + 80]
        return bytes(b), f"{kw} duplicated"
    if what < 0.93:  # garbage in the value field
        b[off + 10:off + 30] = bytes(rng.randrange(32, 127) for _ in range(20))
        return bytes(b), f"{kw} garbage value"
    b[off + 8:off + 10] = rng.choice([b"  ", b"=x", b"= "])
    return bytes(b), f"{kw} value indicator"


# ASDF: YAML text before the first block, then blocks (magic, header) and an optional index.
ASDF_KEYS = ["shape", "datatype", "byteorder", "source", "offset", "strides", "compression", "data", "mask",
             "chunks", "fill_value", "order", "dtype"]
BLOCK_MAGIC = b"\xd3BLK"


def mutate_asdf(rng, data):
    r = rng.random()
    blocks = [m.start() for m in re.finditer(re.escape(BLOCK_MAGIC), data)]
    if r < 0.1:
        return truncate(rng, data)
    if r < 0.45 and blocks:
        start = rng.choice(blocks)
        b = bytearray(data)
        # header: magic(4) header_size(2) flags(4) compression(4) allocated(8) used(8) data(8) checksum(16)
        field = rng.choice([("header_size", 4, 2), ("flags", 6, 4), ("compression", 10, 4), ("allocated", 14, 8),
                            ("used", 22, 8), ("data_size", 30, 8), ("checksum", 38, 16), ("magic", 0, 4)])
        name, at, width = field
        if start + at + width <= len(b):
            if name == "compression":
                val = rng.choice([b"\0\0\0\0", b"zlib", b"bzp2", b"lz4\0", b"zstd", b"xxxx"])
            elif name == "checksum":
                val = bytes(rng.randrange(256) for _ in range(width))
            else:
                val = (rand_int(rng) & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
            b[start + at:start + at + width] = val
        return bytes(b), f"block.{name}"
    # YAML: change the value after one of the ndarray keys
    text_end = blocks[0] if blocks else len(data)
    head = data[:text_end]
    keys = [m for m in re.finditer(rb"(?m)^(\s*)(" + b"|".join(k.encode() for k in ASDF_KEYS) + rb"): ?(.*)$", head)]
    if not keys:
        return flip_bytes(rng, data)
    m = rng.choice(keys)
    key = m.group(2).decode()
    if key == "shape":
        val = rng.choice(["[0]", "[-1]", "[1000000000000]", "[2, 3]", "[]", "[3, '*']", "['*']", "7", "[1.5]"])
    elif key in ("datatype", "dtype"):
        val = rng.choice(["float32", "int8", "uint64", "complex128", "bool8", "[ucs4, 4]", "[ascii, 0]", "foo",
                          "float16", "<f8", "[{name: a, datatype: int16}]"])
    elif key == "byteorder":
        val = rng.choice(["big", "little", "middle", "'>'"])
    elif key in ("source",):
        val = str(rng.choice([0, 1, 2, -1, 99, "'missing.asdf'", "'file:///etc/passwd'", "'../../x.asdf'"]))
    elif key in ("offset",):
        val = str(rand_int(rng))
    elif key == "strides":
        val = rng.choice(["[0]", "[-8]", "[8, 8]", "[1]", "[4000000000]"])
    else:
        val = rng.choice(["null", "0", "[]", "{}", "&a [*a]", "!core/ndarray-1.0.0 {}", "'x'"])
    new = head[:m.start(3)] + val.encode() + head[m.end(3):]
    return new + data[text_end:], f"yaml.{key}={val}"


# Zarr v2: a store directory; mutate `.zarray` keys or chunk files.
def mutated_array(store, meta_file):
    """The selector of the array whose metadata file is `meta_file`, as nd and the reference
    name it (`/` for a root array): compared first, whatever MAX_ARRAYS leaves out."""
    rel = meta_file.parent.relative_to(store).as_posix()
    return "/" if rel == "." else rel


def mutate_zarr(rng, store, target):
    """Mutate one `.zarray` key or chunk file of `store`; the array's selector goes to `target`."""
    arrays = sorted(store.rglob(".zarray"))  # sorted: readdir order differs between file systems
    if not arrays:
        return "no arrays"
    za = rng.choice(arrays)
    target.append(mutated_array(store, za))
    chunks = sorted(p for p in za.parent.iterdir() if p.is_file() and not p.name.startswith("."))
    r = rng.random()
    if r < 0.5 or not chunks:
        try:
            meta = json.loads(za.read_text())
        except ValueError:
            za.write_bytes(flip_bytes(rng, za.read_bytes())[0])
            return ".zarray flipped"
        key = rng.choice(["shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters",
                          "dimension_separator", "zarr_format"])
        if key in ("shape", "chunks"):
            n = len(meta.get(key) or [1])
            val = rng.choice([[rand_int(rng)] * n, [0] * n, [-1] * n, [1] * (n + 1), [], None, "x",
                              [rng.randint(1, 40) for _ in range(n)]])
        elif key == "dtype":
            val = rng.choice(["<f4", ">i2", "|u1", "<f8", "|b1", "<c16", "|S4", "<U3", "<M8[ns]", "|O", "<f2",
                              "x", [["a", "<i4"]], 7])
        elif key == "compressor":
            val = rng.choice([None, {"id": "zlib", "level": 1}, {"id": "blosc", "cname": "lz4", "clevel": 5,
                                                                 "shuffle": 1, "blocksize": 0},
                              {"id": "zstd", "level": 3}, {"id": "nope"}, {"id": "lz4"}, "x"])
        elif key == "fill_value":
            val = rng.choice([0, None, "NaN", "Infinity", 1.5, "AAAA", -1, 2**70, [1]])
        elif key == "order":
            val = rng.choice(["C", "F", "X"])
        elif key == "filters":
            val = rng.choice([None, [{"id": "delta", "dtype": "<i4"}], [{"id": "shuffle", "elementsize": 4}], "x"])
        elif key == "dimension_separator":
            val = rng.choice([".", "/", "x", None])
        else:
            val = rng.choice([2, 3, 1, "2"])
        meta[key] = val
        za.write_text(json.dumps(meta))
        return f".zarray.{key}={json.dumps(val)}"
    return mutate_chunk_file(rng, chunks, r, (0.7, 0.85, 0.93))


def mutate_chunk_file(rng, chunks, r, cuts):
    """Flip, truncate, remove or extend one of the `chunks` files, by where `r` (uniform in [0, 1))
    falls among `cuts` = (flip below, truncate below, remove below; extend above)."""
    c = rng.choice(chunks)
    data = c.read_bytes()
    if r < cuts[0]:
        c.write_bytes(flip_bytes(rng, data)[0])
        return "chunk flipped"
    if r < cuts[1]:
        c.write_bytes(truncate(rng, data)[0])
        return "chunk truncated"
    if r < cuts[2]:
        c.unlink()
        return "chunk removed"
    c.write_bytes(data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))))
    return "chunk extended"


def mutate_zarr3(rng, store, target):
    """Zarr v3: mutate one array's `zarr.json` (keys, codec configurations) or a chunk/shard file;
    the array's selector goes to `target`."""
    arrays = sorted(p for p in store.rglob("zarr.json") if '"node_type": "array"' in p.read_text(errors="replace"))
    if not arrays:
        return "no arrays"
    za = rng.choice(arrays)
    target.append(mutated_array(store, za))
    chunks = sorted(p for p in za.parent.rglob("*") if p.is_file() and p.name != "zarr.json")  # no child nodes
    r = rng.random()
    if r < 0.55 or not chunks:
        meta = json.loads(za.read_text())
        key = rng.choice(["shape", "chunk_shape", "data_type", "fill_value", "codecs", "codec_config",
                          "chunk_key_encoding", "zarr_format", "dimension_names", "storage_transformers",
                          "node_type", "chunk_grid"])
        if key in ("shape", "chunk_shape"):
            n = len(meta.get("shape") or [1])
            val = rng.choice([[rand_int(rng)] * n, [0] * n, [-1] * n, [1] * (n + 1), [], None, "x",
                              [rng.randint(1, 40) for _ in range(n)]])
            if key == "shape":
                meta["shape"] = val
            else:
                meta.setdefault("chunk_grid", {}).setdefault("configuration", {})["chunk_shape"] = val
        elif key == "data_type":
            meta[key] = val = rng.choice(["float32", "int16", "uint8", "float64", "bool", "complex128", "int64",
                                          "float16", "string", "r16", "r0", "foo", 7, {"name": "int32"}])
        elif key == "fill_value":
            meta[key] = val = rng.choice([0, None, "NaN", "Infinity", 1.5, "AAAA", -1, 2**70, [1, 2], True,
                                          "0x7fc00000", ""])
        elif key == "codecs":
            val = rng.choice([[], [{"name": "bytes"}], [{"name": "bytes", "configuration": {"endian": "big"}}],
                              [{"name": "nope"}], [{"name": "gzip", "configuration": {"level": 1}}],
                              [{"name": "transpose", "configuration": {"order": [0]}}, {"name": "bytes"}],
                              (meta.get("codecs") or [])[::-1], (meta.get("codecs") or [])[1:], "x"])
            meta[key] = val
        elif key == "codec_config":
            codecs = meta.get("codecs") or []
            if not codecs:
                return "no codecs"
            c = rng.choice(codecs)
            conf = c.setdefault("configuration", {})
            k = rng.choice(sorted(conf) or ["x"])
            conf[k] = val = rng.choice([0, -1, 1, 2**40, "x", None, [], [0, 0], {"name": "bytes"}])
            key = f"codecs.{c.get('name')}.{k}"
        elif key == "chunk_key_encoding":
            meta[key] = val = rng.choice([{"name": "default", "configuration": {"separator": "."}},
                                          {"name": "v2", "configuration": {"separator": "."}},
                                          {"name": "default"}, {"name": "x"}, None])
        elif key == "zarr_format":
            meta[key] = val = rng.choice([2, 4, "3"])
        elif key == "dimension_names":
            meta[key] = val = rng.choice([None, ["a"], "x", [1, 2, 3]])
        elif key == "storage_transformers":
            meta[key] = val = rng.choice([[], [{"name": "x"}], None])
        elif key == "node_type":
            meta[key] = val = rng.choice(["group", "x"])
        else:
            meta[key] = val = rng.choice([{"name": "rectangular"}, {"name": "regular"}, None])
        za.write_text(json.dumps(meta))
        return f"zarr.json.{key}={json.dumps(val)}"
    return mutate_chunk_file(rng, chunks, r, (0.75, 0.87, 0.94))


# ---------------------------------------------------------------- readers


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def with_timeout(fn, *args):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    try:
        return fn(*args)
    finally:
        signal.alarm(0)


class Reading(dict):
    """{selector: ndarray or Exception} of one reader, with the warnings it gave on the file and
    every selector it listed (`listed`)."""

    def __init__(self, warnings=()):
        super().__init__()
        self.warnings = list(warnings)
        self.listed = set()


def named_error(name, message):
    """An exception carrying another's class name and message (across the pipe from a child)."""
    return type(name, (Exception,), {})(message)


def isolated(fn, path):
    """fn(path) in a forked child, under the timeout: a reference library that crashes the
    interpreter (astropy's compression module on a corrupt tile has aborted with `malloc():
    invalid next size`) ends as a `ReferenceCrash` exception, not as the end of the run."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            res = with_timeout(fn, path)
            if isinstance(res, dict):  # exceptions as (name, message): not every class pickles
                res = {k: ("error", type(v).__name__, str(v)) if isinstance(v, Exception) else v
                       for k, v in res.items()}
            payload = pickle.dumps(("ok", res))
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            payload = pickle.dumps(("err", type(e).__name__, str(e)))
        with os.fdopen(w, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        return named_error("ReferenceCrash", f"the reference reader died (signal {sig}, status {status})")
    msg = pickle.loads(data)
    if msg[0] == "ok":
        if isinstance(msg[1], dict):
            return {k: named_error(v[1], v[2]) if isinstance(v, tuple) else v for k, v in msg[1].items()}
        return msg[1]
    return named_error(msg[1], msg[2])


class NotRead:
    """The value of an array a reader listed and was not asked to read (`--mutated-only`: an
    array the mutation did not touch; beyond MAX_ARRAYS): counted `not-compared`."""

    def __repr__(self):
        return "not read"


NOT_READ = NotRead()


def nd_list(nd, path):
    """nd's listing of a file: (Reading without values, [(key, selector)]), or an Exception for
    the whole file. FITS columns are keyed by position (`HDU/#k`)."""
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    try:
        p = subprocess.run([nd, "info", "--json", str(path)], capture_output=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return Timeout("nd info timed out")
    if p.returncode != 0:
        if p.returncode not in (1, 2):
            return RuntimeError(f"nd info crashed: exit {p.returncode}: {p.stderr[-300:]!r}")
        return ValueError(p.stderr.decode(errors="replace").strip())
    info = json.loads(p.stdout)
    out = Reading(warnings=[str(w) for w in info.get("warnings", [])]
                  + [f"{u.get('path')}: {u.get('reason')} (its data is not listed)" for u in info.get("unreadable", [])])
    # FITS columns are compared by position (a mutated TTYPEn renames or duplicates names):
    # "arrays" lists the fixed-width columns in table order, "variable_columns" the others
    # with their position
    variable = defaultdict(set)
    keyed = []
    for v in info.get("variable_columns", []):
        hdu = v["path"].split("/")[0]
        variable[hdu].add(v["index"])
        keyed.append((f"{hdu}/#{v['index']}", "vla:" + v["path"]))
    columns = Counter()
    for entry in info["arrays"]:
        sel = key = entry["path"]
        if entry.get("kind") == "column" and info.get("format") == "fits":
            hdu = sel.split("/")[0]
            while columns[hdu] in variable[hdu]:
                columns[hdu] += 1
            key = f"{hdu}/#{columns[hdu]}"
            columns[hdu] += 1
        keyed.append((key, sel))
    out.listed.update(k for k, _ in keyed)
    return out, keyed


def nd_read(nd, path, first=(), only=None):
    """{selector: ndarray or Exception} as nd reads it, or an Exception for the whole file. The
    selectors in `first` (the mutated array) are read before the others, within MAX_ARRAYS;
    with `only` (a set of keys), just those are read, the others are NOT_READ."""
    listing = nd_list(nd, path)
    if isinstance(listing, Exception):
        return listing
    return read_listed(nd, path, listing, first, only)


def read_listed(nd, path, listing, first=(), only=None):
    """The values of an `nd_list` listing (as `nd_read`)."""
    out, keyed = listing
    keyed.sort(key=lambda ks: ks[0] not in first)  # stable: the mutated array first
    for i, (key, sel) in enumerate(keyed):
        read = key in only if only is not None else i < MAX_ARRAYS
        out[key] = nd_export(nd, path, sel) if read else NOT_READ
    return out


def read_both(args, fmt, path, target):
    """(nd's reading, the reference's reading) of one file. With --mutated-only (Zarr), only the
    mutated array `target` is read by both, and any array one reader lists and the other does
    not; the arrays the mutation did not touch are listed by both and counted `not-compared`."""
    if not (args.mutated_only and target and fmt in ("zarr", "zarr3")):
        return nd_read(args.nd, path, target), isolated(REF[fmt], path)
    want = set(target)
    listing = nd_list(args.nd, path)
    if isinstance(listing, Exception):  # nd refuses the file: the reference reads all it lists
        return listing, isolated(functools.partial(REF[fmt], want=want, known=set()), path)
    ref = isolated(functools.partial(REF[fmt], want=want, known=listing[0].listed), path)
    only = want | (listing[0].listed - set(ref)) if isinstance(ref, dict) else want
    return read_listed(args.nd, path, listing, target, only), ref


def object_array(cells):
    """A 1-d object array of the arrays `cells` (numpy would stack equal-shaped ones)."""
    out = np.empty(len(cells), dtype=object)
    for i, c in enumerate(cells):
        out[i] = np.asarray(c)
    return out


def nd_export_variable(nd, path, sel):
    """A FITS variable-length column as `nd export` writes it (`.npz`, member `arr_I` row I's
    array), as an object array like astropy's, or the Exception describing why not."""
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    with tempfile.TemporaryDirectory() as d:
        dst = Path(d) / "v.npz"
        try:
            q = subprocess.run([nd, "export", str(path), sel, "-o", str(dst)], capture_output=True,
                               timeout=TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            return Timeout("nd export timed out")
        if q.returncode in (1, 2):
            return ValueError(q.stderr.decode(errors="replace").strip())
        if q.returncode != 0:
            return RuntimeError(f"nd export crashed: exit {q.returncode}: {q.stderr[-300:]!r}")
        try:
            with np.load(dst, allow_pickle=False) as f:
                return object_array([f[f"arr_{i}"] for i in range(len(f.files))])
        except Exception as e:  # noqa: BLE001 - an unreadable .npz is nd's bug: keep it
            return RuntimeError(f"nd wrote an unreadable .npz: {e}")


def nd_export(nd, path, sel):
    """One array as `nd export` writes it, or the Exception describing why not."""
    if sel.startswith("vla:"):
        return nd_export_variable(nd, path, sel[4:])
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    try:
        q = subprocess.run([nd, "export", str(path), sel, "-o", "-"], capture_output=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return Timeout("nd export timed out")
    if q.returncode == 0:
        try:
            return np.load(io.BytesIO(q.stdout), allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - an unreadable .npy is nd's bug: keep it
            return RuntimeError(f"nd wrote an unreadable .npy: {e}")
    if q.returncode in (1, 2):
        return ValueError(q.stderr.decode(errors="replace").strip())
    return RuntimeError(f"nd export crashed: exit {q.returncode}: {q.stderr[-300:]!r}")


def fits_ref(path):
    from astropy.io import fits

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
            for i, hdu in enumerate(hdul):
                if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                    try:
                        cols = hdu.columns
                        data = hdu.data
                    except Exception as e:  # noqa: BLE001
                        out[f"{i}/*"] = e
                        continue
                    for k, c in enumerate(cols):  # by position, as nd_read keys them
                        try:
                            v = data.field(k)
                            out[f"{i}/#{k}"] = np.array(v) if v.dtype != object else object_array(v)
                        except Exception as e:  # noqa: BLE001
                            out[f"{i}/#{k}"] = e
                else:
                    try:
                        d = hdu.data
                    except Exception as e:  # noqa: BLE001
                        out[str(i)] = e
                        continue
                    if d is not None:
                        out[str(i)] = np.array(d)
    return out


def asdf_arrays(tree, prefix=""):
    if isinstance(tree, np.ma.MaskedArray):
        yield prefix, tree.data
        yield f"{prefix}/mask", np.ma.getmaskarray(tree)
    elif isinstance(tree, np.ndarray):
        yield prefix, tree
    elif type(tree).__name__ == "Array" and type(tree).__module__.startswith("zarr"):  # asdf-zarr
        try:
            yield prefix, np.asarray(tree[...])
        except Exception as e:  # noqa: BLE001
            yield prefix, e
    elif isinstance(tree, dict) and "core/ndarray-" in str(getattr(tree, "_tag", "")):
        # python asdf could not convert the node (AsdfConversionWarning) and left it a raw dict
        yield prefix, ValueError("python asdf left the ndarray node unconverted")
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from asdf_arrays(v, f"{prefix}/{k}" if prefix else str(k))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from asdf_arrays(v, f"{prefix}/{i}" if prefix else str(i))


def asdf_ref(path):
    import asdf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            return {p: a if isinstance(a, Exception) else np.array(a) for p, a in asdf_arrays(af.tree)}


def wanted(name, want, known):
    """Whether a reference reader reads array `name`: all without `want`; else those in `want`
    (the mutated array) and those nd did not list (`known`), so that a listing difference is
    still judged on values."""
    return want is None or name in want or name not in known


def zarr_ref(path, want=None, known=()):
    import zarr

    out = {}
    path = Path(path)
    # Chunk keys nested in directories without a `dimension_separator` are the legacy
    # NestedDirectoryStore layout, which nd detects and zarr-python must be told.
    nested = any(d.is_dir() and d.name.isdigit() for z in path.rglob(".zarray") for d in z.parent.iterdir())
    store = zarr.NestedDirectoryStore(str(path)) if nested else zarr.DirectoryStore(str(path))
    # nd reads consolidated metadata where a store has it, as xarray's open_zarr does.
    if (path / ".zmetadata").exists():
        node = zarr.open_consolidated(store, mode="r")
    else:
        node = zarr.open(store, mode="r")
    if isinstance(node, zarr.Array):
        items = [("/", node)]  # nd's selector of a store whose root is an array
    else:
        items = []
        node.visititems(lambda name, obj: items.append((name, obj)) if isinstance(obj, zarr.Array) else None)
    for name, arr in items:
        if not wanted(name, want, known):
            out[name] = NOT_READ
            continue
        try:
            v = arr[...]
            # a 0-d `string`/`bytes` array (zarr-python 3) reads as the Python str/bytes itself
            out[name] = np.array(v) if isinstance(v, (str, bytes)) else v
        except Exception as e:  # noqa: BLE001
            out[name] = e
    return out


def zarr3_ref(path, want=None, known=()):
    import zarr

    if not zarr.__version__.startswith("3"):
        raise SystemExit("--format zarr3 needs zarr-python 3 (testdata/requirements-zarr3.txt)")
    out = {}
    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        items = [("/", node)]
    else:
        items = [(name, obj) for name, obj in node.members(max_depth=None) if isinstance(obj, zarr.Array)]
    for name, arr in items:
        if not wanted(name, want, known):
            out[name] = NOT_READ
            continue
        try:
            v = arr[...]
            # a 0-d `string`/`bytes` array (zarr-python 3) reads as the Python str/bytes itself
            out[name] = np.array(v) if isinstance(v, (str, bytes)) else v
        except Exception as e:  # noqa: BLE001
            out[name] = e
    return out


REF = {"fits": fits_ref, "asdf": asdf_ref, "zarr": zarr_ref, "zarr3": zarr3_ref}
FORMATS = ["fits", "asdf", "zarr", "zarr3"]


# ---------------------------------------------------------------- comparison


def fixed_strings(x):
    """numpy 2 StringDType (zarr-python 3's `string`) as `U`, an object array of all `bytes` (its
    `bytes` type) as `S`, widths from the data; anything else unchanged."""
    if x.dtype.kind not in "TO":
        return x
    items = np.asarray(x, dtype=object).reshape(-1).tolist()
    if x.dtype.kind == "T" or all(isinstance(v, str) for v in items):
        return np.array(items, dtype=str).reshape(x.shape)
    if all(isinstance(v, bytes) for v in items):
        return np.array(items, dtype=bytes).reshape(x.shape)
    return x


def same(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.names and b.dtype.names:  # structured: field by field (byte orders may differ)
        return a.dtype.names == b.dtype.names and all(same(a[n], b[n]) for n in a.dtype.names)
    a, b = (fixed_strings(x) for x in (a, b))  # zarr-python 3's StringDType / object arrays of bytes
    if a.dtype.kind in "SU" and b.dtype.kind in "SU":
        # astropy gives FITS strings as str with trailing blanks stripped; nd as the stored bytes
        a, b = (np.char.rstrip(np.char.decode(x, "latin-1") if x.dtype.kind == "S" else x) for x in (a, b))
        return bool(np.array_equal(a, b))
    if a.dtype.kind in "mM" and b.dtype.kind in "mM":  # NaT never equals NaT
        return a.dtype == b.dtype and bool(np.array_equal(a.view("i8"), b.view("i8")))
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        try:
            return bool(np.array_equal(a, b, equal_nan=True))
        except TypeError:
            return bool(np.array_equal(a, b))
    try:
        return bool(np.array_equal(a, b))
    except Exception:  # noqa: BLE001 - incomparable dtypes
        return False


def vla_cell(x):
    """One cell of a variable-length column as an array; astropy gives a `PA` cell as a 1-d
    chararray of single characters (`['a', ' ', 'b']`), nd as one 0-d string: joined here."""
    x = np.asarray(x).view(np.ndarray)
    if x.ndim == 1 and x.dtype.kind in "SU" and x.dtype.itemsize == (1 if x.dtype.kind == "S" else 4):
        text = x.tobytes().decode("latin-1" if x.dtype.kind == "S" else "utf-32-le" if x.dtype.byteorder != ">"
                                  else "utf-32-be")
        return np.asarray(text)
    return x


def verdicts(nd, ref):
    """[(selector, verdict, detail)] for one file."""
    if isinstance(nd, Exception) and isinstance(ref, Exception):
        return [("<file>", "both-refuse", f"nd: {nd} | ref: {type(ref).__name__}: {ref}")]
    if isinstance(nd, Exception):
        if isinstance(nd, RuntimeError):
            return [("<file>", "nd-crash", str(nd))]
        return [("<file>", "nd-refuses", str(nd))]
    if isinstance(ref, Exception) and not nd and getattr(nd, "warnings", None):
        # nd opens the file but lists nothing it can read, and says why: both refuse
        return [("<file>", "both-refuse", f"nd: {nd.warnings[0]} | ref: {type(ref).__name__}: {ref}")]
    if isinstance(ref, Exception):
        # nd reads the file; the reference refuses it whole.
        crashed = [s for s, v in nd.items() if isinstance(v, RuntimeError)]
        if crashed:
            return [(s, "nd-crash", str(nd[s])) for s in crashed]
        return [("<file>", "ref-refuses", f"{type(ref).__name__}: {ref}")]
    out = []
    for sel in sorted(set(nd) | set(ref)):
        a, b = nd.get(sel), ref.get(sel)
        hdu = sel.split("/")[0]
        table_error = ref.get(f"{hdu}/*")  # FITS: the reference could not describe the table's columns
        if isinstance(a, RuntimeError):
            out.append((sel, "nd-crash", str(a)))
        elif (a is NOT_READ or b is NOT_READ) and sel in nd and sel in ref:  # listed by both, not read
            out.append((sel, "not-compared", ""))
        elif sel not in ref:
            if isinstance(table_error, Exception):
                out.append((sel, "ref-refuses", f"{type(table_error).__name__}: {table_error}"))
            elif isinstance(a, Exception):  # listed by nd alone, and nd cannot read it either
                out.append((sel, "both-refuse", ""))
            else:
                out.append((sel, "only-nd", ""))
        elif sel not in nd:
            if sel.endswith("/*") and any(k.startswith(f"{hdu}/") for k in nd):
                continue  # not an array: the table astropy could not describe, its columns counted
            if isinstance(b, Exception):  # not listed by nd, not readable by the reference
                out.append((sel, "both-refuse", ""))
                continue
            # nd leaves out (with a warning) the data it cannot describe: that is nd refusing it
            why = [w for w in getattr(nd, "warnings", [])
                   if re.search(rf"HDU {re.escape(hdu)}\b", w)
                   or re.search(rf"(^|[\s'\"]){re.escape(sel)}([:'\"\s/]|$)", w)]  # the selector as a word
            why.sort(key=lambda w: "not listed" not in w)  # the warning saying what was left out first
            out.append((sel, "nd-refuses", why[0]) if why else (sel, "only-ref", ""))
        elif isinstance(a, Exception) and isinstance(b, Exception):
            out.append((sel, "both-refuse", ""))
        elif isinstance(a, Exception):
            out.append((sel, "nd-refuses", str(a)))
        elif isinstance(b, Exception):
            out.append((sel, "ref-refuses", f"{type(b).__name__}: {b}"))
        elif fixed_strings(b).dtype == object or fixed_strings(a).dtype == object:
            # FITS variable-length columns: cell by cell (zarr-python 3's object arrays of bytes
            # are compared as S by same())
            bad = next((i for i, (x, y) in enumerate(zip(a, b)) if not same(vla_cell(x), vla_cell(y))), None)
            if a.dtype != b.dtype or len(a) != len(b):
                out.append((sel, "differ", f"nd {a.dtype}[{len(a)}] vs ref {b.dtype}[{len(b)}]"))
            elif bad is not None:
                out.append((sel, "differ", f"row {bad}: nd {np.asarray(a[bad]).dtype}{np.asarray(a[bad]).shape} "
                                           f"vs ref {np.asarray(b[bad]).dtype}{np.asarray(b[bad]).shape}"))
            else:
                out.append((sel, "equal", ""))
        elif same(a, b):
            out.append((sel, "equal", ""))
        else:
            out.append((sel, "differ", f"nd {a.dtype}{a.shape} vs ref {b.dtype}{b.shape}"))
    return out


def sources(fmt):
    if fmt == "fits":
        files = [p for p in TESTDATA.rglob("*") if p.suffix in (".fits", ".fit", ".fts") and p.is_file()]
    elif fmt == "asdf":
        files = [p for p in TESTDATA.rglob("*.asdf") if p.is_file()]
    elif fmt == "zarr":
        files = [p for p in TESTDATA.rglob("*.zarr") if p.is_dir() and "v3" not in p.relative_to(TESTDATA).parts
                 and ((p / ".zarray").exists() or (p / ".zgroup").exists())]
    else:
        files = [p for p in TESTDATA.rglob("*.zarr") if p.is_dir() and (p / "zarr.json").exists()]
    return sorted(f for f in files if f.is_dir() or f.stat().st_size <= MAX_BYTES)


DISAGREE = ("differ", "nd-crash", "only-nd", "only-ref", "ref-refuses", "nd-refuses")
# `not-compared`: listed by both, not read (counted, never a pass and never kept)


def mutation_class(what):
    """The mutation without its value: `NAXIS1=255` -> `NAXIS1`, `yaml.shape=[0]` -> `yaml.shape`."""
    return re.sub(r"[=(].*", "", what)


def message_class(detail):
    """A message with its numbers, quoted values and file names taken out, for grouping cases."""
    d = detail.split("\n")[0]
    d = re.sub(r"/[^\s:'\"]*/m\d\.(fits|fit|fts|asdf|zarr)\S*", "<file>", d)
    d = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", d)
    d = re.sub(r"0x[0-9a-fA-F]+|\d+(\.\d+)?", "N", d)
    return d[:160]


def case_class(case):
    """(verdict, mutation, message) — the class a disagreement is triaged by."""
    return (case["verdict"], mutation_class(case["mutation"]), message_class(case["detail"]))


STOP = []  # set by SIGTERM or --max-minutes: finish the file in hand, then report what was done


PRELOAD = {"fits": "astropy.io.fits", "asdf": "asdf", "zarr": "zarr", "zarr3": "zarr"}


def run(fmt, args, rng, tmp, keep, checkpoint):
    srcs = sources(fmt)
    if args.sources:
        srcs = [p for p in srcs if p.name in args.sources or str(p.relative_to(TESTDATA)) in args.sources]
        if not srcs:
            raise SystemExit(f"--sources {' '.join(args.sources)}: no {fmt} source file of that name")
    __import__(PRELOAD[fmt])  # imported once here, not in every forked reader
    try:  # and warmed up (python asdf loads its extensions on the first open)
        with_timeout(REF[fmt], srcs[0])
    except Exception:  # noqa: BLE001,S110 - only a warm-up
        pass
    counts, by_mut = Counter(), defaultdict(Counter)
    kept_per_class = Counter()
    cases = open(keep / "cases.jsonl", "a") if keep else None
    deadline = time.monotonic() + args.max_minutes * 60 if args.max_minutes else None
    done = 0
    for n in range(args.count):
        if STOP or (deadline and time.monotonic() > deadline):
            break
        src = rng.choice(srcs)
        target = []  # the selector of the mutated array (Zarr), read first
        if fmt in ("zarr", "zarr3"):
            dst = tmp / f"m{n % 4}.zarr"
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
            what = (mutate_zarr if fmt == "zarr" else mutate_zarr3)(rng, dst, target)
        else:
            dst = tmp / f"m{n % 4}{src.suffix}"
            raw = src.read_bytes()
            data, what = (mutate_fits if fmt == "fits" else mutate_asdf)(rng, raw)
            dst.write_bytes(data)
            if fmt == "asdf":  # the files an exploded ASDF file names go next to the mutated copy
                for sib in src.parent.glob("*.asdf"):
                    if sib != src and sib.name.encode() in raw:
                        shutil.copy(sib, tmp / sib.name)
        nd, ref = read_both(args, fmt, dst, target)  # any refusal of the reference counts as refusing
        if fmt == "asdf" and isinstance(nd, dict) and isinstance(ref, dict):
            # `nd info` lists a masked array once; its mask is the selector PATH/mask
            for sel in ref:
                if sel.endswith("/mask") and sel not in nd and sel[:-5] in nd:
                    nd[sel] = nd_export(args.nd, dst, sel)
        for sel, verdict, detail in verdicts(nd, ref):
            counts[verdict] += 1
            by_mut[mutation_class(what)][verdict] += 1
            if verdict in DISAGREE and cases:
                case = {"n": n, "seed": args.seed, "format": fmt, "source": str(src.relative_to(TESTDATA)),
                        "mutation": what, "selector": sel, "verdict": verdict, "detail": detail[:400]}
                # Keep the first files of every class (and never more than keep_max per run).
                cls = case_class(case)
                if kept_per_class[cls] < args.keep_per_class and sum(kept_per_class.values()) < args.keep_max:
                    name = f"{fmt}-s{args.seed}-{n:06d}{'.zarr' if fmt.startswith('zarr') else src.suffix}"
                    if fmt.startswith("zarr"):
                        shutil.copytree(dst, keep / name, dirs_exist_ok=True)
                    else:
                        shutil.copy(dst, keep / name)
                    kept_per_class[cls] += 1
                    case["kept"] = name
                cases.write(json.dumps(case) + "\n")
                cases.flush()
        done = n + 1
        if done % 250 == 0:
            print(f"{fmt}: {done}/{args.count} {dict(counts)}", file=sys.stderr, flush=True)
            checkpoint(done, counts, by_mut)
    if cases:
        cases.close()
    return done, counts, by_mut


def merge(reports):
    """One summary from the reports of several runs (other seeds, other formats)."""
    out = {"runs": [], "formats": {}}
    for r in reports:
        r = json.loads(Path(r).read_text())
        if "runs" in r:  # an already merged report
            out["runs"].extend(r["runs"])
        else:
            out["runs"].append({"seed": r["seed"], "commit": r["commit"], "formats": sorted(r["formats"])})
        for fmt, f in r["formats"].items():
            g = out["formats"].setdefault(fmt, {"files": 0, "seconds": 0.0, "verdicts": Counter(),
                                                "by_mutation": defaultdict(Counter)})
            g["files"] += f.get("files", 0)
            g["seconds"] += f.get("seconds", 0.0)
            g["verdicts"].update(f["verdicts"])
            for m, v in f["by_mutation"].items():
                g["by_mutation"][m].update(v)
    for g in out["formats"].values():
        g["verdicts"] = dict(g["verdicts"])
        g["by_mutation"] = {k: dict(v) for k, v in sorted(g["by_mutation"].items())}
    return out


def print_classes(paths):
    """The disagreement classes of cases.jsonl files: count, verdict, mutation, message, one kept file."""
    groups = defaultdict(list)
    for path in paths:
        for line in Path(path).read_text().splitlines():
            c = json.loads(line)
            groups[(c["format"],) + case_class(c)].append(c)
    for key in sorted(groups, key=lambda k: (k[0], k[1], -len(groups[k]))):
        cs = groups[key]
        kept = next((c["kept"] for c in cs if "kept" in c), "-")
        print(f"{key[0]}\t{len(cs)}\t{key[1]}\t{key[2]}\t{key[3]}\t{kept}")


def replay(args):
    """Read the kept files of a --keep directory again (after a fix) and print, per class of the
    recorded cases, the verdicts the files get now."""
    cases = [json.loads(line) for line in (args.replay / "cases.jsonl").read_text().splitlines()]
    seen, now = set(), defaultdict(Counter)
    for c in cases:
        if "kept" not in c or c["kept"] in seen:
            continue
        seen.add(c["kept"])
        path = args.replay / c["kept"]
        fmt = c["format"]
        if fmt not in FORMATS or (fmt == "zarr3") != args.format.startswith("zarr3"):
            continue
        nd = nd_read(args.nd, path)
        ref = isolated(REF[fmt], path)
        if fmt == "asdf" and isinstance(nd, dict) and isinstance(ref, dict):
            for sel in ref:
                if sel.endswith("/mask") and sel not in nd and sel[:-5] in nd:
                    nd[sel] = nd_export(args.nd, path, sel)
        got = {sel: v for sel, v, _ in verdicts(nd, ref)}
        for k in cases:
            if k.get("kept") == c["kept"]:
                v = got.get(k["selector"])
                if v is None:  # a file refused whole before: what its arrays get now
                    v = "+".join(sorted(set(got.values()))) if k["selector"] == "<file>" else "gone"
                now[(fmt,) + case_class(k)][v] += 1
    for key in sorted(now):
        print("\t".join(key) + "\t" + json.dumps(dict(now[key])))


def git_commit():
    try:
        return subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    global TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nd", default=str(HERE.parent / "target" / "release" / "nd"))
    ap.add_argument("--format", default="fits,asdf,zarr",
                    help="comma-separated: fits, asdf, zarr (v2), zarr3 (needs zarr-python 3), or all")
    ap.add_argument("--count", type=int, default=10000, help="mutated files per format")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="directory for the disagreeing cases and cases.jsonl")
    ap.add_argument("--keep-max", type=int, default=2000, help="files kept per format and run")
    ap.add_argument("--keep-per-class", type=int, default=3, help="files kept per disagreement class")
    ap.add_argument("--report", type=Path, help="JSON summary (also written every 250 files)")
    ap.add_argument("--tmp", type=Path, help="where the mutated files are made (a RAM disk speeds up Zarr stores)")
    ap.add_argument("--timeout", type=int, default=TIMEOUT, help="seconds per reader and file")
    ap.add_argument("--max-minutes", type=float, help="stop each format after this long (SIGTERM too)")
    ap.add_argument("--mutated-only", action="store_true",
                    help="Zarr: read only the mutated array (and arrays one reader alone lists); the others "
                         "count not-compared. Many times cheaper on stores of many arrays")
    ap.add_argument("--sources", nargs="+", metavar="NAME",
                    help="mutate only these source files (a name such as hier.zarr, or a path under "
                         "testdata/): a re-run on the files that carried a verdict")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="REPORT",
                    help="merge the --report files of several runs into --report (or stdout), run nothing")
    ap.add_argument("--replay", type=Path, metavar="KEEPDIR",
                    help="read the kept files of a --keep directory again, print each class's verdicts now")
    ap.add_argument("--classes", type=Path, nargs="+", metavar="CASES",
                    help="print the disagreement classes of cases.jsonl files (tab-separated), run nothing")
    args = ap.parse_args()
    if args.replay:
        replay(args)
        return 0
    if args.classes:
        print_classes(args.classes)
        return 0
    if args.merge:
        text = json.dumps(merge(args.merge), indent=1) + "\n"
        args.report.write_text(text) if args.report else sys.stdout.write(text)
        return 0
    # A mutated size must end in a refusal, not in the machine's swap: cap this process (and
    # the reference libraries in it) at 8 GiB of address space.
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
    formats = ["fits", "asdf", "zarr"] if args.format == "all" else args.format.split(",")
    for fmt in formats:
        if fmt not in FORMATS:
            ap.error(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    TIMEOUT = args.timeout
    signal.signal(signal.SIGTERM, lambda *_: STOP.append(True))
    summary = {"seed": args.seed, "count": args.count, "commit": git_commit(), "formats": {}}
    with tempfile.TemporaryDirectory(dir=args.tmp) as t:
        for fmt in formats:
            rng = random.Random(f"{args.seed}-{fmt}")
            t0 = time.monotonic()

            def checkpoint(done, counts, by_mut, fmt=fmt, t0=t0):
                summary["formats"][fmt] = {"files": done, "seconds": round(time.monotonic() - t0, 1),
                                           "verdicts": dict(counts),
                                           "by_mutation": {k: dict(v) for k, v in sorted(by_mut.items())}}
                if args.report:
                    args.report.write_text(json.dumps(summary, indent=1) + "\n")

            done, counts, by_mut = run(fmt, args, rng, Path(t), args.keep, checkpoint)
            checkpoint(done, counts, by_mut)
            print(f"{fmt}: {done} files in {summary['formats'][fmt]['seconds']} s: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    bad = sum(s["verdicts"].get("differ", 0) + s["verdicts"].get("nd-crash", 0) for s in summary["formats"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
