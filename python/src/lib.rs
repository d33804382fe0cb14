//! `ndfiles._ndfiles`: the Rust half of the `ndfiles` Python package.
//!
//! A thin front end over the `nd` facade (and nothing else of the workspace): open a dataset,
//! list and open its arrays, and read a box of an array into a numpy array. numpy indexing
//! (steps, negative indices, `...`, `None`), pickling and the Python API proper live in the
//! pure-Python part, `python/ndfiles/__init__.py`.
//!
//! - Reads run with the GIL released (`Python::detach`), and their result, the `ArrayD` the
//!   facade returns, is handed to numpy without a copy (`IntoPyArray`).
//! - Every failure is `ndfiles.Error` (a subclass of `OSError`) carrying nd's message; a panic in
//!   nd is caught and reported the same way instead of reaching the interpreter.

mod codecs;
mod fits_meta;
mod getitem;
mod json;
mod read_into;
mod refs;
mod zarr_fill;

use nd::ndarray::ArrayD;
use nd::{DataType, Region, Scalar};
use numpy::{Element, IntoPyArray};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::{Arc, Mutex, PoisonError};

pyo3::create_exception!(
    ndfiles,
    Error,
    PyOSError,
    "Any failure of nd: a missing or unreadable file, a format nd does not read, damaged data, \
     a selector that matches nothing, values that cannot be read as asked. The message is nd's: \
     it names the file (or URL) and where in it the problem is."
);

fn nd_err(e: impl std::fmt::Display) -> PyErr {
    Error::new_err(e.to_string())
}

/// Run `f`, turning a panic into an error (nd's library code does not panic; this is the belt to
/// its braces, so that no input can take the interpreter down).
fn guarded<T>(f: impl FnOnce() -> nd::Result<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(format!("internal error in nd (please report): {what}"))
        }
    }
}

