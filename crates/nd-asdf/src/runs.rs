//! The byte runs of a region of a strided view, fetched in batches with one
//! [`ByteSource::read_ranges`](nd_core::ByteSource::read_ranges) call each, then scattered into
//! the C-order output.
//!
//! The region is walked in *source* order: axes of one element are dropped, negative strides are
//! flipped (the output side then walks backwards), the remaining axes are sorted by decreasing
//! source stride (zero strides, broadcast axes, outermost), and the innermost axes that are
//! contiguous in the source are merged into one run. So a C-order cutout is one run per row, a
//! full read of a C- or Fortran-ordered block is one run, a reversed view is one run scattered
//! backwards. The runs of a batch are sorted and merged where they touch or overlap before they
//! are fetched, so the bytes asked for are exactly the distinct bytes the region needs, never
//! more than the output size.
//!
//! [`for_each_run`] lists the runs of a region of a C-contiguous array, in C order (the positional
//! reads and writes of a file being written out of core).

use crate::error::{Error, Result};
use bytes::Bytes;
use nd_core::Region;
use std::ops::Range;

/// Most runs fetched in one batch (bounds the bookkeeping: 16 bytes per run, plus the source's
/// own per-range cost); a region with more runs is fetched in several batches.
pub(crate) const MAX_RUNS_PER_BATCH: usize = 1 << 16;

/// Fetches the bytes of source ranges (relative to the view's block), one `Bytes` per range.
pub(crate) type Fetch<'a> = dyn FnMut(&[Range<u64>]) -> Result<Vec<Bytes>> + 'a;

#[derive(Debug, Clone, Copy)]
struct Axis {
    /// Number of indices.
    n: u64,
    /// Source byte stride (>= 0 after flipping).
    s: u64,
    /// Output byte stride (negative for flipped axes).
    o: i64,
}

/// How a region of a strided view maps onto source runs and output positions.
#[derive(Debug)]
pub(crate) struct Plan {
    elem: usize,
    /// Axes walked run by run, outermost first.
    outer: Vec<Axis>,
    /// Axes merged into one source-contiguous run, outermost first.
    inner: Vec<Axis>,
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
    Error::Core(nd_core::Error::Shape(m.into()))
}

impl Plan {
    /// The plan for `region` of a view (byte `offset` of element 0, byte `strides`) of `elem`-byte
    /// elements. `None` when the region is empty.
    pub(crate) fn new(
        region: &Region,
        offset: u64,
        strides: &[i64],
        elem: usize,
    ) -> Result<Option<Plan>> {
        let count = region.shape();
        if count.contains(&0) || elem == 0 {
            return Ok(None);
        }
        if strides.len() != count.len() {
            return Err(shape_err("strides and region differ in rank"));
        }
        let nd = count.len();
        // output C-order strides of the region
        let mut o = vec![0i128; nd];
        let mut acc = elem as i128;
        for ax in (0..nd).rev() {
            o[ax] = acc;
            acc *= count[ax] as i128;
        }
        let too_big = || shape_err("view offsets overflow");
        let mut src = offset as i128;
        let mut out = 0i128;
        let mut axes = Vec::with_capacity(nd);
        for ax in 0..nd {
            let (r, n, mut s, mut oo) = (&region.ranges[ax], count[ax], strides[ax] as i128, o[ax]);
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
        let inner = axes.split_off(split);
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
        for a in &axes {
            hi += (a.n as i128 - 1) * a.s as i128;
        }
        let hi = u64::try_from(hi).map_err(|_| too_big())?;
        Ok(Some(Plan {
            elem,
            outer: axes,
            inner,
            run,
            out_contig,
            src_base: lo,
            out_base: i64::try_from(out).map_err(|_| too_big())?,
            lo,
            hi,
        }))
    }

    /// The source byte span `[lo, hi)` the region touches.
    pub(crate) fn span(&self) -> (u64, u64) {
        (self.lo, self.hi)
    }

    /// Fetch the region's runs and scatter them into `out` (C order, the region's size).
    /// `fetch(ranges)` returns the bytes of each source range (ranges are relative to the view's
    /// base, sorted, disjoint and not touching); each call asks for at most `max_bytes` (or one
    /// run, if larger) and at most [`MAX_RUNS_PER_BATCH`] runs' worth of ranges.
    pub(crate) fn execute(
        &self,
        out: &mut [u8],
        max_bytes: u64,
        fetch: &mut Fetch<'_>,
    ) -> Result<()> {
        let mut idx = vec![0u64; self.outer.len()];
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
                for (a, &i) in self.outer.iter().zip(&idx) {
                    so += i * a.s;
                    oo += i as i64 * a.o;
                }
                batch.push((so, oo));
                bytes += self.run;
                if !next_index(&mut idx, &self.outer) {
                    done = true;
                    break;
                }
            }
            self.fetch_scatter(&batch, out, fetch)?;
        }
        Ok(())
    }

    fn fetch_scatter(
        &self,
        batch: &[(u64, i64)],
        out: &mut [u8],
        fetch: &mut Fetch<'_>,
    ) -> Result<()> {
        let run = self.run;
        let mut starts: Vec<u64> = batch.iter().map(|&(s, _)| s).collect();
        if !starts.is_sorted() {
            starts.sort_unstable();
        }
        // merge runs that touch or overlap
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for s in starts {
            match ranges.last_mut() {
                Some(m) if s <= m.end => m.end = m.end.max(s + run),
                _ => ranges.push(s..s + run),
            }
        }
        let got = fetch(&ranges)?;
        if got.len() != ranges.len() {
            return Err(shape_err("byte source returned the wrong number of ranges"));
        }
        for (r, g) in ranges.iter().zip(&got) {
            if g.len() as u64 != r.end - r.start {
                return Err(shape_err(
                    "byte source returned a range of the wrong length",
                ));
            }
        }
        let run_us = usize::try_from(run).map_err(|_| shape_err("run too large"))?;
        let mut inner_idx = vec![0u64; self.inner.len()];
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
                let mut ax = self.inner.len();
                while ax > 0 {
                    ax -= 1;
                    let a = &self.inner[ax];
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

/// Call `f(byte offset, run length)` for each contiguous run of a C-order region, in C order.
pub(crate) fn for_each_run(
    region: &Region,
    strides: &[i64],
    elem: usize,
    f: &mut dyn FnMut(u64, usize) -> nd_core::Result<()>,
) -> nd_core::Result<()> {
    let count = region.shape();
    if count.contains(&0) {
        return Ok(());
    }
    let nd = count.len();
    if nd == 0 {
        return f(0, elem);
    }
    // the innermost axis is one run; an outer axis joins it while the axes inside it are full
    let mut inner = nd - 1;
    let mut run = count[nd - 1] as usize * elem;
    while inner > 0 && count[inner] as i64 * strides[inner] == strides[inner - 1] {
        run *= count[inner - 1] as usize;
        inner -= 1;
    }
    let mut idx = vec![0u64; inner];
    loop {
        let mut off = 0i64;
        for ax in 0..nd {
            let i = if ax < inner { idx[ax] } else { 0 };
            off += (region.ranges[ax].start + i) as i64 * strides[ax];
        }
        f(off as u64, run)?;
        let mut ax = inner;
        loop {
            if ax == 0 {
                return Ok(());
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < count[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}
