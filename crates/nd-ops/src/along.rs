//! Statistics along one axis (a spectral cube collapsed to an image: "moment 0" is the sum),
//! computing only the statistics asked for.
//!
//! Each worker thread adds the blocks it reads into its own accumulators for the whole output
//! (one set per thread, merged once at the end), so no lock is taken and no per-block merge is
//! done while blocks are reduced. A block's values are added row by row along the reduced axis,
//! a tile of lanes at a time (the tile's accumulators stay in the L1 cache), in loops without
//! branches or bounds checks, compiled for AVX2 where the CPU has it. Only the accumulators the
//! asked statistics need are kept: a sum is one pass of compensated additions, the standard
//! deviation adds a second pass over each tile (per-tile mean and squared deviations, merged as
//! Chan et al. do).

use crate::blocks::{block_regions, block_shape, BlockBufs};
use crate::reduce::Val;
use crate::{Options, Stats};
use nd_core::{ArrayRead, DataType, Error, Region, Result};
use rayon::prelude::*;
use std::sync::Mutex;

/// The statistics one output element holds, in the order of [`crate::Reduction::fields`].
pub(crate) const FIELDS: [&str; 7] = ["count", "nan_count", "sum", "mean", "min", "max", "std"];

/// Lanes per tile: the tile's accumulators (at most 7 × 8 bytes per lane) stay in L1.
const TILE: usize = 512;

/// Lanes a contiguous lane (reduction along the last axis) is split into, so that its values
/// are added by the same vertical kernel (8 partial accumulators, merged at the end of the lane).
const SPLIT: usize = 8;

/// Which accumulators the asked statistics need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Need {
    /// Non-NaN count (count, nan_count, mean).
    count: bool,
    /// Compensated sum (sum, mean).
    sum: bool,
    /// Min and max.
    minmax: bool,
    /// Running mean and squared deviations (std; these carry the count too).
    var: bool,
}

impl Need {
    /// What `fields` (names of [`FIELDS`]) need.
    fn of(fields: &[String]) -> Result<Need> {
        let mut n = Need {
            count: false,
            sum: false,
            minmax: false,
            var: false,
        };
        for f in fields {
            match f.as_str() {
                "count" | "nan_count" => n.count = true,
                "sum" => n.sum = true,
                "mean" => (n.sum, n.count) = (true, true),
                "min" | "max" => n.minmax = true,
                "std" => n.var = true,
                other => {
                    return Err(Error::Unsupported(format!(
                        "statistic '{other}' is not one of {}",
                        FIELDS.join(", ")
                    )))
                }
            }
        }
        if n.var {
            n.count = false; // the variance's merges count the values
        }
        Ok(n)
    }

    /// True when the lanes carry a non-NaN count (in `n`).
    fn counts(&self) -> bool {
        self.count || self.var
    }

    /// Bytes of accumulators per lane.
    fn lane_bytes(&self) -> usize {
        8 * (usize::from(self.counts())
            + 2 * usize::from(self.sum)
            + 2 * usize::from(self.minmax)
            + 2 * usize::from(self.var))
    }
}

