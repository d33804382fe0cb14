//! Choosing the blocks an out-of-core operation walks through: aligned to the destination's chunks
//! (so parallel writes never share a chunk), covering whole source chunks where the budget allows,
//! and small enough that `threads` blocks in flight fit the memory budget.

use nd_core::{AlignedBuf, ChunkGrid, Region, Result};
use std::sync::Mutex;

/// Block buffers handed from block to block (one per block in flight), so that a walk over
/// many blocks allocates, and faults in fresh pages, only for the first few. Aligned to 16
/// bytes: a block's bytes can be viewed as values of any type in place.
#[derive(Default)]
pub(crate) struct BlockBufs(Mutex<Vec<AlignedBuf>>);

impl BlockBufs {
    /// A buffer of `len` bytes: a returned one when there is one (its old bytes still in it:
    /// the caller overwrites all `len`), else fresh zeroed memory (no page touched until used).
    pub(crate) fn take(&self, len: usize) -> AlignedBuf {
        let mut b = self
            .0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default();
        b.resize_reusing(len);
        b
    }

    /// Hand a buffer back for the next block.
    pub(crate) fn give(&self, b: AlignedBuf) {
        if let Ok(mut v) = self.0.lock() {
            v.push(b);
        }
    }
}

/// Pick a block shape for walking an array of `shape` with `elem` bytes per element.
///
/// `align` is the shape blocks must be multiples of (the destination's chunks; clipped to the array),
/// `prefer` the shape worth covering whole (the source's chunks), and `max_block_bytes` the most one
/// block may hold. The result is at least one `align` unit (even if that unit alone exceeds the budget).
pub fn block_shape(
    shape: &[u64],
    elem: usize,
    align: &[u64],
    prefer: &[u64],
    max_block_bytes: usize,
) -> Vec<u64> {
    let nd = shape.len();
    let unit: Vec<u64> = (0..nd)
        .map(|i| align.get(i).copied().unwrap_or(1).clamp(1, shape[i].max(1)))
        .collect();
    // Grow each axis to cover the preferred extent, in multiples of the unit.
    let mut block: Vec<u64> = (0..nd)
        .map(|i| {
            let p = prefer
                .get(i)
                .copied()
                .unwrap_or(1)
                .clamp(1, shape[i].max(1));
            p.div_ceil(unit[i]) * unit[i]
        })
        .map(|b| b.max(1))
        .collect();
    for i in 0..nd {
        block[i] = block[i].min(shape[i].max(1).div_ceil(unit[i]) * unit[i]);
    }
    let bytes = |b: &[u64]| b.iter().fold(elem as u128, |acc, &d| acc * d as u128);
    // Shrink from the slowest axis while over budget.
    for i in 0..nd {
        while bytes(&block) > max_block_bytes as u128 && block[i] > unit[i] {
            let units = block[i] / unit[i];
            block[i] = (units / 2).max(1) * unit[i];
        }
    }
    // Then grow along the slowest axes while there is room (fewer, larger blocks).
    for i in 0..nd {
        let limit = shape[i].max(1).div_ceil(unit[i]) * unit[i];
        while block[i] < limit {
            let next = (block[i] * 2).min(limit);
            let mut trial = block.clone();
            trial[i] = next;
            if bytes(&trial) > max_block_bytes as u128 {
                break;
            }
            block[i] = next;
        }
        if block[i] < limit {
            break;
        }
    }
    block
}

/// The regions of a walk over `shape` in blocks of `block` (C order), each cropped to the array.
pub fn block_regions(shape: &[u64], block: &[u64]) -> Result<Vec<Region>> {
    let b: Vec<u64> = block.iter().map(|&x| x.max(1)).collect();
    let grid = ChunkGrid::new(shape.to_vec(), b)?;
    let pieces = grid.pieces(&Region::full(shape))?;
    Ok(pieces
        .into_iter()
        .map(|p| grid.chunk_region(&p.chunk))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_respects_alignment_and_budget() {
        let b = block_shape(&[1000, 1000], 4, &[100, 100], &[1, 1000], 400_000);
        assert_eq!(b[0] % 100, 0);
        assert_eq!(b[1] % 100, 0);
        assert!(b.iter().product::<u64>() * 4 <= 400_000);
        // preferred whole rows of 1000 are kept
        assert_eq!(b[1], 1000);
        let regions = block_regions(&[1000, 1000], &b).unwrap();
        let total: u64 = regions.iter().map(|r| r.num_elements()).sum();
        assert_eq!(total, 1_000_000);
    }

    #[test]
    fn unit_larger_than_budget_is_kept() {
        let b = block_shape(&[10, 10], 8, &[10, 10], &[1, 1], 16);
        assert_eq!(b, vec![10, 10]);
    }

    #[test]
    fn zero_dim() {
        assert_eq!(block_regions(&[], &[]).unwrap().len(), 1);
    }
}
