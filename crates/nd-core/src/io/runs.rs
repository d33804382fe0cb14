//! The contiguous byte runs of a region of a strided array, and reading them in batches.
//!
//! A region of an array stored with byte strides (a C- or Fortran-ordered block, or any strided
//! view: reversed axes, broadcast axes) is a set of runs of source bytes that are contiguous.
//! [`RunPlan`] finds them once: axes of one element are dropped, negative strides are flipped
//! (the output side then walks backwards), the remaining axes are sorted by decreasing source
//! stride (zero strides, broadcast axes, outermost), and the innermost axes that are contiguous
//! in the source are merged into one run. So a C-order cutout is one run per row, a full read of
//! a C- or Fortran-ordered block is one run, a reversed view is one run scattered backwards.
//!
//! [`region_runs`] lists the runs of a region of a contiguous C- or F-order array (positional
//! reads and writes of files); [`RunPlan::execute`] fetches a region's runs in batches (one
//! [`ByteSource::read_ranges`](crate::ByteSource::read_ranges) call each, so a remote source can
//! coalesce them) and scatters them into a C-order output.
//!
//! ```
//! use nd_core::{io::region_runs, Order, Region};
//! // rows 1..3, columns 2..4 of a 4 x 5 C-order array: one run of 2 elements per row
//! let mut runs = Vec::new();
//! region_runs(&[4, 5], Order::C, &Region::new(vec![1..3, 2..4]), |first, n| {
//!     runs.push((first, n));
//!     Ok::<(), nd_core::Error>(())
//! })?;
//! assert_eq!(runs, vec![(7, 2), (12, 2)]);
//! # Ok::<(), nd_core::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::shape::{strides, Order, Region};
use bytes::Bytes;
use std::ops::Range;

/// Most runs [`RunPlan::execute`] fetches in one batch (bounds the bookkeeping: 16 bytes per run,
/// plus the source's own per-range cost); a region with more runs is fetched in several batches.
pub const MAX_RUNS_PER_BATCH: usize = 1 << 16;

/// Fetches the bytes of source ranges (relative to the view's base), one `Bytes` per range.
pub type Fetch<'a, E> = dyn FnMut(&[Range<u64>]) -> std::result::Result<Vec<Bytes>, E> + 'a;

#[derive(Debug, Clone, Copy)]
struct Axis {
    /// Number of indices.
    n: u64,
    /// Source byte stride (>= 0 after flipping).
    s: u64,
    /// Output byte stride (negative for flipped axes).
    o: i64,
}

/// How a region of a strided view maps onto contiguous source runs and output positions.
#[derive(Debug, Clone)]
pub struct RunPlan {
    elem: usize,
    /// The axes, outermost first: `axes[..split]` are walked run by run, `axes[split..]` are
    /// merged into one source-contiguous run.
    axes: Vec<Axis>,
    /// Where the inner axes start.
    split: usize,
    /// Bytes of one run.
    run: u64,
    /// The run is contiguous, in the same order, in the output too (one `memcpy`).
    out_contig: bool,
    /// Source byte offset of the first run.
    src_base: u64,
    /// Output byte offset of the first run's first element.
    out_base: i64,
    /// Lowest and one past the highest source byte touched.
    lo: u64,
    hi: u64,
}

fn shape_err(m: &str) -> Error {
    Error::Shape(m.into())
}