/// Accumulators of a number of lanes, one vector per kind (empty when not needed).
#[derive(Default)]
struct Accs {
    n: Vec<u64>,
    sum: Vec<f64>,
    comp: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Accs {
    /// Accumulators of `lanes` empty lanes.
    fn new(need: Need, lanes: usize) -> Result<Accs> {
        let vec = |on: bool, v: f64| -> Result<Vec<f64>> {
            let mut x = Vec::new();
            if on {
                x.try_reserve_exact(lanes).map_err(|_| too_big(lanes))?;
                x.resize(lanes, v);
            }
            Ok(x)
        };
        let mut n = Vec::new();
        if need.counts() {
            n.try_reserve_exact(lanes).map_err(|_| too_big(lanes))?;
            n.resize(lanes, 0u64);
        }
        Ok(Accs {
            n,
            sum: vec(need.sum, 0.0)?,
            comp: vec(need.sum, 0.0)?,
            min: vec(need.minmax, f64::INFINITY)?,
            max: vec(need.minmax, f64::NEG_INFINITY)?,
            mean: vec(need.var, 0.0)?,
            m2: vec(need.var, 0.0)?,
        })
    }

    /// Empty every lane again (keeping the memory).
    fn reset(&mut self) {
        self.n.fill(0);
        for v in [&mut self.sum, &mut self.comp, &mut self.mean, &mut self.m2] {
            v.fill(0.0);
        }
        self.min.fill(f64::INFINITY);
        self.max.fill(f64::NEG_INFINITY);
    }

    /// Merge lane `k` of `o` into lane `i`.
    fn merge_lane(&mut self, i: usize, o: &Accs, k: usize, need: Need) {
        if need.sum {
            let (a, b) = (self.sum[i], o.sum[k]);
            let t = a + b;
            self.comp[i] += if a.abs() >= b.abs() {
                (a - t) + b
            } else {
                (b - t) + a
            } + o.comp[k];
            self.sum[i] = t;
        }
        if need.minmax {
            self.min[i] = self.min[i].min(o.min[k]);
            self.max[i] = self.max[i].max(o.max[k]);
        }
        if need.var {
            let (na, nb) = (self.n[i], o.n[k]);
            if nb > 0 {
                if na == 0 {
                    self.mean[i] = o.mean[k];
                    self.m2[i] = o.m2[k];
                } else {
                    let n = na + nb;
                    let d = o.mean[k] - self.mean[i];
                    self.mean[i] += d * nb as f64 / n as f64;
                    self.m2[i] += o.m2[k] + d * d * na as f64 * nb as f64 / n as f64;
                }
            }
        }
        if need.counts() {
            self.n[i] += o.n[k];
        }
    }

    /// The statistics of lane `i` (whose lanes hold `len` values each, NaN included) as the
    /// values of `fields`, appended to `out`.
    fn finish_lane(&self, i: usize, len: u64, fields: &[String], out: &mut Vec<f64>) {
        let n = self.n.get(i).copied().unwrap_or(0);
        let sum = match (self.sum.get(i), self.comp.get(i)) {
            (Some(s), Some(c)) => s + c,
            _ => 0.0,
        };
        // without a count, an empty lane is one whose min is above its max (no value seen)
        let (mn, mx) = match (self.min.get(i), self.max.get(i)) {
            (Some(&a), Some(&b)) if a <= b => (a, b),
            _ => (f64::NAN, f64::NAN),
        };
        for f in fields {
            out.push(match f.as_str() {
                "count" => n as f64,
                "nan_count" => len.saturating_sub(n) as f64,
                "sum" => sum,
                "mean" if n > 0 => sum / n as f64,
                "min" => mn,
                "max" => mx,
                "std" if n > 0 => (self.m2[i] / n as f64).max(0.0).sqrt(),
                _ => f64::NAN,
            });
        }
    }
}

fn too_big(lanes: usize) -> Error {
    Error::Shape(format!(
        "the accumulators of {lanes} output elements do not fit in memory"
    ))
}

/// Per-tile scratch of the variance pass.
#[derive(Default)]
struct VarScratch {
    n: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

/// Add rows `r = 0..rows` of `w` values each, `x[base + r * stride..][..w]`, into lanes
/// `g..g + w` of `a`. Branch-free inner loops over slices of exactly `w`, so they vectorise.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_tile<T: Val>(
    x: &[T],
    base: usize,
    stride: usize,
    rows: usize,
    w: usize,
    a: &mut Accs,
    g: usize,
    need: Need,
    vs: &mut VarScratch,
) {
    let row = |r: usize| &x[base + r * stride..][..w];
    if need.sum {
        let (sum, comp) = (&mut a.sum[g..g + w], &mut a.comp[g..g + w]);
        for r in 0..rows {
            let xr = row(r);
            for j in 0..w {
                let v = xr[j].f();
                let v = if v.is_nan() { 0.0 } else { v };
                let s = sum[j];
                let t = s + v;
                comp[j] += if s.abs() >= v.abs() {
                    (s - t) + v
                } else {
                    (v - t) + s
                };
                sum[j] = t;
            }
        }
    }
    if need.count {
        let n = &mut a.n[g..g + w];
        for r in 0..rows {
            let xr = row(r);
            for j in 0..w {
                n[j] += u64::from(!xr[j].f().is_nan());
            }
        }
    }
    if need.minmax {
        let (mn, mx) = (&mut a.min[g..g + w], &mut a.max[g..g + w]);
        for r in 0..rows {
            let xr = row(r);
            for j in 0..w {
                // f64::min and f64::max ignore NaN
                let v = xr[j].f();
                mn[j] = mn[j].min(v);
                mx[j] = mx[j].max(v);
            }
        }
    }
    if need.var {
        // the tile's count, mean and squared deviations (two passes), merged into the lanes
        vs.n.clear();
        vs.n.resize(w, 0);
        vs.mean.clear();
        vs.mean.resize(w, 0.0);
        vs.m2.clear();
        vs.m2.resize(w, 0.0);
        let (tn, tm, tq) = (&mut vs.n[..w], &mut vs.mean[..w], &mut vs.m2[..w]);
        for r in 0..rows {
            let xr = row(r);
            for j in 0..w {
                let v = xr[j].f();
                let ok = !v.is_nan();
                tn[j] += u64::from(ok);
                tm[j] += if ok { v } else { 0.0 };
            }
        }
        for j in 0..w {
            tm[j] = if tn[j] == 0 {
                0.0
            } else {
                tm[j] / tn[j] as f64
            };
        }
        for r in 0..rows {
            let xr = row(r);
            for j in 0..w {
                let d = xr[j].f() - tm[j];
                tq[j] += if d.is_nan() { 0.0 } else { d * d };
            }
        }
        let (n, mean, m2) = (
            &mut a.n[g..g + w],
            &mut a.mean[g..g + w],
            &mut a.m2[g..g + w],
        );
        for j in 0..w {
            let (na, nb) = (n[j], tn[j]);
            let tot = na + nb;
            let d = tm[j] - mean[j];
            let f = nb as f64 / tot.max(1) as f64;
            let cross = d * d * na as f64 * f;
            (mean[j], m2[j]) = if nb == 0 {
                (mean[j], m2[j])
            } else if na == 0 {
                (tm[j], tq[j])
            } else {
                (mean[j] + d * f, m2[j] + tq[j] + cross)
            };
            n[j] = tot;
        }
    }
}

/// Where a block lies: its shape, start, the reduced axis, and the output's shape and strides.
struct Geometry<'a> {
    shape: &'a [u64],
    start: &'a [u64],
    axis: usize,
    out_shape: &'a [u64],
    out_strides: &'a [u64],
}

