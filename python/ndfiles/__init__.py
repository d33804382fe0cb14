"""ndfiles: FITS, ASDF and Zarr v2 arrays read exactly as astropy, asdf and zarr-python read them.

>>> import ndfiles
>>> with ndfiles.open("cube.fits") as ds:          # doctest: +SKIP
...     sci = ds["SCI"]                              # lazy: nothing read yet
...     cutout = sci[3, 10:20, ::2]                  # reads only the box it needs

``open`` detects the format from the content (never the name) of a local path, a ``file://``,
``http(s)://`` or ``s3://`` URL (``gs://`` and ``az://`` too). Every failure of nd raises
:class:`Error`, a subclass of :class:`OSError`, with nd's message (it names the file and where in
it the problem is). Misuse of indexing raises what numpy raises (``IndexError``, ``TypeError``).

The work is done by the ``nd`` Rust crates: reads run with the GIL released and their results are
handed to numpy without a copy.
"""

from __future__ import annotations

import operator
import os
import warnings
from typing import Any, Iterator

import numpy as np

from . import _ndfiles
from ._ndfiles import Error, ReadWarning
from ._refs import refs

__all__ = ["Array", "Dataset", "Error", "ReadWarning", "Table", "open", "refs", "stat"]


_URL_SCHEMES = ("http://", "https://", "s3://", "gs://", "az://", "abfs://", "file://")


def _location_general(path_or_url: str | os.PathLike[str]) -> str:
    """:func:`_location` for what is not a clean absolute path: ``os.PathLike``, URLs,
    relative paths, paths with ``.``, ``..`` or ``//`` in them."""
    text = path_or_url if type(path_or_url) is str else os.fspath(path_or_url)
    if not isinstance(text, str):
        raise TypeError(f"path_or_url must be str or os.PathLike[str], not {type(text).__name__}")
    if text.startswith(_URL_SCHEMES):
        return text
    return os.path.abspath(text)


# An absolute path (so that a pickled array reopens from any working directory) or the URL; a
# clean absolute path is taken as it is in Rust, anything else by `_location_general`.
_location = _ndfiles.location


# fsspec / s3fs names of storage_options → nd's object-store keys (s3:// URLs)
_FSSPEC_S3 = {
    "key": "aws_access_key_id",
    "secret": "aws_secret_access_key",
    "token": "aws_session_token",
    "endpoint_url": "aws_endpoint",
    "region_name": "aws_region",
}


def _from_storage_options(location: str, storage_options: dict[str, Any]) -> dict[str, Any]:
    """fsspec-style ``storage_options`` as nd's keywords: ``anon`` → ``anonymous``; for
    ``s3://``, s3fs's ``key``, ``secret``, ``token``, ``endpoint_url``, ``region_name`` (also
    inside ``client_kwargs``) → ``aws_*`` keys (an ``http://`` endpoint allows plain HTTP);
    any other key as it is."""
    out: dict[str, Any] = {}
    s3 = location.startswith("s3://")
    for k, v in storage_options.items():
        if k == "anon":
            out["anonymous"] = bool(v)
        elif k == "client_kwargs" and isinstance(v, dict):
            out.update(_from_storage_options(location, v))
        elif k == "config_kwargs" and isinstance(v, dict):
            out.update(_from_storage_options(location, v))
        elif s3 and k in _FSSPEC_S3:
            out[_FSSPEC_S3[k]] = v
            if k == "endpoint_url" and str(v).startswith("http://"):
                out.setdefault("allow_http", True)
        else:
            out[k] = v
    return out


# ndfiles.open is Rust's (python/src/open.rs): opening runs no Python code in the common case
open = _ndfiles.open  # noqa: A001


def _open(location: str, options: dict[str, Any]) -> Dataset:
    """Open without issuing its warnings (a reopening on unpickling: the user saw them when it
    was first opened)."""
    return Dataset(location, dict(options))


