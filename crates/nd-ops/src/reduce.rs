//! NaN-aware statistics computed block by block and combined (Chan/Welford for the variance,
//! Neumaier-compensated sums), over a whole array (along one axis: `along.rs`).

use crate::{plan, Options};
use nd_core::{ArrayBuf, ArrayRead, DataType, Error, Result};
use rayon::prelude::*;
use std::sync::Mutex;

/// Statistics of the non-NaN values of an array, as numpy's nan-functions define them
/// (`std` is the population standard deviation, ddof = 0). With no non-NaN values, min, max,
/// mean and std are NaN and sum is 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Number of non-NaN values.
    pub count: u64,
    /// Number of NaN values.
    pub nan_count: u64,
    /// Sum of the non-NaN values.
    pub sum: f64,
    /// Mean of the non-NaN values.
    pub mean: f64,
    /// Smallest non-NaN value.
    pub min: f64,
    /// Largest non-NaN value.
    pub max: f64,
    /// Population standard deviation of the non-NaN values.
    pub std: f64,
}

#[derive(Debug, Clone, Copy)]
struct Acc {
    n: u64,
    nan: u64,
    mean: f64,
    m2: f64,
    sum: f64,
    comp: f64,
    min: f64,
    max: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            nan: 0,
            mean: 0.0,
            m2: 0.0,
            sum: 0.0,
            comp: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.nan += o.nan;
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            let nan = self.nan;
            *self = *o;
            self.nan = nan;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.n = n;
        let (a, b) = (self.sum, o.sum);
        let t = a + b;
        self.comp += if a.abs() >= b.abs() {
            (a - t) + b
        } else {
            (b - t) + a
        } + o.comp;
        self.sum = t;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    fn finish(&self) -> Stats {
        let empty = self.n == 0;
        Stats {
            count: self.n,
            nan_count: self.nan,
            sum: self.sum + self.comp,
            mean: if empty {
                f64::NAN
            } else {
                (self.sum + self.comp) / self.n as f64
            },
            min: if empty { f64::NAN } else { self.min },
            max: if empty { f64::NAN } else { self.max },
            std: if empty {
                f64::NAN
            } else {
                (self.m2 / self.n as f64).max(0.0).sqrt()
            },
        }
    }
}

/// A numeric element that statistics read as f64.
pub(crate) trait Val: Copy {
    fn f(self) -> f64;
}

macro_rules! val {
    ($($t:ty),*) => {$(
        impl Val for $t {
            #[inline(always)]
            fn f(self) -> f64 {
                self as f64
            }
        }
    )*};
}
val!(u8, i8, i16, i32, i64, u16, u32, u64, f32, f64);

impl Val for half::f16 {
    #[inline(always)]
    fn f(self) -> f64 {
        self.to_f64()
    }
}

/// Lanes per tile of [`block_lanes`]: the scratch is this many lanes (64 bytes each), whatever
/// the block's width.
const TILE: usize = 2048;

/// Reusable per-lane scratch of [`lanes`].
#[derive(Default)]
struct Scratch {
    n: Vec<u64>,
    nan: Vec<u64>,
    sum: Vec<f64>,
    comp: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    m2: Vec<f64>,
    mean: Vec<f64>,
    out: Vec<Acc>,
}

/// Statistics of lanes `j0..j0 + w` of `x`, a C-order block of `rows` × `inner` values where
/// lane `j` is column `j`, left in `s.out` (one [`Acc`] per lane). Two passes over the rows, both
/// along contiguous memory and without a division per value: count, NaN count, compensated sum,
/// min and max first, then the squared deviations from each lane's mean.
fn lanes<T: Val>(x: &[T], rows: usize, inner: usize, j0: usize, w: usize, s: &mut Scratch) {
    s.n.clear();
    s.n.resize(w, 0);
    s.nan.clear();
    s.nan.resize(w, 0);
    for v in [&mut s.sum, &mut s.comp, &mut s.m2] {
        v.clear();
        v.resize(w, 0.0);
    }
    s.min.clear();
    s.min.resize(w, f64::INFINITY);
    s.max.clear();
    s.max.resize(w, f64::NEG_INFINITY);
    {
        // all slices exactly `w` long, so the loop has no bounds checks
        let (n, nan) = (&mut s.n[..w], &mut s.nan[..w]);
        let (sum, comp) = (&mut s.sum[..w], &mut s.comp[..w]);
        let (mn, mx) = (&mut s.min[..w], &mut s.max[..w]);
        for row in x.chunks_exact(inner).take(rows) {
            let Some(row) = row.get(j0..j0 + w) else {
                continue;
            };
            // Branch-free (so it vectorizes): a NaN counts as NaN and adds 0 to the sum;
            // f64::min and f64::max ignore NaN.
            for j in 0..w {
                let v = row[j].f();
                let ok = !v.is_nan();
                n[j] += ok as u64;
                nan[j] += (!ok) as u64;
                let v0 = if ok { v } else { 0.0 };
                let a = sum[j];
                let t = a + v0;
                comp[j] += if a.abs() >= v0.abs() {
                    (a - t) + v0
                } else {
                    (v0 - t) + a
                };
                sum[j] = t;
                mn[j] = mn[j].min(v);
                mx[j] = mx[j].max(v);
            }
        }
    }
    s.mean.clear();
    s.mean.extend((0..w).map(|j| {
        if s.n[j] == 0 {
            0.0
        } else {
            (s.sum[j] + s.comp[j]) / s.n[j] as f64
        }
    }));
    let (means, m2) = (&s.mean[..w], &mut s.m2[..w]);
    for row in x.chunks_exact(inner).take(rows) {
        let Some(row) = row.get(j0..j0 + w) else {
            continue;
        };
        for j in 0..w {
            let d = row[j].f() - means[j];
            m2[j] += if d.is_nan() { 0.0 } else { d * d };
        }
    }
    s.out.clear();
    s.out.extend((0..w).map(|j| Acc {
        n: s.n[j],
        nan: s.nan[j],
        mean: s.mean[j],
        m2: s.m2[j],
        sum: s.sum[j],
        comp: s.comp[j],
        min: s.min[j],
        max: s.max[j],
    }));
}

