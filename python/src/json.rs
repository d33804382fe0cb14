//! nd's JSON values (metadata, attributes) as Python objects, built directly: the objects
//! `json.loads` would make of their text, without writing and parsing that text.
//!
//! - `null`, booleans, strings, arrays and objects as `None`, `bool`, `str`, `list` and `dict`
//!   (keys in the map's order, which is the order the text would have);
//! - an integer as `int`, any other number as `float` (serde_json keeps the kind the number was
//!   made with, as its text shows it: `3` or `3.0`).
//!
//! Object keys repeat (every FITS card is `{"keyword", "value", "comment"}`): one Python string is
//! made per distinct key and shared, as `json.loads` memoizes them.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde_json::Value;
use std::collections::HashMap;

/// `value` as the Python object `json.loads(json.dumps(value))` gives.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    let mut keys = HashMap::new();
    convert(py, value, &mut keys)
}

fn convert<'py, 'v>(
    py: Python<'py>,
    value: &'v Value,
    keys: &mut HashMap<&'v str, Bound<'py, PyString>>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                // a number serde_json holds is an i64, a u64 or a finite f64
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(convert(py, item, keys)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                let key = keys
                    .entry(k.as_str())
                    .or_insert_with(|| PyString::new(py, k))
                    .clone();
                dict.set_item(key, convert(py, v, keys)?)?;
            }
            dict.into_any()
        }
    })
}