impl RunPlan {
    /// The plan for `region` of a view (byte `offset` of element 0, byte `strides`) of `elem`-byte
    /// elements. `None` when the region is empty. Costs a few small allocations (one entry per
    /// axis); the region is not checked against a shape (see [`RunPlan::contiguous`]).
    ///
    /// # Errors
    /// [`Error::Shape`] when `strides` and `region` differ in rank, or the view's offsets
    /// overflow or reach below byte 0.
    pub fn new(
        region: &Region,
        offset: u64,
        strides: &[i64],
        elem: usize,
    ) -> Result<Option<RunPlan>> {
        let count = |ax: usize| {
            let r: &Range<u64> = &region.ranges[ax];
            r.end.saturating_sub(r.start)
        };
        let nd = region.ranges.len();
        if (0..nd).any(|ax| count(ax) == 0) || elem == 0 {
            return Ok(None);
        }
        if strides.len() != nd {
            return Err(shape_err("strides and region differ in rank"));
        }
        let too_big = || shape_err("view offsets overflow");
        // output C-order stride of axis `ax`: elem times the counts after it (no count is 0)
        let mut o_acc = (0..nd)
            .try_fold(elem as i128, |a, ax| a.checked_mul(count(ax) as i128))
            .ok_or_else(too_big)?;
        let mut src = offset as i128;
        let mut out = 0i128;
        let mut axes = Vec::with_capacity(nd);
        for (r, &stride) in region.ranges.iter().zip(strides) {
            let n = r.end - r.start;
            o_acc /= n as i128;
            let (mut s, mut oo) = (stride as i128, o_acc);
            src += r.start as i128 * s;
            if n == 1 {
                continue;
            }
            if s < 0 {
                src += (n as i128 - 1) * s;
                out += (n as i128 - 1) * oo;
                s = -s;
                oo = -oo;
            }
            axes.push(Axis {
                n,
                s: u64::try_from(s).map_err(|_| too_big())?,
                o: i64::try_from(oo).map_err(|_| too_big())?,
            });
        }
        // source order: broadcast (stride 0) axes outermost, then by decreasing stride; the sort
        // is stable, so C order is kept among equal strides
        axes.sort_by_key(|a| (a.s != 0, std::cmp::Reverse(a.s)));
        let mut run = elem as u64;
        let mut split = axes.len();
        while split > 0 && axes[split - 1].s == run {
            run = run.checked_mul(axes[split - 1].n).ok_or_else(too_big)?;
            split -= 1;
        }
        let inner = &axes[split..];
        let mut expect = elem as i64;
        let mut out_contig = true;
        for a in inner.iter().rev() {
            if a.o != expect {
                out_contig = false;
                break;
            }
            expect = expect.saturating_mul(a.n as i64);
        }
        let lo = u64::try_from(src).map_err(|_| shape_err("view reaches a negative offset"))?;
        let mut hi = src + run as i128;
        for a in &axes[..split] {
            hi += (a.n as i128 - 1) * a.s as i128;
        }
        let hi = u64::try_from(hi).map_err(|_| too_big())?;
        Ok(Some(RunPlan {
            elem,
            axes,
            split,
            run,
            out_contig,
            src_base: lo,
            out_base: i64::try_from(out).map_err(|_| too_big())?,
            lo,
            hi,
        }))
    }

    /// The plan for `region` of a contiguous array of `shape` in `order`, starting at byte 0, of
    /// `elem`-byte elements. `None` when the region is empty.
    ///
    /// # Errors
    /// [`Error::Shape`] when the region is not within `shape`, or the array's byte offsets do not
    /// fit in an `i64`.
    pub fn contiguous(
        shape: &[u64],
        order: Order,
        region: &Region,
        elem: usize,
    ) -> Result<Option<RunPlan>> {
        region.check_within(shape)?;
        let st = byte_strides_checked(shape, order, elem)?;
        RunPlan::new(region, 0, &st, elem)
    }

    /// The axes walked run by run, outermost first.
    fn outer(&self) -> &[Axis] {
        &self.axes[..self.split]
    }

    /// The axes merged into one run, outermost first.
    fn inner(&self) -> &[Axis] {
        &self.axes[self.split..]
    }

    /// The source byte span `[lo, hi)` the region touches.
    pub fn span(&self) -> (u64, u64) {
        (self.lo, self.hi)
    }

    /// The source byte range, when the whole region is one run that fills the output in order
    /// (a full read of a C-ordered block, a band of whole rows): such a region can be read with
    /// positional reads straight into the output. `None` otherwise.
    pub fn single_run(&self) -> Option<Range<u64>> {
        (self.split == 0 && self.out_contig && self.out_base == 0)
            .then(|| self.src_base..self.src_base + self.run)
    }

    /// The source byte range of `region` when it is one C-order run from `offset`: every axis
    /// starts at 0 and each axis of more than one index steps over the bytes of the axes inside
    /// it (a full read of a C-ordered view, a band of whole rows). What [`RunPlan::single_run`]
    /// says of such a region, found without building the plan (a read of many small arrays
    /// would otherwise build one per array). `None` for any other region, and for an empty one.
    pub fn c_order_run(
        region: &Region,
        offset: u64,
        strides: &[i64],
        elem: usize,
    ) -> Option<Range<u64>> {
        if strides.len() != region.ranges.len() || elem == 0 {
            return None;
        }
        let mut bytes = elem as u64;
        for (r, &stride) in region.ranges.iter().zip(strides).rev() {
            let n = r.end.checked_sub(r.start).filter(|&n| n > 0)?;
            if r.start != 0 || (n > 1 && u64::try_from(stride).ok() != Some(bytes)) {
                return None;
            }
            bytes = bytes.checked_mul(n)?;
        }
        Some(offset..offset.checked_add(bytes)?)
    }

