//! # nd-ops
//!
//! Out-of-core operations over any format's arrays, through nd-core's [`ArrayRead`] and
//! [`ArrayWrite`] traits: a streaming [`copy`] (convert, rechunk), NaN-aware [`stats`] over a whole
//! array or along one axis, and [`map_blocks`]. Work is split into blocks aligned to the destination's
//! chunks, processed in parallel with rayon, and peak memory is bounded by a caller-set budget
//! (about `threads × block size`), independent of the array's size.
//!
//! ```
//! use nd_core::{ArrayBuf, ArrayRead};
//! use nd_ops::{stats, MemArray, Options};
//! let a = MemArray::new(ArrayBuf::from_vec(vec![2, 3], &[1.0f64, 2.0, f64::NAN, 4.0, 5.0, 6.0])?);
//! let s = stats(&a, &Options::default())?;
//! assert_eq!((s.count, s.nan_count, s.sum), (5, 1, 18.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod along;
mod axes;
pub mod blocks;
mod histogram;
mod mem;
mod quantile;
mod reduce;
mod sigma_clip;
mod stream;
mod values;
mod view;

pub use along::stats_along_axis;
pub use axes::{along_axes, normalize_axes, AxesResult, Reduction};
pub use histogram::{histogram, Histogram};
pub use mem::MemArray;
pub use quantile::{quantiles, Quantiles};
pub use reduce::{select, stats, Stats};
pub use sigma_clip::{sigma_clipped_stats, ClippedStats, SigmaClip};
pub use stream::for_each_slab;
pub use view::{RegionView, SelectionView};

use nd_core::{num_bytes, ArrayBuf, ArrayRead, ArrayWrite, Error, Region, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default memory budget: 256 MiB.
pub const DEFAULT_BUDGET: usize = 256 << 20;

/// Options shared by the operations.
pub struct Options<'a> {
    /// Most bytes of array data held in memory at once (approximately; per-format caches come on top).
    pub budget: usize,
    /// Worker threads (0 = rayon's default, one per core).
    pub threads: usize,
    /// Called with (bytes done, bytes total) after each block.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            budget: DEFAULT_BUDGET,
            threads: 0,
            progress: None,
        }
    }
}

impl Options<'_> {
    fn threads(&self) -> usize {
        if self.threads == 0 {
            rayon::current_num_threads().max(1)
        } else {
            self.threads
        }
    }

    /// Largest block: the budget shared by the blocks in flight (two buffers each for maps).
    fn max_block_bytes(&self) -> usize {
        (self.budget / (self.threads() * 2)).max(1)
    }

    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R> {
        if self.threads == 0 {
            Ok(f())
        } else {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .map_err(|e| Error::Unsupported(format!("thread pool: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// The regions a walk over `src` (writing to a destination chunked as `align`) visits.
pub fn plan(
    shape: &[u64],
    elem: usize,
    align: &[u64],
    prefer: &[u64],
    opts: &Options,
) -> Result<Vec<Region>> {
    let block = blocks::block_shape(shape, elem, align, prefer, opts.max_block_bytes());
    blocks::block_regions(shape, &block)
}

/// Copy every value of `src` into `dst` (same shape and data type), block by block, in parallel,
/// with bounded memory. Blocks are aligned to `dst`'s chunks so no two workers write one chunk.
/// `dst.finish()` is called at the end.
pub fn copy(src: &dyn ArrayRead, dst: &dyn ArrayWrite, opts: &Options) -> Result<()> {
    if src.shape() != dst.shape() {
        return Err(Error::Shape(format!(
            "cannot copy an array of shape {} into one of shape {}",
            nd_core::fmt_shape(src.shape().iter()),
            nd_core::fmt_shape(dst.shape().iter())
        )));
    }
    if src.dtype() != dst.dtype() {
        return Err(Error::DType {
            text: src.dtype().to_string(),
            reason: format!("destination holds {}", dst.dtype()),
        });
    }
    let shape = src.shape().to_vec();
    let elem = src.dtype().size();
    let regions = plan(
        &shape,
        elem.max(1),
        &dst.chunk_shape(),
        &src.chunk_shape(),
        opts,
    )?;
    let total = num_bytes(&shape, elem)? as u64;
    let done = AtomicU64::new(0);
    // One block buffer per block in flight, handed from block to block: no fresh allocation
    // (and no fresh pages to fault in) per block.
    let bufs = blocks::BlockBufs::default();
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|region| -> Result<()> {
                let n = num_bytes(&region.shape(), elem)?;
                // fresh zeroed memory (pages faulted in by the read itself, none touched when
                // the read fails at once) or a reused buffer whose `n` bytes the read overwrites
                let mut buf = bufs.take(n);
                src.read_region_into(region, buf.as_mut_slice())?;
                dst.write_region(region, buf.as_slice())?;
                bufs.give(buf);
                let d = done.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                if let Some(p) = opts.progress {
                    p(d, total);
                }
                Ok(())
            })
    })??;
    dst.finish()
}

/// Apply `f` to each block of `src` (its region and values) and write the result into the same
/// region of `dst` (which must have `src`'s shape; `f` returns values of `dst`'s type).
/// Calls `dst.finish()` at the end.
pub fn map_blocks<F>(src: &dyn ArrayRead, dst: &dyn ArrayWrite, opts: &Options, f: F) -> Result<()>
where
    F: Fn(&Region, ArrayBuf) -> Result<ArrayBuf> + Sync,
{
    let shape = src.shape().to_vec();
    if shape != dst.shape() {
        return Err(Error::Shape(format!(
            "map from {shape_s} into {}",
            nd_core::fmt_shape(dst.shape().iter()),
            shape_s = nd_core::fmt_shape(shape.iter())
        )));
    }
    let elem = src.dtype().size().max(dst.dtype().size()).max(1);
    let regions = plan(&shape, elem, &dst.chunk_shape(), &src.chunk_shape(), opts)?;
    let total = num_bytes(&shape, src.dtype().size())? as u64;
    let done = AtomicU64::new(0);
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|region| -> Result<()> {
                let buf = src.read_region(region)?;
                let n = buf.bytes().len() as u64;
                let out = f(region, buf)?;
                if out.shape() != region.shape().as_slice() || out.dtype() != dst.dtype() {
                    return Err(Error::Shape(format!(
                        "map returned {} {} for a block of {}",
                        out.dtype(),
                        nd_core::fmt_shape(out.shape().iter()),
                        nd_core::fmt_shape(region.shape().iter())
                    )));
                }
                dst.write_region(region, out.bytes())?;
                let d = done.fetch_add(n, Ordering::Relaxed) + n;
                if let Some(p) = opts.progress {
                    p(d, total);
                }
                Ok(())
            })
    })??;
    dst.finish()
}