/// Seconds from Python, checked to be a duration nd accepts.
fn seconds(key: &str, v: &Bound<'_, PyAny>) -> PyResult<std::time::Duration> {
    let s: f64 = v.extract()?;
    if !(s > 0.0 && s < 1e6) {
        return Err(Error::new_err(format!(
            "{key}: {s} is not a number of seconds between 0 and 1e6"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

/// `limits={...}`: fields of `nd::Limits` over its defaults.
fn limits(v: &Bound<'_, PyAny>) -> PyResult<nd::Limits> {
    let d = v.cast::<PyDict>().map_err(|_| {
        Error::new_err("limits: a dict of nd's limits (decompressed_bytes, chunk_bytes, ...)")
    })?;
    let mut l = nd::Limits::default();
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        match key.as_str() {
            "decompressed_bytes" => l.decompressed_bytes = v.extract()?,
            "chunk_bytes" => l.chunk_bytes = v.extract()?,
            "blocks" => l.blocks = v.extract()?,
            "tree_nodes" => l.tree_nodes = v.extract()?,
            "tree_depth" => l.tree_depth = v.extract()?,
            "npy_header_bytes" => l.npy_header_bytes = v.extract()?,
            other => {
                return Err(Error::new_err(format!(
                    "limits: no limit {other:?} (decompressed_bytes, chunk_bytes, blocks, \
                     tree_nodes, tree_depth, npy_header_bytes)"
                )))
            }
        }
    }
    Ok(l)
}

/// The facade's options from the keywords of `ndfiles.open`:
/// - for every location: `threads` (decode threads of the dataset), `limits` (a dict of
///   `nd::Limits` fields);
/// - for URLs: `anonymous`, `timeout` and `connect_timeout` (s), `retries`, `cache_size`,
///   `block_size`, `part_size`, `coalesce_gap`, `max_in_flight`, `max_full_download` (bytes or
///   counts), `multi_range`, and any other key as an object-store configuration key
///   (`aws_endpoint`, `aws_region`, …), over the environment's.
///
/// No URL keywords: the environment's remote options, shared by the whole process.
fn open_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<nd::OpenOptions> {
    let mut out = nd::OpenOptions::new();
    let Some(options) = options.filter(|o| !o.is_empty()) else {
        return Ok(out);
    };
    let mut remote: Option<nd::RemoteOptions> = None;
    for (k, v) in options.iter() {
        let key: String = k.extract()?;
        match key.as_str() {
            "threads" => {
                out = out.threads(v.extract()?);
                continue;
            }
            "limits" => {
                out = out.limits(limits(&v)?);
                continue;
            }
            _ => {}
        }
        let r = match &mut remote {
            Some(r) => r,
            None => remote.insert(nd::RemoteOptions::from_env().map_err(nd_err)?),
        };
        match key.as_str() {
            "anonymous" => r.anonymous = v.is_truthy()?,
            "timeout" => r.timeout = seconds(&key, &v)?,
            "connect_timeout" => r.connect_timeout = seconds(&key, &v)?,
            "retries" => r.retries = v.extract()?,
            "cache_size" => r.cache_size = v.extract()?,
            "block_size" => r.block_size = v.extract()?,
            "part_size" => r.part_size = v.extract()?,
            "coalesce_gap" => r.coalesce_gap = v.extract()?,
            "max_in_flight" => r.max_in_flight = v.extract()?,
            "max_full_download" => r.max_full_download = v.extract()?,
            "multi_range" => r.multi_range = v.is_truthy()?,
            _ => {
                let value: String = if let Ok(b) = v.extract::<bool>() {
                    b.to_string()
                } else {
                    v.str()?.to_string()
                };
                r.options.insert(key, value);
            }
        }
    }
    if let Some(mut r) = remote {
        // connecting never waits longer than the timeout asked for
        r.connect_timeout = r.connect_timeout.min(r.timeout);
        r.validate().map_err(nd_err)?;
        out = out.remote(r);
    }
    Ok(out)
}

/// Open a dataset (the format is detected from the content).
#[pyfunction]
#[pyo3(signature = (location, options = None))]
fn open(
    py: Python<'_>,
    location: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Dataset> {
    let opts = open_options(options)?;
    let ds = py
        .detach(|| guarded(|| opts.open(&location)))
        .map_err(Error::new_err)?;
    Ok(Dataset::new(ds))
}

/// Open a dataset and list the irregularities known at open (`Dataset.warnings_so_far`), in
/// one release of the GIL: what `ndfiles.open` does.
#[pyfunction]
#[pyo3(signature = (location, options = None))]
fn open_warned(
    py: Python<'_>,
    location: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Dataset, Vec<String>)> {
    let opts = open_options(options)?;
    let (ds, warnings) = py
        .detach(|| {
            guarded(|| {
                let ds = opts.open(&location)?;
                let warnings = ds.warnings_so_far();
                Ok((ds, warnings))
            })
        })
        .map_err(Error::new_err)?;
    Ok((Dataset::new(ds), warnings))
}

/// An opened dataset (the Rust half of `ndfiles.Dataset`).
#[pyclass(module = "ndfiles._ndfiles", frozen)]
struct Dataset {
    inner: Mutex<Option<Arc<nd::Dataset>>>,
}

impl Dataset {
    fn new(ds: nd::Dataset) -> Self {
        Dataset {
            inner: Mutex::new(Some(Arc::new(ds))),
        }
    }

    fn get(&self) -> PyResult<Arc<nd::Dataset>> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::new_err("the dataset is closed"))
    }
}

#[pymethods]
impl Dataset {
    /// The selectors of every array, in file order.
    fn keys(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let ds = self.get()?;
        let entries = py
            .detach(|| guarded(|| ds.arrays()))
            .map_err(Error::new_err)?;
        Ok(entries.into_iter().map(|e| e.path).collect())
    }

    /// Every array (and FITS table column) as `(selector, kind, shape, typestr, chunks,
    /// codec)`, in file order; `kind` is `image`, `column` or `array`.
    #[allow(clippy::type_complexity)]
    fn entries(
        &self,
        py: Python<'_>,
    ) -> PyResult<
        Vec<(
            String,
            &'static str,
            Vec<u64>,
            String,
            Option<Vec<u64>>,
            Option<String>,
        )>,
    > {
        let ds = self.get()?;
        let entries = py
            .detach(|| guarded(|| ds.arrays()))
            .map_err(Error::new_err)?;
        Ok(entries
            .into_iter()
            .map(|e| (e.path, e.kind.name(), e.shape, e.dtype, e.chunks, e.codec))
            .collect())
    }

    /// Dimension names for xarray of the arrays `selectors` (see `nd::Dataset::dimension_names`).
    fn dimension_names(
        &self,
        py: Python<'_>,
        selectors: Vec<String>,
    ) -> PyResult<Vec<Vec<String>>> {
        let ds = self.get()?;
        py.detach(|| {
            guarded(|| {
                let s: Vec<&str> = selectors.iter().map(String::as_str).collect();
                ds.dimension_names(&s)
            })
        })
        .map_err(Error::new_err)
    }

    /// The attributes of one array for xarray, as a dict of JSON values (see
    /// `nd::Dataset::attributes`).
    fn attributes<'py>(&self, py: Python<'py>, selector: String) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.get()?;
        let attrs = py
            .detach(|| guarded(|| ds.attributes(&selector).map(serde_json::Value::Object)))
            .map_err(Error::new_err)?;
        json::to_py(py, &attrs)
    }

    /// Open a FITS table HDU by selector.
    fn table(&self, py: Python<'_>, selector: String) -> PyResult<Table> {
        let ds = self.get()?;
        let t = py
            .detach(|| guarded(|| ds.table(&selector)))
            .map_err(Error::new_err)?;
        Ok(Table { inner: t })
    }

    /// Open one array by selector.
    fn array(&self, py: Python<'_>, selector: String) -> PyResult<Array> {
        let ds = self.get()?;
        let take = || guarded(|| ds.array(&selector));
        // a local FITS file's HDUs are found by reading headers from the page cache: less
        // than releasing and taking back the GIL costs (see `getitem.rs`)
        let arr = if local_plain_fits(&ds) {
            take()
        } else {
            py.detach(take)
        }
        .map_err(Error::new_err)?;
        Ok(Array {
            cheap: cheap_reads(&ds, &arr),
            inner: arr,
            location: ds.path().to_string(),
            dataset: ds,
        })
    }

    /// Headers, tree or attributes as a dict of JSON values (see `nd::Dataset::metadata`); of a
    /// FITS file built card by card unless `direct` is false (the JSON tree converted: the same
    /// dict, slower; for the tests).
    #[pyo3(signature = (direct = true))]
    fn metadata<'py>(&self, py: Python<'py>, direct: bool) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.get()?;
        if direct {
            if let Some(m) = fits_meta::metadata(py, &ds)? {
                return Ok(m);
            }
        }
        let m = py
            .detach(|| guarded(|| ds.metadata()))
            .map_err(Error::new_err)?;
        json::to_py(py, &m)
    }

    /// Irregularities nd read past leniently (see `nd::Dataset::warnings`): a file cut short,
    /// trailing bytes, header fixes; `ndfiles.open` passes them to `warnings.warn`.
    fn warnings(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let ds = self.get()?;
        py.detach(|| guarded(|| Ok(ds.warnings())))
            .map_err(Error::new_err)
    }

    /// `warnings` without parsing more than was parsed so far (see
    /// `nd::Dataset::warnings_so_far`): what `ndfiles.open` issues, then the new ones once
    /// metadata was read.
    fn warnings_so_far(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let ds = self.get()?;
        py.detach(|| guarded(|| Ok(ds.warnings_so_far())))
            .map_err(Error::new_err)
    }

    /// The listing `nd info` prints.
    fn info_text(&self, py: Python<'_>) -> PyResult<String> {
        let ds = self.get()?;
        py.detach(|| guarded(|| Ok(ds.info_text())))
            .map_err(Error::new_err)
    }

    /// `fits`, `asdf`, `zarr` or `npy` (an `.npy` or `.npz` file).
    #[getter]
    fn format(&self) -> PyResult<&'static str> {
        Ok(self.get()?.format().name())
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Release the dataset (arrays already opened keep their own handles).
    fn close(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// One array of a dataset (the Rust half of `ndfiles.Array`).
#[pyclass(module = "ndfiles._ndfiles", frozen)]
struct Array {
    inner: nd::Array,
    /// The dataset's path or URL, named by read errors (a data unit cut short by the end of the
    /// file opens, and fails on read).
    location: String,
    /// Its dataset, for its attributes (kept open while the array lives).
    dataset: Arc<nd::Dataset>,
    /// Whether a read costs a copy proportional to its output and nothing else (see
    /// [`cheap_reads`]), so that a small one may keep the GIL ([`getitem`]).
    cheap: bool,
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
    /// A read error with the dataset's location in front.
    fn located(&self, py: Python<'_>, e: PyErr) -> PyErr {
        if e.is_instance_of::<Error>(py) {
            Error::new_err(format!("{}: {}", self.location, e.value(py)))
        } else {
            e
        }
    }
}

/// The Rust type a read produces.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
    C64,
    C128,
}

