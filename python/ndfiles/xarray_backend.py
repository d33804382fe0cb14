"""The xarray backend ``engine="ndfiles"``: FITS images, ASDF arrays and Zarr arrays as lazy
xarray variables.

>>> import xarray as xr
>>> ds = xr.open_dataset("cube.fits", engine="ndfiles")              # doctest: +SKIP
>>> ds = xr.open_dataset("cube.fits", engine="ndfiles", chunks={})   # dask, native chunks

Nothing is read when a dataset is opened but metadata; indexing a variable reads only the box
it needs (xarray's basic and outer indexing). What becomes a variable:

- FITS: every image HDU with data (plain or tile-compressed), named by its ``EXTNAME``
  (``PRIMARY`` for HDU 0 without one, ``HDU<n>`` for an extension without one; ``NAME_VER``
  where names repeat). Tables are not variables (see :class:`ndfiles.Table`).
- ASDF: every ndarray of the tree, named by its tree path (``data``, ``meta/list/1``).
- Zarr: the arrays of one group (``group=``, the root by default), named by their name in it.

``selectors=[...]`` opens exactly the arrays given (selectors as ``ndfiles.Dataset`` takes them).
Dimension names and attributes are nd's (``nd convert`` writes the same to Zarr), see the
``ndfiles`` README.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

import xarray as xr

from . import Array, Dataset, Error, _ndfiles
from . import open as _open

# What open_dataset takes beyond drop_variables (xarray checks keywords against this).
_PARAMETERS = (
    "filename_or_obj",
    "drop_variables",
    "group",
    "selectors",
    "storage_options",
    "mask_and_scale",
    "decode_times",
    "decode_timedelta",
    "use_cftime",
    "concat_characters",
    "decode_coords",
)

_FITS_MAGIC = b"SIMPLE  ="
_ASDF_MAGIC = b"#ASDF"
_GZIP_MAGIC = b"\x1f\x8b"


class NdfilesBackendArray(BackendArray):
    """One nd array as xarray's lazily indexed backend array (basic and outer indexing)."""

    __slots__ = ("array", "shape", "dtype")

    def __init__(self, array: Array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._getitem
        )

    def _getitem(self, key: tuple[Any, ...]) -> np.ndarray:
        """Outer indexing: ints, slices and 1-d integer arrays, one per axis. An integer array is
        read as the box from its smallest to its largest index, then taken from."""
        basic: list[Any] = []
        takes: list[tuple[int, np.ndarray]] = []
        axis = 0
        for k in key:
            if isinstance(k, np.ndarray):
                k = np.asarray(k, dtype=np.int64)
                if k.size == 0:
                    basic.append(slice(0, 0))
                    takes.append((axis, k))
                else:
                    lo, hi = int(k.min()), int(k.max())
                    basic.append(slice(lo, hi + 1))
                    takes.append((axis, k - lo))
                axis += 1
            elif isinstance(k, slice):
                basic.append(k)
                axis += 1
            else:
                basic.append(int(k))
        out = np.asarray(self.array[tuple(basic)])
        for ax, idx in takes:
            out = np.take(out, idx, axis=ax)
        return out


def _json_attrs(ds: Dataset, selector: str) -> dict[str, Any]:
    return ds._attributes(selector)


