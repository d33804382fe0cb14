//! An opened dataset: the base class of `ndfiles.Dataset`, which adds in Python what is not
//! on the path of a read (membership, context manager, pickling, `repr`). `ds[selector]` is
//! here, so that taking an array runs no Python code: the array is made by calling the
//! dataset's `_array_class` (`ndfiles.Array`, a Python subclass of [`Array`]).

use crate::array::Array;
use crate::table::Table;
use crate::{fits_meta, guarded, json, options, Error, ReadWarning};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PySet, PyString};
use std::sync::{Arc, Mutex, PoisonError};

/// An opened dataset (the base class of `ndfiles.Dataset`).
#[pyclass(module = "ndfiles._ndfiles", frozen, subclass)]
pub(crate) struct Dataset {
    inner: Mutex<Option<Arc<nd::Dataset>>>,
    /// The absolute path or URL it was opened from, as `ndfiles.open` made it.
    pub(crate) location: Py<PyString>,
    /// The keywords it was opened with (a dataset or array pickles as its location and these).
    pub(crate) options: Py<PyDict>,
    /// The irregularities issued as warnings so far; `None`: issue none (a dataset opened
    /// again on unpickling: they were issued when it was first opened).
    warned: Option<Py<PySet>>,
}

impl Dataset {
    /// The nd dataset; an error once `close` was called.
    pub(crate) fn get(&self) -> PyResult<Arc<nd::Dataset>> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::new_err("the dataset is closed"))
    }
}

/// `ds[selector]`'s selector as a str: a str as it is, an int (an HDU index) as its digits.
fn selector_text<'py>(selector: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    if let Ok(s) = selector.cast_exact::<PyString>() {
        return Ok(s.clone());
    }
    if selector.is_instance_of::<PyInt>() && !selector.is_instance_of::<PyBool>() {
        return selector.str();
    }
    match selector.cast::<PyString>() {
        Ok(s) => Ok(s.clone()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "a selector is a str (or an HDU index), not {}",
            selector.get_type().name()?
        ))),
    }
}

#[pymethods]
impl Dataset {
    /// Open the dataset at `location` (an absolute path or a URL; the format is detected from
    /// the content) with `ndfiles.open`'s keywords `options`. With `stacklevel`, the
    /// irregularities known at open are issued as `ReadWarning`s pointing that many frames up
    /// (and the later ones once headers are parsed); without it, none ever.
    #[new]
    #[pyo3(signature = (location, options = None, stacklevel = None))]
    fn new(
        py: Python<'_>,
        location: Bound<'_, PyString>,
        options: Option<Bound<'_, PyDict>>,
        stacklevel: Option<i32>,
    ) -> PyResult<Self> {
        let opts = options::open_options(options.as_ref())?;
        let path = location.to_str()?;
        let (ds, warnings) = py
            .detach(|| {
                guarded(|| {
                    let ds = opts.open(path)?;
                    let warnings = match stacklevel {
                        Some(_) => ds.warnings_so_far(),
                        None => Vec::new(),
                    };
                    Ok((ds, warnings))
                })
            })
            .map_err(Error::new_err)?;
        let warned = match stacklevel {
            None => None,
            Some(level) => {
                let warned = PySet::empty(py)?;
                if !warnings.is_empty() {
                    // Python's `warnings.warn` (a message may hold any character, a NUL byte
                    // from a damaged header too); called from here, its stack level counts
                    // from the caller's frame as from the function that calls it
                    let warn = py
                        .import(intern!(py, "warnings"))?
                        .getattr(intern!(py, "warn"))?;
                    let category = py.get_type::<ReadWarning>();
                    for text in warnings {
                        if warned.contains(&text)? {
                            continue;
                        }
                        warned.add(&text)?;
                        warn.call1((format!("{path}: {text}"), &category, level))?;
                    }
                }
                Some(warned.unbind())
            }
        };
        Ok(Dataset {
            inner: Mutex::new(Some(Arc::new(ds))),
            options: match options {
                Some(d) => d.unbind(),
                None => PyDict::new(py).unbind(),
            },
            location: location.unbind(),
            warned,
        })
    }

    /// The array `selector` names (an `ndfiles.Array`, made by the class's `_array_class`);
    /// for a FITS table HDU, the table (`ds.table(selector)`).
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        selector: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let selector = selector_text(selector)?;
        let class = match slf.getattr(intern!(py, "_array_class")) {
            Ok(c) => c,
            Err(_) => py.get_type::<Array>().into_any(),
        };
        let err = match class.call1((slf, &selector)) {
            Err(e) if e.is_instance_of::<Error>(py) => e,
            other => return other,
        };
        // not an array: a FITS table HDU, when one is named so
        let table_named = match slf.get().get() {
            Ok(ds) => matches!(ds.format(), nd::Format::Fits) && !selector.to_str()?.contains('/'),
            Err(_) => false,
        };
        if !table_named {
            return Err(err);
        }
        match slf.call_method1(intern!(py, "table"), (&selector,)) {
            Err(e) if e.is_instance_of::<Error>(py) => Err(err),
            other => other,
        }
    }

    /// The absolute path or URL it was opened from.
    #[getter]
    fn location<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.location.bind(py).clone()
    }

    /// The keywords it was opened with.
    #[getter(_options)]
    fn options_dict<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.options.bind(py).clone()
    }

    /// The irregularities issued as warnings so far (`None`: none are issued).
    #[getter(_warned)]
    fn warned<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PySet>> {
        self.warned.as_ref().map(|s| s.bind(py).clone())
    }

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
    #[pyo3(name = "_entries")]
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
    #[pyo3(name = "_dimension_names")]
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
    #[pyo3(name = "_attributes")]
    fn attributes<'py>(&self, py: Python<'py>, selector: String) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.get()?;
        let attrs = py
            .detach(|| guarded(|| ds.attributes(&selector).map(serde_json::Value::Object)))
            .map_err(Error::new_err)?;
        json::to_py(py, &attrs)
    }

    /// Open a FITS table HDU by selector.
    #[pyo3(name = "_table")]
    fn table(&self, py: Python<'_>, selector: String) -> PyResult<Table> {
        let ds = self.get()?;
        let t = py
            .detach(|| guarded(|| ds.table(&selector)))
            .map_err(Error::new_err)?;
        Ok(Table { inner: t })
    }

    /// Headers, tree or attributes as a dict of JSON values (see `nd::Dataset::metadata`); of a
    /// FITS file built card by card unless `direct` is false (the JSON tree converted: the same
    /// dict, slower; for the tests).
    #[pyo3(name = "_metadata", signature = (direct = true))]
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
    #[pyo3(name = "_warnings")]
    fn warnings(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let ds = self.get()?;
        py.detach(|| guarded(|| Ok(ds.warnings())))
            .map_err(Error::new_err)
    }

    /// `warnings` without parsing more than was parsed so far (see
    /// `nd::Dataset::warnings_so_far`): what `ndfiles.open` issues, then the new ones once
    /// metadata was read.
    #[pyo3(name = "_warnings_so_far")]
    fn warnings_so_far(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let ds = self.get()?;
        py.detach(|| guarded(|| Ok(ds.warnings_so_far())))
            .map_err(Error::new_err)
    }

    /// The listing `nd info` prints.
    #[pyo3(name = "_info_text")]
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
