//! Reading an array front to back in C order, slab by slab, for outputs that can only be written
//! in order (a pipe, standard output, CSV text).

use crate::blocks::block_regions;
use crate::Options;
use nd_core::{ArrayRead, Region, Result};

/// The block shape of a C-order walk in slabs of at most `budget` bytes: whole trailing axes, a
/// run of the first axis that is not whole, ones before it. Each slab is one contiguous run of
/// the array in C order, and the slabs follow each other.
fn slab_shape(shape: &[u64], elem: usize, budget: usize) -> Vec<u64> {
    let mut block: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
    let mut inner = elem.max(1) as u128; // bytes of one step along the current axis
    for k in (0..shape.len()).rev() {
        let whole = inner * block[k] as u128;
        if whole > budget as u128 {
            block[k] = (budget as u128 / inner).clamp(1, block[k] as u128) as u64;
            for b in block.iter_mut().take(k) {
                *b = 1;
            }
            break;
        }
        inner = whole;
    }
    block
}

/// Read `src` front to back in C order, in slabs of at most `opts.budget` bytes (at least one
/// element), calling `sink` with each slab's region and bytes, in order. Memory: one slab.
///
/// # Errors
/// Whatever reading `src` or `sink` returns.
pub fn for_each_slab(
    src: &dyn ArrayRead,
    opts: &Options,
    mut sink: impl FnMut(&Region, &[u8]) -> Result<()>,
) -> Result<()> {
    let shape = src.shape();
    let elem = src.dtype().size();
    let block = slab_shape(shape, elem, opts.budget.max(1));
    let mut buf = Vec::new();
    for region in block_regions(shape, &block)? {
        let n = nd_core::num_bytes(&region.shape(), elem)?;
        buf.resize(n, 0u8);
        src.read_region_into(&region, &mut buf)?;
        sink(&region, &buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    #[test]
    fn slabs_follow_c_order_within_budget() {
        let vals: Vec<u16> = (0..4 * 5 * 6).collect();
        let a = MemArray::new(ArrayBuf::from_vec(vec![4, 5, 6], &vals).unwrap());
        for budget in [1, 2, 11, 12, 24, 60, 61, 119, 120, 240, 10_000] {
            let opts = Options {
                budget,
                ..Options::default()
            };
            let mut got = Vec::new();
            for_each_slab(&a, &opts, |_, b| {
                assert!(b.len() <= budget.max(2), "{} > {budget}", b.len());
                got.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(
                got,
                bytemuck::cast_slice::<u16, u8>(&vals),
                "budget {budget}"
            );
        }
        assert_eq!(slab_shape(&[4, 5, 6], 2, 24), vec![1, 2, 6]);
        assert_eq!(slab_shape(&[], 8, 1), Vec::<u64>::new());
    }
}
