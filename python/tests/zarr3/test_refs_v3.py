"""`nd refs --zarr-format 3` read through fsspec's reference filesystem with zarr-python 3 and
xarray (zarr_format=3), and the VirtualiZarr parsers of `ndfiles.virtualizarr`, against astropy
and python asdf. Runs in a venv with zarr-python 3 (python/requirements-test-zarr3.txt;
scripts/test-all.sh makes it); the zarr-2 test venv does not collect this directory.

The same cases as ../test_refs.py (plain, scaled, BLANK, unsigned, tile-compressed of every
lossless algorithm, ASDF zlib / bzip2 / lz4 / lz4 in several frames), the nd codecs found
through the `zarr.codecs` entry points of the installed ndfiles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", minversion="3")
fsspec = pytest.importorskip("fsspec")
fits = pytest.importorskip("astropy.io.fits")
asdf = pytest.importorskip("asdf")
xr = pytest.importorskip("xarray")

import ndfiles  # noqa: E402
from conftest import ROOT, TESTDATA, assert_same  # noqa: E402
from zarr.storage import FsspecStore  # noqa: E402

FITS_CASES = [
    "fits/gen/dim3.fits",  # plain float32, 3-D
    "fits/gen/mef.fits",  # several extensions
    "fits/gen/sc_i16.fits",  # BSCALE/BZERO (fixedscaleoffset or nd_fits_scale)
    "fits/gen/blank_i16.fits",  # BLANK -> NaN (nd_fits_scale)
    "fits/gen/dt_u16.fits",  # unsigned convention (numcodecs.fixedscaleoffset)
    "fits/gen/c_gzip_1.fits",  # gzip
    "fits/gen/c_gzip_2.fits",  # numcodecs.shuffle + gzip
    "fits/gen/c_nocompress.fits",
    "fits/gen/c_rice_1.fits",  # nd_fits_tile
    "fits/gen/c_plio_1.fits",
    "fits/gen/c_hcompress_1.fits",
    # nd_fits_tile_table: quantized (every dither method), NaN, fallback and edge tiles
    "fits/gen/c_float.fits",
    "fits/gen/c_tilemodes.fits",
    "fits/gen/c_hcompress_2.fits",
    "fits/astropy/compressed_with_nan.fits",
]

ASDF_CASES = [
    ("asdf/py/compressed_zlib.asdf", "numcodecs.zlib"),
    ("asdf/py/compressed_bzp2.asdf", "numcodecs.bz2"),
    ("asdf/py/compressed_lz4.asdf", "numcodecs.lz4"),
    ("asdf/py/compressed_lz4_multi.asdf", "nd_asdf_lz4"),
    ("asdf/py/dtypes.asdf", None),
    ("asdf/py/views.asdf", "nd_asdf_strided"),  # strides, offsets, negative strides, transposed
    ("asdf/py/exploded/exploded.asdf", None),  # values in the files beside it
]


@pytest.fixture(scope="module")
def nd_bin() -> str:
    path = os.environ.get("ND_BIN") or str(ROOT / "target" / "debug" / "nd")
    if not os.path.exists(path):
        cargo = shutil.which("cargo")
        assert cargo, f"{path} is missing and cargo is not on PATH to build it"
        subprocess.run([cargo, "build", "-q", "-p", "nd-cli"], cwd=ROOT, check=True)
    return path


def nd_refs(nd_bin, out, *args):
    p = subprocess.run([nd_bin, "refs", *map(str, args), "--zarr-format", "3", "-o", str(out),
                        "--force"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(out.read_text())


def open_group(refs: dict):
    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True)
    return zarr.open_group(store=FsspecStore(fs, read_only=True, path=""), mode="r",
                           zarr_format=3)


def codec_names(refs: dict) -> set[str]:
    return {c["name"] for k, v in refs["refs"].items() if k.endswith("zarr.json")
            for c in json.loads(v).get("codecs", [])}


def asdf_node(tree, path):
    node = tree
    for part in path.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@pytest.mark.parametrize("rel", FITS_CASES)
def test_fits_v3_refs_equal_astropy(nd_bin, tmp_path, rel):
    src = TESTDATA / rel
    refs = nd_refs(nd_bin, tmp_path / "r.json", src, "--chunk-mib", "0.001")
    assert not any(k.endswith((".zarray", ".zgroup")) for k in refs["refs"])
    root = open_group(refs)
    names = [k for k, _ in root.arrays()]
    assert names, f"{rel}: no arrays"
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name in names:
            a = root[name]
            want = hdul[a.attrs["fits_hdu"]].data
            assert_same(np.asarray(a[...]), want, f"{rel} {name}")
            if want.ndim == 2 and min(want.shape) > 3:
                assert_same(np.asarray(a[1:3, 2:]), want[1:3, 2:], f"{rel} {name} cutout")


@pytest.mark.parametrize("rel,codec", ASDF_CASES)
def test_asdf_v3_refs_equal_asdf(nd_bin, tmp_path, rel, codec):
    src = TESTDATA / rel
    refs = nd_refs(nd_bin, tmp_path / "r.json", src)
    if codec:
        assert codec in codec_names(refs), f"{rel}: codecs {codec_names(refs)}"
    root = open_group(refs)
    names = [p for p, _ in root.members(max_depth=None) if isinstance(root[p], zarr.Array)]
    assert names, f"{rel}: no arrays"
    with asdf.open(src, lazy_load=False, memmap=False) as af:
        for name in names:
            a = root[name]
            want = asdf_node(af.tree, a.attrs.get("asdf_path", name))
            want = want.data if np.ma.isMaskedArray(want) else np.asarray(want)
            assert_same(np.asarray(a[...]), want, f"{rel} {name}")


def test_xarray_reads_v3_refs(tmp_path):
    """`ndfiles.refs(zarr_format=3)` through xarray's zarr engine; dimension names from CTYPE."""
    src = TESTDATA / "fits" / "gen" / "blank_i16.fits"
    refs = ndfiles.refs(src, zarr_format=3, chunk_mib=0.001)
    ds = xr.open_dataset("reference://", engine="zarr", zarr_format=3, consolidated=False,
                         backend_kwargs={"storage_options": {"fo": refs}})
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name, v in ds.data_vars.items():
            assert_same(v.values, hdul[v.attrs["fits_hdu"]].data, name)
            assert np.isnan(v.values).any(), "BLANK gives NaN, not a fill-value mask"


