"""Check `nd refs --zarr-format 3` against the reference libraries, with zarr-python 3.

For every FITS and ASDF file under testdata/ that nd opens (the files check_refs.py checks with
Zarr v2 references), write its Zarr v3 references, open them through fsspec's reference
filesystem with zarr-python 3 (FsspecStore) and compare every array with what astropy / python
asdf give: same dtype (byte order aside), shape, bit-identical values, NaN where NaN (table
columns as check_refs.py compares them). nd's codecs
come from the installed `ndfiles` package (its `zarr.codecs` entry points); without it the
arrays that need them are reported as not checked. Then the same through the VirtualiZarr
parsers of `ndfiles.virtualizarr` (when virtualizarr is installed): every array loaded through
its ManifestStore.

Needs testdata/requirements-zarr3.txt plus astropy, asdf, fsspec (and ndfiles, virtualizarr).
Usage: python testdata/check_refs_v3.py path/to/nd   (exit status 1 on any mismatch not listed in
check_refs.py's KNOWN_DIFFERENCES, or a listed one that no longer shows)
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
from check_refs import (  # noqa: E402
    HERE,
    CountingFS,
    both_refuse,
    check_every_file,
    check_grouped_cutout,
    differs,
    grouped_tile_images,
    mask_truth,
    report_and_exit,
    same,
    want_of,
)
from zarr.storage import FsspecStore  # noqa: E402

ND = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "nd"
ND_CODECS = ("nd_fits_scale", "nd_asdf_lz4", "nd_asdf_strided", "nd_fits_tile", "nd_fits_tile_table",
             "nd_fits_tile_group", "nd_fits_column")

try:
    from zarr.registry import get_codec_class

    get_codec_class("nd_fits_scale")
    HAVE_ND_CODECS = True
except Exception:  # noqa: BLE001
    HAVE_ND_CODECS = False

stats = {"files": 0, "arrays": 0, "checked": 0, "nd_codec_unchecked": 0, "refused": 0, "astropy_unreadable": 0,
         "both_refuse": 0, "virtualizarr_checked": 0, "virtualizarr_left_out": 0}
from check_refs import failures  # noqa: E402  (one list, so known differences are counted once)


def v3_arrays(refs):
    """(path, zarr.json) of every array, from the keys (so that no codec is needed)."""
    out = []
    for k, v in refs["refs"].items():
        if k == "zarr.json" or k.endswith("/zarr.json"):
            meta = json.loads(v)
            if meta["node_type"] == "array":
                out.append((k[: -len("zarr.json")].rstrip("/"), meta))
    return sorted(out, key=lambda t: t[0])


def check_file(src, kind, tmp):
    out = os.path.join(tmp, os.path.basename(src) + ".json")
    p = subprocess.run([ND, "refs", src, "--zarr-format", "3", "-o", out, "--force"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        stats["refused"] += 1
        return
    stats["files"] += 1
    with open(out) as f:
        refs = json.load(f)
    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True)
    root = zarr.open_group(store=FsspecStore(fs, read_only=True, path=""), mode="r", zarr_format=3)
    doc = fits.open(src) if kind == "fits" else asdf.open(src, lazy_load=False, memmap=False)
    try:
        for name, meta in v3_arrays(refs):
            stats["arrays"] += 1
            if not HAVE_ND_CODECS and any(c["name"] in ND_CODECS for c in meta["codecs"]):
                stats["nd_codec_unchecked"] += 1
                continue
            try:
                got = mask_truth(np.asarray(root[name][...]), meta["attributes"])
            except Exception as e:  # noqa: BLE001
                if kind == "fits" and both_refuse(lambda: want_of(kind, doc, meta["attributes"], name, src)):
                    stats["both_refuse"] += 1
                else:
                    failures.append(f"{src} {name}: zarr 3 read failed: {e!r}")
                continue
            try:
                want = want_of(kind, doc, meta["attributes"], name, src)
            except Exception as e:  # noqa: BLE001
                # astropy itself cannot give the values: not checked, not counted as passed
                stats["astropy_unreadable"] += 1
                print(f"  astropy cannot read {os.path.relpath(src, HERE)} {name}: {e!r}")
                continue
            msg = same(got, want)
            if msg:
                differs(f"{os.path.relpath(src, HERE)} {name}", msg)
            else:
                stats["checked"] += 1
        check_virtualizarr(src, kind, doc)
    finally:
        doc.close()


def check_virtualizarr(src, kind, doc):
    try:
        from obspec_utils.registry import ObjectStoreRegistry
        from obstore.store import LocalStore

        from ndfiles.virtualizarr import ASDFParser, FITSParser
    except ImportError:
        return
    parser = FITSParser() if kind == "fits" else ASDFParser()
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = parser("file://" + os.path.abspath(src), registry)
    stats["virtualizarr_left_out"] += sum("left out" in str(w.message) for w in caught)
    root = zarr.open_group(store=store, mode="r", zarr_format=3)
    for name, a in _all_arrays(root):
        try:
            got = mask_truth(np.asarray(a[...]), dict(a.attrs))
        except Exception as e:  # noqa: BLE001
            if kind == "fits" and both_refuse(lambda: want_of(kind, doc, dict(a.attrs), name, src)):
                continue  # counted as both_refuse above
            failures.append(f"{src} {name}: ManifestStore read failed: {e!r}")
            continue
        try:
            want = want_of(kind, doc, dict(a.attrs), name, src)
        except Exception:  # noqa: BLE001
            continue  # counted as astropy_unreadable above
        msg = same(got, want)
        if msg:
            differs(f"{os.path.relpath(src, HERE)} {name}", f"(virtualizarr) {msg}")
        else:
            stats["virtualizarr_checked"] += 1


def check_grouped_tiles(tmp):
    """Images of more than 10^5 tiles (check_refs.grouped_tile_images), `nd refs --zarr-format 3
    --chunk-mib 1`: whole tile rows a chunk (nd_fits_tile_group); through fsspec + zarr-python 3
    and xarray (zarr_format=3) the image equals astropy's, and a 100x100 cutout fetches only the
    chunk it touches (requests and bytes counted on the local filesystem)."""
    if not HAVE_ND_CODECS:
        stats["nd_codec_unchecked"] += 1
        return
    for label, src, cut in grouped_tile_images(tmp):
        want = fits.getdata(src, 1)
        out = os.path.join(tmp, "grouped3.json")
        p = subprocess.run([ND, "refs", src, "--zarr-format", "3", "--chunk-mib", "1", "-o", out, "--force"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            refs = json.load(f)
        (name, meta), = v3_arrays(refs)
        names = [c["name"] for c in meta["codecs"]]
        if names != ["bytes", "nd_fits_tile_group"]:
            failures.append(f"{label} (v3): codecs {names}")
            continue
        from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper

        cfs = AsyncFileSystemWrapper(CountingFS())
        fs = fsspec.filesystem("reference", fo=refs, fs={"file": cfs, None: cfs}, asynchronous=True)
        a = zarr.open_group(store=FsspecStore(fs, read_only=True, path=""), mode="r", zarr_format=3)[name]
        CountingFS.requests = CountingFS.nbytes = 0
        got = np.asarray(a[cut])
        check_grouped_cutout(f"{label} (v3)", refs, name, cut, lambda: (CountingFS.requests, CountingFS.nbytes))
        for what, msg in [("cutout", same(got, want[cut])), ("image", same(np.asarray(a[...]), want))]:
            if msg:
                failures.append(f"{label} (v3) {what}: {msg}")
            else:
                stats["checked"] += 1
        try:
            import xarray as xr
        except ImportError:
            continue
        ds = xr.open_dataset("reference://", engine="zarr", zarr_format=3, consolidated=False,
                             backend_kwargs={"storage_options": {"fo": refs}})
        msg = same(ds[name].values, want)
        if msg:
            failures.append(f"{label} (v3, xarray): {msg}")
        else:
            stats["checked"] += 1


def _all_arrays(group):
    return [(p, m) for p, m in group.members(max_depth=None) if isinstance(m, zarr.Array)]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_every_file(check_file, tmp)
        check_grouped_tiles(tmp)
    report_and_exit(stats, failures, HAVE_ND_CODECS)


if __name__ == "__main__":
    main()