/// A thread's working memory: its accumulators for the whole output and its scratch.
struct Worker {
    accs: Accs,
    lane: Accs,
    vs: VarScratch,
}

/// Add the values `x` of one block (C order, of `geo.shape`) into `wk.accs`.
#[inline(always)]
fn add_block<T: Val>(x: &[T], geo: &Geometry, need: Need, wk: &mut Worker) {
    let (rs, a) = (geo.shape, geo.axis);
    let to = |s: &[u64]| s.iter().product::<u64>() as usize;
    let (outer, rows, inner) = (to(&rs[..a]), rs[a] as usize, to(&rs[a + 1..]));
    if outer == 0 || rows == 0 || inner == 0 {
        return;
    }
    // the block's footprint on the output: its shape without the axis, and where it starts
    let foot: Vec<u64> = (0..rs.len()).filter(|&i| i != a).map(|i| rs[i]).collect();
    let origin: Vec<u64> = (0..rs.len())
        .filter(|&i| i != a)
        .map(|i| geo.start[i])
        .collect();
    let fstr = nd_core::shape::strides(&foot, nd_core::Order::C);
    // output index of footprint element `fi`
    let global = |fi: u64| -> usize {
        let mut rem = fi;
        let mut gi = 0u64;
        for (k, &s) in fstr.iter().enumerate() {
            let c = rem / s.max(1);
            rem %= s.max(1);
            gi += (origin[k] + c) * geo.out_strides[k];
        }
        gi as usize
    };
    if inner == 1 {
        // lanes along the last axis, contiguous: each split into SPLIT partial lanes
        let full = rows / SPLIT;
        for o in 0..outer {
            let base = o * rows;
            wk.lane.reset();
            add_tile(
                x,
                base,
                SPLIT,
                full,
                SPLIT,
                &mut wk.lane,
                0,
                need,
                &mut wk.vs,
            );
            let rest = rows - full * SPLIT;
            add_tile(
                x,
                base + full * SPLIT,
                0,
                1,
                rest,
                &mut wk.lane,
                0,
                need,
                &mut wk.vs,
            );
            let gi = global(o as u64);
            for k in 0..SPLIT {
                wk.accs.merge_lane(gi, &wk.lane, k, need);
            }
        }
        return;
    }
    // runs of lanes whose output indices are consecutive: the trailing footprint axes, as long
    // as the block spans the output's whole extent of the axes after them
    let mut span = 1usize;
    for k in (0..foot.len()).rev() {
        span *= foot[k] as usize;
        if k == 0 || foot[k] != geo.out_shape[k] {
            break;
        }
    }
    let run = span.min(inner).max(1);
    for o in 0..outer {
        for j0 in (0..inner).step_by(run) {
            let g0 = global((o * inner + j0) as u64);
            let len = run.min(inner - j0);
            for t in (0..len).step_by(TILE) {
                let w = TILE.min(len - t);
                let base = o * rows * inner + j0 + t;
                add_tile(
                    x,
                    base,
                    inner,
                    rows,
                    w,
                    &mut wk.accs,
                    g0 + t,
                    need,
                    &mut wk.vs,
                );
            }
        }
    }
}