impl Kind {
    fn of(dt: &DataType) -> Option<Kind> {
        Some(match dt {
            DataType::Bool => Kind::Bool,
            DataType::Int8 => Kind::I8,
            DataType::Int16 => Kind::I16,
            DataType::Int32 => Kind::I32,
            DataType::Int64 => Kind::I64,
            DataType::UInt8 => Kind::U8,
            DataType::UInt16 => Kind::U16,
            DataType::UInt32 => Kind::U32,
            DataType::UInt64 => Kind::U64,
            DataType::Float16 => Kind::F16,
            DataType::Float32 => Kind::F32,
            DataType::Float64 => Kind::F64,
            DataType::Complex64 => Kind::C64,
            DataType::Complex128 => Kind::C128,
            _ => return None,
        })
    }

    /// From numpy's kind and item size (`f4`, `b1`, `c16`, …) of a native-order dtype.
    fn from_numpy(code: &str) -> Option<Kind> {
        Some(match code {
            "b1" => Kind::Bool,
            "i1" => Kind::I8,
            "i2" => Kind::I16,
            "i4" => Kind::I32,
            "i8" => Kind::I64,
            "u1" => Kind::U8,
            "u2" => Kind::U16,
            "u4" => Kind::U32,
            "u8" => Kind::U64,
            "f2" => Kind::F16,
            "f4" => Kind::F32,
            "f8" => Kind::F64,
            "c8" => Kind::C64,
            "c16" => Kind::C128,
            _ => return None,
        })
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
    /// The selector it was opened with.
    #[getter]
    fn selector(&self) -> &str {
        self.inner.selector()
    }

    /// `arr[key]` for the common keys (ints, slices of step 1, one `...`) of a numeric array,
    /// read straight into a new numpy array of the result's shape; `None` for any other key,
    /// which Python's indexing takes (see `getitem.rs`).
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
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (ds, sel) = (&self.dataset, self.inner.selector());
        let attrs = py
            .detach(|| guarded(|| ds.attributes(sel).map(serde_json::Value::Object)))
            .map_err(Error::new_err)?;
        json::to_py(py, &attrs)
    }

