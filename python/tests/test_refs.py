"""`nd refs` (kerchunk references) read through fsspec's reference filesystem and zarr-python 2,
against astropy and python asdf: a representative subset of testdata/check_refs.py (plain,
scaled, BLANK, unsigned, tile-compressed of every lossless algorithm, ASDF zlib / bzip2 / lz4),
and `--concat-dim` (many files into one array) against np.stack / np.concatenate.

The nd binary is the workspace's target/debug/nd (built by `cargo test --workspace` before
these tests run; built here when it is missing), or $ND_BIN."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")
fits = pytest.importorskip("astropy.io.fits")
asdf = pytest.importorskip("asdf")
pytest.importorskip("ndfiles.codecs")

from conftest import ROOT, TESTDATA, assert_same  # noqa: E402


@pytest.fixture(scope="module")
def nd_bin() -> str:
    path = os.environ.get("ND_BIN") or str(ROOT / "target" / "debug" / "nd")
    if not os.path.exists(path):
        cargo = shutil.which("cargo")
        assert cargo, f"{path} is missing and cargo is not on PATH to build it"
        subprocess.run([cargo, "build", "-q", "-p", "nd-cli"], cwd=ROOT, check=True)
    return path


def refs(nd_bin, out, *args) -> subprocess.CompletedProcess:
    return subprocess.run([nd_bin, "refs", *map(str, args), "-o", str(out), "--force"],
                          capture_output=True, text=True)


def open_refs(path):
    with open(path) as f:
        fo = json.load(f)
    fs = fsspec.filesystem("reference", fo=fo)
    return zarr.open(fs.get_mapper(""), mode="r")


def native(a):
    a = np.asarray(a)
    return a.astype(a.dtype.newbyteorder("="))


FITS_CASES = [
    "fits/gen/dim3.fits",  # plain float32, 3-D
    "fits/gen/mef.fits",  # several extensions
    "fits/gen/sc_i16.fits",  # BSCALE/BZERO
    "fits/gen/blank_i16.fits",  # BLANK -> NaN (nd_fits_scale)
    "fits/gen/dt_u16.fits",  # unsigned convention (fixedscaleoffset)
    "fits/gen/c_gzip_1.fits",
    "fits/gen/c_gzip_2.fits",
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


@pytest.mark.parametrize("rel", FITS_CASES)
def test_fits_refs_equal_astropy(nd_bin, tmp_path, rel):
    src = TESTDATA / rel
    out = tmp_path / "r.json"
    p = refs(nd_bin, out, src, "--chunk-mib", "0.001")  # several chunks even for small images
    assert p.returncode == 0, p.stderr
    root = open_refs(out)
    names = [k for k, _ in root.arrays()]
    assert names, f"{rel}: no arrays"
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name in names:
            a = root[name]
            assert_same(native(a[...]), hdul[a.attrs["fits_hdu"]].data, f"{rel} {name}")


ASDF_CASES = [
    ("asdf/py/compressed_zlib.asdf", "zlib"),
    ("asdf/py/compressed_bzp2.asdf", "bz2"),
    ("asdf/py/compressed_lz4.asdf", "lz4"),
    ("asdf/py/compressed_lz4_multi.asdf", "nd_asdf_lz4"),
    ("asdf/py/dtypes.asdf", None),
    ("asdf/py/views.asdf", "nd_asdf_strided"),  # strides, offsets, negative strides, transposed
    ("asdf-standard/1.6.0/shared.asdf", "nd_asdf_strided"),
    ("asdf/py/exploded/exploded.asdf", None),  # values in the files beside it
    ("asdf-standard/1.6.0/structured.asdf", None),  # a record dtype
]


def asdf_node(tree, path):
    node = tree
    for part in path.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@pytest.mark.parametrize("rel,codec", ASDF_CASES)
def test_asdf_refs_equal_asdf(nd_bin, tmp_path, rel, codec):
    src = TESTDATA / rel
    out = tmp_path / "r.json"
    p = refs(nd_bin, out, src)
    assert p.returncode == 0, p.stderr
    raw = json.loads(out.read_text())["refs"]
    if codec:
        ids = {json.loads(v)["compressor"]["id"] for k, v in raw.items()
               if k.endswith(".zarray") and json.loads(v)["compressor"]}
        assert codec in ids, f"{rel}: compressors {ids}"
    root = open_refs(out)
    names = [k for k, _ in root.arrays(recurse=True)]
    assert names, f"{rel}: no arrays"
    with asdf.open(src, lazy_load=False, memmap=False) as af:
        for name in names:
            a = root[name]
            want = asdf_node(af.tree, a.attrs.get("asdf_path", name))
            want = want.data if np.ma.isMaskedArray(want) else np.asarray(want)
            assert_same(native(a[...]), want, f"{rel} {name}")


def write_survey(d, n=4, shape=(30, 40)):
    """n FITS files of equal layout, different values: a scaled int16 SCI image (BLANK too)
    and a float32 ERR image; headers that differ (DATE-OBS)."""
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


def test_concat_new_dimension_equals_np_stack(nd_bin, tmp_path):
    paths = write_survey(tmp_path)
    out = tmp_path / "cube.json"
    p = refs(nd_bin, out, tmp_path / "img_*.fits", "--concat-dim", "time", "--chunk-mib", "0.001")
    assert p.returncode == 0, p.stderr
    assert "attributes are those of" in p.stderr
    root = open_refs(out)
    for name in ["SCI", "ERR"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np.stack([fits.getdata(f, name) for f in paths])
        a = root[name]
        assert a.attrs["_ARRAY_DIMENSIONS"][0] == "time"
        assert_same(native(a[...]), want, name)
        assert_same(native(a[1:3, 5:9, 7:20]), want[1:3, 5:9, 7:20], f"{name} cutout")
    note = root.attrs["nd_concat"]
    assert note["files"] == 4 and note["dim"] == "time"
    assert "SCI: DATE-OBS" in note["differing_attributes"]
    assert root["SCI"].attrs["DATE-OBS"] == "2026-01-01"


def test_concat_existing_dimension_equals_np_concatenate(nd_bin, tmp_path):
    paths = write_survey(tmp_path, n=3)
    out = tmp_path / "long.json"
    # chunks of 2 rows (int16) and 1 row (float32), which divide the 30 rows
    p = refs(nd_bin, out, *paths, "--concat-dim", "dim_0", "--chunk-mib", "0.0002")
    assert p.returncode == 0, p.stderr
    root = open_refs(out)
    for name in ["SCI", "ERR"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = np.concatenate([fits.getdata(f, name) for f in paths])
        assert_same(native(root[name][...]), want, name)


def test_concat_asdf_compressed_equals_np_stack(nd_bin, tmp_path):
    rng = np.random.default_rng(3)
    arrays = [rng.random((20, 16)) for _ in range(3)]
    paths = []
    for i, a in enumerate(arrays):
        p = tmp_path / f"f{i}.asdf"
        af = asdf.AsdfFile({"data": a})
        af.set_array_compression(a, "zlib")
        af.write_to(p)
        paths.append(p)
    out = tmp_path / "c.json"
    p = refs(nd_bin, out, *paths, "--concat-dim", "n")
    assert p.returncode == 0, p.stderr
    assert_same(native(open_refs(out)["data"][...]), np.stack(arrays), "data")


def test_concat_refuses_a_file_that_differs(nd_bin, tmp_path):
    write_survey(tmp_path, n=2)
    odd = tmp_path / "img_99.fits"
    (tmp_path / "odd").mkdir()
    write_survey(tmp_path / "odd", n=1, shape=(30, 41))
    (tmp_path / "odd" / "img_00.fits").rename(odd)
    out = tmp_path / "x.json"
    p = refs(nd_bin, out, tmp_path / "img_*.fits", "--concat-dim", "time")
    assert p.returncode == 2, p.stderr
    assert "img_99.fits" in p.stderr and "shape [30,41] differs from [30,40]" in p.stderr, p.stderr
    assert not out.exists()
    p = refs(nd_bin, out, tmp_path / "img_0*.fits")
    assert p.returncode == 2 and "--concat-dim" in p.stderr, p.stderr


def test_refs_function_equals_the_cli(nd_bin, tmp_path):
    """`ndfiles.refs` (the same facade call from Python) gives the JSON `nd refs` writes, and
    warns about the parts it leaves out."""
    import ndfiles

    src = TESTDATA / "fits" / "gen" / "blank_i16.fits"
    out = tmp_path / "cli.json"
    assert refs(nd_bin, out, src, "--chunk-mib", "0.001").returncode == 0
    got = ndfiles.refs(str(src), chunk_mib=0.001)
    assert got == json.loads(out.read_text())
    assert_same(native(zarr.open(fsspec.filesystem("reference", fo=got).get_mapper(""),
                                 mode="r")["PRIMARY"][...]),
                fits.getdata(src), "PRIMARY")
    with pytest.warns(UserWarning, match="not mapped"):
        table = ndfiles.refs(TESTDATA / "fits" / "gen" / "bt_vla.fits")  # variable-length columns
    assert "nd_skipped" in json.loads(table["refs"][".zattrs"])


def open_parquet(path):
    """The references' zarr root group. `remote_protocol` as kerchunk's examples pass it: without
    one, fsspec (2026.9) looks for the protocol by walking the references in `set` order, and
    a nested group (a table's columns) met before any chunk raises KeyError '<group>/.zarray'
    (spec-notes/virtual-zarr.md)."""
    fs = fsspec.filesystem("reference", fo=str(path), remote_protocol="file")
    return zarr.open(fs.get_mapper(""), mode="r")


@pytest.mark.parametrize("rel", ["fits/gen/mef.fits", "fits/gen/blank_i16.fits",
                                 "fits/gen/c_rice_1.fits"])
def test_parquet_layout_equals_astropy(nd_bin, tmp_path, rel):
    """`-o out.parq`: kerchunk's parquet layout, read lazily by fsspec's reference filesystem
    (LazyReferenceMapper, fastparquet) and zarr-python 2."""
    pytest.importorskip("fastparquet")
    src = TESTDATA / rel
    out = tmp_path / "r.parq"
    p = refs(nd_bin, out, src, "--chunk-mib", "0.001")
    assert p.returncode == 0, p.stderr
    meta = json.loads((out / ".zmetadata").read_text())
    assert meta["record_size"] == 10000 and ".zgroup" in meta["metadata"]
    root = open_parquet(out)
    names = [k for k, _ in root.arrays()]
    assert names
    with warnings.catch_warnings(), fits.open(src) as hdul:
        warnings.simplefilter("ignore")
        for name in names:
            assert (out / name / "refs.0.parq").is_file()
            a = root[name]
            assert_same(native(a[...]), hdul[a.attrs["fits_hdu"]].data, f"{rel} {name}")


def test_parquet_layout_many_records_and_inline_chunks(nd_bin, tmp_path):
    """More chunks than one record (10,000 rows per file): 25,000 one-row chunks in 3 files;
    and an ASDF file with inline arrays (the `raw` column)."""
    pytest.importorskip("fastparquet")
    data = np.arange(25000 * 4, dtype=np.float32).reshape(25000, 4)
    src = tmp_path / "tall.fits"
    fits.PrimaryHDU(data).writeto(src)
    out = tmp_path / "tall.parq"
    p = refs(nd_bin, out, src, "--chunk-mib", "0.00002")  # 20 bytes: one 16-byte row
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (out / "PRIMARY").iterdir()) == [
        "refs.0.parq", "refs.1.parq", "refs.2.parq"]
    a = open_parquet(out)["PRIMARY"]
    assert a.chunks == (1, 4)
    assert_same(native(a[...]), data, "tall")
    assert_same(native(a[12345:12350, 1:3]), data[12345:12350, 1:3], "tall cutout")
    # inline data
    src = TESTDATA / "asdf" / "py" / "inline.asdf"
    out = tmp_path / "inline.parq"
    p = refs(nd_bin, out, src)
    assert p.returncode == 0, p.stderr
    root = open_parquet(out)
    with asdf.open(src, lazy_load=False, memmap=False) as af:
        names = [k for k, _ in root.arrays(recurse=True)]
        assert names
        for name in names:
            a = root[name]
            want = np.asarray(asdf_node(af.tree, a.attrs.get("asdf_path", name)))
            assert_same(native(a[...]), want, name)
    # refusals: an existing set without --force, v3 references
    p = subprocess.run([nd_bin, "refs", str(src), "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 2 and "exists" in p.stderr, p.stderr
    p = refs(nd_bin, tmp_path / "v3.parq", src, "--zarr-format", "3")
    assert p.returncode == 2 and "Zarr v2" in p.stderr, p.stderr
