//! A Zarr array's `fill_value`, for the xarray backend: xarray's Zarr engine takes a v2 array's
//! `fill_value` as `_FillValue` (the mark of missing values that `mask_and_scale` turns into NaN).

use crate::dataset::Dataset;
use crate::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `(zarr_format, fill)` of the Zarr array `selector`: `fill` one element of its `fill_value`,
/// native byte order, for a v2 array (`None` when `fill_value` is null, and for v3, whose
/// missing-value mark is the `_FillValue` attribute alone, as xarray reads v3); `None` for an
/// array of another format.
#[pyfunction]
pub(crate) fn zarr_fill_value<'py>(
    py: Python<'py>,
    ds: PyRef<'_, Dataset>,
    selector: &str,
) -> PyResult<Option<(u8, Option<Bound<'py, PyBytes>>)>> {
    let ds = ds.get()?;
    let nd::Native::Zarr(h) = ds.native() else {
        return Ok(None);
    };
    let node = h
        .node(selector.trim().trim_matches('/'))
        .ok_or_else(|| Error::new_err(format!("no array '{selector}' in the store")))?;
    let fill = node
        .metadata
        .as_ref()
        .and_then(|m| m.fill_value.as_deref())
        .map(|b| PyBytes::new(py, b));
    Ok(Some((node.zarr_format, fill)))
}
