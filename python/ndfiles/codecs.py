"""numcodecs codecs for the references `nd refs` writes (kerchunk version 1 JSON).

Where the stored bytes of a FITS or ASDF file need a decoding numcodecs lacks, the references
name one of these codec ids; zarr-python finds them through the ``numcodecs.codecs`` entry point
of this package, so ``pip install ndfiles`` is all a reader needs:

- ``nd_fits_scale``: FITS stored big-endian values to astropy's physical values (BSCALE/BZERO
  not a power of two, BLANK to NaN, BZERO = 2**63), computed by nd's FITS reader;
- ``nd_asdf_lz4``: python asdf's lz4 block framing (several frames in one block);
- ``nd_asdf_strided``: a strided view of an uncompressed ASDF block (strides, offset, negative
  strides, Fortran order): the byte range spanning a chunk's elements, gathered into C order;
- ``nd_fits_tile``: one RICE_1 / PLIO_1 / HCOMPRESS_1 tile of a tile-compressed FITS image
  (lossless integer tiles) to its ZBITPIX big-endian values, decoded by nd's tile decoders;
- ``nd_fits_column``: one column of a FITS table (BINTABLE or ASCII TABLE) from a run of whole
  rows, as astropy gives it (``hdu.data[name]``: TSCAL/TZERO, unsigned, logical, bits, strings as
  fixed-width bytes), decoded by nd's table reader;
- ``nd_fits_tile_table``: one tile of a tile-compressed FITS image whose tiles need their own
  parameters (quantized with any dither method, null pixels, fallback columns, edge tiles): the
  configuration's table finds the tile by its bytes, nd decodes it to astropy's physical
  values (NaN for null pixels), an edge tile padded to the chunk shape;
- ``nd_fits_tile_group``: a group of tiles of a tile-compressed FITS image with many tiles (a run
  of whole tile rows, their compressed streams one after another in the file): the
  configuration's table (base64 binary columns) finds the chunk by its bytes and gives each
  tile's length and parameters; nd decodes every tile and places it in the chunk.

Decoding only: references describe existing files, so ``encode`` raises.
"""

import json

from numcodecs.abc import Codec
from numcodecs.compat import ensure_bytes, ndarray_copy

from ._ndfiles import CodecDecoder


class _NdCodec(Codec):
    """A decode-only codec computed by nd (the GIL is released while it runs). The configuration
    is parsed once, by the first decode (not pickled: a copy parses it again)."""

    _keys: tuple = ()

    def __init__(self, **config):
        for k in self._keys:
            setattr(self, k, config.get(k))
        self._decoder = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_decoder"] = None
        return state

    def get_config(self):
        cfg = {"id": self.codec_id}
        cfg.update({k: getattr(self, k) for k in self._keys})
        return cfg

    def encode(self, buf):
        raise NotImplementedError(f"{self.codec_id} decodes only (it describes an existing file)")

    def decode(self, buf, out=None):
        if getattr(self, "_decoder", None) is None:
            self._decoder = CodecDecoder(json.dumps(self.get_config()))
        dec = self._decoder.decode(ensure_bytes(buf))
        return ndarray_copy(dec, out)


class FitsScale(_NdCodec):
    """FITS scaling exactly as astropy applies it: ``{"bitpix", "bscale", "bzero", "blank"}``."""

    codec_id = "nd_fits_scale"
    _keys = ("bitpix", "bscale", "bzero", "blank")


class AsdfLz4(_NdCodec):
    """python asdf's lz4 block framing (``[u32 BE length][u32 LE size][LZ4 block]`` frames)."""

    codec_id = "nd_asdf_lz4"


class AsdfStrided(_NdCodec):
    """The byte range spanning one chunk of a strided view of an ASDF block, gathered into C
    order: ``{"shape": chunk shape, "strides": byte strides, "itemsize", "axis": split axis}``."""

    codec_id = "nd_asdf_strided"
    _keys = ("shape", "strides", "itemsize", "axis")

    def get_config(self):
        cfg = super().get_config()
        for k in ("shape", "strides"):
            cfg[k] = list(cfg[k]) if cfg[k] is not None else None
        return cfg


class FitsTile(_NdCodec):
    """One RICE_1 / PLIO_1 / HCOMPRESS_1 tile of a FITS image, as ZBITPIX big-endian bytes."""

    codec_id = "nd_fits_tile"
    _keys = ("zcmptype", "zbitpix", "tile", "blocksize", "bytepix", "hscale", "hsmooth", "plio_big_endian")

    def get_config(self):
        cfg = super().get_config()
        cfg["tile"] = list(cfg["tile"]) if cfg["tile"] is not None else None
        return cfg


class FitsColumn(_NdCodec):
    """One column of a FITS table from whole rows: ``{"hdu", "ascii", "row_bytes", "rows",
    "offset", "keywords"}`` (the column's TFORM, TSCAL, TZERO, TNULL, TDIM, TBCOL, TTYPE)."""

    codec_id = "nd_fits_column"
    _keys = ("hdu", "ascii", "row_bytes", "rows", "offset", "keywords")


_TILE_TABLE_KEYS = (
    "zcmptype",
    "zbitpix",
    "tile",
    "blocksize",
    "bytepix",
    "hscale",
    "hsmooth",
    "plio_big_endian",
    "shape",
    "zquantiz",
    "zdither0",
    "zblank",
    "bscale",
    "bzero",
    "blank",
    "tiles",
)


class FitsTileTable(_NdCodec):
    """One tile of a FITS image whose tiles need their own parameters, found by its bytes in the
    configuration's ``tiles`` table; decodes to the full tile's physical values."""

    codec_id = "nd_fits_tile_table"
    _keys = _TILE_TABLE_KEYS

    def __repr__(self):
        n = len((self.tiles or {}).get("length", []))
        return f"FitsTileTable(zcmptype={self.zcmptype!r}, zbitpix={self.zbitpix!r}, tile={self.tile!r}, tiles=<{n} tiles>)"


class FitsTileGroup(_NdCodec):
    """A group of tiles of a FITS image (their compressed streams one after another), found by
    its bytes in the configuration's ``chunks`` table; each tile decoded with its own length and
    parameters from the ``tiles`` table and placed: the chunk's physical values."""

    codec_id = "nd_fits_tile_group"
    _keys = _TILE_TABLE_KEYS + ("chunk_shape", "chunks")

    def __repr__(self):
        return (
            f"FitsTileGroup(zcmptype={self.zcmptype!r}, zbitpix={self.zbitpix!r}, tile={self.tile!r}, "
            f"chunk_shape={self.chunk_shape!r}, shape={self.shape!r})"
        )
