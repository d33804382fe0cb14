//! NaN-aware statistics computed block by block and combined (Chan/Welford for the variance,
//! Neumaier-compensated sums), over a whole array or along one axis.

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
    #[inline]
    fn push(&mut self, v: f64) {
        if v.is_nan() {
            self.nan += 1;
            return;
        }
        self.n += 1;
        let d = v - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (v - self.mean);
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
        if v < self.min {
            self.min = v;
        }
        if v > self.max {
            self.max = v;
        }
    }

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

/// Call `f` with every value of a native-endian buffer of a numeric type, as f64.
fn for_each_f64(buf: &ArrayBuf, mut f: impl FnMut(usize, f64)) -> Result<()> {
    macro_rules! each {
        ($t:ty) => {{
            for (i, v) in buf.as_slice::<$t>()?.iter().enumerate() {
                f(i, *v as f64);
            }
        }};
    }
    match buf.dtype() {
        DataType::Bool | DataType::UInt8 => {
            for (i, v) in buf.bytes().iter().enumerate() {
                f(i, *v as f64);
            }
        }
        DataType::Int8 => each!(i8),
        DataType::Int16 => each!(i16),
        DataType::Int32 => each!(i32),
        DataType::Int64 => each!(i64),
        DataType::UInt16 => each!(u16),
        DataType::UInt32 => each!(u32),
        DataType::UInt64 => each!(u64),
        DataType::Float32 => each!(f32),
        DataType::Float64 => each!(f64),
        DataType::Float16 => {
            for (i, v) in buf.as_slice::<half::f16>()?.iter().enumerate() {
                f(i, v.to_f64());
            }
        }
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
                let mut acc = Acc::default();
                for_each_f64(&buf, |_, v| acc.push(v))?;
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

/// Statistics along one axis: one [`Stats`] per position of the other axes, in C order over the
/// reduced shape (the array's shape without `axis`), which is returned too.
/// This is how a spectral cube larger than memory is collapsed ("moment 0" is the `sum`).
pub fn stats_along_axis(
    src: &dyn ArrayRead,
    axis: usize,
    opts: &Options,
) -> Result<(Vec<u64>, Vec<Stats>)> {
    let shape = src.shape().to_vec();
    if axis >= shape.len() {
        return Err(Error::Shape(format!(
            "axis {axis} out of range for {} axes",
            shape.len()
        )));
    }
    let out_shape: Vec<u64> = shape
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != axis)
        .map(|(_, &d)| d)
        .collect();
    let out_n =
        nd_core::num_bytes(&out_shape, std::mem::size_of::<Acc>())? / std::mem::size_of::<Acc>();
    let cs = src.chunk_shape();
    let regions = plan(&shape, src.dtype().size().max(1), &cs, &cs, opts)?;
    let accs = Mutex::new(vec![Acc::default(); out_n]);
    let out_strides = nd_core::shape::strides(&out_shape, nd_core::Order::C);
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|r| -> Result<()> {
                let buf = src.read_region(r)?;
                let rs = r.shape();
                // Partial accumulators over this block's output footprint.
                let foot: Vec<u64> = rs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != axis)
                    .map(|(_, &d)| d)
                    .collect();
                let foot_n = foot.iter().product::<u64>() as usize;
                let mut part = vec![Acc::default(); foot_n];
                let bstr = nd_core::shape::strides(&rs, nd_core::Order::C);
                let fstr = nd_core::shape::strides(&foot, nd_core::Order::C);
                for_each_f64(&buf, |i, v| {
                    // map block index i -> footprint index by dropping the axis coordinate
                    let mut rem = i as u64;
                    let mut fi = 0u64;
                    let mut k = 0;
                    for (ax, &s) in bstr.iter().enumerate() {
                        let c = rem / s;
                        rem %= s;
                        if ax != axis {
                            fi += c * fstr[k];
                            k += 1;
                        }
                    }
                    part[fi as usize].push(v);
                })?;
                let origin: Vec<u64> = r
                    .start()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != axis)
                    .map(|(_, &d)| d)
                    .collect();
                let mut g = accs
                    .lock()
                    .map_err(|_| Error::Unsupported("poisoned".into()))?;
                for (fi, p) in part.iter().enumerate() {
                    let mut rem = fi as u64;
                    let mut gi = 0u64;
                    for (k, &s) in fstr.iter().enumerate() {
                        let c = rem / s;
                        rem %= s;
                        gi += (origin[k] + c) * out_strides[k];
                    }
                    g[gi as usize].merge(p);
                }
                Ok(())
            })
    })??;
    let accs = accs
        .into_inner()
        .map_err(|_| Error::Unsupported("poisoned".into()))?;
    Ok((out_shape, accs.iter().map(|a| a.finish()).collect()))
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
        other => Err(Error::Unsupported(format!("unknown statistic {other:?}"))),
    }
}
