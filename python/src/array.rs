//! One array of a dataset, and its reads: a box, a strided selection, statistics.

use crate::dataset::Dataset;
use crate::{getitem, guarded, json, nd_err, Error, Kind};
use nd::ndarray::ArrayD;
use nd::{Region, Scalar};
use numpy::{Element, IntoPyArray};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One array of a dataset: the base class of `ndfiles.Array`, which adds in Python what is not
/// on the path of a common read (numpy's indexing with steps and `None`, `__array__`, pickling,
/// `repr`). `arr[key]` is here: the common keys are read without running Python code, the
/// others handed to the subclass's `_getitem_python`.
#[pyclass(module = "ndfiles._ndfiles", frozen, subclass)]
pub(crate) struct Array {
    pub(crate) inner: nd::Array,
    /// The dataset's path or URL as nd names it, in front of read errors (a data unit cut short
    /// by the end of the file opens, and fails on read).
    path: String,
    /// Its dataset, for its attributes (kept open while the array lives).
    dataset: Arc<nd::Dataset>,
    /// Whether a read costs a copy proportional to its output and nothing else (see
    /// [`cheap_reads`]), so that a small one may keep the GIL ([`getitem`]).
    pub(crate) cheap: bool,
    /// The dataset's location and open keywords, as `ndfiles.open` was given them (an array
    /// pickles as these and its selector).
    dataset_location: Py<PyString>,
    options: Py<PyDict>,
    /// The numpy dtype of its values.
    dtype: Py<PyAny>,
}

/// numpy dtypes by typestr, so that taking an array does not build its dtype again each time.
static DTYPES: Mutex<Option<HashMap<String, Py<PyAny>>>> = Mutex::new(None);

/// The numpy dtype of `typestr` (`<f4`, `|S3`, …), built once.
fn numpy_dtype(py: Python<'_>, typestr: String, selector: &str) -> PyResult<Py<PyAny>> {
    let mut cache = DTYPES.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(d) = cache.get(&typestr) {
        return Ok(d.clone_ref(py));
    }
    let numpy = py.import(intern!(py, "numpy"))?;
    let dtype = match numpy.getattr(intern!(py, "dtype"))?.call1((&typestr,)) {
        Ok(d) => d.unbind(),
        Err(e) if e.is_instance_of::<PyTypeError>(py) => {
            let err = Error::new_err(format!("{selector}: numpy has no dtype {typestr:?}"));
            err.set_cause(py, Some(e));
            return Err(err);
        }
        Err(e) => return Err(e),
    };
    if cache.len() < 1024 {
        cache.insert(typestr, dtype.clone_ref(py));
    }
    Ok(dtype)
}

/// Whether reads of `arr` are copies from local bytes in memory or a memory map, proportional
/// to their output: an image HDU of a local FITS file (plain, or bzip2 / zip, which nd holds
/// decompressed) without tile compression or scaling. Not a URL, a gzip-compressed file
/// (decompressed on demand), a table column or another format (whose codecs nd cannot tell
/// apart from no codec for every kind of array).
fn cheap_reads(ds: &nd::Dataset, arr: &nd::Array) -> bool {
    local_plain_fits(ds) && !arr.selector().contains('/') && arr.as_read().codec().is_none()
}

/// A FITS file on the local file system, not gzipped: read with positional reads or a map.
fn local_plain_fits(ds: &nd::Dataset) -> bool {
    let local = !ds.path().contains("://") || ds.path().starts_with("file://");
    local && matches!(ds.native(), nd::Native::Fits(f) if !f.is_gzipped())
}

impl Array {
    /// The box `start[i]..stop[i]` (as many starts as stops).
    pub(crate) fn box_region(&self, start: Vec<u64>, stop: Vec<u64>) -> PyResult<Region> {
        if start.len() != stop.len() {
            return Err(Error::new_err(format!(
                "{}: {} starts but {} stops",
                self.inner.selector(),
                start.len(),
                stop.len()
            )));
        }
        Ok(Region::new(
            start.into_iter().zip(stop).map(|(a, b)| a..b).collect(),
        ))
    }