def stat(
    arr_or_path: Array | str | os.PathLike[str],
    selector: str | int | None = None,
    axis: int | None = None,
    threads: int | None = None,
    budget: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """NaN-aware statistics of a whole array, out of core (nothing like the whole array is held
    in memory: it is read block by block within ``budget`` bytes, 256 MiB by default) and in
    parallel (``threads``, one per core by default), with the GIL released.

    ``arr_or_path``: an :class:`Array`, or a path or URL opened with ``options`` whose array
    ``selector`` is taken (the only array when ``None``). Returns ``{"count", "nan_count", "sum",
    "mean", "min", "max", "std"}``: ``count`` the non-NaN values, ``std`` the population standard
    deviation (``ddof=0``); as numpy's ``nansum``, ``nanmean``, ``nanmin``, ``nanmax``,
    ``nanstd`` (``mean``, ``min``, ``max``, ``std`` are NaN when every value is NaN). The values
    are reduced as float64 (integers converted exactly up to 2**53). With ``axis``, each entry is
    a numpy array of the array's shape without that axis (``count`` and ``nan_count`` uint64,
    the others float64).
    """
    if isinstance(arr_or_path, Array):
        if selector is not None or options:
            raise TypeError("stat(Array): selector and open options apply to a path only")
        arr = arr_or_path
    else:
        with open(arr_or_path, **options) as ds:
            if selector is None:
                keys = ds.keys()
                if len(keys) != 1:
                    raise Error(
                        f"{ds.location}: {len(keys)} arrays; name one with selector= ({keys[:8]})"
                    )
                selector = keys[0]
            got = ds[selector]
            if not isinstance(got, Array):
                raise Error(f"{ds.location}: {selector!r} is a table, not an array")
            arr = got
    n_threads = 0 if threads is None else operator.index(threads)
    if n_threads < 0:
        raise ValueError("threads must be >= 0")
    if axis is None:
        return arr._stats(n_threads, budget)
    ax = operator.index(axis)
    if not -arr.ndim <= ax < arr.ndim:
        raise np.exceptions.AxisError(ax, arr.ndim)
    return arr._stats_along_axis(ax % arr.ndim, n_threads, budget)


class Dataset(_ndfiles.Dataset):
    """An opened FITS file, ASDF file or Zarr store: its arrays by selector, its metadata.

    Selectors: FITS ``"N"`` (HDU index, an int works too), ``"EXTNAME"`` or ``"EXTNAME,VER"``;
    ASDF a tree path (``"data"``, ``"meta/list/1/deep"``); Zarr the array's path (``"/"`` for a
    root array). ``keys()`` lists one selector per array. Use it as a context manager to close it;
    arrays taken from it stay readable after it is closed.

    ``ds[selector]`` gives the array (or, for a FITS table HDU, the :class:`Table`) a selector
    names; it, ``location``, ``format``, ``closed``, ``keys()`` and ``close()`` are nd's own
    (the base class, in Rust).
    """

    __slots__ = ()

    def _warn_new(self) -> None:
        """Issue, from a public call of ndfiles (the warning points at its caller), the
        irregularities nd knows of so far that were not issued yet: once headers are parsed
        (metadata, attributes), their card-level fixes, as astropy warns when a header is looked
        at rather than at open (those of the file's structure were issued at open)."""
        warned = self._warned
        if warned is None:
            return
        for text in self._warnings_so_far():
            if text not in warned:
                warned.add(text)
                warnings.warn(f"{self.location}: {text}", ReadWarning, stacklevel=3)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, selector: object) -> bool:
        return selector in self.keys()

    def table(self, selector: str | int) -> Table:
        """A FITS table HDU (binary or ASCII) by index, ``EXTNAME`` or ``EXTNAME,VER``."""
        selector = str(selector)
        return Table(self._table(selector), self.location, selector, self._options)

    @property
    def metadata(self) -> dict[str, Any]:
        """Headers, tree or attributes, as nd's JSON: FITS ``{"hdus": [{"index", "name", "kind",
        "cards": [{"keyword", "value", "comment"}]}]}``; ASDF ``{"tree": ...}`` (a tagged node as
        ``{"!": tag, "value": ...}``); Zarr ``{"nodes": {path: {"kind", "attributes"}}}``.
        Header fixes found while parsing are issued as :class:`ReadWarning` (once each)."""
        meta = self._metadata()
        self._warn_new()
        return meta

    def info(self) -> str:
        """The listing ``nd info`` prints (like astropy's ``hdul.info()`` for FITS)."""
        return self._info_text()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its location and open options: unpickling opens it again (a closed
        dataset too, as open)."""
        return (_reopen_dataset, (self.location, self._options))

    def __repr__(self) -> str:
        if self.closed:
            return f"<ndfiles.Dataset {self.location!r} (closed)>"
        return self._info_text().rstrip("\n")


def _reopen_dataset(location: str, options: dict[str, Any]) -> Dataset:
    """Unpickle a :class:`Dataset`: open it again with the same options."""
    return _open(location, options)


def _reopen(location: str, selector: str, options: dict[str, Any]) -> Array:
    """Unpickle an :class:`Array`: open its dataset again and take the array."""
    got = _open(location, options)[selector]
    if not isinstance(got, Array):
        raise Error(f"{location}: {selector!r} is a table, not an array")
    return got


class Array(_ndfiles.Array):
    """One array of a dataset, read lazily: indexing reads only what the selection needs.

    ``arr[key]`` takes numpy's basic indexing (ints, negative ints, slices with any step,
    ``...``, ``None``) and returns a numpy array (a numpy scalar when every axis is taken by an
    int, as numpy does). A box is read as it is; a strided selection through nd's selection,
    which skips the rows a step passes over where that costs no repeated decoding (see the
    README). ``numpy.asarray(arr)`` reads it all. Values are the physical ones of the reference
    library (FITS after BSCALE/BZERO, BLANK as NaN), in native byte order; strings, datetimes
    and other fixed-size types too (record arrays raise :class:`Error`).

    Arrays are safe to use from several threads (reads release the GIL) and pickle as their
    location, selector and open options (reopened on unpickling), so
    ``dask.array.from_array(arr, chunks=arr.chunks)`` works with process-based schedulers.

    ``location``, ``selector``, ``shape``, ``dtype``, ``chunks`` and ``arr[key]`` for ints,
    slices of step 1 and ``...`` are nd's own (the base class, in Rust).
    """

    __slots__ = ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def attrs(self) -> dict[str, Any]:
        """Its attributes, as the xarray backend gives them (a new dict each time): a FITS
        image's header cards as ``keyword: value`` without those of layout and scaling, a Zarr
        array's ``.zattrs`` without ``_ARRAY_DIMENSIONS``, none for ASDF (see the README)."""
        return self._attributes()

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return (
            f"<ndfiles.Array {self.selector!r} shape={self.shape} dtype={self.dtype} "
            f"chunks={self.chunks} of {self.location!r}>"
        )

    def _code(self, dtype: np.dtype[Any] | None) -> tuple[np.dtype[Any] | None, str | None]:
        """What to ask nd for: (the dtype wanted when not the array's own, nd's code for it)."""
        if dtype is None or dtype == self.dtype and dtype.isnative:
            return None, None
        if dtype.isnative and dtype.kind in "biufc" and self._numeric:
            return dtype, f"{dtype.kind}{dtype.itemsize}"
        return dtype, None

    def _finish(self, out: np.ndarray, shape: list[int], want: np.dtype[Any] | None) -> np.ndarray:
        if not self._numeric:  # the stored bytes of strings, records, datetimes
            dt = self.dtype
            out = out.view(dt.newbyteorder("=") if dt.byteorder in "<>" else dt)
            out = out.reshape(shape)
        if want is not None and out.dtype != want:
            out = out.astype(want)
        return out

    def _read(self, start: list[int], stop: list[int], dtype: np.dtype[Any] | None = None) -> np.ndarray:
        """The box ``start..stop`` as a new array (as ``dtype`` when given, numpy's astype rules)."""
        want, code = self._code(dtype)
        shape = [b - a for a, b in zip(start, stop)]
        if self._numeric and (want is None or code is not None):
            # numbers: nd reads into an array numpy allocates (no zeroing, numpy's huge pages)
            out = np.empty(shape, dtype=(self.dtype if want is None else want).newbyteorder("="))
            _ndfiles.read_into(self, start, stop, out)
            return out
        out = self._read_box(start, stop, code)
        return self._finish(out, shape, want)

    def _read_strided(self, first: list[int], step: list[int], count: list[int]) -> np.ndarray:
        """``first[i] + k * step[i]`` for ``k < count[i]`` on each axis, through nd's selection."""
        out = self._read_selection(first, step, count, None)
        return self._finish(out, count, None)

    def _getitem_python(self, key: Any) -> Any:
        """``arr[key]`` for the keys the base class leaves to Python: steps other than 1,
        ``None``, empty selections, scalar results, non-numeric arrays, misuse (numpy's
        errors)."""
        start, stop, local, has_ellipsis = _plan(key, self.shape)
        if any(b <= a for a, b in zip(start, stop)):
            box = np.empty([b - a if b > a else 0 for a, b in zip(start, stop)], dtype=self.dtype)
        elif any(isinstance(k, slice) and k.step not in (None, 1) for k in local):
            # a strided selection: nd reads it (only the rows a step does not pass over, where
            # that costs no repeated decoding), the result already strided
            first, step, count, rest = [], [], [], []
            axes = iter(zip(start, stop))
            for k in local:
                if k is None:
                    rest.append(None)
                    continue
                a, b = next(axes)
                s = k.step if isinstance(k, slice) and k.step is not None else 1
                n = (b - a - 1) // abs(s) + 1
                first.append(a if s > 0 else b - 1)
                step.append(s)
                count.append(n)
                rest.append(slice(None) if isinstance(k, slice) else 0)
            box = self._read_strided(first, step, count)
            local = tuple(rest)
        else:
            box = self._read(start, stop)
        # numpy's own rules then give a scalar when every axis is taken by an int (no `...`)
        return box[local + (Ellipsis,)] if has_ellipsis else box[local]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError(
                "ndfiles.Array: reading the values always makes a new array (copy=False refused)"
            )
        if dtype is None:
            # the whole array through the indexing fast path: numbers read in Rust straight into
            # a new numpy array, no Python on the way (`None` for what it leaves to Python: no
            # values, strings, records)
            out = self._getitem_fast(...)
            if out is not None:
                return out
        want = None if dtype is None else np.dtype(dtype)
        if self.size == 0:
            return np.empty(self.shape, dtype=want or self.dtype)
        return self._read([0] * self.ndim, list(self.shape), want)

    def read(self) -> np.ndarray:
        """The whole array as a numpy array (as ``numpy.asarray(arr)``)."""
        return self.__array__()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self.location, self.selector, self._options))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return ("ndfiles.Array", self.location, self.selector)


