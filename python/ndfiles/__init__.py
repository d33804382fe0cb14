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

import json
import operator
import os
from typing import Any, Iterator

import numpy as np

from . import _ndfiles
from ._ndfiles import Error

__all__ = ["Array", "Dataset", "Error", "open"]

_URL_SCHEMES = ("http://", "https://", "s3://", "gs://", "az://", "abfs://", "file://")


def _location(path_or_url: str | os.PathLike[str]) -> str:
    """An absolute path (so that a pickled array reopens from any working directory) or the URL."""
    text = os.fspath(path_or_url)
    if not isinstance(text, str):
        raise TypeError(f"path_or_url must be str or os.PathLike[str], not {type(text).__name__}")
    if text.startswith(_URL_SCHEMES):
        return text
    return os.path.abspath(text)


def open(path_or_url: str | os.PathLike[str], **options: Any) -> Dataset:  # noqa: A001
    """Open a FITS file, an ASDF file or a Zarr v2 store; only metadata is read.

    ``options`` apply to URLs: ``anonymous=True`` (unsigned requests, public buckets),
    ``timeout`` (seconds per request), ``retries``, and any object-store configuration key as a
    string (``aws_endpoint="http://127.0.0.1:9000"``, ``aws_region="eu-west-1"``,
    ``aws_allow_http="true"``, ...). Without options, those of the environment (``AWS_*``,
    ``ND_REMOTE_*``, ...) are used.
    """
    location = _location(path_or_url)
    return Dataset(_ndfiles.open(location, options or None), location, dict(options))


