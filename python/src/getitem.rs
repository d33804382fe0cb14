//! numpy basic indexing of an `Array` for the common keys, in Rust: ints and slices of step 1
//! (and one `...`) on a numeric array. The key is parsed here, the output allocated by numpy
//! (uninitialised, as `np.empty`: numpy's allocator and its huge-page advice) with the result's
//! shape, and nd reads the box straight into it: no planning in Python, no intermediate box, no
//! view of it. Every other key (steps other than 1, `None`, an empty selection, an index out of
//! bounds, a scalar result, bools, misuse) is left to the Python path, which raises numpy's
//! errors and applies numpy's scalar rules.
//!
//! The GIL is released for the read unless it is small and cheap for certain: at most
//! [`HOLD_GIL_BYTES`] of output from an array stored without a codec in a local file (a memory
//! map or positional reads: a copy, with a byte swap or scaling at most). Releasing costs little
//! alone, but with another Python thread busy, taking the GIL back waits for that thread to
//! give it up (up to the interpreter's switch interval, 5 ms by default): far more than a read
//! of a few pages, and the other thread gains nothing from a pause that short. A read from a
//! URL or through a codec (a chunk to decompress, whatever the size of the selection) always
//! releases it.

use crate::array::Array;
use crate::{guarded, Error, Kind};
use nd::{Region, Scalar};
use numpy::{Element, PyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PySlice, PyTuple};

/// Output bytes at or below which a read from a local array stored without a codec keeps the
/// GIL (see the module's documentation): 256 KiB, a copy of some tens of microseconds at most.
pub(crate) const HOLD_GIL_BYTES: usize = 256 << 10;

/// `arr[key]` when `key` is of the common kind (see the module's documentation); `None` for
/// Python's path to take it.
pub(crate) fn getitem<'py>(
    py: Python<'py>,
    arr: &Array,
    key: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(kind) = Kind::of(arr.inner.dtype()) else {
        return Ok(None);
    };
    let Some((region, shape)) = plan(key, arr.inner.shape()) else {
        return Ok(None);
    };
    let bytes = shape
        .iter()
        .try_fold(arr.inner.dtype().size(), |n, &d| n.checked_mul(d));
    let release = !(arr.cheap && bytes.is_some_and(|n| n <= HOLD_GIL_BYTES));
    let a = &arr.inner;
    let r = match kind {
        Kind::Bool => read_new::<bool>(py, a, &region, &shape, release),
        Kind::I8 => read_new::<i8>(py, a, &region, &shape, release),
        Kind::I16 => read_new::<i16>(py, a, &region, &shape, release),
        Kind::I32 => read_new::<i32>(py, a, &region, &shape, release),
        Kind::I64 => read_new::<i64>(py, a, &region, &shape, release),
        Kind::U8 => read_new::<u8>(py, a, &region, &shape, release),
        Kind::U16 => read_new::<u16>(py, a, &region, &shape, release),
        Kind::U32 => read_new::<u32>(py, a, &region, &shape, release),
        Kind::U64 => read_new::<u64>(py, a, &region, &shape, release),
        Kind::F16 => read_new::<half::f16>(py, a, &region, &shape, release),
        Kind::F32 => read_new::<f32>(py, a, &region, &shape, release),
        Kind::F64 => read_new::<f64>(py, a, &region, &shape, release),
        Kind::C64 => read_new::<num_complex::Complex32>(py, a, &region, &shape, release),
        Kind::C128 => read_new::<num_complex::Complex64>(py, a, &region, &shape, release),
    };
    r.map(Some).map_err(|e| arr.located(py, e))
}

/// The box `key` selects in an array of `shape` and the result's shape (the box's without the
/// axes taken by an int), when `key` is an int, a slice of step 1, `...`, or a tuple of those
/// (at most one `...`), selects at least one value on every axis, and leaves at least one axis
/// or holds a `...` (numpy gives a scalar otherwise). `None` for any other key.
fn plan(key: &Bound<'_, PyAny>, shape: &[u64]) -> Option<(Region, Vec<usize>)> {
    let py = key.py();
    let ellipsis = py.Ellipsis();
    let single;
    let items: &[Bound<'_, PyAny>] = match key.cast::<PyTuple>() {
        Ok(t) => {
            single = t.iter().collect::<Vec<_>>();
            &single
        }
        Err(_) => std::slice::from_ref(key),
    };
    let n_ellipsis = items.iter().filter(|k| k.is(&ellipsis)).count();
    let n_axes = items.len() - n_ellipsis;
    if n_ellipsis > 1 || n_axes > shape.len() {
        return None;
    }
    let mut ranges = Vec::with_capacity(shape.len());
    let mut out = Vec::with_capacity(shape.len());
    // a whole axis, `:` (an empty one is left to Python)
    let full = |dim: u64, ranges: &mut Vec<std::ops::Range<u64>>, out: &mut Vec<usize>| {
        (dim > 0).then_some(())?;
        out.push(usize::try_from(dim).ok()?);
        ranges.push(0..dim);
        Some(())
    };
    for k in items {
        let axis = ranges.len();
        if k.is(&ellipsis) {
            for &dim in &shape[axis..axis + shape.len() - n_axes] {
                full(dim, &mut ranges, &mut out)?;
            }
            continue;
        }
        let dim = shape[axis];
        if let Ok(s) = k.cast::<PySlice>() {
            let ix = s.indices(isize::try_from(dim).ok()?).ok()?;
            if ix.step != 1 || ix.slicelength == 0 {
                return None;
            }
            let a = u64::try_from(ix.start).ok()?;
            ranges.push(a..a + ix.slicelength as u64);
            out.push(ix.slicelength);
        } else {
            if k.is_instance_of::<PyBool>() {
                return None;
            }
            let i: i64 = k.extract().ok()?;
            let d = i64::try_from(dim).ok()?;
            if !(-d..d).contains(&i) {
                return None;
            }
            let i = u64::try_from(if i < 0 { i + d } else { i }).ok()?;
            ranges.push(i..i + 1);
        }
    }
    for &dim in &shape[ranges.len()..] {
        full(dim, &mut ranges, &mut out)?;
    }
    if out.is_empty() && n_ellipsis == 0 {
        return None;
    }
    Some((Region::new(ranges), out))
}

/// `region` of `arr` as a new numpy array of `shape` (the region's elements, C order), read
/// straight into numpy's memory, with the GIL released when `release`.
fn read_new<'py, T: Scalar + Element>(
    py: Python<'py>,
    arr: &nd::Array,
    region: &Region,
    shape: &[usize],
    release: bool,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: a new C-contiguous array of `shape`, uninitialised as `np.empty` makes it (the
    // same memory `read_into` fills): nd writes every element before Python can see the array,
    // and on an error it is dropped unseen. No other reference to it exists while we write.
    let out = unsafe { PyArray::<T, _>::new(py, shape, false) };
    let values = unsafe { out.as_slice_mut() }
        .map_err(|_| Error::new_err("a new numpy array is not contiguous"))?;
    let mut read = || guarded(|| arr.read_into(region, values));
    let r = if release { py.detach(read) } else { read() };
    r.map_err(Error::new_err)?;
    Ok(out.into_any())
}
