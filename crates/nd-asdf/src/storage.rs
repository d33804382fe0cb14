//! Where the values of an array are stored, and reading a region of them from a block: strided
//! views into one block (lazily read), inline values, or the chunks of a Zarr-in-ASDF array.

use crate::blocks::Blocks;
use crate::error::{Error, Result};
use crate::zarr::ZarrStorage;
use nd_core::io::{read_converting, RunPlan};
use nd_core::{ArrayBuf, ByteSource, DataType, Endian, Region};
use rayon::prelude::*;
use std::sync::Arc;

/// Full reads of uncompressed blocks are read in pieces of this many bytes, in parallel.
const DIRECT_PIECE: usize = 4 << 20;

/// Byte strides of a view, held inline up to 4 axes (no allocation for the arrays of a listing).
pub(crate) type Strides = smallvec::SmallVec<[i64; 4]>;

/// The byte strides of a C-contiguous array of `shape` with `elem`-byte elements.
pub(crate) fn c_strides(shape: &[u64], elem: usize) -> Strides {
    let mut s = smallvec::smallvec![0; shape.len()];
    nd_core::byte_strides_into(shape, nd_core::Order::C, elem, &mut s);
    s
}

/// A strided view into the decoded bytes of one block.
#[derive(Debug, Clone)]
pub struct BlockView {
    pub(crate) blocks: Arc<Blocks>,
    pub(crate) block: usize,
    /// Byte offset of element (0, 0, ...) in the block data.
    pub(crate) offset: u64,
    /// Byte strides.
    pub(crate) strides: Strides,
    /// Byte order of the stored values.
    pub(crate) endian: Endian,
}

/// Where the values of an array are: a view into a block, inline in the tree, or Zarr chunks.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    Block(BlockView),
    Inline(Arc<ArrayBuf>),
    Zarr(Arc<ZarrStorage>),
}

