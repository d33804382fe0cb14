//! Where the values of an array are stored, and reading a region of them from a block: strided
//! views into one block (lazily read), inline values, or the chunks of a Zarr-in-ASDF array.

use crate::blocks::Blocks;
use crate::error::{Error, Result};
use crate::zarr::ZarrStorage;
use nd_core::io::RunPlan;
use nd_core::{ArrayBuf, ByteSource, Endian, Region};
use std::sync::Arc;

/// A strided view into the decoded bytes of one block.
#[derive(Debug, Clone)]
pub struct BlockView {
    pub(crate) blocks: Arc<Blocks>,
    pub(crate) block: usize,
    /// Byte offset of element (0, 0, ...) in the block data.
    pub(crate) offset: u64,
    /// Byte strides.
    pub(crate) strides: Vec<i64>,
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
    /// Read `region` into `out` (stored byte order). Uncompressed blocks (internal, streamed or
    /// in an external file): the region's byte runs, merged where they touch, are fetched with
    /// one `read_ranges` call per batch (a batch asks for at most the output's size), so a remote
    /// source can coalesce them or send one multi-range request, and a memory map answers without
    /// copying. Compressed blocks are decoded whole (once) and the runs taken from memory.
    pub(crate) fn read(&self, region: &Region, elem: usize, out: &mut [u8]) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        let Some(plan) = RunPlan::new(region, self.offset, &self.strides, elem)? else {
            return Ok(());
        };
        let (lo, hi) = plan.span();
        let max_bytes = out.len() as u64;
        let blocks = &self.blocks;
        if blocks.is_compressed(self.block) {
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