    /// Bytes of one run (every run has this length).
    pub fn run_len(&self) -> u64 {
        self.run
    }

    /// Number of runs (saturating).
    pub fn num_runs(&self) -> u64 {
        self.outer()
            .iter()
            .fold(1u64, |a, ax| a.saturating_mul(ax.n))
    }

    /// Call `f(source byte offset)` for each run, in source order (increasing offsets for a
    /// view without broadcast or reversed axes; for a C-order array that is also the C order of
    /// the region). No allocation beyond one index per axis.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn for_each_run<E>(
        &self,
        mut f: impl FnMut(u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let outer = self.outer();
        let mut idx = vec![0u64; outer.len()];
        let mut so = self.src_base;
        loop {
            f(so)?;
            // advance the C-order index over the outer axes, updating the offset as it goes
            // (wrapping: an index past its axis is undone at once)
            let mut ax = outer.len();
            loop {
                if ax == 0 {
                    return Ok(());
                }
                ax -= 1;
                let a = &outer[ax];
                idx[ax] += 1;
                so = so.wrapping_add(a.s);
                if idx[ax] < a.n {
                    break;
                }
                so = so.wrapping_sub(a.s.wrapping_mul(a.n));
                idx[ax] = 0;
            }
        }
    }

    /// Fetch the region's runs and scatter them into `out` (C order, the region's size).
    /// `fetch(ranges)` returns the bytes of each source range (ranges are relative to the view's
    /// base, sorted, disjoint and not touching); each call asks for at most `max_bytes` (or one
    /// run, if larger) and at most [`MAX_RUNS_PER_BATCH`] runs' worth of ranges.
    ///
    /// # Errors
    /// The first error `fetch` returns; [`Error::Shape`] (converted) when `fetch` returns the
    /// wrong number or length of ranges, or `out` is smaller than the region.
    pub fn execute<E: From<Error>>(
        &self,
        out: &mut [u8],
        max_bytes: u64,
        fetch: &mut Fetch<'_, E>,
    ) -> std::result::Result<(), E> {
        let outer = self.outer();
        let mut idx = vec![0u64; outer.len()];
        let mut batch: Vec<(u64, i64)> = Vec::new();
        let mut done = false;
        while !done {
            batch.clear();
            let mut bytes = 0u64;
            // collect the next batch of runs (source offset, output offset)
            loop {
                if !batch.is_empty()
                    && (batch.len() >= MAX_RUNS_PER_BATCH
                        || bytes.saturating_add(self.run) > max_bytes)
                {
                    break;
                }
                let mut so = self.src_base;
                let mut oo = self.out_base;
                for (a, &i) in outer.iter().zip(&idx) {
                    so += i * a.s;
                    oo += i as i64 * a.o;
                }
                batch.push((so, oo));
                bytes += self.run;
                if !next_index(&mut idx, outer) {
                    done = true;
                    break;
                }
            }
            self.fetch_scatter(&batch, out, fetch)?;
        }
        Ok(())
    }

    fn fetch_scatter<E: From<Error>>(
        &self,
        batch: &[(u64, i64)],
        out: &mut [u8],
        fetch: &mut Fetch<'_, E>,
    ) -> std::result::Result<(), E> {
        let run = self.run;
        let mut starts: Vec<u64> = batch.iter().map(|&(s, _)| s).collect();
        if !starts.is_sorted() {
            starts.sort_unstable();
        }
        // merge runs that touch or overlap
        let ranges = coalesce(starts.iter().map(|&s| s..s + run).collect(), 0, u64::MAX);
        let got = fetch(&ranges)?;
        self.scatter(batch, &ranges, &got, out).map_err(E::from)
    }