/// [`add_block`] compiled with AVX2 enabled (the caller checked that the CPU has it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_block_avx2<T: Val>(x: &[T], geo: &Geometry, need: Need, wk: &mut Worker) {
    add_block(x, geo, need, wk)
}

/// [`add_block`] for the values of `buf` (native-endian bytes of `dtype`).
fn add_block_bytes(
    dtype: &DataType,
    buf: &[u8],
    geo: &Geometry,
    need: Need,
    wk: &mut Worker,
) -> Result<()> {
    fn go<T: Val + bytemuck::Pod>(buf: &[u8], geo: &Geometry, need: Need, wk: &mut Worker) {
        let x: &[T] = bytemuck::cast_slice(buf);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { add_block_avx2(x, geo, need, wk) };
                return;
            }
        }
        add_block(x, geo, need, wk)
    }
    match dtype {
        DataType::Bool | DataType::UInt8 => go::<u8>(buf, geo, need, wk),
        DataType::Int8 => go::<i8>(buf, geo, need, wk),
        DataType::Int16 => go::<i16>(buf, geo, need, wk),
        DataType::Int32 => go::<i32>(buf, geo, need, wk),
        DataType::Int64 => go::<i64>(buf, geo, need, wk),
        DataType::UInt16 => go::<u16>(buf, geo, need, wk),
        DataType::UInt32 => go::<u32>(buf, geo, need, wk),
        DataType::UInt64 => go::<u64>(buf, geo, need, wk),
        DataType::Float32 => go::<f32>(buf, geo, need, wk),
        DataType::Float64 => go::<f64>(buf, geo, need, wk),
        DataType::Float16 => go::<half::f16>(buf, geo, need, wk),
        other => {
            return Err(Error::Unsupported(format!("statistics of {other} values")));
        }
    }
    Ok(())
}

