//! `ndfiles.open`, here so that opening runs no Python code in the common case (a clean
//! absolute path, no `storage_options`): the location check, the options and the call of
//! `ndfiles.Dataset` are Rust's, and the warnings known at open point at the caller's line.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString};

/// The `ndfiles` package (its Python helpers and classes).
static PACKAGE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn package(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    PACKAGE
        .get_or_try_init(py, || py.import("ndfiles").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// Whether `text` is an absolute path already as `os.path.abspath` gives it (POSIX: it starts
/// with `/`, holds no `.` or `..` component, no `//`, and does not end with `/`).
fn is_normal_absolute(text: &str) -> bool {
    cfg!(unix)
        && text.starts_with('/')
        && !text.contains("/.")
        && !text.contains("//")
        && !text.ends_with('/')
}

/// An absolute path (so that a pickled array reopens from any working directory) or the URL:
/// a clean absolute path as it is, anything else through `ndfiles._location_general`
/// (`os.fspath`, URLs, `os.path.abspath`).
#[pyfunction]
pub(crate) fn location<'py>(path_or_url: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = path_or_url.py();
    if let Ok(s) = path_or_url.cast_exact::<PyString>() {
        if is_normal_absolute(s.to_str()?) {
            return Ok(s.clone().into_any());
        }
    }
    package(py)?
        .getattr(intern!(py, "_location_general"))?
        .call1((path_or_url,))
}

/// Open a FITS file, an ASDF file or a Zarr store; only metadata is read.
///
/// Options for every location: ``threads`` (decode threads of this dataset; one per core by
/// default), ``limits`` (a dict of nd's bounds on untrusted input: ``decompressed_bytes``,
/// ``chunk_bytes``, ``blocks``, ``tree_nodes``, ``tree_depth``, ``npy_header_bytes``).
///
/// Options for URLs: ``anonymous=True`` (unsigned requests, public buckets), ``timeout`` and
/// ``connect_timeout`` (seconds), ``retries``, ``cache_size`` (bytes of the block cache of each
/// remote object, 64 MiB by default), ``block_size``, ``part_size``, ``coalesce_gap``,
/// ``max_in_flight``, ``max_full_download``, ``multi_range``, and any object-store
/// configuration key (``aws_endpoint="http://127.0.0.1:9000"``, ``aws_region="eu-west-1"``,
/// ``allow_http=True``, ``google_service_account``, ``azure_storage_account_name``, ...).
/// ``storage_options`` takes the same as a dict, and also fsspec's / s3fs's names (``anon``,
/// ``key``, ``secret``, ``token``, ``endpoint_url``, ``client_kwargs={"region_name": ...}``).
/// Without URL options, those of the environment (``AWS_*``, ``ND_REMOTE_*``, ...) are used;
/// with some, the environment's are the defaults of the others.
///
/// Irregularities nd reads past (a file cut short, trailing bytes, ...) are issued as
/// ``ReadWarning``, pointing at the line that called ``open``.
#[pyfunction]
#[pyo3(signature = (path_or_url, storage_options = None, **options))]
pub(crate) fn open<'py>(
    path_or_url: &Bound<'py, PyAny>,
    storage_options: Option<&Bound<'py, PyAny>>,
    options: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = path_or_url.py();
    let location = location(path_or_url)?;
    let mut options = options.unwrap_or_else(|| PyDict::new(py));
    if let Some(so) = storage_options {
        if !so.is_truthy()? {
            return dataset(py, location, options);
        }
        // fsspec's names as nd's; the keywords given directly win
        let merged = package(py)?
            .getattr(intern!(py, "_from_storage_options"))?
            .call1((&location, so))?
            .cast_into::<PyDict>()?;
        merged.update(options.as_mapping())?;
        options = merged;
    }
    dataset(py, location, options)
}

/// `ndfiles.Dataset(location, options)`, its warnings at open issued.
fn dataset<'py>(
    py: Python<'py>,
    location: Bound<'py, PyAny>,
    options: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    // called from the user's code, no Python frame between: the warnings point one frame up
    package(py)?
        .getattr(intern!(py, "Dataset"))?
        .call1((location, options, 1))
}
