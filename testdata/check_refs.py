"""Check `nd refs` against the reference libraries.

For every FITS and ASDF file under testdata/ that nd opens, write its kerchunk references with
`nd refs`, open them through fsspec's reference filesystem with zarr-python 2 (and xarray when it
is installed), and compare every array with what astropy / python asdf give: same dtype (byte
order aside), same shape, bit-identical values (NaN where astropy gives NaN); every fixed-width
column of every table against astropy's `hdu.data.field(n)` (strings, which astropy gives as
`<U`, compared as the `|S` bytes nd maps them to). Arrays whose references name one of nd's
codecs (nd_fits_scale, nd_asdf_lz4, nd_asdf_strided, nd_fits_tile, nd_fits_column) are checked when the `ndfiles`
package registers them, and otherwise reported as not checked (never counted as passed).

Then a cutout: a 64 MiB float32 image, a 100x100 cutout through its references; the bytes and
requests the reference filesystem sends to the file are counted (a counting local filesystem)
and must be at most two chunks.

The same cutout over the loopback nginx of .ci/servers.sh when it runs (its variables in the
environment or in target/nd-test-servers.env), bytes and requests counted from nginx's access log.

Usage: python testdata/check_refs.py path/to/nd   (exit status 1 on any mismatch not listed in
KNOWN_DIFFERENCES, or a listed one that no longer shows)
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.simplefilter("ignore")

import asdf  # noqa: E402
import fsspec  # noqa: E402
import zarr  # noqa: E402
from astropy.io import fits  # noqa: E402
from fsspec.implementations.local import LocalFileSystem  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ND = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "nd"
ND_CODECS = ("nd_fits_scale", "nd_asdf_lz4", "nd_asdf_strided", "nd_fits_tile", "nd_fits_tile_table",
             "nd_fits_tile_group", "nd_fits_column")

try:  # nd's codecs, when the ndfiles package provides them
    import numcodecs

    numcodecs.registry.get_codec({"id": "nd_fits_scale", "bitpix": 16, "bscale": 1.0, "bzero": 0.0, "blank": None})
    HAVE_ND_CODECS = True
except Exception:
    HAVE_ND_CODECS = False


class CountingFS(LocalFileSystem):
    """A local filesystem that counts the requests and bytes it serves."""

    requests = 0
    nbytes = 0

    def cat_file(self, path, start=None, end=None, **kw):
        out = super().cat_file(path, start=start, end=end, **kw)
        CountingFS.requests += 1
        CountingFS.nbytes += len(out)
        return out

    # cat_ranges reads through cat_file: counted there


def make_refs(src, out, *args):
    p = subprocess.run([ND, "refs", src, "-o", out, "--force", *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def open_refs(refs_path):
    with open(refs_path) as f:
        refs = json.load(f)
    # plain paths in the references use the filesystem of protocol None
    cfs = CountingFS()
    fs = fsspec.filesystem("reference", fo=refs, fs={"file": cfs, None: cfs})
    return refs, zarr.open(fs.get_mapper(""), mode="r")


def needs_nd_codec(refs, name):
    meta = json.loads(refs["refs"][name + "/.zarray"])
    cfgs = list(meta["filters"] or []) + [meta["compressor"] or {}]
    return any(c.get("id") in ND_CODECS for c in cfgs)


def zarr_arrays(refs):
    """The array paths of a reference set (from its keys, so that no codec is needed)."""
    return sorted(k[: -len("/.zarray")] for k in refs["refs"] if k.endswith("/.zarray"))


def same(got, want):
    """dtype (byte order aside), shape and values bit for bit, NaN where NaN."""
    want = np.asarray(want)
    if want.dtype.newbyteorder("=") != got.dtype.newbyteorder("="):
        return f"dtype {got.dtype} != {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    g = got.astype(got.dtype.newbyteorder("="))
    w = want.astype(want.dtype.newbyteorder("="))
    if g.dtype.kind in "fc":
        gn, wn = np.isnan(g), np.isnan(w)
        if not np.array_equal(gn, wn):
            return f"NaN at {int((gn != wn).sum())} other places"
        g = np.where(gn, 0, g)
        w = np.where(wn, 0, w)
    if g.dtype.kind in "fciub":
        gb = np.ascontiguousarray(g).view(np.uint8)
        wb = np.ascontiguousarray(w).view(np.uint8)
        if not np.array_equal(gb, wb):
            d = np.flatnonzero(np.ascontiguousarray(g).ravel() != np.ascontiguousarray(w).ravel())
            return f"{d.size} values differ, first at {d[:3]}: {g.ravel()[d[:3]]} vs {w.ravel()[d[:3]]}"
        return None
    return None if np.array_equal(g, w) else "values differ"


def fits_want(hdul, attrs):
    """What astropy gives for an array of nd's FITS references: an HDU's data, or a table
    column (`hdu.data.field(n)`; strings, `<U` in astropy, trailing whitespace stripped as
    astropy's chararray strips it, as the fixed-width bytes nd maps them to, each character one
    Latin-1 byte)."""
    hdu = hdul[attrs["fits_hdu"]]
    if "fits_column" not in attrs:
        return hdu.data
    k = attrs["fits_column"]
    want = np.asarray(hdu.data.field(k - 1))
    if want.dtype.kind == "U":
        n = max(want.dtype.itemsize // 4, 1)
        width = ascii_last_text_width(hdu, k)
        if width is not None:
            # nd reads an ASCII table's last text field TFORM wide where astropy widens it to the
            # end of the row (spec-notes/fits-tables.md): astropy's value cut to the field
            stats["ascii_last_field_cut"] += 1
            want, n = np.array([s[:width] for s in want.ravel().tolist()]).reshape(want.shape), width
        # astropy's chararray strips trailing whitespace (str.rstrip) when an element is read;
        # its buffer keeps it
        cells = [s.rstrip().encode("latin-1") for s in want.ravel().tolist()]
        want = np.array(cells, dtype=f"S{n}").reshape(want.shape)
    return want


def ascii_last_text_width(hdu, k):
    """The TFORM width of column k (1-based) of an ASCII table when it is the last, a text field,
    and ends before the end of the row (astropy then reads it to the end of the row); else None."""
    h = hdu.header
    if h.get("XTENSION") != "TABLE" or k != h.get("TFIELDS"):
        return None
    form = str(h.get(f"TFORM{k}", "")).strip().upper()
    if not form.startswith("A"):
        return None
    width = int(form[1:] or 1)
    return width if h[f"TBCOL{k}"] - 1 + width < h["NAXIS1"] else None


def asdf_node(tree, path):
    node = tree
    for part in path.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


stats = {"files": 0, "arrays": 0, "checked": 0, "tile_table_checked": 0, "nd_codec_unchecked": 0,
         "skipped_parts": 0, "refused": 0, "astropy_unreadable": 0, "ascii_last_field_cut": 0,
         "both_refuse": 0, "xarray_checked": 0, "xarray_record_limit": 0}
failures = []

# Arrays where nd deliberately reads otherwise than the reference library, each documented:
# "path under testdata/ + array name" -> why. A listed array that no longer differs is itself a
# failure, so the list stays true. check_refs_v3.py uses the same list.
KNOWN_DIFFERENCES = {
    "fits/defects/broken_simple_false.fits PRIMARY":
        "SIMPLE = F: astropy gives the raw bytes, nd the image the header describes "
        "(spec-notes/differential.md, Deliberate differences)",
    "fits/defects/broken_tdim_short.fits HDU1/A":
        "TDIM smaller than the repeat: astropy reshapes the column's first values across rows, nd "
        "takes the first values of each row's cell (spec-notes/differential.md, Reference-library bugs)",
    "fits/defects/broken_row_width.fits HDU1/A":
        "NAXIS1 larger than the TFORMn widths: astropy steps the rows by the widths' sum, nd by NAXIS1 "
        "(the row length the standard defines; spec-notes/differential.md, Reference-library bugs)",
    "asdf/defects/tag_core_version.asdf data":
        "an ndarray tag of an unknown core version: python asdf gives the tagged node as an object, "
        "nd reads the ndarray and warns (spec-notes/asdf.md, the defects list)",
}
known_seen = set()


def differs(key, msg):
    """Record that `key` ("path name") differs from the reference: a failure unless known."""
    if key in KNOWN_DIFFERENCES:
        known_seen.add(key)
        print(f"  known difference {key}: {msg} ({KNOWN_DIFFERENCES[key]})")
    else:
        failures.append(f"{key}: {msg}")


def report_and_exit(stats, failures, have_codecs):
    """Print the summary and exit 1 on any failure or any known difference that did not show."""
    stats["known_differences"] = len(known_seen)
    print(json.dumps(stats))
    if not have_codecs:
        print(f"{stats['nd_codec_unchecked']} arrays need nd's codecs (ndfiles not installed): NOT checked")
    for key in sorted(set(KNOWN_DIFFERENCES) - known_seen):
        failures.append(f"{key}: listed as a known difference but agrees now (or was not read)")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


def both_refuse(read_reference):
    """True when the reference library cannot read the array either (a read nd also refused)."""
    try:
        read_reference()
    except Exception:  # noqa: BLE001
        return True
    return False


def mask_truth(got, attrs):
    """A mask array of another type than bool (a `uint8` mask node) as numpy.ma makes it, the mask
    python asdf gives: true where non-zero. The references keep the stored type and values. (A
    float here is xarray's decoding of a fill value, which xarray_decoded accounts for.)"""
    if attrs.get("asdf_path", "").endswith("/mask") and np.asarray(got).dtype.kind in "iu":
        return np.asarray(got) != 0
    return got


def want_of(kind, doc, attrs, name, src=None):
    """What astropy (`doc` an HDUList) or python asdf (`doc` an AsdfFile, read from `src`) gives
    for the array `name` of the references, whose attributes are `attrs`."""
    if kind == "fits":
        return fits_want(doc, attrs)
    path = attrs.get("asdf_path", name)
    if path.endswith("/mask"):
        # python asdf folds a mask array into its array: a numpy masked array
        return np.ma.getmaskarray(asdf_node(doc.tree, path[: -len("/mask")]))
    w = asdf_node(doc.tree, path)
    tag = str(getattr(w, "_tag", "") or "")
    if "zarr-1" in tag:
        # Zarr-in-ASDF needs the asdf-zarr extension (python/requirements-test.txt has it; the
        # zarr-python 3 venv cannot: asdf-zarr 0.0.4 is built on zarr-python 2): then the values
        # asdf-zarr gave when gen_asdf.py wrote the file
        return expected_asdf(src, path, tag)
    return w.data if np.ma.isMaskedArray(w) else np.asarray(w)


def expected_asdf(src, path, tag):
    """The values gen_asdf.py saved for the array at `path` of `src` (`expected/STEM/`)."""
    if src:
        d = os.path.join(os.path.dirname(src), "expected", os.path.basename(src)[: -len(".asdf")])
        index = os.path.join(d, "index.json")
        if os.path.exists(index):
            with open(index) as f:
                entry = json.load(f).get(path)
            if entry:
                return np.load(os.path.join(d, entry["npy"]))
    raise ValueError(f"python asdf gives a tagged node {tag} without asdf-zarr, and no saved values")


def xarray_decoded(want, got, zarray):
    """`want` as xarray's default decoding gives it from a Zarr v2 array with a fill value: the
    fill value is taken as `_FillValue` and masked (NaN), integers become floats."""
    fill = zarray.get("fill_value")
    if fill is None or want.dtype.kind not in "iuf" or got.dtype.kind != "f":
        return want
    masked = np.zeros(want.shape, bool) if fill == "NaN" else want == fill
    return np.where(masked, np.nan, want).astype(got.dtype)


def check_file(src, kind, tmp):
    out = os.path.join(tmp, os.path.basename(src) + ".json")
    rc, err = make_refs(src, out)
    rel = os.path.relpath(src, HERE)
    if rc != 0:
        stats["refused"] += 1
        print(f"  refused  {rel}: {err.strip().splitlines()[-1]}")
        return
    stats["files"] += 1
    stats["skipped_parts"] += sum(1 for line in err.splitlines() if "not mapped" in line)
    if "/defects/" not in src:
        # every tile-compressed image is mapped (quantized, dithered, null pixels, fallback and
        # edge tiles through nd_fits_tile_table)
        for line in err.splitlines():
            if "tile-compressed" in line and "not mapped" in line:
                failures.append(f"{rel}: {line.strip()}")
    refs, root = open_refs(out)
    doc = fits.open(src) if kind == "fits" else asdf.open(src, lazy_load=False, memmap=False)
    try:
        for name in zarr_arrays(refs):
            stats["arrays"] += 1
            if needs_nd_codec(refs, name) and not HAVE_ND_CODECS:
                stats["nd_codec_unchecked"] += 1
                continue
            attrs = json.loads(refs["refs"].get(name + "/.zattrs", "{}"))
            try:
                got = mask_truth(root[name][...], attrs)
            except Exception as e:  # noqa: BLE001
                if kind == "fits" and both_refuse(lambda: want_of(kind, doc, attrs, name, src)):
                    stats["both_refuse"] += 1
                    print(f"  both refuse {rel} {name}: {e!r}")
                else:
                    failures.append(f"{rel} {name}: zarr read failed: {e!r}")
                continue
            try:
                want = want_of(kind, doc, attrs, name, src)
            except Exception as e:  # noqa: BLE001
                # astropy itself cannot give the values (e.g. a column without TTYPE beside
                # names that differ only in case): not checked, not counted as passed
                stats["astropy_unreadable"] += 1
                print(f"  astropy cannot read {rel} {name}: {e!r}")
                continue
            msg = same(got, want)
            if msg:
                differs(f"{rel} {name}", msg)
            else:
                stats["checked"] += 1
                meta = json.loads(refs["refs"][name + "/.zarray"])
                if (meta["compressor"] or {}).get("id") == "nd_fits_tile_table":
                    stats["tile_table_checked"] += 1
        if HAVE_ND_CODECS or not any(needs_nd_codec(refs, a) for a in zarr_arrays(refs)):
            check_xarray(src, kind, refs, doc)
    finally:
        doc.close()


def check_xarray(src, kind, refs, doc):
    """Every group of the references that holds arrays, opened as an xarray user opens
    references (`xr.open_dataset("reference://", engine="zarr", ...)`, xarray's default decoding:
    masking by fill value, scale/offset, times): each variable equal to what astropy / asdf give.
    A table's columns share one row dimension and carry TUNITn as `units`."""
    try:
        import xarray as xr
    except ImportError:
        stats["xarray_not_installed"] = True
        return
    rel = os.path.relpath(src, HERE)
    groups = sorted({a.rpartition("/")[0] for a in zarr_arrays(refs)})
    for g in groups:
        try:
            ds = xr.open_dataset(
                "reference://", engine="zarr", group=g or None,
                backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}},
            )
        except Exception as e:  # noqa: BLE001
            failures.append(f"xarray {rel} group {g or '/'}: open failed: {e!r}")
            continue
        is_table = "fits_table" in ds.attrs
        if is_table and len({ds[v].dims[0] for v in ds.data_vars}) != 1:
            failures.append(f"xarray {rel} {g}: the columns do not share one row dimension")
        for v in ds.data_vars:
            name = f"{g}/{v}" if g else str(v)
            attrs = dict(ds[v].attrs)
            if isinstance(json.loads(refs["refs"].get(name + "/.zarray", "{}")).get("dtype"), list):
                # a record (structured) array: xarray opens the group but cannot read the variable
                # (its zarr backend declares it |V<n> and numpy refuses the cast); checked through
                # zarr-python above, xarray's limit
                stats["xarray_record_limit"] += 1
                print(f"  xarray cannot read record arrays: {rel} {name} (checked with zarr-python)")
                continue
            try:
                got = mask_truth(ds[v].values, attrs)
            except Exception as e:  # noqa: BLE001
                if kind == "fits" and both_refuse(lambda: want_of(kind, doc, attrs, name, src)):
                    continue  # counted as both_refuse above
                failures.append(f"xarray {rel} {name}: read failed: {e!r}")
                continue
            try:
                want = want_of(kind, doc, attrs, name, src)
            except Exception:  # noqa: BLE001
                continue  # counted as astropy_unreadable above
            want = xarray_decoded(want, got, json.loads(refs["refs"].get(name + "/.zarray", "{}")))
            if want.dtype.kind == "U" and got.dtype.kind == "U":
                # xarray gives big-endian UCS4 strings (>U5) a wrong itemsize (<U20), where
                # zarr-python gives >U5: compare the strings
                msg = None if np.array_equal(got, want) else "strings differ"
            else:
                msg = same(got, want)
            if not msg and is_table:
                unit = doc[attrs["fits_hdu"]].header.get(f"TUNIT{attrs['fits_column']}")
                if (unit or None) != attrs.get("units"):
                    msg = f"units {attrs.get('units')!r} != TUNIT {unit!r}"
            if msg:
                differs(f"{rel} {name}", f"(xarray) {msg}")
            else:
                stats["xarray_checked"] += 1


