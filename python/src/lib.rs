//! `ndfiles._ndfiles`: the Rust half of the `ndfiles` Python package.
//!
//! A thin front end over the `nd` facade (and nothing else of the workspace). `Dataset` and
//! `Array` here are the base classes of `ndfiles.Dataset` and `ndfiles.Array`: opening a
//! dataset, `ds[selector]` and `arr[key]` for the common keys run here without Python code
//! (one call of nd each); the rest of the Python API (numpy indexing with steps and `None`,
//! pickling, tables, `repr`) is their Python subclasses' in `python/ndfiles/__init__.py`.
//!
//! - Reads run with the GIL released (`Python::detach`), and their result, the `ArrayD` the
//!   facade returns, is handed to numpy without a copy (`IntoPyArray`).
//! - Every failure is `ndfiles.Error` (a subclass of `OSError`) carrying nd's message; a panic in
//!   nd is caught and reported the same way instead of reaching the interpreter.

mod array;
mod codecs;
mod dataset;
mod fits_meta;
mod getitem;
mod json;
mod open;
mod options;
mod read_into;
mod refs;
mod table;
mod zarr_fill;

use nd::DataType;
use pyo3::exceptions::{PyOSError, PyUserWarning};
use pyo3::prelude::*;

pyo3::create_exception!(
    ndfiles,
    Error,
    PyOSError,
    "Any failure of nd: a missing or unreadable file, a format nd does not read, damaged data, \
     a selector that matches nothing, values that cannot be read as asked. The message is nd's: \
     it names the file (or URL) and where in it the problem is."
);

pyo3::create_exception!(
    ndfiles,
    ReadWarning,
    PyUserWarning,
    "An irregularity nd read past leniently, as astropy does with a warning: a file cut short \
     (its HDUs listed; reads before the cut work, reads reaching past it raise Error), trailing \
     bytes, a header card fixed on reading, a table field read differently from the reference \
     library. ndfiles.open issues one per irregularity, its message nd's (nd info prints the \
     same)."
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

/// The Rust type a read produces.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
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
    pub(crate) fn of(dt: &DataType) -> Option<Kind> {
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
    pub(crate) fn from_numpy(code: &str) -> Option<Kind> {
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

/// The module `ndfiles._ndfiles`.
#[pymodule]
fn _ndfiles(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("ReadWarning", m.py().get_type::<ReadWarning>())?;
    m.add_function(wrap_pyfunction!(open::open, m)?)?;
    m.add_function(wrap_pyfunction!(open::location, m)?)?;
    m.add_class::<dataset::Dataset>()?;
    m.add_class::<array::Array>()?;
    codecs::register(m)?;
    refs::register(m)?;
    m.add_function(wrap_pyfunction!(zarr_fill::zarr_fill_value, m)?)?;
    m.add_function(wrap_pyfunction!(read_into::read_into, m)?)?;
    m.add_class::<table::Table>()?;
    Ok(())
}
