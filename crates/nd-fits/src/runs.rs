//! The contiguous runs of a region in a C-order array.

use crate::error::Result;
use nd_core::Region;

/// Call `f(first_element, n_elements)` for each contiguous run of `region` in a C-order array of
/// `shape` (element units), in C order of the region. Runs never touch each other (full inner
/// axes are merged into one run).
pub fn region_runs(
    shape: &[u64],
    region: &Region,
    mut f: impl FnMut(u64, u64) -> Result<()>,
) -> Result<()> {
    region.check_within(shape)?;
    if region.is_empty() || shape.is_empty() {
        return Ok(());
    }
    let nd = shape.len();
    // k: smallest axis such that every axis after it is covered fully.
    let mut k = nd - 1;
    while k > 0 && region.ranges[k].start == 0 && region.ranges[k].end == shape[k] {
        k -= 1;
    }
    let mut strides = vec![1u64; nd];
    for i in (0..nd - 1).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let ext_k = region.ranges[k].end - region.ranges[k].start;
    let run = ext_k * strides[k];
    let mut idx: Vec<u64> = region.ranges[..k].iter().map(|r| r.start).collect();
    loop {
        let mut off = region.ranges[k].start * strides[k];
        for (i, &v) in idx.iter().enumerate() {
            off += v * strides[i];
        }
        f(off, run)?;
        let mut ax = k;
        loop {
            if ax == 0 {
                return Ok(());
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < region.ranges[ax].end {
                break;
            }
            idx[ax] = region.ranges[ax].start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_full_axes() {
        let shape = [4u64, 5, 6];
        let mut v = Vec::new();
        region_runs(&shape, &Region::new(vec![1..3, 0..5, 0..6]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(30, 60)]);
        v.clear();
        region_runs(&shape, &Region::new(vec![1..3, 2..4, 1..3]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(43, 2), (49, 2), (73, 2), (79, 2)]);
        v.clear();
        region_runs(&shape, &Region::new(vec![1..3, 2..4, 0..6]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(42, 12), (72, 12)]);
    }
}