def check_cutout(tmp):
    """A 100x100 cutout of a 64 MiB image fetches at most two 8 MiB chunks."""
    src = os.path.join(tmp, "big.fits")
    rng = np.random.default_rng(1)
    data = rng.standard_normal((4096, 4096), dtype=np.float32)
    fits.PrimaryHDU(data).writeto(src, overwrite=True)
    out = os.path.join(tmp, "big.json")
    rc, err = make_refs(src, out)
    assert rc == 0, err
    for chunk_mib in ["8", "1"]:
        rc, err = make_refs(src, out, "--chunk-mib", chunk_mib)
        assert rc == 0, err
        refs, root = open_refs(out)
        a = root["PRIMARY"]
        CountingFS.requests = CountingFS.nbytes = 0
        cut = a[1000:1100, 2000:2100]
        chunk_bytes = int(np.prod(a.chunks)) * a.dtype.itemsize
        # 100 rows touch at most this many chunks of whole rows
        most = -(-100 // a.chunks[0]) + 1
        print(
            f"cutout 100x100 of a {data.nbytes >> 20} MiB image, --chunk-mib {chunk_mib}: chunks {a.chunks}, "
            f"{CountingFS.requests} requests, {CountingFS.nbytes} bytes "
            f"({CountingFS.nbytes / data.nbytes:.1%} of the image; at most {most} chunks allowed)"
        )
        if not np.array_equal(cut, data[1000:1100, 2000:2100]):
            failures.append("cutout values differ")
        if chunk_bytes > int(chunk_mib) << 20 or CountingFS.nbytes > most * chunk_bytes or CountingFS.requests > most:
            failures.append(f"cutout fetched {CountingFS.requests} requests / {CountingFS.nbytes} bytes")


def check_scaling_grid(tmp):
    """Every int16 / uint8 value under power-of-two BSCALEs and awkward BZEROs: where nd chooses
    fixedscaleoffset, numcodecs' float64 arithmetic must give astropy's float32 values exactly."""
    routes = {}
    for bitpix, values in [(16, np.arange(-32768, 32768, dtype=">i2")), (8, np.arange(256, dtype=">u1"))]:
        for k in [0, -1, -7, -20, -30, -40, 3, 12]:
            for bzero in [0.0, 1.0, 0.1, -7.25, 1e6, 2.0**20 + 0.5, 3e-5, 123456.789]:
                if k == 0 and bzero in (0.0,):
                    continue
                src = os.path.join(tmp, "grid.fits")
                h = fits.PrimaryHDU(values.reshape(-1, 256))
                h.header["BSCALE"] = 2.0**k
                h.header["BZERO"] = bzero
                h.writeto(src, overwrite=True, output_verify="silentfix")
                out = os.path.join(tmp, "grid.json")
                rc, err = make_refs(src, out)
                assert rc == 0, err
                refs, root = open_refs(out)
                if needs_nd_codec(refs, "PRIMARY"):
                    routes["nd"] = routes.get("nd", 0) + 1
                    if not HAVE_ND_CODECS:
                        stats["nd_codec_unchecked"] += 1
                        continue
                else:
                    routes["fixedscaleoffset"] = routes.get("fixedscaleoffset", 0) + 1
                msg = same(root["PRIMARY"][...], fits.getdata(src))
                if msg:
                    failures.append(f"grid BITPIX {bitpix} BSCALE 2^{k} BZERO {bzero}: {msg}")
                else:
                    stats["checked"] += 1
    print(f"scaling grid: {routes}")


def check_tile_cutout(tmp):
    """A cutout of a tile-compressed image fetches only the tiles it touches: a RICE_1 int16
    image with 64x64 tiles (nd_fits_tile), and a quantized float32 image (SUBTRACTIVE_DITHER_2,
    NaN pixels, 1000x1000 so that the last row and column of tiles are edge tiles;
    nd_fits_tile_table)."""
    if not HAVE_ND_CODECS:
        stats["nd_codec_unchecked"] += 1
        return
    rng = np.random.default_rng(3)
    ints = rng.integers(-3000, 3000, (1024, 1024), dtype=np.int16)
    floats = rng.normal(100, 5, (1000, 1000)).astype(np.float32)
    floats[150:160, 350:360] = np.nan
    cases = [
        ("RICE_1", ints, {}),
        ("RICE_1 quantized", floats, {"quantize_method": 2, "dither_seed": 42}),
    ]
    for label, data, kw in cases:
        src = os.path.join(tmp, "tiles.fits")
        hdu = fits.CompImageHDU(data, compression_type="RICE_1", tile_shape=(64, 64), **kw)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(src, overwrite=True)
        want = fits.getdata(src, 1)[100:200, 300:400]
        out = os.path.join(tmp, "tiles.json")
        rc, err = make_refs(src, out)
        assert rc == 0, err
        refs, root = open_refs(out)
        name = zarr_arrays(refs)[0]
        a = root[name]
        CountingFS.requests = CountingFS.nbytes = 0
        cut = a[100:200, 300:400]
        touched = [f"{name}/{i}.{j}" for i in range(100 // 64, 199 // 64 + 1) for j in range(300 // 64, 399 // 64 + 1)]
        want_bytes = sum(refs["refs"][k][2] for k in touched)
        total = sum(v[2] for k, v in refs["refs"].items() if isinstance(v, list))
        codec = json.loads(refs["refs"][name + "/.zarray"])["compressor"]["id"]
        print(
            f"{label} cutout 100x100 of {data.shape[0]}x{data.shape[1]} (64x64 tiles, {codec}): "
            f"{len(touched)} tiles touched, {CountingFS.nbytes} bytes fetched ({want_bytes} in those tiles) "
            f"of {total} compressed"
        )
        msg = same(cut, want)
        if msg:
            failures.append(f"{label} tile cutout: {msg}")
        # fsspec merges neighbouring ranges (gaps under 64 kB): at most the span of the touched rows
        rows = [
            k
            for k, v in refs["refs"].items()
            if isinstance(v, list) and k.startswith(name + "/") and int(k.split("/")[-1].split(".")[0]) in range(1, 4)
        ]
        span = max(refs["refs"][k][1] + refs["refs"][k][2] for k in rows) - min(refs["refs"][k][1] for k in rows)
        if CountingFS.nbytes < want_bytes or CountingFS.nbytes > span:
            failures.append(f"{label} tile cutout fetched {CountingFS.nbytes} bytes (tiles {want_bytes}, span {span})")
        # the whole image, edge tiles included, is astropy's
        msg = same(a[...], fits.getdata(src, 1))
        if msg:
            failures.append(f"{label} tile image: {msg}")
        stats["checked"] += 1


def grouped_tile_images(tmp):
    """Two images of more than 10^5 tiles, written by astropy at test time (kept as small as
    that allows: astropy compresses and decompresses tile by tile in Python, so the time goes
    with the number of tiles): a 1280x1280 int16 RICE_1 image in 4x4 tiles (102,400 tiles), and a
    1283x1281 float32 one quantized with SUBTRACTIVE_DITHER_2 in 4x4 tiles (103,041 tiles, the last
    row and column edge tiles) with NaN pixels, zeros and a constant patch (tiles astropy stores in
    GZIP_COMPRESSED_DATA). Returns [(label, path, cutout)]: a 100x100 cutout inside one chunk of
    1 MiB."""
    rng = np.random.default_rng(5)
    ints = rng.integers(-3000, 3000, (1280, 1280), dtype=np.int16)
    floats = rng.normal(100, 5, (1283, 1281)).astype(np.float32)
    floats[150:160, 350:360] = np.nan
    floats[400:420, 40:60] = 0.0
    floats[1000:1012, 8:32] = 7.5  # constant tiles: quantization fails, GZIP_1 fallback
    out = []
    for label, data, kw in [
        ("int16 RICE_1 4x4 tiles", ints, {}),
        ("float32 RICE_1 SUBTRACTIVE_DITHER_2 4x4 tiles", floats, {"quantize_method": 2, "dither_seed": 9}),
    ]:
        path = os.path.join(tmp, f"many_tiles_{len(out)}.fits")
        hdu = fits.CompImageHDU(data, compression_type="RICE_1", tile_shape=(4, 4), **kw)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
        out.append((label, path, (slice(1030, 1130), slice(500, 600))))
    return out


def check_grouped_cutout(label, refs, name, cut, count):
    """The chunks a cutout touches and whether `count()` = (requests, bytes) fetched for it are
    those chunks (fsspec merges adjacent ranges: at most one request a chunk, their bytes)."""
    meta = json.loads(refs["refs"][name + "/.zarray"]) if name + "/.zarray" in refs["refs"] else None
    chunks = meta["chunks"] if meta else json.loads(refs["refs"][name + "/zarr.json"])["chunk_grid"]["configuration"]["chunk_shape"]
    sep = "." if meta else "/"
    prefix = name + "/" + ("" if meta else "c/")
    touched = [
        prefix + sep.join(map(str, (i, j)))
        for i in range(cut[0].start // chunks[0], (cut[0].stop - 1) // chunks[0] + 1)
        for j in range(cut[1].start // chunks[1], (cut[1].stop - 1) // chunks[1] + 1)
    ]
    want_bytes = sum(refs["refs"][k][2] for k in touched)
    total = sum(v[2] for k, v in refs["refs"].items() if isinstance(v, list))
    requests, nbytes = count()
    print(
        f"{label}: chunks {chunks}, 100x100 cutout: {len(touched)} chunk(s) touched, {requests} request(s), "
        f"{nbytes} bytes fetched ({want_bytes} in those chunks, {total} compressed in all)"
    )
    if requests < 1 or requests > len(touched) or nbytes != want_bytes:
        failures.append(f"{label} cutout fetched {requests} requests / {nbytes} bytes (its chunks: {want_bytes})")


def check_grouped_tiles(tmp):
    """Images of more than 10^5 tiles (grouped_tile_images): `nd refs --chunk-mib 1` maps whole
    tile rows to a chunk (nd_fits_tile_group, several chunks); through fsspec + zarr-python 2 and
    xarray the image equals astropy's bit for bit, and a 100x100 cutout fetches only the chunk
    it touches. Prints the configuration's size per tile."""
    if not HAVE_ND_CODECS:
        stats["nd_codec_unchecked"] += 1
        return
    import time

    t0 = time.process_time()
    images = grouped_tile_images(tmp)
    print(f"grouped tiles: astropy wrote the images in {time.process_time() - t0:.1f} s CPU")
    for label, src, cut in images:
        t0 = time.process_time()
        want = fits.getdata(src, 1)
        print(f"{label}: astropy read it in {time.process_time() - t0:.1f} s CPU")
        out = os.path.join(tmp, "grouped.json")
        rc, err = make_refs(src, out, "--chunk-mib", "1")
        assert rc == 0, err
        refs, root = open_refs(out)
        name = zarr_arrays(refs)[0]
        meta = json.loads(refs["refs"][name + "/.zarray"])
        codec = meta["compressor"]
        ntiles = int(np.prod([-(-s // t) for s, t in zip(meta["shape"], codec["tile"])]))
        nchunks = sum(1 for k in refs["refs"] if k.startswith(name + "/") and not k.endswith((".zarray", ".zattrs")))
        print(f"{label}: {ntiles} tiles in {nchunks} chunks of {meta['chunks']}, configuration "
              f"{len(json.dumps(codec)) / ntiles:.2f} bytes a tile")
        if codec["id"] != "nd_fits_tile_group" or nchunks < 4:
            failures.append(f"{label}: {codec['id']} in {nchunks} chunks, not grouped")
            continue
        a = root[name]
        CountingFS.requests = CountingFS.nbytes = 0
        got = a[cut]
        check_grouped_cutout(label, refs, name, cut, lambda: (CountingFS.requests, CountingFS.nbytes))
        for what, msg in [("cutout", same(got, want[cut])), ("image", same(a[...], want))]:
            if msg:
                failures.append(f"{label} {what}: {msg}")
            else:
                stats["checked"] += 1
        try:
            import xarray as xr
        except ImportError:
            continue
        ds = xr.open_dataset("reference://", engine="zarr",
                             backend_kwargs={"consolidated": False, "storage_options": {"fo": refs}})
        msg = same(ds[name].values, want)
        if msg:
            failures.append(f"{label} (xarray): {msg}")
        else:
            stats["xarray_checked"] += 1


def server_var(name):
    """A loopback test server's variable: from the environment, else from the file
    `bash .ci/servers.sh` writes (target/nd-test-servers.env), else None."""
    if os.environ.get(name):
        return os.environ[name]
    try:
        with open(os.path.join(HERE, "..", "target", "nd-test-servers.env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k == name and v:
                    return v
    except OSError:
        pass
    return None


def check_http_cutout():
    """The same cutout over the loopback nginx of .ci/servers.sh (its variables in the
    environment: `. target/nd-test-servers.env`): `nd refs` of the URL, zarr through fsspec's HTTP
    filesystem, requests and bytes counted from nginx's access log."""
    url, root, log = (server_var(k) for k in ("ND_TEST_HTTP_URL", "ND_TEST_HTTP_ROOT", "ND_TEST_HTTP_LOG"))
    if not (url and root and log):
        print("no loopback HTTP server (ND_TEST_HTTP_*): the HTTP cutout is not checked")
        return
    try:
        import aiohttp  # noqa: F401  (fsspec's HTTP filesystem)
    except ImportError:
        print("aiohttp not installed: the HTTP cutout is not checked")
        return
    name = "refs-big-%d.fits" % os.getpid()
    src = os.path.join(root, name)
    data = np.random.default_rng(2).standard_normal((4096, 4096), dtype=np.float32)
    try:
        fits.PrimaryHDU(data).writeto(src, overwrite=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "http.json")
            rc, err = make_refs(f"{url}/{name}", out)
            assert rc == 0, err
            with open(out) as f:
                refs = json.load(f)
            root_g = zarr.open(fsspec.filesystem("reference", fo=refs).get_mapper(""), mode="r")
            a = root_g["PRIMARY"]
            start = os.path.getsize(log)
            cut = a[1000:1100, 2000:2100]
            with open(log) as f:
                f.seek(start)
                lines = [line.split() for line in f if f" /{name} " in line]
        nbytes = sum(int(parts[-1]) for parts in lines)
        chunk_bytes = int(np.prod(a.chunks)) * a.dtype.itemsize
        print(f"HTTP cutout 100x100 of 64 MiB: {len(lines)} requests, {nbytes} bytes (chunks of {chunk_bytes})")
        if not np.array_equal(cut, data[1000:1100, 2000:2100]):
            failures.append("HTTP cutout values differ")
        if not lines or len(lines) > 2 or nbytes > 2 * chunk_bytes:
            failures.append(f"HTTP cutout fetched {len(lines)} requests / {nbytes} bytes")
        stats["checked"] += 1
    finally:
        os.remove(src)


def testdata_files():
    """(path, "fits" | "asdf") of every FITS and ASDF file of testdata that was not written by nd
    nor saved as expected values, sorted."""
    files = []
    for d, kind in [("fits", "fits"), ("asdf", "asdf"), ("asdf-standard", "asdf")]:
        for root, _, names in os.walk(os.path.join(HERE, d)):
            if "/written" in root or "/expected" in root:
                continue
            for n in names:
                if n.endswith("." + kind):
                    files.append((os.path.join(root, n), kind))
    return sorted(files)


def check_every_file(check, tmp):
    """`check(src, kind, tmp)` on every file of `testdata_files()`; an exception is a failure."""
    for src, kind in testdata_files():
        try:
            check(src, kind, tmp)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{src}: {e!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_every_file(check_file, tmp)
        check_scaling_grid(tmp)
        check_cutout(tmp)
        check_tile_cutout(tmp)
        check_grouped_tiles(tmp)
    check_http_cutout()
    report_and_exit(stats, failures, HAVE_ND_CODECS)


if __name__ == "__main__":
    main()
