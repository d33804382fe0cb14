"""ndfiles' numcodecs codecs (what `nd refs` references name where numcodecs has no codec),
found through the `numcodecs.codecs` entry point, against astropy and python asdf."""

from __future__ import annotations

import struct

import numpy as np
import pytest

numcodecs = pytest.importorskip("numcodecs")
fits = pytest.importorskip("astropy.io.fits")
asdf = pytest.importorskip("asdf")

from conftest import TESTDATA  # noqa: E402


def codec(**config):
    return numcodecs.get_codec(config)


def test_entry_point_finds_the_codecs():
    from ndfiles.codecs import AsdfLz4, FitsScale

    c = codec(id="nd_fits_scale", bitpix=16, bscale=0.1, bzero=5.0, blank=None)
    assert isinstance(c, FitsScale)
    assert c.get_config() == {"id": "nd_fits_scale", "bitpix": 16, "bscale": 0.1, "bzero": 5.0, "blank": None}
    assert isinstance(codec(id="nd_asdf_lz4"), AsdfLz4)
    with pytest.raises(NotImplementedError):
        c.encode(b"\0\0")


@pytest.mark.parametrize(
    "name",
    ["gen/sc_i16.fits", "gen/sc_i32.fits", "gen/sc_u8.fits", "gen/sc_f64.fits", "gen/blank_i16.fits",
     "gen/blank_i32.fits", "gen/blank_sc_i16.fits", "gen/blank_u8.fits", "gen/dt_u64.fits",
     "gen/u64_bzero.fits", "astropy/scale.fits", "astropy/blank.fits"],
)
def test_fits_scale_equals_astropy(name):
    path = TESTDATA / "fits" / name
    # the header as stored (astropy drops BSCALE/BZERO from a header once its data is scaled)
    hdr = fits.getheader(path)
    bitpix = hdr["BITPIX"]
    blank = hdr.get("BLANK") if bitpix > 0 else None
    want = fits.getdata(path)
    with fits.open(path, do_not_scale_image_data=True) as h:
        stored = np.ascontiguousarray(h[0].data).astype(h[0].data.dtype.newbyteorder(">"))
    c = codec(id="nd_fits_scale", bitpix=bitpix, bscale=float(hdr.get("BSCALE", 1.0)),
              bzero=float(hdr.get("BZERO", 0.0)), blank=blank)
    got = c.decode(stored.tobytes()).reshape(want.shape)
    # into a caller's buffer, as zarr-python asks
    out = np.empty_like(got)
    c.decode(stored.tobytes(), out=out)
    assert out.tobytes() == got.tobytes()
    assert got.dtype == want.dtype.newbyteorder("=")
    w = want.astype(want.dtype.newbyteorder("="))
    if w.dtype.kind == "f":
        assert np.array_equal(np.isnan(got), np.isnan(w))
        got, w = np.nan_to_num(got), np.nan_to_num(w)
    assert got.tobytes() == w.tobytes()


def test_asdf_lz4_frames_equal_asdf():
    path = TESTDATA / "asdf" / "py" / "compressed_lz4_multi.asdf"
    raw = path.read_bytes()
    with asdf.open(path, lazy_load=False, memmap=False) as af:
        arrays = {k: np.asarray(v) for k, v in af.tree.items() if hasattr(v, "dtype")}
    # the first block: magic, u16 header size, then flags, compression, allocated, used, data size
    at = raw.index(b"\xd3BLK")
    hsize = struct.unpack(">H", raw[at + 4 : at + 6])[0]
    used, size = struct.unpack(">QQ", raw[at + 6 + 16 : at + 6 + 32])
    start = at + 6 + hsize
    got = codec(id="nd_asdf_lz4").decode(raw[start : start + used])
    assert got.nbytes == size
    assert any(got.tobytes() == a.tobytes() for a in arrays.values())
    with pytest.raises(Exception):
        codec(id="nd_asdf_lz4").decode(b"\0\0\0\x10garbage")


@pytest.mark.parametrize("algo", ["RICE_1", "PLIO_1", "HCOMPRESS_1"])
def test_fits_tile_equals_astropy(tmp_path, algo):
    data = np.random.default_rng(4).integers(0, 3000, (32, 48), dtype=np.int16)
    path = tmp_path / "t.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, compression_type=algo, tile_shape=(16, 48))]).writeto(path)
    with fits.open(path, disable_image_compression=True) as h:
        t = h[1]
        hdr = t.header
        # the heap bytes as stored: astropy hands the descriptors' arrays over in native order
        cells = [np.asarray(t.data["COMPRESSED_DATA"][i]) for i in range(len(t.data))]
        tiles = [c.astype(c.dtype.newbyteorder(">")).tobytes() for c in cells]
        zval = {hdr[f"ZNAME{i}"]: hdr[f"ZVAL{i}"] for i in range(1, 10) if f"ZNAME{i}" in hdr}
        plio_be = "I" in hdr["TFORM1"]
    c = codec(id="nd_fits_tile", zcmptype=algo, zbitpix=16, tile=[16, 48], blocksize=zval.get("BLOCKSIZE", 32),
              bytepix=zval.get("BYTEPIX", 4), hscale=int(zval.get("SCALE", 0)), hsmooth=bool(zval.get("SMOOTH", 0)),
              plio_big_endian=plio_be)
    got = np.concatenate([c.decode(b).view(">i2") for b in tiles]).reshape(data.shape)
    assert np.array_equal(got, data)