class Dataset:
    """An opened FITS file, ASDF file or Zarr store: its arrays by selector, its metadata.

    Selectors: FITS ``"N"`` (HDU index, an int works too), ``"EXTNAME"`` or ``"EXTNAME,VER"``;
    ASDF a tree path (``"data"``, ``"meta/list/1/deep"``); Zarr the array's path (``"/"`` for a
    root array). ``keys()`` lists one selector per array. Use it as a context manager to close it;
    arrays taken from it stay readable after it is closed.
    """

    __slots__ = ("_inner", "_location", "_options")

    def __init__(self, inner: _ndfiles.Dataset, location: str, options: dict[str, Any]):
        self._inner = inner
        self._location = location
        self._options = options

    @property
    def location(self) -> str:
        """The absolute path or URL it was opened from."""
        return self._location

    @property
    def format(self) -> str:
        """``"fits"``, ``"asdf"`` or ``"zarr"``."""
        return self._inner.format

    @property
    def closed(self) -> bool:
        return self._inner.closed

    def keys(self) -> list[str]:
        """The selector of every array (and FITS table column), in file order."""
        return self._inner.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, selector: object) -> bool:
        return selector in self.keys()

    def __getitem__(self, selector: str | int) -> Array:
        if isinstance(selector, int) and not isinstance(selector, bool):
            selector = str(selector)
        if not isinstance(selector, str):
            raise TypeError(f"a selector is a str (or an HDU index), not {type(selector).__name__}")
        return Array(self._inner.array(selector), self._location, selector, self._options)

    @property
    def metadata(self) -> dict[str, Any]:
        """Headers, tree or attributes, as nd's JSON: FITS ``{"hdus": [{"index", "name", "kind",
        "cards": [{"keyword", "value", "comment"}]}]}``; ASDF ``{"tree": ...}`` (a tagged node as
        ``{"!": tag, "value": ...}``); Zarr ``{"nodes": {path: {"kind", "attributes"}}}``."""
        return json.loads(self._inner.metadata_json())

    def info(self) -> str:
        """The listing ``nd info`` prints (like astropy's ``hdul.info()`` for FITS)."""
        return self._inner.info_text()

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its location and open options: unpickling opens it again (a closed
        dataset too, as open)."""
        return (_reopen_dataset, (self._location, self._options))

    def __repr__(self) -> str:
        if self.closed:
            return f"<ndfiles.Dataset {self._location!r} (closed)>"
        return self._inner.info_text().rstrip("\n")


def _reopen_dataset(location: str, options: dict[str, Any]) -> Dataset:
    """Unpickle a :class:`Dataset`: open it again with the same options."""
    return open(location, **options)


def _reopen(location: str, selector: str, options: dict[str, Any]) -> Array:
    """Unpickle an :class:`Array`: open its dataset again and take the array."""
    return open(location, **options)[selector]


class Array:
    """One array of a dataset, read lazily: indexing reads only what the selection needs.

    ``arr[key]`` takes numpy's basic indexing (ints, negative ints, slices with any step,
    ``...``, ``None``) and returns a numpy array (a numpy scalar when every axis is taken by an
    int, as numpy does). It reads the bounding box of the selection through nd, then applies
    the steps, drops the int axes and adds the ``None`` axes on that result: a step of ``k``
    reads the ``k``-times larger box (a later version may read strided selections sparsely).
    ``numpy.asarray(arr)`` reads it all. Values are the physical ones of the reference library
    (FITS after BSCALE/BZERO, BLANK as NaN), in native byte order.

    Arrays are safe to use from several threads (reads release the GIL) and pickle as their
    location, selector and open options (reopened on unpickling), so
    ``dask.array.from_array(arr, chunks=arr.chunks)`` works with process-based schedulers.
    """

    __slots__ = ("_inner", "_location", "_selector", "_options", "_dtype")

    def __init__(self, inner: _ndfiles.Array, location: str, selector: str, options: dict[str, Any]):
        self._inner = inner
        self._location = location
        self._selector = selector
        self._options = options
        try:
            self._dtype = np.dtype(inner.typestr)
        except TypeError as e:
            raise Error(f"{selector}: numpy has no dtype {inner.typestr!r}") from e

    @property
    def location(self) -> str:
        """The absolute path or URL of its dataset."""
        return self._location

    @property
    def selector(self) -> str:
        return self._selector

    @property
    def shape(self) -> tuple[int, ...]:
        return self._inner.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the values as the reference library returns them."""
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self._dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...]:
        """The native chunk grid (Zarr chunks, FITS tiles; the whole shape when not chunked)."""
        return self._inner.chunks

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return (
            f"<ndfiles.Array {self._selector!r} shape={self.shape} dtype={self._dtype} "
            f"chunks={self.chunks} of {self._location!r}>"
        )

    def _read(self, start: list[int], stop: list[int], dtype: np.dtype[Any] | None = None) -> np.ndarray:
        """The box ``start..stop`` as a new array (as ``dtype`` when given, numpy's astype rules)."""
        if dtype is None or dtype == self._dtype and dtype.isnative:
            want = None
        else:
            want = dtype
        code = None
        if want is not None and want.isnative and want.kind in "biufc":
            code = f"{want.kind}{want.itemsize}"
        out = self._inner.read(start, stop, code)
        if want is not None and out.dtype != want:
            out = out.astype(want)
        return out

    def __getitem__(self, key: Any) -> Any:
        start, stop, local, has_ellipsis = _plan(key, self.shape)
        if any(b <= a for a, b in zip(start, stop)):
            box = np.empty([b - a if b > a else 0 for a, b in zip(start, stop)], dtype=self._dtype)
            self._check_readable()
        else:
            box = self._read(start, stop)
        # numpy's own rules then give a scalar when every axis is taken by an int (no `...`)
        return box[local + (Ellipsis,)] if has_ellipsis else box[local]

    def _check_readable(self) -> None:
        if not self._inner.numeric:
            raise Error(
                f"{self._selector}: values of type {self._dtype} are not numeric; ndfiles reads "
                "bool, integer, float and complex arrays for now"
            )

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError(
                "ndfiles.Array: reading the values always makes a new array (copy=False refused)"
            )
        want = None if dtype is None else np.dtype(dtype)
        if self.size == 0:
            self._check_readable()
            return np.empty(self.shape, dtype=want or self._dtype)
        return self._read([0] * self.ndim, list(self.shape), want)

    def read(self) -> np.ndarray:
        """The whole array as a numpy array (as ``numpy.asarray(arr)``)."""
        return self.__array__()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._location, self._selector, self._options))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return ("ndfiles.Array", self._location, self._selector)


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