# `ds[selector]` (the base class, in Rust) makes its arrays as this class
Dataset._array_class = Array


def _reopen_table(location: str, selector: str, options: dict[str, Any]) -> Table:
    """Unpickle a :class:`Table`: open its dataset again and take the table."""
    return _open(location, options).table(selector)


def _raw(typestr: str, shape: list[int], data: np.ndarray) -> np.ndarray:
    """A column or cell from its bytes; FITS strings as numpy ``str`` (astropy decodes them)."""
    dt = np.dtype(typestr)
    if dt.kind == "S":
        if dt.itemsize == 0:  # an empty string cell (``S0`` cannot hold bytes)
            return np.full(shape, "", dtype="U1")
        return np.char.decode(data.view(dt).reshape(shape), "latin-1").astype(_physical(dt))
    return data.view(dt).reshape(shape)


def _physical(dt: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype a table column has in Python: strings as ``str`` of the same length."""
    return np.dtype(f"U{dt.itemsize}") if dt.kind == "S" else dt


class Table:
    """A FITS table HDU (binary or ASCII), as astropy's ``hdul[n].data`` gives it, read lazily.

    ``table["NAME"]`` (or a column index) reads one column for every row: a numpy array of
    astropy's physical values (TSCAL/TZERO applied, unsigned integers, ``L`` and ``X`` columns as
    bool, strings as bytes ``|S{n}``, ASCII-table numbers as numbers); a variable-length column is
    a numpy object array holding one array per row. ``table[a:b]`` reads those rows (only their
    bytes) as a record array (a structured ``numpy.recarray``: ``rows["X"]``, ``rows.field("X")``
    and ``rows.X`` as with astropy's ``FITS_rec``) with one field per column (a variable-length
    column as an object field); ``table[i]`` one row (a ``numpy.record``). Column names are
    matched exactly, then case-insensitively, as astropy does.
    """

    __slots__ = ("_inner", "_location", "_selector", "_options", "_columns", "_dtype")

    def __init__(self, inner: _ndfiles.Table, location: str, selector: str, options: dict[str, Any]):
        self._inner = inner
        self._location = location
        self._selector = selector
        self._options = options
        self._columns = inner.columns()
        fields = []
        seen: set[str] = set()
        for k, (name, typestr, cell, variable, _unit) in enumerate(self._columns):
            field = name if name and name not in seen else f"col{k + 1}"
            seen.add(field)
            dt = np.dtype(object) if variable else _physical(np.dtype(typestr))
            fields.append((field, dt, tuple(cell)) if cell and not variable else (field, dt))
        self._dtype = np.dtype(fields)

    @property
    def location(self) -> str:
        return self._location

    @property
    def selector(self) -> str:
        return self._selector

    @property
    def columns(self) -> list[str]:
        """The column names (``TTYPEn``), in table order."""
        return [c[0] for c in self._columns]

    @property
    def units(self) -> list[str | None]:
        """The column units (``TUNITn``), in table order."""
        return [c[4] for c in self._columns]

    @property
    def dtype(self) -> np.dtype[Any]:
        """The structured dtype of ``table[a:b]`` (native byte order; variable-length columns as
        ``object`` fields)."""
        return self._dtype

    @property
    def shape(self) -> tuple[int]:
        return (self._inner.nrows,)

    def __len__(self) -> int:
        return self._inner.nrows

    def __repr__(self) -> str:
        return f"<ndfiles.Table {self._selector!r} {len(self)} rows, columns {self.columns} of {self._location!r}>"

    def _column_index(self, key: str | int) -> int:
        names = self.columns
        if isinstance(key, str):
            if key in names:
                return names.index(key)
            folded = [n.lower() for n in names]
            if key.lower() in folded:
                return folded.index(key.lower())
            raise KeyError(f"{self._selector}: no column {key!r} (columns: {names})")
        i = operator.index(key)
        if not -len(names) <= i < len(names):
            raise IndexError(f"column {i} out of range: the table has {len(names)}")
        return i % len(names)

    def _read(self, start: int, stop: int, columns: list[int]) -> list[np.ndarray]:
        fixed = [c for c in columns if not self._columns[c][3]]
        got = dict(zip(fixed, (_raw(*r) for r in self._inner.read_rows(start, stop, fixed)))) if fixed else {}
        out = []
        for c in columns:
            if c in got:
                out.append(got[c])
                continue
            cells = self._inner.read_variable(c, start, stop)
            col = np.empty(len(cells), dtype=object)
            for i, r in enumerate(cells):
                col[i] = _raw(*r)
            out.append(col)
        return out

    def column(self, key: str | int) -> np.ndarray:
        """One column, every row (as ``table[key]``)."""
        (col,) = self._read(0, len(self), [self._column_index(key)])
        return col

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, slice):
            a, b, step = key.indices(len(self))
            n = len(range(a, b, step))
            if n == 0:
                return np.empty(0, dtype=self._dtype).view(np.recarray)
            lo, hi = (a, a + (n - 1) * step + 1) if step > 0 else (a + (n - 1) * step, a + 1)
            rows = self.rows(lo, hi)
            return rows[:: step] if step > 0 else rows[::-1][:: -step]
        if isinstance(key, (bool, np.bool_)):
            raise IndexError("boolean indices are not supported by ndfiles.Table")
        try:
            i = operator.index(key)
        except TypeError:
            raise IndexError(
                "a Table takes a column name, a row index or a slice of rows, "
                f"not {type(key).__name__}"
            ) from None
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} out of range: the table has {len(self)} rows")
        i %= len(self)
        return self.rows(i, i + 1)[0]

    def rows(self, start: int, stop: int) -> np.recarray:
        """Rows ``start..stop`` as a record array (as ``table[start:stop]``): a numpy structured
        array viewed as ``numpy.recarray``, so that, as with astropy's ``FITS_rec``,
        ``rows["FLUX"]``, ``rows.field("FLUX")`` (or a column index) and ``rows.FLUX`` give a
        column, and ``rows[i]`` a ``numpy.record``."""
        out = np.empty(stop - start, dtype=self._dtype)
        cols = self._read(start, stop, list(range(len(self._columns))))
        for field, col in zip(self._dtype.names or (), cols):
            out[field] = col
        return out.view(np.recarray)

    def read(self) -> np.recarray:
        """Every row, as a record array (as ``table[:]``)."""
        return self.rows(0, len(self))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("ndfiles.Table: reading makes a new array (copy=False refused)")
        out = self.read().view(np.ndarray)
        return out if dtype is None else out.astype(dtype)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen_table, (self._location, self._selector, self._options))


def _plan(key: Any, shape: tuple[int, ...]) -> tuple[list[int], list[int], tuple[Any, ...], bool]:
    """Map numpy basic indexing to the bounding box to read (start, stop) and the key that,
    applied to that box, gives numpy's result. Also tells whether the key held an ellipsis."""
    if not isinstance(key, tuple):
        key = (key,)
    n_ellipsis = sum(1 for k in key if k is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_axes = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_axes > len(shape):
        raise IndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, "
            f"but {n_axes} were indexed"
        )
    expanded: list[Any] = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - n_axes))
        else:
            expanded.append(k)
    if n_ellipsis == 0:
        expanded.extend([slice(None)] * (len(shape) - n_axes))
    start: list[int] = []
    stop: list[int] = []
    local: list[Any] = []
    axis = 0
    for k in expanded:
        if k is None:
            local.append(None)
            continue
        dim = shape[axis]
        if isinstance(k, slice):
            a, b, step = k.indices(dim)
            n = len(range(a, b, step))
            if n == 0:
                start.append(0)
                stop.append(0)
                local.append(slice(0, 0))
            elif step > 0:
                start.append(a)
                stop.append(a + (n - 1) * step + 1)
                local.append(slice(None, None, step))
            else:
                lo = a + (n - 1) * step
                start.append(lo)
                stop.append(a + 1)
                local.append(slice(None, None, step))
        elif isinstance(k, (bool, np.bool_)):
            raise IndexError("boolean indices are not supported by ndfiles.Array (basic indexing only)")
        else:
            try:
                i = operator.index(k)
            except TypeError:
                raise IndexError(
                    "only integers, slices (`:`), ellipsis (`...`) and numpy.newaxis (`None`) "
                    f"are valid indices of an ndfiles.Array, not {type(k).__name__}"
                ) from None
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {dim}")
            i %= dim
            start.append(i)
            stop.append(i + 1)
            local.append(0)
        axis += 1
    return start, stop, tuple(local), n_ellipsis > 0