    /// Place the runs of `batch` from the fetched `ranges` (bytes `got`) into `out`.
    fn scatter(
        &self,
        batch: &[(u64, i64)],
        ranges: &[Range<u64>],
        got: &[Bytes],
        out: &mut [u8],
    ) -> Result<()> {
        let run = self.run;
        if got.len() != ranges.len() {
            return Err(shape_err("byte source returned the wrong number of ranges"));
        }
        for (r, g) in ranges.iter().zip(got) {
            if g.len() as u64 != r.end - r.start {
                return Err(shape_err(
                    "byte source returned a range of the wrong length",
                ));
            }
        }
        let run_us = usize::try_from(run).map_err(|_| shape_err("run too large"))?;
        let inner = self.inner();
        let mut inner_idx = vec![0u64; inner.len()];
        for &(so, oo) in batch {
            let k = ranges.partition_point(|m| m.start <= so).saturating_sub(1);
            let (m, g) = match (ranges.get(k), got.get(k)) {
                (Some(m), Some(g)) => (m, g),
                _ => return Err(shape_err("run outside the fetched ranges")),
            };
            let rel = (so - m.start) as usize;
            let data = g
                .get(rel..rel + run_us)
                .ok_or_else(|| shape_err("run outside the fetched ranges"))?;
            if self.out_contig {
                let o = usize::try_from(oo).map_err(|_| shape_err("negative output offset"))?;
                out.get_mut(o..o + run_us)
                    .ok_or_else(|| shape_err("output too small"))?
                    .copy_from_slice(data);
                continue;
            }
            // the run is contiguous in the source, in the inner axes' order: walk it element by
            // element, placing each with the inner axes' output strides
            inner_idx.iter_mut().for_each(|i| *i = 0);
            let mut o = oo;
            for e in data.chunks_exact(self.elem) {
                let p = usize::try_from(o).map_err(|_| shape_err("negative output offset"))?;
                out.get_mut(p..p + self.elem)
                    .ok_or_else(|| shape_err("output too small"))?
                    .copy_from_slice(e);
                // advance the inner index, tracking the output offset incrementally
                let mut ax = inner.len();
                while ax > 0 {
                    ax -= 1;
                    let a = &inner[ax];
                    inner_idx[ax] += 1;
                    o += a.o;
                    if inner_idx[ax] < a.n {
                        break;
                    }
                    o -= a.o * a.n as i64;
                    inner_idx[ax] = 0;
                }
            }
        }
        Ok(())
    }
}

/// Advance a C-order multi-index over `axes`; false when it wraps around (the walk is done).
fn next_index(idx: &mut [u64], axes: &[Axis]) -> bool {
    let mut ax = idx.len();
    while ax > 0 {
        ax -= 1;
        idx[ax] += 1;
        if idx[ax] < axes[ax].n {
            return true;
        }
        idx[ax] = 0;
    }
    false
}

/// Byte strides of a contiguous array, refusing offsets that do not fit in an `i64`.
fn byte_strides_checked(shape: &[u64], order: Order, elem: usize) -> Result<Vec<i64>> {
    // element strides saturate: a saturated one fails the conversion below (collected in place)
    strides(shape, order)
        .into_iter()
        .map(|s| {
            s.checked_mul(elem as u64)
                .and_then(|b| i64::try_from(b).ok())
                .ok_or_else(|| {
                    Error::Shape(format!(
                        "array of shape {shape_s} x {elem} bytes has offsets too large to address",
                        shape_s = crate::fmt_shape(shape.iter())
                    ))
                })
        })
        .collect()
}

/// Call `f(first_element, n_elements)` for each contiguous run of `region` in a contiguous array
/// of `shape` stored in `order` (element units, from the array's first element), in storage
/// order. For a C-order array that is the C order of the region, so the runs fill a C-order
/// output one after the other. Runs never touch each other (full inner axes are merged into one
/// run); a 0-d array is one run of one element. One [`RunPlan`] (a few small allocations), then
/// no allocation per run.
///
/// # Errors
/// [`Error::Shape`] (converted) when the region is not within `shape`; the first error `f`
/// returns.
pub fn region_runs<E: From<Error>>(
    shape: &[u64],
    order: Order,
    region: &Region,
    mut f: impl FnMut(u64, u64) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    region.check_within(shape)?;
    if region.is_empty() {
        return Ok(());
    }
    let Some(plan) = RunPlan::contiguous(shape, order, region, 1)? else {
        return Ok(());
    };
    let n = plan.run_len();
    plan.for_each_run(|first| f(first, n))
}

