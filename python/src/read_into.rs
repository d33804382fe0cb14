//! Reads into a numpy array Python allocated (`np.empty`), the GIL released: nd fills numpy's
//! memory directly, so the result needs no zeroing first and no handover. numpy allocates a
//! large array with transparent huge pages where the system offers them on request
//! (`madvise`), which makes its first touch several times cheaper than that of a plain
//! allocation; the read itself is the facade's `Array::read_into` (the stored type read
//! straight into the output, any other numeric type converted as numpy's `astype`).

use crate::array::Array;
use crate::{guarded, Error, Kind};
use nd::{Region, Scalar};
use numpy::{Element, PyReadwriteArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// Fill `out` (a writable C-contiguous numpy array of `region`'s shape, any numeric type) with
/// the box `start[i]..stop[i]` of `arr`, converted to `out`'s type as numpy's `astype` does.
#[pyfunction]
pub(crate) fn read_into(
    py: Python<'_>,
    arr: PyRef<'_, Array>,
    start: Vec<u64>,
    stop: Vec<u64>,
    out: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let region = arr.box_region(start, stop)?;
    let code: String = out
        .getattr("dtype")
        .and_then(|d| Ok(format!("{}{}", d.getattr("kind")?, d.getattr("itemsize")?)))?;
    let kind = Kind::from_numpy(&code).ok_or_else(|| {
        Error::new_err(format!("{}: cannot read into {code}", arr.inner.selector()))
    })?;
    let nd_arr = &arr.inner;
    let r = match kind {
        Kind::Bool => fill::<bool>(py, nd_arr, &region, out),
        Kind::I8 => fill::<i8>(py, nd_arr, &region, out),
        Kind::I16 => fill::<i16>(py, nd_arr, &region, out),
        Kind::I32 => fill::<i32>(py, nd_arr, &region, out),
        Kind::I64 => fill::<i64>(py, nd_arr, &region, out),
        Kind::U8 => fill::<u8>(py, nd_arr, &region, out),
        Kind::U16 => fill::<u16>(py, nd_arr, &region, out),
        Kind::U32 => fill::<u32>(py, nd_arr, &region, out),
        Kind::U64 => fill::<u64>(py, nd_arr, &region, out),
        Kind::F16 => fill::<half::f16>(py, nd_arr, &region, out),
        Kind::F32 => fill::<f32>(py, nd_arr, &region, out),
        Kind::F64 => fill::<f64>(py, nd_arr, &region, out),
        Kind::C64 => fill::<num_complex::Complex32>(py, nd_arr, &region, out),
        Kind::C128 => fill::<num_complex::Complex64>(py, nd_arr, &region, out),
    };
    r.map_err(|e| arr.located(py, e))
}

fn fill<T: Scalar + Element>(
    py: Python<'_>,
    arr: &nd::Array,
    region: &Region,
    out: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // the dtype must be T's exactly, native byte order (numpy checks it here)
    let mut rw: PyReadwriteArrayDyn<'_, T> = out.extract()?;
    let want: Vec<usize> = region.shape().iter().map(|&d| d as usize).collect();
    if rw.shape() != want.as_slice() {
        return Err(Error::new_err(format!(
            "{}: the output's shape {:?} is not the region's {want:?}",
            arr.selector(),
            rw.shape()
        )));
    }
    let values = rw
        .as_slice_mut()
        .map_err(|_| Error::new_err("the output must be a C-contiguous array"))?;
    py.detach(|| guarded(|| arr.read_into(region, values)))
        .map_err(Error::new_err)
}
