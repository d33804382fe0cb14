//! [`Array`]: one array of a dataset, read lazily.

use crate::error::{Error, Result};
use nd_core::cast::{cast_into, check_cast, stored_bytes_mut, Scalar};
use nd_core::{ArrayBuf, ArrayRead, DataType, Region, Selection};
use nd_ops::{Options as WorkOptions, RegionView, SelectionView, Stats};
use ndarray::{ArrayD, Dimension, IxDyn};
use std::sync::Arc;

/// Stored bytes read at once when a read converts to another type.
const CONVERT_SLAB: usize = 16 << 20;

/// One array (an image HDU, a table column, an ASDF ndarray, a Zarr array). Nothing is read
/// until a read is asked for; reads fetch only the bytes (tiles, chunks, blocks) they need.
/// Cloning is cheap (the array is shared).
#[derive(Clone)]
pub struct Array {
    selector: String,
    inner: Arc<dyn ArrayRead>,
    /// The dataset's thread pool ([`crate::OpenOptions::threads`]); rayon's global one if none.
    pool: Option<Arc<rayon::ThreadPool>>,
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
    pub(crate) fn new(
        selector: &str,
        inner: Box<dyn ArrayRead>,
        pool: Option<Arc<rayon::ThreadPool>>,
    ) -> Self {
        Array::shared(selector, Arc::from(inner), pool)
    }

    /// [`Array::new`] over a reader already shared.
    pub(crate) fn shared(
        selector: &str,
        inner: Arc<dyn ArrayRead>,
        pool: Option<Arc<rayon::ThreadPool>>,
    ) -> Self {
        Array {
            selector: selector.to_string(),
            inner,
            pool,
        }
    }

    /// The same array over another reader (a view of this one), keeping selector and pool.
    fn with_inner(&self, inner: Arc<dyn ArrayRead>) -> Self {
        Array {
            selector: self.selector.clone(),
            inner,
            pool: self.pool.clone(),
        }
    }