/// Statistics `fields` (names of [`FIELDS`]) along `axis`: the output shape (the array's without
/// `axis`) and, per output element in C order, one value per field. Memory: one set of
/// accumulators per thread (fewer when they would take more than half the budget) and the blocks
/// in flight, within `opts.budget`, plus the result.
pub(crate) fn along_axis(
    src: &dyn ArrayRead,
    axis: usize,
    fields: &[String],
    opts: &Options,
) -> Result<(Vec<u64>, Vec<f64>)> {
    let shape = src.shape().to_vec();
    if axis >= shape.len() {
        return Err(Error::Shape(format!(
            "axis {axis} out of range for {} axes",
            shape.len()
        )));
    }
    let need = Need::of(fields)?;
    let dtype = src.dtype().clone();
    let out_shape: Vec<u64> = (0..shape.len())
        .filter(|&i| i != axis)
        .map(|i| shape[i])
        .collect();
    let out_n = nd_core::num_elements(&out_shape)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::Shape("the output has too many elements".into()))?;
    let threads = opts.threads();
    // one accumulator set per thread, as many as fit in half the budget (at least one: the
    // output needs it)
    let set_bytes = out_n.saturating_mul(need.lane_bytes()).max(1);
    let sets = (opts.budget / 2 / set_bytes).clamp(1, threads);
    let block_opts = Options {
        budget: opts
            .budget
            .saturating_sub(sets.saturating_mul(set_bytes))
            .max(opts.budget / 4),
        threads: opts.threads,
        progress: None,
    };
    let regions = axis_blocks(
        &shape,
        dtype.size().max(1),
        &src.chunk_shape(),
        axis,
        &block_opts,
    )?;
    let out_strides = nd_core::shape::strides(&out_shape, nd_core::Order::C);
    let slots: Vec<Mutex<Option<Worker>>> = (0..sets).map(|_| Mutex::new(None)).collect();
    let bufs = BlockBufs::default();
    let poisoned = || Error::Unsupported("poisoned".into());
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|r| -> Result<()> {
                let n = nd_core::num_bytes(&r.shape(), dtype.size())?;
                let mut buf = bufs.take(n);
                src.read_region_into(r, buf.as_mut_slice())?;
                let rs = r.shape();
                let start = r.start();
                let geo = Geometry {
                    shape: &rs,
                    start: &start,
                    axis,
                    out_shape: &out_shape,
                    out_strides: &out_strides,
                };
                // this thread's set (no other thread uses it unless there are fewer sets
                // than threads); nothing below calls into rayon, so no other block runs on
                // this thread while it is held
                let i = rayon::current_thread_index().unwrap_or(0) % sets;
                let mut slot = slots[i].lock().map_err(|_| poisoned())?;
                if slot.is_none() {
                    *slot = Some(Worker {
                        accs: Accs::new(need, out_n)?,
                        lane: Accs::new(need, SPLIT)?,
                        vs: VarScratch::default(),
                    });
                }
                if let Some(wk) = slot.as_mut() {
                    add_block_bytes(&dtype, buf.as_slice(), &geo, need, wk)?;
                }
                drop(slot);
                bufs.give(buf);
                Ok(())
            })
    })??;
    drop(bufs);
    // merge the sets into the first one
    let mut done: Vec<Accs> = Vec::new();
    for s in slots {
        if let Some(wk) = s.into_inner().map_err(|_| poisoned())? {
            done.push(wk.accs);
        }
    }
    let mut total = match done.pop() {
        Some(a) => a,
        None => Accs::new(need, out_n)?,
    };
    for o in &done {
        for i in 0..out_n {
            total.merge_lane(i, o, i, need);
        }
    }
    drop(done);
    let mut values = Vec::new();
    values
        .try_reserve_exact(out_n.saturating_mul(fields.len()))
        .map_err(|_| too_big(out_n))?;
    for i in 0..out_n {
        total.finish_lane(i, shape[axis], fields, &mut values);
    }
    Ok((out_shape, values))
}