/// Sort and merge ranges whose gap is at most `gap` (0: touching ranges), as long as the merged
/// range stays within `max_len` (ranges that overlap are always merged, whatever their length). Returns disjoint, sorted ranges covering
/// every input. The one range-merging rule of the workspace: batched reads merge touching runs
/// (`gap` 0), remote sources merge over gaps (object_store's rule).
pub fn coalesce(mut ranges: Vec<Range<u64>>, gap: u64, max_len: u64) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(m)
                if r.start < m.end
                    || (r.start - m.end <= gap && r.end.max(m.end) - m.start <= max_len) =>
            {
                m.end = m.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::next_index;

    fn runs(shape: &[u64], order: Order, region: Vec<Range<u64>>) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        region_runs(shape, order, &Region::new(region), |o, n| {
            v.push((o, n));
            Ok::<(), Error>(())
        })
        .unwrap();
        v
    }

    #[test]
    fn coalescing() {
        assert_eq!(
            coalesce(vec![10..20, 0..5, 22..30, 100..110], 2, 1000),
            vec![0..5, 10..30, 100..110]
        );
        assert_eq!(coalesce(vec![0..5, 6..10], 0, 1000), vec![0..5, 6..10]);
        assert_eq!(coalesce(vec![0..5, 3..10, 4..6], 0, 1000), vec![0..10]);
        // max_len stops merging over gaps, not overlaps
        assert_eq!(coalesce(vec![0..6, 7..12], 5, 10), vec![0..6, 7..12]);
        assert_eq!(coalesce(vec![0..6, 5..12], 5, 10), vec![0..12]);
        // touching ranges merge up to max_len, not past it
        assert_eq!(coalesce(vec![0..6, 6..12], 0, 12), vec![0..12]);
        assert_eq!(coalesce(vec![0..6, 6..12], 0, 11), vec![0..6, 6..12]);
        assert_eq!(
            coalesce(std::iter::once(3..3).collect(), 5, 10),
            Vec::<std::ops::Range<u64>>::new()
        );
    }

    proptest::proptest! {
        /// Where `RunPlan::c_order_run` finds one run, the plan finds the same one; and a full
        /// region of a C-ordered view is always found.
        #[test]
        fn contiguous_agrees_with_the_plan(
            dims in proptest::collection::vec((1u64..5, 0u64..5, 0u64..5, -40i64..40, proptest::bool::ANY), 0..4),
            elem in 1usize..9,
            offset in 0u64..100,
        ) {
            let shape: Vec<u64> = dims.iter().map(|d| d.0).collect();
            let c = crate::shape::byte_strides(&shape, Order::C, elem);
            // each axis C-ordered or given another stride; the region a sub-box or the full axis
            let strides: Vec<i64> = dims.iter().zip(&c).map(|(d, &s)| if d.4 { s } else { d.3 }).collect();
            let region = Region::new(dims.iter().map(|d| {
                let a = d.1.min(d.0 - 1);
                let b = (a + 1 + d.2).min(d.0);
                if d.4 && d.2 == 0 { 0..d.0 } else { a..b }
            }).collect());
            if let Some(r) = RunPlan::c_order_run(&region, offset, &strides, elem) {
                let plan = RunPlan::new(&region, offset, &strides, elem).unwrap().unwrap();
                proptest::prop_assert_eq!(plan.single_run(), Some(r));
            }
            let full = Region::full(&shape);
            let whole = shape.iter().product::<u64>() * elem as u64;
            proptest::prop_assert_eq!(
                RunPlan::c_order_run(&full, offset, &c, elem),
                Some(offset..offset + whole)
            );
        }
    }

    #[test]
    fn runs_merge_full_axes() {
        let shape = [4u64, 5, 6];
        assert_eq!(
            runs(&shape, Order::C, vec![1..3, 0..5, 0..6]),
            vec![(30, 60)]
        );
        assert_eq!(
            runs(&shape, Order::C, vec![1..3, 2..4, 1..3]),
            vec![(43, 2), (49, 2), (73, 2), (79, 2)]
        );
        assert_eq!(
            runs(&shape, Order::C, vec![1..3, 2..4, 0..6]),
            vec![(42, 12), (72, 12)]
        );
        // Fortran order: the first axis is contiguous
        assert_eq!(
            runs(&shape, Order::F, vec![0..4, 0..5, 1..3]),
            vec![(20, 40)]
        );
        assert_eq!(
            runs(&shape, Order::F, vec![1..3, 2..3, 0..2]),
            vec![(9, 2), (29, 2)]
        );
        assert_eq!(runs(&[], Order::C, vec![]), vec![(0, 1)]);
        assert_eq!(runs(&shape, Order::C, vec![1..1, 0..5, 0..6]), vec![]);
        let outside = region_runs(
            &shape,
            Order::C,
            &Region::new(vec![0..5, 0..5, 0..6]),
            |_, _| Ok::<(), Error>(()),
        );
        assert!(matches!(outside, Err(Error::Shape(_))));
    }

    /// Every element of every region of small C- and F-order arrays: the runs cover exactly the
    /// region's elements, in storage order, and never touch.
    #[test]
    fn runs_match_brute_force() {
        let shape = [3u64, 4, 5];
        for order in [Order::C, Order::F] {
            let st = strides(&shape, order);
            for (a, b, c) in [
                (0..3, 0..4, 0..5),
                (1..2, 1..3, 0..5),
                (0..3, 2..3, 1..4),
                (2..3, 0..4, 4..5),
            ]
            .map(|(a, b, c): (Range<u64>, Range<u64>, Range<u64>)| (a, b, c))
            {
                let region = Region::new(vec![a, b, c]);
                let mut want: Vec<u64> = Vec::new();
                let count = region.shape();
                let mut idx = vec![0u64; 3];
                loop {
                    want.push(
                        (0..3)
                            .map(|ax| (region.ranges[ax].start + idx[ax]) * st[ax])
                            .sum(),
                    );
                    if !next_index(&mut idx, &count) {
                        break;
                    }
                }
                want.sort_unstable();
                let got = runs(&shape, order, region.ranges.clone());
                let flat: Vec<u64> = got.iter().flat_map(|&(o, n)| o..o + n).collect();
                assert_eq!(flat, want, "{order:?} {region:?}");
                for w in got.windows(2) {
                    assert!(w[0].0 + w[0].1 < w[1].0, "runs touch: {got:?}");
                }
            }
        }
    }

    /// A strided view (negative, zero and padded strides) read through `execute` in small
    /// batches equals the element-by-element gather.
    #[test]
    fn execute_gathers_strided_views() {
        let data: Vec<u8> = (0..=255u8).collect();
        let src = Bytes::from(data.clone());
        let elem = 2usize;
        // shape 3 x 4 x 2, strides: reversed rows, padded columns, broadcast last axis
        for (offset, st) in [
            (200i64, vec![-40i64, 6, 0]),
            (0, vec![16, 4, 2]),
            (0, vec![2, 6, 24]),
            (10, vec![0, 2, 8]),
        ] {
            let shape = [3u64, 4, 2];
            for region in [
                Region::full(&shape),
                Region::new(vec![1..3, 1..4, 0..1]),
                Region::new(vec![0..1, 0..4, 1..2]),
            ] {
                let count = region.shape();
                let mut want = Vec::new();
                let mut idx = vec![0u64; 3];
                let (mut min, mut max) = (i64::MAX, 0i64);
                loop {
                    let at = offset
                        + (0..3)
                            .map(|ax| (region.ranges[ax].start + idx[ax]) as i64 * st[ax])
                            .sum::<i64>();
                    (min, max) = (min.min(at), max.max(at + elem as i64));
                    want.extend_from_slice(&data[at as usize..at as usize + elem]);
                    if !next_index(&mut idx, &count) {
                        break;
                    }
                }
                let plan = RunPlan::new(&region, offset as u64, &st, elem)
                    .unwrap()
                    .unwrap();
                let (lo, hi) = plan.span();
                assert_eq!(
                    (lo, hi),
                    (min as u64, max as u64),
                    "span of {st:?} {region:?}"
                );
                let mut out = vec![0u8; want.len()];
                let mut asked = 0u64;
                plan.execute(&mut out, 6, &mut |ranges: &[Range<u64>]| {
                    for r in ranges {
                        assert!(lo <= r.start && r.end <= hi);
                        asked += r.end - r.start;
                    }
                    Ok::<_, Error>(
                        ranges
                            .iter()
                            .map(|r| src.slice(r.start as usize..r.end as usize))
                            .collect(),
                    )
                })
                .unwrap();
                assert_eq!(
                    out, want,
                    "offset {offset} strides {st:?} region {region:?}"
                );
                assert!(asked <= want.len() as u64);
            }
        }
    }
}