def _with_fill_value(ds: Dataset, selector: str, dtype: np.dtype[Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """A Zarr array's missing-value mark as xarray's Zarr engine sets it, for ``mask_and_scale``
    to turn into NaN: a v2 array's ``fill_value`` becomes ``_FillValue`` (a numpy scalar of its
    type, NaN and infinities as Python floats, as zarr-python decodes them; an array whose ``fill_value`` is null keeps its attributes); of a v3
    array only a ``_FillValue`` attribute counts, decoded as xarray decodes it (a float's from
    the base64 of its little-endian float64)."""
    got = _ndfiles.zarr_fill_value(ds, selector)
    if got is None:
        return attrs
    zarr_format, fill = got
    if zarr_format == 2:
        if fill is not None:
            value = np.frombuffer(fill, dtype=dtype)[0]
            if dtype.kind == "f" and not np.isfinite(value):
                value = float(value)  # zarr-python decodes "NaN", "Infinity" to Python floats
            attrs["_FillValue"] = value
    elif "_FillValue" in attrs:
        attrs["_FillValue"] = _decode_v3_fill(attrs["_FillValue"], dtype)
    return attrs


def _decode_v3_fill(value: Any, dtype: np.dtype[Any]) -> Any:
    """xarray's ``FillValueCoder.decode`` of a v3 array's ``_FillValue`` attribute."""
    if dtype.kind == "f":
        return struct.unpack("<d", base64.standard_b64decode(value))[0]
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    raise Error(f"_FillValue {value!r}: xarray decodes no fill value of type {dtype}")


def _fits_names(ds: Dataset) -> dict[str, str]:
    """HDU index → variable name for every HDU: EXTNAME, ``PRIMARY`` or ``HDU<n>``, with
    ``_<EXTVER>`` (else ``_<n>``) where names repeat."""
    names: dict[str, str] = {}
    vers: dict[str, Any] = {}
    for h in ds.metadata["hdus"]:
        i = h["index"]
        name = h.get("name") or ("PRIMARY" if i == 0 else f"HDU{i}")
        names[str(i)] = name
        ver = next((c["value"] for c in h["cards"] if c["keyword"] == "EXTVER"), None)
        vers[str(i)] = ver if isinstance(ver, int) else i
    counts: dict[str, int] = {}
    for n in names.values():
        counts[n] = counts.get(n, 0) + 1
    out = {i: (f"{n}_{vers[i]}" if counts[n] > 1 else n) for i, n in names.items()}
    # a repeated EXTVER too: the HDU index makes it unique
    seen: dict[str, int] = {}
    for n in out.values():
        seen[n] = seen.get(n, 0) + 1
    return {i: (f"{names[i]}_{i}" if seen[n] > 1 else n) for i, n in out.items()}


def _variables(ds: Dataset, group: str | None) -> list[tuple[str, str]]:
    """(variable name, selector) of every array the dataset shows to xarray."""
    entries = ds._entries()
    fmt = ds.format
    if fmt == "fits":
        names = _fits_names(ds)
        return [
            (names.get(sel, sel), sel)
            for sel, kind, shape, _typ, _ch, _co in entries
            if kind == "image"
        ]
    prefix = (group or "").strip("/")
    out = []
    for sel, kind, _shape, _typ, _ch, _co in entries:
        path = sel.strip("/")
        if fmt == "zarr":
            parent, _, name = path.rpartition("/")
            if parent != prefix:
                continue
            out.append((name or "data", sel))
        else:  # asdf: every array under the group
            if prefix and not path.startswith(prefix + "/"):
                continue
            out.append((path[len(prefix) + 1 :] if prefix else path, sel))
    return out


def _dataset_attrs(ds: Dataset, group: str | None) -> dict[str, Any]:
    """FITS: the primary header's attributes; Zarr: the group's attributes; ASDF: the top-level
    entries of the tree that hold no array (``asdf_library``, ``history``, user metadata)."""
    fmt = ds.format
    if fmt == "fits":
        return _json_attrs(ds, "0")
    meta = ds.metadata
    if fmt == "zarr":
        node = meta["nodes"].get((group or "").strip("/"))
        return dict(node["attributes"]) if node else {}
    tree = meta.get("tree") or {}

    def has_array(v: Any) -> bool:
        if isinstance(v, dict):
            if str(v.get("!", "")).find("ndarray") >= 0:
                return True
            return any(has_array(x) for x in v.values())
        if isinstance(v, list):
            return any(has_array(x) for x in v)
        return False

    if isinstance(tree, dict) and set(tree) == {"!", "value"}:
        tree = tree["value"]  # the root's own tag (core/asdf-1.x)
    if not isinstance(tree, dict):
        return {}
    return {k: v for k, v in tree.items() if not has_array(v)}


def open_ndfiles(
    filename_or_obj: Any,
    *,
    drop_variables: str | Iterable[str] | None = None,
    group: str | None = None,
    selectors: str | Iterable[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    decode: dict[str, Any] | None = None,
) -> xr.Dataset:
    """The xr.Dataset of a FITS file, ASDF file or Zarr store (see the module's doc)."""
    ds = _open(filename_or_obj, storage_options=storage_options)
    if selectors is not None:
        sels = [selectors] if isinstance(selectors, str) else list(selectors)
        fits_names = _fits_names(ds) if ds.format == "fits" else {}
        chosen = []
        for s in sels:
            s = str(s)
            ds[s]  # an unknown selector fails here, with nd's message
            chosen.append((fits_names.get(s, s), s))
    else:
        chosen = _variables(ds, group)
    if isinstance(drop_variables, str):
        drop_variables = [drop_variables]
    drop = set(drop_variables or ())
    chosen = [(n, s) for n, s in chosen if n not in drop]
    dims = ds._dimension_names([s for _, s in chosen]) if chosen else []
    variables: dict[str, xr.Variable] = {}
    for (name, sel), d in zip(chosen, dims):
        arr = ds[sel]
        data = indexing.LazilyIndexedArray(NdfilesBackendArray(arr))
        encoding = {
            "preferred_chunks": dict(zip(d, arr.chunks)),
            "chunks": arr.chunks,
            "source": ds.location,
            "ndfiles_selector": sel,
        }
        attrs = _json_attrs(ds, sel)
        if ds.format == "zarr":
            attrs = _with_fill_value(ds, sel, arr.dtype, attrs)
        variables[name] = xr.Variable(d, data, attrs, encoding)
    attrs = _dataset_attrs(ds, group)
    if decode is not None:
        vars_, attrs, coord_names = xr.conventions.decode_cf_variables(variables, attrs, **decode)
        out = xr.Dataset(vars_, attrs=attrs)
        out = out.set_coords(coord_names.intersection(vars_))
    else:
        out = xr.Dataset(variables, attrs=attrs)
    out.set_close(ds.close)
    out.encoding["source"] = ds.location
    ds._warn_new()  # the header fixes met while reading the attributes, as astropy's would be
    return out


class NdfilesBackendEntrypoint(BackendEntrypoint):
    """``xarray.open_dataset(path_or_url, engine="ndfiles")``: FITS images, ASDF arrays and Zarr
    arrays read lazily by nd (local paths and ``http(s)://``, ``s3://``, ``gs://``, ``az://``
    URLs)."""

    description = "FITS, ASDF and Zarr arrays read lazily by nd (the ndfiles package)"
    open_dataset_parameters = _PARAMETERS

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        selectors: str | Iterable[str] | None = None,
        storage_options: dict[str, Any] | None = None,
        mask_and_scale: bool = True,
        decode_times: bool = True,
        decode_timedelta: bool | None = None,
        use_cftime: bool | None = None,
        concat_characters: bool = True,
        decode_coords: bool | str = True,
    ) -> xr.Dataset:
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            raise TypeError(
                "engine='ndfiles' opens a path or URL, not "
                f"{type(filename_or_obj).__name__}"
            )
        decode = {
            "mask_and_scale": mask_and_scale,
            "decode_times": decode_times,
            "decode_timedelta": decode_timedelta,
            "use_cftime": use_cftime,
            "concat_characters": concat_characters,
            "decode_coords": decode_coords,
        }
        return open_ndfiles(
            filename_or_obj,
            drop_variables=drop_variables,
            group=group,
            selectors=selectors,
            storage_options=storage_options,
            decode=decode,
        )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """A local FITS (``.fits.gz`` too) or ASDF file by its first bytes, a Zarr store by its
        metadata file; a URL by its name (``.fits``, ``.fit``, ``.fts``, ``.asdf``, ``.zarr``)."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        text = os.fspath(filename_or_obj)
        if not isinstance(text, str):
            return False
        if "://" in text and not text.startswith("file://"):
            name = text.rstrip("/").lower()
            return name.endswith((".fits", ".fit", ".fts", ".fits.gz", ".asdf", ".zarr"))
        path = text[len("file://") :] if text.startswith("file://") else text
        if os.path.isdir(path):
            return any(
                os.path.exists(os.path.join(path, f))
                for f in (".zarray", ".zgroup", ".zmetadata", "zarr.json")
            )
        try:
            with open(path, "rb") as f:  # noqa: PTH123
                head = f.read(16)
        except OSError:
            return False
        if head.startswith(_GZIP_MAGIC):
            return path.lower().endswith((".fits.gz", ".fit.gz", ".fts.gz"))
        return head.startswith(_FITS_MAGIC) or head.startswith(_ASDF_MAGIC)


__all__ = ["NdfilesBackendArray", "NdfilesBackendEntrypoint", "open_ndfiles", "Error"]