def test_refs_function_writes_the_cli_json(nd_bin, tmp_path):
    src = TESTDATA / "fits" / "gen" / "c_rice_1.fits"
    out = tmp_path / "py.json"
    got = ndfiles.refs(src, zarr_format=3, output=out)
    assert json.loads(out.read_text()) == got
    assert got == nd_refs(nd_bin, tmp_path / "cli.json", src)
    assert "nd_fits_tile" in codec_names(got)
    with pytest.raises(ndfiles.Error, match="exists"):
        ndfiles.refs(src, output=out)
    with pytest.raises(ndfiles.Error, match="concat"):
        ndfiles.refs([src, src])


def write_survey(d, n=3, shape=(30, 40)):
    """n FITS files of equal layout: a scaled int16 SCI image with BLANK, a float32 ERR."""
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        sci = rng.integers(-2000, 2000, shape, dtype=np.int16)
        sci[0, i] = -32768
        h = fits.ImageHDU(sci, name="SCI")
        h.header["BSCALE"] = 0.1
        h.header["BZERO"] = 5.0
        h.header["BLANK"] = -32768
        h.header["DATE-OBS"] = f"2026-01-0{i + 1}"
        err = fits.ImageHDU(rng.random(shape, dtype=np.float32), name="ERR")
        p = d / f"img_{i:02d}.fits"
        fits.HDUList([fits.PrimaryHDU(), h, err]).writeto(p)
        paths.append(p)
    return paths