def test_fits_tile_table_decodes_pickles_and_stays_short_in_repr(tmp_path):
    """nd_fits_tile_table from the references of a quantized image with fallback and edge tiles:
    every chunk decodes to astropy's values for its tile (an edge tile padded to the chunk
    shape); the codec pickles (after decoding, its parsed table is not pickled) and its repr
    does not print the table; bytes of no tile are refused."""
    import json
    import pickle

    import ndfiles

    src = TESTDATA / "fits" / "gen" / "c_tilemodes.fits"
    refs = ndfiles.refs(str(src))
    meta = json.loads(refs["refs"]["H1/.zarray"])
    c = numcodecs.get_codec(meta["compressor"])
    assert type(c).__name__ == "FitsTileTable" and len(repr(c)) < 200, repr(c)
    want = fits.getdata(src, 1)
    ty, tx = meta["chunks"]
    data = src.read_bytes()
    n = 0
    for key, ref in refs["refs"].items():
        if not key.startswith("H1/") or key.endswith((".zarray", ".zattrs")):
            continue
        _, off, length = ref
        i, j = (int(x) for x in key[3:].split("."))
        got = c.decode(data[off:off + length]).reshape(ty, tx)
        part = want[i * ty:(i + 1) * ty, j * tx:(j + 1) * tx]
        np.testing.assert_array_equal(got[: part.shape[0], : part.shape[1]], part)
        n += 1
        c = pickle.loads(pickle.dumps(c))
    assert n == 5
    with pytest.raises(Exception, match="none of the image's tiles"):
        c.decode(b"\0" * 30)


def test_fits_tile_group_decodes_pickles_and_stays_short_in_repr():
    """nd_fits_tile_group from the references of a quantized image with fallback and edge tiles,
    every image grouped (group_tiles_above=0) in chunks of whole tile rows: every chunk decodes
    to astropy's values for its region (zeros past the edge); the codec pickles and its repr
    does not print the table; bytes of no chunk are refused."""
    import json
    import pickle

    import ndfiles

    src = TESTDATA / "fits" / "gen" / "c_tilemodes.fits"
    refs = ndfiles.refs(str(src), group_tiles_above=0, chunk_mib=0.0012)  # chunks of 2 tile rows
    meta = json.loads(refs["refs"]["H1/.zarray"])
    c = numcodecs.get_codec(meta["compressor"])
    assert type(c).__name__ == "FitsTileGroup" and len(repr(c)) < 200, repr(c)
    assert c.get_config() == meta["compressor"]
    want = fits.getdata(src, 1)
    cy, cx = meta["chunks"]
    ty, tx = meta["compressor"]["tile"]
    assert cy > ty or cx > tx, "several tiles a chunk"
    data = src.read_bytes()
    n = 0
    for key, ref in refs["refs"].items():
        if not key.startswith("H1/") or key.endswith((".zarray", ".zattrs")):
            continue
        _, off, length = ref
        i, j = (int(x) for x in key[3:].split("."))
        got = c.decode(data[off:off + length]).reshape(cy, cx)
        part = want[i * cy:(i + 1) * cy, j * cx:(j + 1) * cx]
        np.testing.assert_array_equal(got[: part.shape[0], : part.shape[1]], part)
        assert not got[part.shape[0]:].any() and not got[:, part.shape[1]:].any()
        n += 1
        c = pickle.loads(pickle.dumps(c))
    assert n >= 2
    with pytest.raises(Exception, match="none of the image's chunks"):
        c.decode(b"\0" * 30)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::-2, 3::5],  # negative and positive steps, an offset
        lambda a: a.T,  # Fortran order
        lambda a: a[:, ::-1],  # a reversed last axis
        lambda a: a.ravel()[7:70:9],  # every 9th element
    ],
)
def test_asdf_strided_gathers_numpys_view(view):
    from ndfiles.codecs import AsdfStrided

    base = np.arange(120, dtype="<i4").reshape(6, 20)
    v = view(base)
    raw = base.tobytes()
    # the byte range the view's elements span, and element 0's place in it
    start = v.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    lo = start + sum((n - 1) * s for n, s in zip(v.shape, v.strides) if s < 0)
    hi = start + sum((n - 1) * s for n, s in zip(v.shape, v.strides) if s > 0) + v.itemsize
    c = codec(id="nd_asdf_strided", shape=list(v.shape), strides=list(v.strides), itemsize=4, axis=0)
    assert isinstance(c, AsdfStrided)
    got = c.decode(raw[lo:hi])
    assert got.view("<i4").reshape(v.shape).tolist() == v.tolist()
    with pytest.raises(Exception):
        c.decode(raw[lo : hi - 1])