/// Statistics along one axis: one [`Stats`] per position of the other axes, in C order over the
/// reduced shape (the array's shape without `axis`), which is returned too.
/// This is how a spectral cube larger than memory is collapsed ("moment 0" is the `sum`).
/// [`crate::along_axes`] with [`crate::Reduction::StatsOnly`] computes only the fields asked.
///
/// # Errors
/// An axis out of range, values that are not numbers, or a failed read.
pub fn stats_along_axis(
    src: &dyn ArrayRead,
    axis: usize,
    opts: &Options,
) -> Result<(Vec<u64>, Vec<Stats>)> {
    let fields: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
    let (shape, v) = along_axis(src, axis, &fields, opts)?;
    let stats = v
        .chunks_exact(FIELDS.len())
        .map(|s| Stats {
            count: s[0] as u64,
            nan_count: s[1] as u64,
            sum: s[2],
            mean: s[3],
            min: s[4],
            max: s[5],
            std: s[6],
        })
        .collect();
    Ok((shape, stats))
}

/// Blocks for a reduction along `axis`: as long along `axis` as the budget allows (ideally the
/// whole axis), shrinking the other axes first, slowest first; aligned to the source's chunks.
fn axis_blocks(
    shape: &[u64],
    elem: usize,
    chunks: &[u64],
    axis: usize,
    opts: &Options,
) -> Result<Vec<Region>> {
    // Move `axis` last so it is shrunk last, plan, and move it back.
    let perm: Vec<usize> = (0..shape.len())
        .filter(|&i| i != axis)
        .chain(std::iter::once(axis))
        .collect();
    let pick = |v: &[u64], dflt: u64| -> Vec<u64> {
        perm.iter()
            .map(|&i| v.get(i).copied().unwrap_or(dflt))
            .collect()
    };
    let pshape = pick(shape, 1);
    let palign = pick(chunks, 1);
    let mut pprefer = palign.clone();
    if let Some(l) = pprefer.last_mut() {
        *l = shape.get(axis).copied().unwrap_or(1);
    }
    let pblock = block_shape(&pshape, elem, &palign, &pprefer, opts.max_block_bytes());
    let mut block = vec![1u64; shape.len()];
    for (k, &i) in perm.iter().enumerate() {
        block[i] = pblock[k];
    }
    block_regions(shape, &block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    /// The fields of one lane computed directly (two passes, in order).
    fn direct(line: &[f64]) -> [f64; 7] {
        let kept: Vec<f64> = line.iter().copied().filter(|v| !v.is_nan()).collect();
        let n = kept.len() as f64;
        let sum: f64 = kept.iter().sum();
        let mean = sum / n;
        let var = kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let (mn, mx) = if kept.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (
                kept.iter().copied().fold(f64::INFINITY, f64::min),
                kept.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let nan_if_empty = |v: f64| if kept.is_empty() { f64::NAN } else { v };
        [
            n,
            (line.len() - kept.len()) as f64,
            sum,
            nan_if_empty(mean),
            mn,
            mx,
            nan_if_empty(var.sqrt()),
        ]
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * (1.0 + b.abs())
    }

    /// Every field alone and all together, along every axis (lanes strided and contiguous, runs
    /// split by blocks, lanes split across blocks), with every budget and thread count: the
    /// values of a direct computation per lane.
    #[test]
    fn each_field_alone_equals_the_direct_lane_statistics() {
        let dims = [5usize, 7, 19];
        let vals: Vec<f32> = (0..dims.iter().product::<usize>())
            .map(|i| match i % 17 {
                0 => f32::NAN,
                5 if i % 3 == 0 => 3.0e5,
                _ => ((i as f32) * 0.61).sin() * 100.0,
            })
            .collect();
        // one lane (axis 1 at (2, 4)) all NaN
        let mut vals = vals;
        for j in 0..dims[1] {
            vals[(2 * dims[1] + j) * dims[2] + 4] = f32::NAN;
        }
        let shape: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
        let a = MemArray::zeros(DataType::Float32, shape.clone(), vec![2, 3, 4]).unwrap();
        nd_core::ArrayWrite::write_region(
            &a,
            &Region::full(&shape),
            ArrayBuf::from_vec(shape.clone(), &vals).unwrap().bytes(),
        )
        .unwrap();
        let at = |i: [usize; 3]| f64::from(vals[(i[0] * dims[1] + i[1]) * dims[2] + i[2]]);
        let mut sets: Vec<Vec<String>> = FIELDS.iter().map(|f| vec![f.to_string()]).collect();
        sets.push(FIELDS.iter().rev().map(|f| f.to_string()).collect());
        for (axis, &len) in dims.iter().enumerate() {
            for (budget, threads) in [(1 << 20, 1), (1 << 20, 2), (300, 2), (2000, 3)] {
                let opts = Options {
                    budget,
                    threads,
                    progress: None,
                };
                for fields in &sets {
                    let (out_shape, v) = along_axis(&a, axis, fields, &opts).unwrap();
                    let mut want_shape = shape.clone();
                    want_shape.remove(axis);
                    assert_eq!(out_shape, want_shape);
                    let k = fields.len();
                    let (d1, d2) = (out_shape[0] as usize, out_shape[1] as usize);
                    assert_eq!(v.len(), d1 * d2 * k);
                    for p in 0..d1 {
                        for q in 0..d2 {
                            let line: Vec<f64> = (0..len)
                                .map(|t| match axis {
                                    0 => at([t, p, q]),
                                    1 => at([p, t, q]),
                                    _ => at([p, q, t]),
                                })
                                .collect();
                            let want = direct(&line);
                            for (f, name) in fields.iter().enumerate() {
                                let w = want[FIELDS.iter().position(|x| x == name).unwrap()];
                                let got = v[(p * d2 + q) * k + f];
                                assert!(
                                    same(got, w),
                                    "axis {axis} budget {budget} threads {threads} \
                                     ({p},{q}) {name}: {got} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(along_axis(&a, 0, &["median".to_string()], &Options::default()).is_err());
        assert!(along_axis(&a, 3, &["sum".to_string()], &Options::default()).is_err());
    }

    /// An integer array and an axis of length zero.
    #[test]
    fn integers_and_empty_lanes() {
        let v: Vec<i16> = (0..24).map(|i| (i * 7 % 11) as i16 - 5).collect();
        let a = MemArray::new(ArrayBuf::from_vec(vec![4, 6], &v).unwrap());
        let f: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
        let (s, out) = along_axis(&a, 0, &f, &Options::default()).unwrap();
        assert_eq!(s, vec![6]);
        for q in 0..6 {
            let line: Vec<f64> = (0..4).map(|t| f64::from(v[t * 6 + q])).collect();
            let want = direct(&line);
            for i in 0..7 {
                assert!(same(out[q * 7 + i], want[i]), "{q} {i}");
            }
        }
        let e = MemArray::new(ArrayBuf::from_vec::<f32>(vec![0, 3], &[]).unwrap());
        let (s, out) = along_axis(&e, 0, &f, &Options::default()).unwrap();
        assert_eq!(s, vec![3]);
        for q in 0..3 {
            assert_eq!(&out[q * 7..q * 7 + 3], &[0.0, 0.0, 0.0]);
            assert!(out[q * 7 + 3..q * 7 + 7].iter().all(|x| x.is_nan()));
        }
    }
}