def test_concat_v3_equals_np_stack(tmp_path):
    paths = write_survey(tmp_path)
    refs = ndfiles.refs(str(tmp_path / "img_*.fits"), concat_dim="time", zarr_format=3,
                        chunk_mib=0.001)
    root = open_group(refs)
    for name in ["SCI", "ERR"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np.stack([fits.getdata(f, name) for f in paths])
        assert root[name].metadata.dimension_names[0] == "time"
        assert_same(np.asarray(root[name][...]), want, name)


# --- VirtualiZarr ------------------------------------------------------------------------------

def _registry():
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import LocalStore

    return ObjectStoreRegistry({"file://": LocalStore()})


def test_virtualizarr_fits_concat_load_equals_astropy(tmp_path):
    vz = pytest.importorskip("virtualizarr")
    from ndfiles.virtualizarr import FITSParser

    paths = write_survey(tmp_path)
    registry = _registry()
    vdss = [vz.open_virtual_dataset(p.as_uri(), registry=registry,
                                    parser=FITSParser(chunk_mib=0.001)) for p in paths]
    combined = xr.concat(vdss, dim="time", coords="minimal", compat="override",
                         combine_attrs="override")
    assert combined["SCI"].shape == (3, 30, 40) and combined["SCI"].dims[0] == "time"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ["SCI", "ERR"]:
            want = np.stack([fits.getdata(f, name) for f in paths])
            # loaded through the ManifestStore (VirtualiZarr's own reader)
            got = vz.open_virtual_dataset(paths[1].as_uri(), registry=registry,
                                          parser=FITSParser(), loadable_variables=[name])
            assert_same(got[name].values, want[1], f"{name} loaded")
    # the combined virtual dataset written as kerchunk references (Zarr v2), read by xarray.
    # Only the unscaled array: VirtualiZarr 2.5's v3 -> v2 conversion gives a scaled array the
    # byte order of its `bytes` codec (">f4") although the scaling codec's output is native,
    # which zarr then misreads (spec-notes/virtual-zarr.md); `nd refs` writes correct v2.
    refs = combined.vz.to_kerchunk(format="dict")
    assert _is_v2(refs)
    ds = xr.open_dataset("reference://", engine="zarr", consolidated=False, zarr_format=2,
                         backend_kwargs={"storage_options": {"fo": refs}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = np.stack([fits.getdata(f, "ERR") for f in paths])
    assert_same(ds["ERR"].values, want, "ERR via kerchunk")


def _is_v2(refs):
    return any(k.endswith(".zarray") for k in refs["refs"])


def test_virtualizarr_to_icechunk_equals_astropy(tmp_path):
    vz = pytest.importorskip("virtualizarr")
    icechunk = pytest.importorskip("icechunk")
    from ndfiles.virtualizarr import FITSParser

    paths = write_survey(tmp_path)
    registry = _registry()
    vdss = [vz.open_virtual_dataset(p.as_uri(), registry=registry, parser=FITSParser())
            for p in paths]
    combined = xr.concat(vdss, dim="time", coords="minimal", compat="override",
                         combine_attrs="override")
    config = icechunk.RepositoryConfig.default()
    config.set_virtual_chunk_container(
        icechunk.VirtualChunkContainer(f"file://{tmp_path}/", icechunk.local_filesystem_store(str(tmp_path))))
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(tmp_path / "ic")),
                                      config,
                                      authorize_virtual_chunk_access={f"file://{tmp_path}/": None})
    session = repo.writable_session("main")
    combined.vz.to_icechunk(session.store)
    session.commit("nd refs")
    ds = xr.open_zarr(repo.readonly_session("main").store, consolidated=False, zarr_format=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ["SCI", "ERR"]:
            want = np.stack([fits.getdata(f, name) for f in paths])
            assert_same(ds[name].values, want, name)


def test_virtualizarr_asdf_parser(tmp_path):
    vz = pytest.importorskip("virtualizarr")
    from ndfiles.virtualizarr import ASDFParser, FITSParser

    src = TESTDATA / "asdf" / "py" / "compressed_zlib.asdf"
    registry = _registry()
    vds = vz.open_virtual_dataset(src.as_uri(), registry=registry, parser=ASDFParser())
    names = list(vds.data_vars)
    assert names
    loaded = vz.open_virtual_dataset(src.as_uri(), registry=registry, parser=ASDFParser(),
                                     loadable_variables=names)
    with asdf.open(src, lazy_load=False, memmap=False) as af:
        for name in names:
            want = np.asarray(asdf_node(af.tree, loaded[name].attrs.get("asdf_path", name)))
            assert_same(loaded[name].values, want, name)
    with pytest.raises(ValueError, match="not FITS"):
        FITSParser()(src.as_uri(), registry)


# --- bytes fetched over HTTP (the loopback nginx of .ci/servers.sh) ------------------------------

from conftest import servers  # noqa: E402

S = servers()
needs_http = pytest.mark.skipif("ND_TEST_HTTP_URL" not in S,
                                reason="no test servers (bash .ci/servers.sh)")


def _served(tmp_path, name, hdul):
    """Write an HDU list to the HTTP root under a unique name; (url, path, log)."""
    import uuid

    from pathlib import Path

    root, log = Path(S["ND_TEST_HTTP_ROOT"]), Path(S["ND_TEST_HTTP_LOG"])
    path = root / f"refs-{uuid.uuid4().hex}-{name}"
    hdul.writeto(path)
    return f"{S['ND_TEST_HTTP_URL']}/{path.name}", path, log


def _fetched(log, name, since):
    """(requests, body bytes) nginx served for `name` after byte `since` of its log."""
    import time

    time.sleep(0.5)  # nginx writes its log after the response
    with log.open("rb") as f:
        f.seek(since)
        lines = [ln for ln in f.read().decode().splitlines() if f"/{name} " in ln]
    return len(lines), sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)


def _open_http(refs):
    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True, remote_protocol="http",
                           remote_options={"asynchronous": True})
    return zarr.open_group(store=FsspecStore(fs, read_only=True, path=""), mode="r",
                           zarr_format=3)