/// Per-lane statistics of a block: the block, in C order, is `outer` × `rows` × `inner`, and
/// lane `(o, j)` runs along the middle axis. The lanes are handed to `sink(o, j0, accs)` in tiles
/// of at most [`TILE`] lanes (`accs[t]` is lane `(o, j0 + t)`), so the scratch stays small
/// however wide the block is.
fn block_lanes(
    buf: &ArrayBuf,
    outer: usize,
    rows: usize,
    inner: usize,
    mut sink: impl FnMut(usize, usize, &[Acc]) -> Result<()>,
) -> Result<()> {
    let mut s = Scratch::default();
    let per = rows.saturating_mul(inner);
    macro_rules! go {
        ($x:expr) => {{
            let x = $x;
            if per == 0 {
                // no values: every lane is empty
                let empty = vec![Acc::default(); inner.min(TILE)];
                for o in 0..outer {
                    for j0 in (0..inner).step_by(TILE) {
                        sink(o, j0, &empty[..(inner - j0).min(TILE)])?;
                    }
                }
            } else {
                for (o, part) in x.chunks_exact(per).take(outer).enumerate() {
                    for j0 in (0..inner).step_by(TILE) {
                        lanes(part, rows, inner, j0, (inner - j0).min(TILE), &mut s);
                        sink(o, j0, &s.out)?;
                    }
                }
            }
        }};
    }
    match buf.dtype() {
        DataType::Bool | DataType::UInt8 => go!(buf.bytes()),
        DataType::Int8 => go!(buf.as_slice::<i8>()?),
        DataType::Int16 => go!(buf.as_slice::<i16>()?),
        DataType::Int32 => go!(buf.as_slice::<i32>()?),
        DataType::Int64 => go!(buf.as_slice::<i64>()?),
        DataType::UInt16 => go!(buf.as_slice::<u16>()?),
        DataType::UInt32 => go!(buf.as_slice::<u32>()?),
        DataType::UInt64 => go!(buf.as_slice::<u64>()?),
        DataType::Float32 => go!(buf.as_slice::<f32>()?),
        DataType::Float64 => go!(buf.as_slice::<f64>()?),
        DataType::Float16 => go!(buf.as_slice::<half::f16>()?),
        other => {
            return Err(Error::Unsupported(format!("statistics of {other} values")));
        }
    }
    Ok(())
}

/// Statistics of every value of `src`, read block by block in parallel within the memory budget.
pub fn stats(src: &dyn ArrayRead, opts: &Options) -> Result<Stats> {
    let shape = src.shape().to_vec();
    let cs = src.chunk_shape();
    let regions = plan(&shape, src.dtype().size().max(1), &cs, &cs, opts)?;
    let total = Mutex::new(Acc::default());
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|r| -> Result<()> {
                let buf = src.read_region(r)?;
                // one lane per position of the last axis, merged: few lanes, little scratch
                let rs = r.shape();
                let inner = rs.last().copied().unwrap_or(1) as usize;
                let rows = rs.iter().rev().skip(1).product::<u64>() as usize;
                let mut acc = Acc::default();
                block_lanes(&buf, 1, rows, inner, |_, _, accs| {
                    for a in accs {
                        acc.merge(a);
                    }
                    Ok(())
                })?;
                total
                    .lock()
                    .map_err(|_| Error::Unsupported("poisoned".into()))?
                    .merge(&acc);
                Ok(())
            })
    })??;
    let acc = total
        .into_inner()
        .map_err(|_| Error::Unsupported("poisoned".into()))?;
    Ok(acc.finish())
}

/// Select one statistic of each element into an array (`sum`, `mean`, `min`, `max`, `std`,
/// `count`, `nan_count`), as float64 (counts as int64).
pub fn select(shape: &[u64], stats: &[Stats], which: &str) -> Result<ArrayBuf> {
    let pick = |f: fn(&Stats) -> f64| -> Result<ArrayBuf> {
        let v: Vec<f64> = stats.iter().map(f).collect();
        ArrayBuf::from_vec(shape.to_vec(), &v)
    };
    match which {
        "sum" => pick(|s| s.sum),
        "mean" => pick(|s| s.mean),
        "min" => pick(|s| s.min),
        "max" => pick(|s| s.max),
        "std" => pick(|s| s.std),
        "count" => ArrayBuf::from_vec(
            shape.to_vec(),
            &stats.iter().map(|s| s.count as i64).collect::<Vec<_>>(),
        ),
        "nan_count" => ArrayBuf::from_vec(
            shape.to_vec(),
            &stats.iter().map(|s| s.nan_count as i64).collect::<Vec<_>>(),
        ),
        other => Err(Error::Unsupported(format!("unknown statistic '{other}'"))),
    }
}