/// Check that every element of a strided view lies inside `len` bytes; returns nothing or an error.
pub(crate) fn check_view_bounds(
    shape: &[u64],
    offset: u64,
    strides: &[i64],
    elem: usize,
    len: u64,
    path: &str,
) -> Result<()> {
    if shape.contains(&0) {
        return Ok(());
    }
    let mut lo = offset as i128;
    let mut hi = offset as i128 + elem as i128;
    for (&n, &s) in shape.iter().zip(strides) {
        let span = (n as i128 - 1) * s as i128;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi > len as i128 {
        return Err(Error::node(
            path,
            format!(
                "array (shape {shape_s}, offset {offset}, strides {strides_s}) reaches bytes {lo}..{hi} outside its block of {len} bytes", shape_s = nd_core::fmt_shape(shape.iter()), strides_s = nd_core::fmt_shape(strides.iter())
            ),
        ));
    }
    Ok(())
}

impl BlockView {
    /// The blocks of the file that holds the view (an external file's for exploded storage).
    pub fn blocks(&self) -> &Arc<Blocks> {
        &self.blocks
    }

    /// Index of the block in [`BlockView::blocks`].
    pub fn block(&self) -> usize {
        self.block
    }

    /// Byte offset of the first element (index 0, 0, …) in the block's decoded data.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Byte strides of the view, one per axis (negative: the axis runs backwards).
    pub fn strides(&self) -> &[i64] {
        &self.strides
    }

    /// Byte order of the stored values.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Read `region` of values of `dtype` (stored in `self.endian`) into `out`, native-endian.
    /// Uncompressed blocks (internal, streamed or in an external file): a region that is one
    /// contiguous run of the block (a full read) is read with positional reads straight into
    /// `out` (one read when it is at most [`DIRECT_PIECE`] bytes, no allocation and no thread
    /// hand-off: a file of thousands of small arrays pays one copy each; larger ones in pieces
    /// of [`DIRECT_PIECE`] in parallel), each swapped to native order as soon as it arrives
    /// (no map of the file is touched: only `out` is charged to the process).
    /// Otherwise the region's byte runs, merged where they touch, are fetched with one
    /// `read_ranges` call per batch (a batch asks for at most the output's size), so a remote
    /// source can coalesce them or send one multi-range request, and a memory map answers without
    /// copying. Compressed blocks are decoded whole (once, kept for later reads) and the runs
    /// taken from memory, except a read of the whole block in order, which is decoded straight
    /// into `out` and not kept.
    pub(crate) fn read(&self, region: &Region, dtype: &DataType, out: &mut [u8]) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        let fills = |r: &std::ops::Range<u64>| r.end - r.start == out.len() as u64;
        let compressed = self.blocks.is_compressed(self.block);
        if !compressed {
            // a C-ordered region: no plan needed
            if let Some(r) =
                RunPlan::c_order_run(region, self.offset, &self.strides, dtype.size()).filter(fills)
            {
                // swaps as it reads
                return self.read_direct(r, dtype, out);
            }
        }
        let Some(plan) = RunPlan::new(region, self.offset, &self.strides, dtype.size())? else {
            return Ok(());
        };
        if !compressed {
            if let Some(r) = plan.single_run().filter(fills) {
                return self.read_direct(r, dtype, out);
            }
        }
        self.read_runs(&plan, out)?;
        dtype.swap_to_native(self.endian, out);
        Ok(())
    }

    /// The direct path of [`BlockView::read`]: the block-relative byte range `r` of an
    /// uncompressed block, exactly `out.len()` bytes, read straight into `out` and swapped.
    fn read_direct(&self, r: std::ops::Range<u64>, dtype: &DataType, out: &mut [u8]) -> Result<()> {
        let elem = dtype.size();
        let h = self.blocks.header(self.block)?;
        if r.end > h.used {
            return Err(Error::block(self.block, h.offset, "view outside the block"));
        }
        let start = h.data_offset() + r.start;
        let src: &Arc<dyn ByteSource> = self.blocks.source();
        // pieces of whole elements, so that each can be swapped on its own; a piece to swap is
        // read and swapped a part at a time, while the part is in cache
        let piece = (DIRECT_PIECE / elem.max(1)).max(1) * elem.max(1);
        let swaps = dtype.swaps_from(self.endian);
        let read = |at: u64, dst: &mut [u8]| -> Result<()> {
            if swaps {
                read_converting(&**src, at, dst, elem, |part| {
                    dtype.swap_to_native(self.endian, part)
                })?;
            } else {
                src.read_exact_at(at, dst)?;
            }
            Ok(())
        };
        if out.len() <= piece {
            return read(start, out);
        }
        out.par_chunks_mut(piece)
            .enumerate()
            .try_for_each(|(i, dst)| read(start + (i * piece) as u64, dst))
    }

    /// The runs of `plan` (not one run filling `out` of an uncompressed block) into `out`, in
    /// stored byte order.
    fn read_runs(&self, plan: &RunPlan, out: &mut [u8]) -> Result<()> {
        let (lo, hi) = plan.span();
        let max_bytes = out.len() as u64;
        let blocks = &self.blocks;
        if blocks.is_compressed(self.block) {
            // the whole block, in order: decode straight into `out`
            if plan.single_run() == Some(0..out.len() as u64)
                && blocks.data_len(self.block)? == out.len() as u64
            {
                return blocks.decode_into(self.block, out);
            }
            let data = blocks.data(self.block)?;
            if hi > data.len() as u64 {
                return Err(Error::block(self.block, lo, "view outside the block"));
            }
            return plan.execute(out, max_bytes, &mut |ranges| {
                Ok(ranges
                    .iter()
                    .map(|r| data.slice(r.start as usize..r.end as usize))
                    .collect())
            });
        }
        let h = blocks.header(self.block)?;
        let start = h.data_offset();
        if hi > h.used {
            return Err(Error::block(self.block, h.offset, "view outside the block"));
        }
        let src: &Arc<dyn ByteSource> = blocks.source();
        plan.execute(out, max_bytes, &mut |ranges| {
            let abs: Vec<std::ops::Range<u64>> = ranges
                .iter()
                .map(|r| start + r.start..start + r.end)
                .collect();
            Ok(src.read_ranges(&abs)?)
        })
    }
}