    /// A read error with the dataset's location in front.
    pub(crate) fn located(&self, py: Python<'_>, e: PyErr) -> PyErr {
        if e.is_instance_of::<Error>(py) {
            Error::new_err(format!("{}: {}", self.path, e.value(py)))
        } else {
            e
        }
    }
}
/// The facade's work options: `threads` (0: one per core), `budget` bytes (nd's default when
/// `None`).
fn work_options(threads: usize, budget: Option<usize>) -> nd::WorkOptions<'static> {
    let mut o = nd::WorkOptions {
        threads,
        ..nd::WorkOptions::default()
    };
    if let Some(b) = budget {
        o.budget = b;
    }
    o
}

/// Read `region` of `arr` as `T` with the GIL released, and hand the result to numpy as it is.
fn read_as<'py, T: Scalar + Element>(
    py: Python<'py>,
    arr: &nd::Array,
    region: &Region,
) -> PyResult<Bound<'py, PyAny>> {
    let out: ArrayD<T> = py
        .detach(|| guarded(|| arr.read_region_ndarray::<T>(region)))
        .map_err(Error::new_err)?;
    Ok(out.into_pyarray(py).into_any())
}

#[pymethods]
impl Array {
    /// The array `selector` of `dataset` (nothing of its values is read).
    #[new]
    fn new(py: Python<'_>, dataset: &Bound<'_, Dataset>, selector: &str) -> PyResult<Self> {
        let d = dataset.get();
        let ds = d.get()?;
        let take = || guarded(|| ds.array(selector));
        // a local FITS file's HDUs are found by reading headers from the page cache: less
        // than releasing and taking back the GIL costs (see `getitem.rs`)
        let arr = if local_plain_fits(&ds) {
            take()
        } else {
            py.detach(take)
        }
        .map_err(Error::new_err)?;
        Ok(Array {
            dtype: numpy_dtype(py, nd::typestr(arr.dtype()), selector)?,
            cheap: cheap_reads(&ds, &arr),
            path: ds.path().to_string(),
            inner: arr,
            dataset: ds,
            dataset_location: d.location.clone_ref(py),
            options: d.options.clone_ref(py),
        })
    }

