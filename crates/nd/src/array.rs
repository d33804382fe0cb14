//! [`Array`]: one array of a dataset, read lazily.

use crate::error::{Error, Result};
use nd_core::{ArrayBuf, ArrayRead, DataType, Region};
use nd_ops::{Options as WorkOptions, RegionView, Stats};
use std::sync::Arc;

/// One array (an image HDU, a table column, an ASDF ndarray, a Zarr array). Nothing is read
/// until a read is asked for; reads fetch only the bytes (tiles, chunks, blocks) they need.
pub struct Array {
    selector: String,
    inner: Arc<dyn ArrayRead>,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("selector", &self.selector)
            .field("shape", &self.shape())
            .field("dtype", self.dtype())
            .finish()
    }
}

impl Array {
    pub(crate) fn new(selector: &str, inner: Box<dyn ArrayRead>) -> Self {
        Array {
            selector: selector.to_string(),
            inner: Arc::from(inner),
        }
    }

    /// An array held in memory (a computed result), to export or reduce like any other.
    pub fn from_buf(name: &str, buf: ArrayBuf) -> Self {
        Array::new(name, Box::new(nd_ops::MemArray::new(buf)))
    }

    /// A lazy sub-array: the `region` of this one (nothing is read).
    ///
    /// # Errors
    /// [`Error::Input`] when the region does not lie within the shape.
    pub fn view(&self, region: Region) -> Result<Array> {
        let view = RegionView::new(self.inner.clone(), region).map_err(|e| self.fail(e))?;
        Ok(Array {
            selector: self.selector.clone(),
            inner: Arc::new(view),
        })
    }

    /// NaN-aware count, min, max, mean, std and sum over the whole array, out of core (memory
    /// bounded by `opts.budget`), in parallel.
    ///
    /// # Errors
    /// [`Error::Input`] when a read fails.
    pub fn stats(&self, opts: &WorkOptions) -> Result<Stats> {
        nd_ops::stats(&*self.inner, opts).map_err(|e| self.fail(e))
    }

    /// The same statistics along `axis` (numpy order): the shape of the result (the array's
    /// without that axis) and one [`Stats`] per output element, C order.
    ///
    /// # Errors
    /// [`Error::Input`] when the axis is out of range or a read fails.
    pub fn stats_along_axis(
        &self,
        axis: usize,
        opts: &WorkOptions,
    ) -> Result<(Vec<u64>, Vec<Stats>)> {
        nd_ops::stats_along_axis(&*self.inner, axis, opts).map_err(|e| self.fail(e))
    }

    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.selector))
    }

    /// The selector it was opened with.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Its shape, numpy axis order (FITS `NAXISn` reversed).
    pub fn shape(&self) -> &[u64] {
        self.inner.shape()
    }

    /// The type of its values as the reference library returns them (FITS: after BSCALE/BZERO;
    /// native byte order).
    pub fn dtype(&self) -> &DataType {
        self.inner.dtype()
    }

    /// Its native chunk grid: tiles, Zarr chunks, or the whole array.
    pub fn chunk_shape(&self) -> Vec<u64> {
        self.inner.chunk_shape()
    }

    /// The array as nd-core's [`ArrayRead`], for nd-ops and other generic code.
    pub fn as_read(&self) -> &dyn ArrayRead {
        &*self.inner
    }

    /// A region of it, from numpy-style text (`10:20,:,32:`), checked against the shape.
    ///
    /// # Errors
    /// [`Error::Input`] when the text does not describe a region of this array.
    pub fn region(&self, spec: &str) -> Result<Region> {
        Region::parse(spec, self.shape()).map_err(|e| self.fail(e))
    }
}