    /// Run `work` on the dataset's thread pool (rayon's global pool when it has none).
    pub(crate) fn on_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(work),
            None => work(),
        }
    }

    /// An array held in memory (a computed result), to export or reduce like any other.
    pub fn from_buf(name: &str, buf: ArrayBuf) -> Self {
        Array::new(name, Box::new(nd_ops::MemArray::new(buf)), None)
    }

    /// A lazy sub-array: the `region` of this one (nothing is read).
    ///
    /// # Errors
    /// [`Error::Input`] when the region does not lie within the shape.
    pub fn view(&self, region: Region) -> Result<Array> {
        let view = RegionView::new(self.inner.clone(), region).map_err(|e| self.fail(e))?;
        Ok(self.with_inner(Arc::new(view)))
    }

    /// A lazy selection of this array as numpy's basic indexing makes it: steps (negative too),
    /// indexed axes dropped. A box reads its region directly; a strided selection reads the
    /// bounding box of each part it is asked for (at most 64 MiB at a time) and keeps the
    /// selected elements.
    ///
    /// # Errors
    /// [`Error::Input`] when the selection is not one of this array's shape.
    pub fn select(&self, selection: Selection) -> Result<Array> {
        let view = SelectionView::new(self.inner.clone(), selection).map_err(|e| self.fail(e))?;
        Ok(self.with_inner(Arc::new(view)))
    }

    /// Parse numpy-order selection text (`10:20,::2,-1`, `...,::-1`) against this array's shape
    /// (see [`Selection::parse`]: strict, a bound outside an axis is an error).
    ///
    /// # Errors
    /// [`Error::Input`] naming the axis, its length and the bad item.
    pub fn selection(&self, text: &str) -> Result<Selection> {
        Selection::parse(text, self.shape()).map_err(|e| self.fail(e))
    }

    /// NaN-aware count, min, max, mean, std and sum over the whole array, out of core (memory
    /// bounded by `opts.budget`), in parallel.
    ///
    /// # Errors
    /// [`Error::Input`] when a read fails.
    pub fn stats(&self, opts: &WorkOptions) -> Result<Stats> {
        self.on_pool(|| nd_ops::stats(&*self.inner, opts))
            .map_err(|e| self.fail(e))
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
        self.on_pool(|| nd_ops::stats_along_axis(&*self.inner, axis, opts))
            .map_err(|e| self.fail(e))
    }

    /// The whole array as an `ndarray` of `T`, converted from the stored type as numpy's
    /// `astype` does (`read_ndarray::<f64>()` of float32 data works; see [`nd_core::cast`]).
    /// Physical values, as the reference library gives them: FITS after BSCALE/BZERO, BLANK as NaN.
    ///
    /// # Errors
    /// [`Error::Input`] when the values are not numeric, the array does not fit in memory, or a
    /// read fails.
    pub fn read_ndarray<T: Scalar>(&self) -> Result<ArrayD<T>> {
        self.read_region_ndarray(&Region::full(self.shape()))
    }

    /// A region of the array as an `ndarray` of `T` (see [`Array::read_ndarray`]). Reads only
    /// the bytes (tiles, chunks, byte runs) the region needs.
    ///
    /// # Errors
    /// As [`Array::read_ndarray`], and when the region is not within the shape.
    pub fn read_region_ndarray<T: Scalar>(&self, region: &Region) -> Result<ArrayD<T>> {
        // the dimension built in place (held inline up to 4 axes: no allocation per read)
        let mut shape = IxDyn::zeros(region.ranges.len());
        for (d, r) in shape.slice_mut().iter_mut().zip(&region.ranges) {
            *d = r.end.saturating_sub(r.start) as usize;
        }
        let n = elements(region)
            .ok_or_else(|| self.fail("the region holds more values than memory can address"))?;
        // zeroed by the allocator and, when large, advised huge pages from a 2 MiB boundary on:
        // the read is the first touch
        let (mut values, start) = nd_core::buf::zeroed_values::<T>(n).map_err(|e| self.fail(e))?;
        self.read_into(region, &mut values[start..start + n])?;
        if values.len() == n {
            return ArrayD::from_shape_vec(shape, values).map_err(|e| self.fail(e));
        }
        // the array's first value is `start` values into its vector
        ndarray::Array1::from_vec(values)
            .slice_move(ndarray::s![start..start + n])
            .into_shape_with_order(shape)
            .map_err(|e| self.fail(e))
    }

    /// Fill `out` (C order, one value per element of `region`) with the region's values as `T`.
    /// When `T` is the stored type, the values are read straight into `out` (no intermediate
    /// copy, compressed or not); otherwise they are read and converted in slabs of at most
    /// 16 MiB.
    ///
    /// # Errors
    /// [`Error::Input`] when `out` has the wrong length, the region is not within the shape, the
    /// values are not numeric, or a read fails.
    pub fn read_into<T: Scalar>(&self, region: &Region, out: &mut [T]) -> Result<()> {
        let dtype = self.dtype().clone();
        check_cast::<T>(&dtype).map_err(|e| self.fail(e))?;
        region
            .check_within(self.shape())
            .map_err(|e| self.fail(e))?;
        let n = elements(region)
            .ok_or_else(|| self.fail("the region holds more values than memory can address"))?;
        if out.len() != n {
            return Err(self.fail(format!(
                "the output holds {} values, the region {n}",
                out.len()
            )));
        }
        if let Some(bytes) = stored_bytes_mut(&dtype, out) {
            return self
                .on_pool(|| self.inner.read_region_into(region, bytes))
                .map_err(|e| self.fail(e));
        }
        let view = RegionView::new(self.inner.clone(), region.clone()).map_err(|e| self.fail(e))?;
        let opts = WorkOptions {
            budget: CONVERT_SLAB,
            ..WorkOptions::default()
        };
        let mut done = 0usize;
        self.on_pool(|| {
            nd_ops::for_each_slab(&view, &opts, |_, bytes| {
                let k = bytes.len() / dtype.size().max(1);
                cast_into(&dtype, bytes, &mut out[done..done + k])?;
                done += k;
                Ok(())
            })
        })
        .map_err(|e| self.fail(e))
    }

    pub(crate) fn fail(&self, e: impl std::fmt::Display) -> Error {
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

/// The number of elements of a region, if it fits in `usize`.
fn elements(region: &Region) -> Option<usize> {
    region
        .checked_num_elements()
        .and_then(|n| usize::try_from(n).ok())
}