    /// `arr[key]`: numpy's basic indexing. The common keys (ints, slices of step 1, one `...`)
    /// of a numeric array are read here, straight into a new numpy array of the result's shape;
    /// any other key is the subclass's `_getitem_python`.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        match getitem::getitem(py, slf.get(), key)? {
            Some(out) => Ok(out),
            None => slf.call_method1(intern!(py, "_getitem_python"), (key,)),
        }
    }

    /// The absolute path or URL of its dataset.
    #[getter]
    fn location<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.dataset_location.bind(py).clone()
    }

    /// The keywords its dataset was opened with.
    #[getter(_options)]
    fn options_dict<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.options.bind(py).clone()
    }

    /// The numpy dtype of the values as the reference library returns them.
    #[getter]
    fn dtype<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.dtype.bind(py).clone()
    }

    /// The selector it was opened with.
    #[getter]
    fn selector(&self) -> &str {
        self.inner.selector()
    }

    /// `arr[key]` for the common keys (ints, slices of step 1, one `...`) of a numeric array,
    /// read straight into a new numpy array of the result's shape; `None` for any other key,
    /// which Python's indexing takes (see `getitem.rs`).
    #[pyo3(name = "_getitem_fast")]
    fn getitem<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        getitem::getitem(py, self, key)
    }

    /// Its shape, numpy order.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    /// Its attributes as xarray shows them, a dict of JSON values (see
    /// `nd::Dataset::attributes`).
    #[pyo3(name = "_attributes")]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (ds, sel) = (&self.dataset, self.inner.selector());
        let attrs = py
            .detach(|| guarded(|| ds.attributes(sel).map(serde_json::Value::Object)))
            .map_err(Error::new_err)?;
        json::to_py(py, &attrs)
    }

    /// The native chunk grid (Zarr chunks, FITS tiles; the whole shape when not chunked).
    #[getter]
    fn chunks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.chunk_shape())
    }

    /// numpy typestr of the values as the reference library returns them (`<f4`, `|S3`, …).
    #[getter(_typestr)]
    fn typestr(&self) -> String {
        nd::typestr(self.inner.dtype())
    }

    /// Whether its values are bool, integers, floats or complex (read as such, and convertible
    /// with `dtype=`); others are read as bytes (see `read`).
    #[getter(_numeric)]
    fn numeric(&self) -> bool {
        Kind::of(self.inner.dtype()).is_some()
    }

    /// NaN-aware statistics of every value (`nd::Array::stats`), out of core within `budget`
    /// bytes, with `threads` threads (0: one per core), the GIL released: a dict of `count`,
    /// `nan_count`, `sum`, `mean`, `min`, `max`, `std`.
    #[pyo3(name = "_stats", signature = (threads = 0, budget = None))]
    fn stats<'py>(
        &self,
        py: Python<'py>,
        threads: usize,
        budget: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = work_options(threads, budget);
        let arr = &self.inner;
        let s = py
            .detach(|| guarded(|| arr.stats(&opts)))
            .map_err(Error::new_err)?;
        let d = PyDict::new(py);
        d.set_item("count", s.count)?;
        d.set_item("nan_count", s.nan_count)?;
        for (k, v) in [
            ("sum", s.sum),
            ("mean", s.mean),
            ("min", s.min),
            ("max", s.max),
            ("std", s.std),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The same statistics along `axis` (`nd::Array::stats_along_axis`): a dict of numpy arrays
    /// of the array's shape without that axis (`count`, `nan_count` as uint64, the others
    /// float64).
    #[pyo3(name = "_stats_along_axis", signature = (axis, threads = 0, budget = None))]
    fn stats_along_axis<'py>(
        &self,
        py: Python<'py>,
        axis: usize,
        threads: usize,
        budget: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = work_options(threads, budget);
        let arr = &self.inner;
        let (shape, stats) = py
            .detach(|| guarded(|| arr.stats_along_axis(axis, &opts)))
            .map_err(Error::new_err)?;
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        let d = PyDict::new(py);
        let ints = |f: fn(&nd::Stats) -> u64| stats.iter().map(f).collect::<Vec<u64>>();
        let floats = |f: fn(&nd::Stats) -> f64| stats.iter().map(f).collect::<Vec<f64>>();
        let shaped = |v: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyAny>> {
            v.call_method1("reshape", (PyTuple::new(py, &dims)?,))
        };
        d.set_item(
            "count",
            shaped(ints(|s| s.count).into_pyarray(py).into_any())?,
        )?;
        d.set_item(
            "nan_count",
            shaped(ints(|s| s.nan_count).into_pyarray(py).into_any())?,
        )?;
        for (k, f) in [
            ("sum", (|s: &nd::Stats| s.sum) as fn(&nd::Stats) -> f64),
            ("mean", |s| s.mean),
            ("min", |s| s.min),
            ("max", |s| s.max),
            ("std", |s| s.std),
        ] {
            d.set_item(k, shaped(floats(f).into_pyarray(py).into_any())?)?;
        }
        Ok(d)
    }

    /// The box `start[i]..stop[i]` of the array as a numpy array, C order. `dtype`: numpy's kind
    /// and size of a native-order numeric type (`f8`, `i2`, `c8`, `b1`) to convert to as numpy's
    /// `astype` does; by default the array's own type. Values of a type that is not numeric
    /// (strings, records, datetimes) come as their bytes: a 1-d `uint8` array that Python views
    /// as `typestr` and reshapes.
    #[pyo3(name = "_read_box", signature = (start, stop, dtype = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: Vec<u64>,
        stop: Vec<u64>,
        dtype: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let region = self.box_region(start, stop)?;
        read_region(py, &self.inner, &region, dtype).map_err(|e| self.located(py, e))
    }

    /// The strided selection `first[i] + k * step[i]` for `k < len[i]` on each axis (numpy's
    /// basic indexing with steps, negative too), read through `nd::Array::select`: strided
    /// parts are read piece by piece (at most 64 MiB of bounding box at once), skipping the rows
    /// a step passes over where that costs no repeated decoding. As `read` for `dtype`.
    #[pyo3(name = "_read_selection", signature = (first, step, len, dtype = None))]
    fn read_selection<'py>(
        &self,
        py: Python<'py>,
        first: Vec<u64>,
        step: Vec<i64>,
        len: Vec<u64>,
        dtype: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if first.len() != step.len() || first.len() != len.len() {
            return Err(Error::new_err(format!(
                "{}: {} firsts, {} steps, {} lengths",
                self.inner.selector(),
                first.len(),
                step.len(),
                len.len()
            )));
        }
        if step.contains(&0) {
            return Err(Error::new_err("a step of 0"));
        }
        let selection = nd::Selection {
            axes: first
                .into_iter()
                .zip(step)
                .zip(len)
                .map(|((start, step), len)| nd::AxisSelection::Slice { start, step, len })
                .collect(),
        };
        let view = self.inner.select(selection).map_err(nd_err)?;
        let region = Region::full(view.shape());
        read_region(py, &view, &region, dtype).map_err(|e| self.located(py, e))
    }
}