@needs_http
def test_http_cutout_of_a_64_mib_image_fetches_at_most_two_chunks(tmp_path):
    """A 100x100 cutout of a 4096x4096 float32 image (64 MiB) through its v3 references fetches
    the one or two 8 MiB chunks of whole rows it touches, counted from nginx's log."""
    pytest.importorskip("aiohttp")
    data = np.random.default_rng(2).standard_normal((4096, 4096), dtype=np.float32)
    url, path, log = _served(tmp_path, "big.fits", fits.HDUList([fits.PrimaryHDU(data)]))
    try:
        refs = ndfiles.refs(url, zarr_format=3)
        a = _open_http(refs)["PRIMARY"]
        chunk_bytes = int(np.prod(a.chunks)) * a.dtype.itemsize
        assert chunk_bytes <= 8 << 20 and a.chunks[1] == 4096, a.chunks
        mark = log.stat().st_size
        cut = a[1000:1100, 2000:2100]
        requests, nbytes = _fetched(log, path.name, mark)
        print(f"HTTP cutout of 64 MiB: {requests} requests, {nbytes} bytes, chunks {a.chunks}")
        assert_same(np.asarray(cut), data[1000:1100, 2000:2100], "cutout")
        assert 1 <= requests <= 2 and 0 < nbytes <= 2 * chunk_bytes, (requests, nbytes)
    finally:
        path.unlink()


def _tile_images():
    rng = np.random.default_rng(3)
    ints = rng.integers(-3000, 3000, (1024, 1024), dtype=np.int16)
    floats = rng.normal(100, 5, (1000, 1000)).astype(np.float32)
    floats[150:160, 350:360] = np.nan
    return {
        "nd_fits_tile": fits.CompImageHDU(ints, compression_type="RICE_1", tile_shape=(64, 64)),
        # quantized, NaN, edge tiles (1000 is not a multiple of 64)
        "nd_fits_tile_table": fits.CompImageHDU(floats, compression_type="RICE_1", tile_shape=(64, 64),
                                                quantize_method=2, dither_seed=42),
    }


@needs_http
@pytest.mark.parametrize("codec", ["nd_fits_tile", "nd_fits_tile_table"])
def test_http_cutout_of_tiles_fetches_only_its_tiles(tmp_path, codec):
    """A 100x100 cutout of a RICE_1 image with 64x64 tiles fetches exactly the 9 tiles it touches
    (their compressed bytes): a 1024x1024 int16 image (nd_fits_tile) and a quantized 1000x1000
    float32 image with NaN and edge tiles (nd_fits_tile_table), values equal to astropy's."""
    pytest.importorskip("aiohttp")
    hdul = fits.HDUList([fits.PrimaryHDU(), _tile_images()[codec]])
    url, path, log = _served(tmp_path, "tiles.fits", hdul)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = fits.getdata(path, 1)
        refs = ndfiles.refs(url, zarr_format=3)
        name = next(k[: -len("/zarr.json")] for k in refs["refs"] if k.endswith("/zarr.json"))
        assert codec in codec_names(refs)
        a = _open_http(refs)[name]
        mark = log.stat().st_size
        cut = a[100:200, 300:400]
        requests, nbytes = _fetched(log, path.name, mark)
        touched = [f"{name}/c/{i}/{j}" for i in range(1, 4) for j in range(4, 7)]
        tiles = sum(refs["refs"][k][2] for k in touched)
        total = sum(v[2] for v in refs["refs"].values() if isinstance(v, list))
        print(f"HTTP tile cutout ({codec}): {requests} requests, {nbytes} bytes; the 9 tiles hold "
              f"{tiles} of {total} compressed bytes")
        assert_same(np.asarray(cut), want[100:200, 300:400], "tile cutout")
        assert requests == 9 and nbytes == tiles, (requests, nbytes, tiles)
        assert_same(np.asarray(a[...]), want, "whole image, edge tiles included")
    finally:
        path.unlink()


@needs_http
def test_virtualizarr_parser_reads_a_url(tmp_path):
    """FITSParser on an http:// URL: nd reads the headers over HTTP, the registry's HTTPStore
    serves the chunks; scaled values with BLANK equal astropy's."""
    vz = pytest.importorskip("virtualizarr")
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import HTTPStore

    from ndfiles.virtualizarr import FITSParser

    [local] = write_survey(tmp_path, n=1)
    with fits.open(local) as hdul:
        url, path, _ = _served(tmp_path, "survey.fits", hdul)
    try:
        base = S["ND_TEST_HTTP_URL"]
        registry = ObjectStoreRegistry(
            {base: HTTPStore.from_url(base, client_options={"allow_http": True})})
        ds = vz.open_virtual_dataset(url, registry=registry, parser=FITSParser(),
                                     loadable_variables=["SCI", "ERR"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in ["SCI", "ERR"]:
                assert_same(ds[name].values, fits.getdata(local, name), name)
    finally:
        path.unlink()