    /// Its native chunk (tile) shape; the whole shape when not chunked.
    #[getter]
    fn chunks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.chunk_shape())
    }

    /// numpy typestr of the values as the reference library returns them (`<f4`, `|S3`, …).
    #[getter]
    fn typestr(&self) -> String {
        nd::typestr(self.inner.dtype())
    }

    /// Whether its values are bool, integers, floats or complex (read as such, and convertible
    /// with `dtype=`); others are read as bytes (see `read`).
    #[getter]
    fn numeric(&self) -> bool {
        Kind::of(self.inner.dtype()).is_some()
    }

    /// NaN-aware statistics of every value (`nd::Array::stats`), out of core within `budget`
    /// bytes, with `threads` threads (0: one per core), the GIL released: a dict of `count`,
    /// `nan_count`, `sum`, `mean`, `min`, `max`, `std`.
    #[pyo3(signature = (threads = 0, budget = None))]
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
    #[pyo3(signature = (axis, threads = 0, budget = None))]
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
    #[pyo3(signature = (start, stop, dtype = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: Vec<u64>,
        stop: Vec<u64>,
        dtype: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if start.len() != stop.len() {
            return Err(Error::new_err(format!(
                "{}: {} starts but {} stops",
                self.inner.selector(),
                start.len(),
                stop.len()
            )));
        }
        let region = Region::new(start.into_iter().zip(stop).map(|(a, b)| a..b).collect());
        read_region(py, &self.inner, &region, dtype).map_err(|e| self.located(py, e))
    }

    /// The strided selection `first[i] + k * step[i]` for `k < len[i]` on each axis (numpy's
    /// basic indexing with steps, negative too), read through `nd::Array::select`: strided
    /// parts are read piece by piece (at most 64 MiB of bounding box at once), skipping the rows
    /// a step passes over where that costs no repeated decoding. As `read` for `dtype`.
    #[pyo3(signature = (first, step, len, dtype = None))]
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

