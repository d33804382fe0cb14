"""``ndfiles.refs``: kerchunk references of FITS and ASDF files (what ``nd refs`` writes)."""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Sequence, Union

from ._ndfiles import refs_json

PathLike = Union[str, "os.PathLike[str]"]


def refs(
    sources: PathLike | Sequence[PathLike],
    *,
    output: PathLike | None = None,
    chunk_mib: float = 8.0,
    url_prefix: str | None = None,
    concat_dim: str | None = None,
    zarr_format: int = 2,
    force: bool = False,
    group_tiles_above: int = 65536,
) -> dict[str, Any]:
    """The kerchunk references (version 1) describing FITS / ASDF files as a Zarr hierarchy whose
    chunks are byte ranges of the files, as ``nd refs`` writes them.

    ``sources``: a path, URL or quoted local pattern (``"survey/*.fits"``), or a list of them;
    more than one file needs ``concat_dim`` (a new leading dimension, or one every array has).
    ``chunk_mib``: largest chunk of an uncompressed image or block. ``url_prefix``: refer to
    PREFIX + each file's name. ``zarr_format``: 2 (``.zarray``, numcodecs codecs) or 3
    (``zarr.json``, a v3 codec chain, chunk keys ``c/0/1``). ``output``: also write the JSON
    there (an existing file is replaced only with ``force``). ``group_tiles_above``: a
    tile-compressed image with more tiles than this maps a group of tiles (whole tile rows, about
    ``chunk_mib`` of values) to one chunk (codec ``nd_fits_tile_group``) where its tiles lie in
    order in the file; 0 groups every tiled image.

    Returns ``{"version": 1, "refs": {...}}``, for ``fsspec.filesystem("reference", fo=...)``.
    Parts not mapped (variable-length table columns, quantized tiles, ...) are listed in the
    root attributes' ``nd_skipped`` and issued as a ``UserWarning`` each. Raises ``ndfiles.Error`` on failure.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    srcs = [os.fspath(s) for s in sources]
    if not (isinstance(chunk_mib, (int, float)) and 0 < chunk_mib <= 1e6):
        raise ValueError(f"chunk_mib={chunk_mib!r}: give a positive number of MiB")
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format={zarr_format!r}: 2 or 3")
    if not (isinstance(group_tiles_above, int) and group_tiles_above >= 0):
        raise ValueError(f"group_tiles_above={group_tiles_above!r}: give a number of tiles (>= 0)")
    text, expanded, skipped, _ = refs_json(
        srcs,
        max(1, int(chunk_mib * 1048576)),
        url_prefix,
        concat_dim,
        int(zarr_format),
        None if output is None else os.fspath(output),
        bool(force),
        int(group_tiles_above),
    )
    what = expanded[0] if len(expanded) == 1 else f"{len(expanded)} files"
    for s in skipped:
        warnings.warn(f"{what}: {s}", UserWarning, stacklevel=2)
    return json.loads(text)
