"""zarr-python 3 codecs for the Zarr v3 references ``nd refs --zarr-format 3`` writes.

The same decodings as :mod:`ndfiles.codecs` (numcodecs, for Zarr v2 references), as Zarr v3
codecs; zarr-python 3 finds them through the ``zarr.codecs`` entry points of this package, so
``pip install ndfiles`` is all a reader needs:

- ``nd_fits_scale`` (array to array): FITS stored big-endian values (the ``bytes`` codec before
  it decodes them with ``endian: big``) to astropy's physical values;
- ``nd_fits_tile`` (bytes to bytes): one RICE_1 / PLIO_1 / HCOMPRESS_1 tile to its ZBITPIX
  big-endian values;
- ``nd_fits_tile_table`` (bytes to bytes): one tile of an image whose tiles need their own
  parameters (quantized, null pixels, fallback columns, edge tiles), found by its bytes in the
  configuration's table, to the full tile's physical values (native byte order);
- ``nd_fits_tile_group`` (bytes to bytes): a group of tiles of an image with many tiles (their
  compressed streams one after another), found by its bytes in the configuration's table, to the
  chunk's physical values (native byte order);
- ``nd_asdf_lz4`` (bytes to bytes): python asdf's lz4 block framing;
- ``nd_asdf_strided`` (bytes to bytes): the byte range spanning one chunk of a strided view of
  an ASDF block, gathered into C order (the ``bytes`` codec before it has the stored order);
- ``nd_fits_column`` (bytes to bytes): one column of a FITS table from a run of whole rows, as
  little-endian values (the ``bytes`` codec before it says ``endian: little``).

The configuration of each is that of the numcodecs codec without ``id``. Decoding only:
references describe existing files, so encoding raises.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from zarr.abc.codec import ArrayArrayCodec, BytesBytesCodec
from zarr.core.common import parse_named_configuration
from zarr.dtype import parse_dtype

from ._ndfiles import CodecDecoder

# the stored (big-endian) numpy type of each FITS BITPIX
_STORED = {8: "|u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


@dataclass(frozen=True)
class _NdCodec:
    """A decode-only Zarr v3 codec computed by nd (the GIL is released while it runs)."""

    configuration: dict
    codec_name: ClassVar[str] = ""
    is_fixed_size: ClassVar[bool] = False

    def __init__(self, **configuration: Any) -> None:
        object.__setattr__(self, "configuration", dict(configuration))

    @classmethod
    def from_dict(cls, data: dict) -> _NdCodec:
        _, configuration = parse_named_configuration(data, cls.codec_name)
        return cls(**(configuration or {}))

    def to_dict(self) -> dict:
        return {"name": self.codec_name, "configuration": dict(self.configuration)}

    def _config_json(self) -> str:
        return json.dumps({"id": self.codec_name, **self.configuration})

    def _decoder(self) -> CodecDecoder:
        """The configuration parsed once (not pickled: a copy parses it again)."""
        dec = self.__dict__.get("_parsed")
        if dec is None:
            dec = CodecDecoder(self._config_json())
            object.__setattr__(self, "_parsed", dec)
        return dec

    def __getstate__(self) -> dict:
        return {"configuration": self.configuration}

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "configuration", state["configuration"])

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: Any) -> int:
        raise NotImplementedError(f"{self.codec_name} decodes only")

    async def _encode_single(self, chunk_data: Any, chunk_spec: Any) -> Any:
        raise NotImplementedError(
            f"{self.codec_name} decodes only (it describes an existing file)"
        )


class _NdBytesCodec(_NdCodec, BytesBytesCodec):
    """A bytes-to-bytes decoding by nd."""

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        raw = chunk_bytes.to_bytes()
        out = await asyncio.to_thread(self._decoder().decode, raw)
        return chunk_spec.prototype.buffer.from_bytes(out.view("B").tobytes())


@dataclass(frozen=True, init=False)
class FitsScale(_NdCodec, ArrayArrayCodec):
    """FITS scaling exactly as astropy applies it: ``{"bitpix", "bscale", "bzero", "blank"}``."""

    codec_name: ClassVar[str] = "nd_fits_scale"

    def _stored(self) -> np.dtype:
        bitpix = self.configuration.get("bitpix")
        if bitpix not in _STORED:
            raise ValueError(f"nd_fits_scale: invalid bitpix {bitpix!r}")
        return np.dtype(_STORED[bitpix])

    def resolve_metadata(self, chunk_spec: Any) -> Any:
        return replace(chunk_spec, dtype=parse_dtype(self._stored(), zarr_format=3))

    async def _decode_single(self, chunk_array: Any, chunk_spec: Any) -> Any:
        stored = np.ascontiguousarray(chunk_array.as_ndarray_like(), dtype=self._stored())
        out = await asyncio.to_thread(self._decoder().decode, stored.tobytes())
        return chunk_spec.prototype.nd_buffer.from_ndarray_like(out.reshape(chunk_spec.shape))


@dataclass(frozen=True, init=False)
class FitsTile(_NdBytesCodec):
    """One RICE_1 / PLIO_1 / HCOMPRESS_1 tile of a FITS image, as ZBITPIX big-endian bytes."""

    codec_name: ClassVar[str] = "nd_fits_tile"


@dataclass(frozen=True, init=False)
class FitsTileTable(_NdBytesCodec):
    """One tile of a FITS image whose tiles need their own parameters, found by its bytes in the
    configuration's ``tiles`` table; decodes to the full tile's physical values."""

    codec_name: ClassVar[str] = "nd_fits_tile_table"


@dataclass(frozen=True, init=False)
class FitsTileGroup(_NdBytesCodec):
    """A group of tiles of a FITS image (their streams one after another), found by its bytes in
    the configuration's table; decodes to the chunk's physical values."""

    codec_name: ClassVar[str] = "nd_fits_tile_group"

    def __repr__(self) -> str:
        c = self.configuration
        return f"FitsTileGroup(zcmptype={c.get('zcmptype')!r}, chunk_shape={c.get('chunk_shape')!r})"


@dataclass(frozen=True, init=False)
class AsdfLz4(_NdBytesCodec):
    """python asdf's lz4 block framing (``[u32 BE length][u32 LE size][LZ4 block]`` frames)."""

    codec_name: ClassVar[str] = "nd_asdf_lz4"


@dataclass(frozen=True, init=False)
class AsdfStrided(_NdBytesCodec):
    """The byte range spanning one chunk of a strided view of an ASDF block, in C order."""

    codec_name: ClassVar[str] = "nd_asdf_strided"


@dataclass(frozen=True, init=False)
class FitsColumn(_NdBytesCodec):
    """One column of a FITS table from a run of whole rows, as astropy gives it."""

    codec_name: ClassVar[str] = "nd_fits_column"