/// A FITS table (the Rust half of `ndfiles.Table`).
#[pyclass(module = "ndfiles._ndfiles", frozen)]
struct Table {
    inner: nd::Table,
}

/// An `ArrayBuf` as `(typestr, shape, bytes)`: its bytes copied into a 1-d `uint8` numpy array,
/// which Python views as `typestr` and reshapes.
type RawArray<'py> = (String, Vec<u64>, Bound<'py, PyAny>);

fn raw_array<'py>(py: Python<'py>, buf: &nd::ArrayBuf) -> RawArray<'py> {
    (
        nd::typestr(buf.dtype()),
        buf.shape().to_vec(),
        numpy::PyArray1::<u8>::from_slice(py, buf.bytes()).into_any(),
    )
}

#[pymethods]
impl Table {
    /// Its number of rows.
    #[getter]
    fn nrows(&self) -> u64 {
        self.inner.nrows()
    }

    /// Its columns as `(name, typestr, cell_shape, variable, unit)`.
    #[allow(clippy::type_complexity)]
    fn columns(&self) -> Vec<(String, String, Vec<u64>, bool, Option<String>)> {
        self.inner
            .columns()
            .into_iter()
            .map(|c| {
                (
                    c.name,
                    nd::typestr(&c.dtype),
                    c.cell_shape,
                    c.variable,
                    c.unit,
                )
            })
            .collect()
    }

    /// Fixed-width columns (0-based) for rows `start..stop`, each as `(typestr, shape, bytes)`.
    fn read_rows<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        stop: u64,
        columns: Vec<usize>,
    ) -> PyResult<Vec<RawArray<'py>>> {
        let t = &self.inner;
        let bufs = py
            .detach(|| guarded(|| t.read_rows(start..stop, &columns)))
            .map_err(Error::new_err)?;
        Ok(bufs.iter().map(|b| raw_array(py, b)).collect())
    }

    /// A variable-length column's cells for rows `start..stop`, each as `(typestr, shape,
    /// bytes)`.
    fn read_variable<'py>(
        &self,
        py: Python<'py>,
        column: usize,
        start: u64,
        stop: u64,
    ) -> PyResult<Vec<RawArray<'py>>> {
        let t = &self.inner;
        let bufs = py
            .detach(|| guarded(|| t.read_variable(column, start..stop)))
            .map_err(Error::new_err)?;
        Ok(bufs.iter().map(|b| raw_array(py, b)).collect())
    }
}

/// The module `ndfiles._ndfiles`.
#[pymodule]
fn _ndfiles(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(open_warned, m)?)?;
    m.add_class::<Dataset>()?;
    m.add_class::<Array>()?;
    codecs::register(m)?;
    refs::register(m)?;
    m.add_function(wrap_pyfunction!(zarr_fill::zarr_fill_value, m)?)?;
    m.add_function(wrap_pyfunction!(read_into::read_into, m)?)?;
    m.add_class::<Table>()?;
    Ok(())
}
