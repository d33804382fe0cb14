//! A region or a selection of another array, seen as an array of its own.

use nd_core::{ArrayRead, Attributes, AxisSelection, DataType, Region, Result, Selection};
use std::ops::Deref;

/// The part `region` of `inner`, as an array whose origin is the region's start. `inner` is any
/// pointer to an array: a borrow (`&dyn ArrayRead`) or a shared owner (`Arc<dyn ArrayRead>`).
pub struct RegionView<A> {
    inner: A,
    region: Region,
    shape: Vec<u64>,
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> RegionView<A> {
    /// A view of `region` of `inner` (checked against its shape).
    pub fn new(inner: A, region: Region) -> Result<Self> {
        region.check_within(inner.shape())?;
        Ok(RegionView {
            inner,
            shape: region.shape(),
            region,
        })
    }
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> ArrayRead for RegionView<A> {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        self.inner.dtype()
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.inner.chunk_shape()
    }
    fn codec(&self) -> Option<String> {
        self.inner.codec()
    }
    fn attributes(&self) -> Attributes {
        self.inner.attributes()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        let shifted = Region::new(
            region
                .ranges
                .iter()
                .zip(&self.region.ranges)
                .map(|(r, o)| r.start + o.start..r.end + o.start)
                .collect(),
        );
        self.inner.read_region_into(&shifted, out)
    }
}

/// Stored bytes a [`SelectionView`] reads at once for a strided selection; beyond it the read is
/// split along the outer axes (and, last, element by element).
const GATHER_LIMIT: u128 = 64 << 20;

/// A numpy basic-indexing [`Selection`] of `inner` (steps, negative steps, dropped axes), as an
/// array of its own. A box selection (every step 1) reads its region directly; a strided one reads
/// the bounding box of each requested part (split so that at most 64 MiB is held) and gathers the
/// selected elements. Where a step skips whole rows (planes, …) of an axis before the last, the
/// read is split along the outer axes so that the skipped ones are not read, when that costs no
/// repeated decoding: the array is stored without a codec (reads cost their bytes), or the step
/// is at least the chunk's extent on that axis (each part touches chunks of its own).
pub struct SelectionView<A> {
    inner: A,
    selection: Selection,
    shape: Vec<u64>,
    gather_limit: u128,
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> SelectionView<A> {
    /// A view of `selection` of `inner` (checked against its shape).
    pub fn new(inner: A, selection: Selection) -> Result<Self> {
        if selection.axes.len() != inner.shape().len() {
            return Err(nd_core::Error::Shape(format!(
                "a selection of {} axes for an array of {}",
                selection.axes.len(),
                inner.shape().len()
            )));
        }
        selection.bounding_region().check_within(inner.shape())?;
        Ok(SelectionView {
            shape: selection.shape(),
            inner,
            selection,
            gather_limit: GATHER_LIMIT,
        })
    }

    /// The same view holding at most `bytes` of a bounding box at once (tests the splitting).
    #[cfg(test)]
    fn with_gather_limit(mut self, bytes: u128) -> Self {
        self.gather_limit = bytes;
        self
    }

    /// For a region of the view, per array axis: (first source index, step, count).
    fn source_axes(&self, region: &Region) -> Vec<(u64, i64, u64)> {
        let mut out_axis = 0;
        self.selection
            .axes
            .iter()
            .map(|a| match *a {
                AxisSelection::Index(i) => (i, 1, 1),
                AxisSelection::Slice { start, step, .. } => {
                    let r = &region.ranges[out_axis];
                    out_axis += 1;
                    let first = (start as i64 + r.start as i64 * step) as u64;
                    (first, step, r.end - r.start)
                }
            })
            .collect()
    }

    /// Whether splitting `axes` along its outermost axis taking more than one index leaves
    /// rows (planes, …) unread: an axis from there to the one before last steps over indices,
    /// and re-reading per part costs nothing more (no codec, or a step of at least a chunk on
    /// the axis split).
    fn skips_outer(&self, axes: &[(u64, i64, u64)]) -> bool {
        let Some(k) = axes.iter().position(|a| a.2 > 1) else {
            return false;
        };
        let last = axes.len() - 1;
        let skips = axes[k..last]
            .iter()
            .any(|&(_, step, n)| n > 1 && step.unsigned_abs() > 1);
        if !skips {
            return false;
        }
        if self.inner.codec().is_none() {
            return true;
        }
        let chunk = self.inner.chunk_shape();
        chunk
            .get(k)
            .is_some_and(|&c| axes[k].1.unsigned_abs() >= c.max(1))
    }

    /// Read the elements `axes` describes (C order) into `out`.
    fn gather(&self, axes: &[(u64, i64, u64)], out: &mut [u8]) -> Result<()> {
        let elem = self.inner.dtype().size();
        let bounds: Vec<std::ops::Range<u64>> = axes
            .iter()
            .map(|&(first, step, n)| {
                AxisSelection::Slice {
                    start: first,
                    step,
                    len: n,
                }
                .bounds()
            })
            .collect();
        let box_shape: Vec<u64> = bounds.iter().map(|r| r.end - r.start).collect();
        let box_bytes = box_shape.iter().fold(elem as u128, |a, &d| a * d as u128);
        if box_bytes > self.gather_limit || self.skips_outer(axes) {
            // split along the outermost axis taking more than one index
            if let Some(k) = axes.iter().position(|a| a.2 > 1) {
                let (first, step, n) = axes[k];
                let per = out.len() / n as usize;
                for (j, piece) in out.chunks_mut(per).enumerate() {
                    let mut sub = axes.to_vec();
                    sub[k] = ((first as i64 + j as i64 * step) as u64, step, 1);
                    self.gather(&sub, piece)?;
                }
                return Ok(());
            }
        }
        let mut buf = vec![0u8; box_bytes as usize];
        self.inner
            .read_region_into(&Region::new(bounds.clone()), &mut buf)?;
        let strides = nd_core::shape::strides(&box_shape, nd_core::Order::C);
        let counts: Vec<u64> = axes.iter().map(|a| a.2).collect();
        let mut idx = vec![0u64; axes.len()];
        let mut at = 0usize;
        loop {
            let mut off = 0u64;
            for (ax, &(first, step, _)) in axes.iter().enumerate() {
                let src = first as i64 + idx[ax] as i64 * step;
                off += (src as u64 - bounds[ax].start) * strides[ax];
            }
            let o = off as usize * elem;
            out[at..at + elem].copy_from_slice(&buf[o..o + elem]);
            at += elem;
            if !nd_core::next_index(&mut idx, &counts) {
                return Ok(());
            }
        }
    }
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> ArrayRead for SelectionView<A> {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        self.inner.dtype()
    }
    fn chunk_shape(&self) -> Vec<u64> {
        // the inner chunks, on the axes kept, when the selection is a box; else element rows
        let inner = self.inner.chunk_shape();
        if self.selection.is_box() && inner.len() == self.selection.axes.len() {
            self.selection
                .axes
                .iter()
                .zip(inner)
                .filter(|(a, _)| matches!(a, AxisSelection::Slice { .. }))
                .map(|(_, c)| c)
                .collect()
        } else {
            self.shape.clone()
        }
    }
    fn codec(&self) -> Option<String> {
        self.inner.codec()
    }
    fn attributes(&self) -> Attributes {
        self.inner.attributes()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        nd_core::array::check_out_len(region, self.dtype(), out)?;
        let axes = self.source_axes(region);
        if axes.iter().any(|a| a.2 == 0) {
            return Ok(());
        }
        if self.selection.is_box() {
            let source = Region::new(axes.iter().map(|&(f, _, n)| f..f + n).collect());
            return self.inner.read_region_into(&source, out);
        }
        self.gather(&axes, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// An array that counts the bytes read from it, with a codec and chunks as asked.
    struct Counting {
        inner: MemArray,
        bytes: AtomicU64,
        codec: Option<String>,
        chunks: Vec<u64>,
    }

    impl ArrayRead for Counting {
        fn shape(&self) -> &[u64] {
            self.inner.shape()
        }
        fn dtype(&self) -> &DataType {
            self.inner.dtype()
        }
        fn chunk_shape(&self) -> Vec<u64> {
            self.chunks.clone()
        }
        fn codec(&self) -> Option<String> {
            self.codec.clone()
        }
        fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
            self.bytes.fetch_add(out.len() as u64, Ordering::Relaxed);
            self.inner.read_region_into(region, out)
        }
    }

    #[test]
    fn steps_over_rows_skip_them_when_rereading_is_free() {
        let shape = [64u64, 48];
        let vals: Vec<u32> = (0..64 * 48).collect();
        let sel = Selection::parse("::4,::4", &shape).unwrap();
        let want = brute(&shape, &sel);
        // (codec, chunks, bytes read): no codec → only the 16 rows taken (each its 45-element
        // span); a codec with chunks of 8 rows > the step → the bounding box; chunks of 4 rows
        // = the step → the rows taken
        for (codec, chunks, bytes) in [
            (None, vec![64, 48], 16 * 45 * 4),
            (Some("zstd".to_string()), vec![8, 48], 61 * 45 * 4),
            (Some("zstd".to_string()), vec![4, 48], 16 * 45 * 4),
        ] {
            let c = Arc::new(Counting {
                inner: MemArray::new(ArrayBuf::from_vec(shape.to_vec(), &vals).unwrap()),
                bytes: AtomicU64::new(0),
                codec,
                chunks,
            });
            let inner: Arc<dyn ArrayRead> = c.clone();
            let view = SelectionView::new(inner, sel.clone()).unwrap();
            let got = view.read_region(&Region::full(view.shape())).unwrap();
            assert_eq!(got.as_slice::<u32>().unwrap(), &want[..]);
            assert_eq!(c.bytes.load(Ordering::Relaxed), bytes, "{:?}", c.chunks);
        }
    }

    /// numpy's `a[sel]` by brute force over the selected indices of each axis.
    fn brute(shape: &[u64], sel: &Selection) -> Vec<u32> {
        let per_axis: Vec<Vec<u64>> = sel
            .axes
            .iter()
            .map(|a| match *a {
                AxisSelection::Index(i) => vec![i],
                AxisSelection::Slice { start, step, len } => (0..len)
                    .map(|k| (start as i64 + k as i64 * step) as u64)
                    .collect(),
            })
            .collect();
        let st = nd_core::shape::strides(shape, nd_core::Order::C);
        let counts: Vec<u64> = per_axis.iter().map(|v| v.len() as u64).collect();
        let mut idx = vec![0u64; shape.len()];
        let mut out = Vec::new();
        loop {
            let lin: u64 = (0..shape.len())
                .map(|a| per_axis[a][idx[a] as usize] * st[a])
                .sum();
            out.push(lin as u32);
            if !nd_core::next_index(&mut idx, &counts) {
                return out;
            }
        }
    }

    #[test]
    fn selections_read_what_numpy_indexing_gives() {
        let shape = [6u64, 7, 9];
        let vals: Vec<u32> = (0..6 * 7 * 9).collect();
        let inner: Arc<dyn ArrayRead> = Arc::new(MemArray::new(
            ArrayBuf::from_vec(shape.to_vec(), &vals).unwrap(),
        ));
        for text in [
            ":",
            "1",
            "-1,2",
            "::2",
            "::-1",
            "1:5:2,::-3,4",
            "...,::-2",
            "5:0:-2,3:,1:8:3",
            "2,3,4",
            ":,:,-1",
            "0:6,0:7,0:9",
        ] {
            let sel = Selection::parse(text, &shape).unwrap();
            let view = SelectionView::new(inner.clone(), sel.clone()).unwrap();
            let want = brute(&shape, &sel);
            let got = view.read_region(&Region::full(view.shape())).unwrap();
            assert_eq!(got.shape(), &sel.shape()[..], "{text}");
            assert_eq!(got.as_slice::<u32>().unwrap(), &want[..], "{text}");
            // the same with boxes split down to single elements
            let tiny = SelectionView::new(inner.clone(), sel.clone())
                .unwrap()
                .with_gather_limit(1);
            let split = tiny.read_region(&Region::full(tiny.shape())).unwrap();
            assert_eq!(split.as_slice::<u32>().unwrap(), &want[..], "{text} split");
            // a sub-region of the view (what out-of-core walks ask for)
            if view.shape().iter().all(|&d| d >= 2) {
                let r = Region::new(view.shape().iter().map(|&d| 1..d).collect());
                let part = view.read_region(&r).unwrap();
                let full = MemArray::new(got);
                assert_eq!(
                    part.bytes(),
                    full.read_region(&r).unwrap().bytes(),
                    "{text} part"
                );
            }
        }
    }
}