/// `region` of `arr` as a numpy array (see `Array.read`), the GIL released while reading.
fn read_region<'py>(
    py: Python<'py>,
    arr: &nd::Array,
    region: &Region,
    dtype: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind =
        match dtype {
            Some(code) => Some(Kind::from_numpy(code).ok_or_else(|| {
                Error::new_err(format!("{}: cannot read as {code}", arr.selector()))
            })?),
            None => Kind::of(arr.dtype()),
        };
    let Some(kind) = kind else {
        return read_bytes(py, arr, region);
    };
    match kind {
        Kind::Bool => read_as::<bool>(py, arr, region),
        Kind::I8 => read_as::<i8>(py, arr, region),
        Kind::I16 => read_as::<i16>(py, arr, region),
        Kind::I32 => read_as::<i32>(py, arr, region),
        Kind::I64 => read_as::<i64>(py, arr, region),
        Kind::U8 => read_as::<u8>(py, arr, region),
        Kind::U16 => read_as::<u16>(py, arr, region),
        Kind::U32 => read_as::<u32>(py, arr, region),
        Kind::U64 => read_as::<u64>(py, arr, region),
        Kind::F16 => read_as::<half::f16>(py, arr, region),
        Kind::F32 => read_as::<f32>(py, arr, region),
        Kind::F64 => read_as::<f64>(py, arr, region),
        Kind::C64 => read_as::<num_complex::Complex32>(py, arr, region),
        Kind::C128 => read_as::<num_complex::Complex64>(py, arr, region),
    }
}

/// The stored bytes of `region` (native order, C order) of an array of a non-numeric type, as
/// a 1-d `uint8` numpy array (handed over without a copy), the GIL released while reading.
fn read_bytes<'py>(
    py: Python<'py>,
    arr: &nd::Array,
    region: &Region,
) -> PyResult<Bound<'py, PyAny>> {
    if matches!(arr.dtype(), nd::DataType::Struct(_)) {
        return Err(Error::new_err(format!(
            "{}: values of type {} are records; ndfiles does not read record arrays yet",
            arr.selector(),
            arr.dtype()
        )));
    }
    let bytes = py
        .detach(|| {
            guarded(|| {
                region
                    .check_within(arr.shape())
                    .map_err(|e| nd::Error::input(format!("{}: {e}", arr.selector())))?;
                let n = region
                    .shape()
                    .iter()
                    .try_fold(arr.dtype().size() as u64, |a, &d| a.checked_mul(d))
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        nd::Error::input(format!("{}: the region is too large", arr.selector()))
                    })?;
                let mut out: Vec<u8> = Vec::new();
                out.try_reserve_exact(n).map_err(|_| {
                    nd::Error::input(format!(
                        "{}: {n} bytes do not fit in memory",
                        arr.selector()
                    ))
                })?;
                out.resize(n, 0);
                arr.as_read()
                    .read_region_into(region, &mut out)
                    .map_err(|e| nd::Error::input(format!("{}: {e}", arr.selector())))?;
                Ok(out)
            })
        })
        .map_err(Error::new_err)?;
    Ok(bytes.into_pyarray(py).into_any())
}
