"""VirtualiZarr parsers for FITS and ASDF files, built on nd's references (``nd refs``).

>>> import virtualizarr as vz                                          # doctest: +SKIP
>>> from obstore.store import LocalStore                               # doctest: +SKIP
>>> from obspec_utils.registry import ObjectStoreRegistry              # doctest: +SKIP
>>> from ndfiles.virtualizarr import FITSParser                        # doctest: +SKIP
>>> registry = ObjectStoreRegistry({"file://": LocalStore()})          # doctest: +SKIP
>>> vds = vz.open_virtual_dataset("file:///data/img.fits", registry=registry,
...                               parser=FITSParser())                 # doctest: +SKIP

A parser follows VirtualiZarr 2's protocol: called with ``(url, registry)``, it returns a
``ManifestStore``. The hierarchy is that of ``nd refs --zarr-format 3`` (one array per image HDU /
ASDF ndarray, sub-chunked rows, one tile per chunk or groups of whole tile rows for images with
many tiles, FITS scaling and ASDF compression as codecs; ``spec-notes/virtual-zarr.md``); nd's
own codecs (``nd_fits_scale``, ``nd_fits_tile``, ``nd_fits_tile_table``, ``nd_fits_tile_group``,
``nd_asdf_lz4``, ``nd_asdf_strided``, ``nd_fits_column``) are read by zarr-python 3 through this
package's ``zarr.codecs`` entry points.

nd reads the file's headers (FITS) or tree and block headers (ASDF) itself, through its own
local / HTTP / S3 access (and, once, the tiles of a tile-compressed image that needs
``nd_fits_tile_table`` or ``nd_fits_tile_group``, whose tables identify chunks by their bytes); the registry serves the
chunk reads. Arrays that nd gives inline
(small ASDF inline arrays, a last chunk that would run past the end of the file) are left out
with a warning: a ``ManifestStore`` holds byte ranges only. Parts nd does not map (tables,
random groups, ...) are warned about and listed in the root attribute ``nd_skipped``.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any, Iterable

from ._refs import refs

__all__ = ["ASDFParser", "FITSParser", "manifest_store"]

# a v3 default-encoding chunk key: (array path, chunk indices)
_CHUNK_KEY = re.compile(r"^(?:(.*)/)?c(?:/([0-9/]+))?$")


def manifest_store(references: dict[str, Any], registry: Any = None,
                   skip_variables: Iterable[str] = ()) -> Any:
    """A VirtualiZarr ``ManifestStore`` from Zarr v3 references (``ndfiles.refs(...,
    zarr_format=3)``): a ``ManifestGroup`` per group, a ``ManifestArray`` per array (its
    ``zarr.json`` as metadata, its byte ranges as the chunk manifest)."""
    from virtualizarr.manifests import (
        ChunkManifest,
        ManifestArray,
        ManifestGroup,
        ManifestStore,
    )
    from zarr.core.metadata import ArrayV3Metadata

    refs_ = references.get("refs", references)
    skip = set(skip_variables)
    nodes: dict[str, dict] = {}
    chunks: dict[str, dict[str, Any]] = {}
    for key, value in refs_.items():
        path, _, name = key.rpartition("/")
        if name == "zarr.json":
            nodes[path] = json.loads(value)
        elif ".zarray" in name or ".zgroup" in name:
            raise ValueError("Zarr v2 references: build them with zarr_format=3")
        else:
            # `ARRAY/c/0/1`, or `ARRAY/c` for a 0-d array (manifest keys `0/1`, `c`)
            m = _CHUNK_KEY.match(key)
            if m is None:
                raise ValueError(f"{key!r}: not a Zarr v3 chunk key")
            array, idx = m.group(1) or "", m.group(2) or "c"
            chunks.setdefault(array, {})[idx] = value

    def build(path: str) -> Any:
        arrays, groups = {}, {}
        prefix = f"{path}/" if path else ""
        for child, meta in nodes.items():
            if not child.startswith(prefix) or child == path or "/" in child[len(prefix):]:
                continue
            name = child[len(prefix):]
            if meta["node_type"] == "group":
                groups[name] = build(child)
                continue
            if child in skip:
                continue
            entries = {}
            inline = False
            for idx, v in chunks.get(child, {}).items():
                if not isinstance(v, list):
                    inline = True
                    break
                url, offset, length = v
                entries[idx] = {"path": _uri(url), "offset": offset, "length": length}
            if inline:
                warnings.warn(f"array {child!r}: nd gives its data inline, which a "
                              "ManifestStore cannot hold; left out", UserWarning, stacklevel=3)
                continue
            metadata = ArrayV3Metadata.from_dict(dict(meta))
            grid = [-(-s // c) for s, c in zip(meta["shape"],
                                                meta["chunk_grid"]["configuration"]["chunk_shape"])]
            manifest = ChunkManifest(entries=entries, shape=tuple(grid), separator="/")
            arrays[name] = ManifestArray(metadata=metadata, chunkmanifest=manifest)
        attrs = nodes.get(path, {}).get("attributes", {})
        return ManifestGroup(arrays=arrays, groups=groups, attributes=attrs)

    if nodes.get("", {}).get("node_type") != "group":
        raise ValueError("the references have no Zarr v3 root group")
    return ManifestStore(group=build(""), registry=registry)


def _uri(url: str) -> str:
    """A local absolute path as a ``file://`` URI (VirtualiZarr's manifests hold URIs)."""
    if url.startswith("/"):
        from pathlib import PurePosixPath

        return PurePosixPath(url).as_uri()
    return url


class _NdParser:
    """A VirtualiZarr parser of one format, through ``ndfiles.refs``."""

    _format = ""

    def __init__(
        self,
        *,
        chunk_mib: float = 8.0,
        skip_variables: Iterable[str] | None = None,
        group_tiles_above: int = 65536,
    ):
        """``chunk_mib``: largest chunk of an uncompressed image or block (chunks are whole
        rows / planes). ``skip_variables``: arrays to leave out. ``group_tiles_above``: a
        tile-compressed image with more tiles maps groups of tiles (whole tile rows, about
        ``chunk_mib`` of values) to chunks."""
        self.chunk_mib = chunk_mib
        self.skip_variables = list(skip_variables or ())
        self.group_tiles_above = group_tiles_above

    def __call__(self, url: str, registry: Any) -> Any:
        """The ``ManifestStore`` of the file at ``url`` (a path, ``file://``, ``http(s)://`` or
        ``s3://`` URL); ``registry`` resolves the URLs of the chunk reads."""
        from . import open as nd_open

        with nd_open(url) as ds:
            fmt = ds.format
        if fmt.lower() != self._format.lower():
            raise ValueError(f"{url}: a {fmt} file, not {self._format}")
        r = refs(url, chunk_mib=self.chunk_mib, zarr_format=3, group_tiles_above=self.group_tiles_above)
        return manifest_store(r, registry, self.skip_variables)


class FITSParser(_NdParser):
    """VirtualiZarr parser of FITS files: every image HDU an array (named as ``nd convert``
    names them: ``PRIMARY``, EXTNAME, ...), the header cards as attributes, dimension names from
    CTYPEn; tile-compressed images one tile per chunk; values as astropy gives them."""

    _format = "FITS"


class ASDFParser(_NdParser):
    """VirtualiZarr parser of ASDF files: every ndarray an array named by its tree path (nested
    groups for nested paths), compressed blocks (zlib, bzip2, lz4) one chunk each; values as
    python asdf gives them."""

    _format = "ASDF"
