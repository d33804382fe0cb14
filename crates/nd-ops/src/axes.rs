//! Reductions along several axes at once (numpy's `axis=(1, 2)`), for statistics that need
//! every value of a lane together: medians, percentiles, sigma clipping, and the plain
//! statistics over more than one axis.
//!
//! A lane is the set of values that reduce to one output element: the reduced axes in full, the
//! kept axes at one position. Blocks hold whole lanes (the reduced axes in full, as many kept
//! positions as the budget allows, aligned to the source's chunks where it can); each block is
//! read, transposed so that each lane is contiguous, and reduced lane by lane in parallel. A lane
//! too large for the budget alone is reduced on its own with the whole-array out-of-core
//! algorithms (a few passes over it), so memory stays bounded in every case.

use crate::along::FIELDS;
use crate::quantile::{select_in_memory, select_ranks};
use crate::sigma_clip::{sigma_clip_values, SigmaClip};
use crate::values::{
    block_elem, check_percentiles, check_real, fold_values, lerp, percentile_ranks, Keep, Moments,
};
use crate::{Options, Stats};
use nd_core::{cast::cast_into, ArrayRead, Error, Region, Result};
use rayon::prelude::*;
use std::sync::Mutex;

/// What to compute per lane.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reduction {
    /// count, nan_count, sum, mean, min, max, std (as [`Stats`]).
    Stats,
    /// Some of the fields of [`Reduction::Stats`], by name, in this order: only what they need
    /// is computed (along one axis, a `sum` is one pass of additions, without the second pass
    /// over the values that `std` takes).
    StatsOnly(Vec<String>),
    /// numpy's `nanpercentile` at each of these (0..=100).
    Percentiles(Vec<f64>),
    /// astropy's `sigma_clipped_stats`: mean, median, std, count.
    SigmaClip(SigmaClip),
}

impl Reduction {
    /// The names of the values computed per output element, in order.
    pub fn fields(&self) -> Vec<String> {
        match self {
            Reduction::Stats => FIELDS.iter().map(|s| s.to_string()).collect(),
            Reduction::StatsOnly(f) => f.clone(),
            Reduction::Percentiles(q) => q.iter().map(|q| format!("p{q}")).collect(),
            Reduction::SigmaClip(_) => [
                "clipped_mean",
                "clipped_median",
                "clipped_std",
                "clipped_count",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    fn check(&self, src: &dyn ArrayRead) -> Result<()> {
        if let Reduction::Percentiles(q) = self {
            check_percentiles(q)?;
        }
        match self {
            Reduction::Stats => {}
            Reduction::StatsOnly(f) => {
                if let Some(bad) = f.iter().find(|f| !FIELDS.contains(&f.as_str())) {
                    return Err(Error::Unsupported(format!(
                        "statistic '{bad}' is not one of {}",
                        FIELDS.join(", ")
                    )));
                }
            }
            _ => check_real(src.dtype(), "order statistics")?,
        }
        Ok(())
    }

    /// Reduce one lane held in memory into `out` (one value per field).
    fn lane(&self, vals: &mut [f64], out: &mut [f64]) -> Result<()> {
        match self {
            Reduction::Stats => {
                let s = stats_of(vals);
                out.copy_from_slice(&stats_fields(&s));
            }
            Reduction::StatsOnly(f) => pick_fields(&stats_of(vals), f, out),
            Reduction::Percentiles(q) => {
                let mut n = 0;
                for i in 0..vals.len() {
                    if !vals[i].is_nan() {
                        vals.swap(i, n);
                        n += 1;
                    }
                }
                let kept = &mut vals[..n];
                let mut ranks: Vec<u64> = q
                    .iter()
                    .flat_map(|&q| {
                        let (a, b, _) = percentile_ranks((n as u64).max(1), q);
                        [a, b]
                    })
                    .collect();
                ranks.sort_unstable();
                ranks.dedup();
                let at = if n == 0 {
                    Vec::new()
                } else {
                    select_in_memory(kept, &ranks)
                };
                let get = |r: u64| at.iter().find(|x| x.0 == r).map_or(f64::NAN, |x| x.1);
                for (o, &q) in out.iter_mut().zip(q) {
                    *o = if n == 0 {
                        f64::NAN
                    } else {
                        let (a, b, t) = percentile_ranks(n as u64, q);
                        lerp(get(a), get(b), t)
                    };
                }
            }
            Reduction::SigmaClip(c) => {
                let s = sigma_clip_values(vals, c)?;
                out.copy_from_slice(&[s.mean, s.median, s.std, s.count as f64]);
            }
        }
        Ok(())
    }

    /// Reduce one lane too large for memory: `region` of `src`, out of core.
    fn lane_out_of_core(
        &self,
        src: &dyn ArrayRead,
        region: &Region,
        opts: &Options,
        out: &mut [f64],
    ) -> Result<()> {
        match self {
            Reduction::Stats | Reduction::StatsOnly(_) => {
                let s = fold_values(
                    src,
                    region,
                    opts,
                    || (Vec::new(), Moments::default()),
                    |(parts, m), x| {
                        parts.push(stats_of(x));
                        m.merge(&Moments::of(x, &Keep::NOT_NAN));
                    },
                    |(parts, m), (p2, m2)| {
                        parts.extend(p2);
                        m.merge(&m2);
                    },
                )?;
                let (parts, m) = s;
                let n: u64 = parts.iter().map(|p| p.count).sum();
                let sum: f64 = parts.iter().map(|p| p.sum).sum();
                let s = Stats {
                    count: n,
                    nan_count: parts.iter().map(|p| p.nan_count).sum(),
                    sum,
                    mean: if n == 0 { f64::NAN } else { sum / n as f64 },
                    min: parts.iter().map(|p| p.min).fold(f64::NAN, f64::min),
                    max: parts.iter().map(|p| p.max).fold(f64::NAN, f64::max),
                    std: m.std(0),
                };
                match self {
                    Reduction::StatsOnly(f) => pick_fields(&s, f, out),
                    _ => out.copy_from_slice(&stats_fields(&s)),
                }
            }
            Reduction::Percentiles(q) => {
                let r = select_ranks(src, region, Keep::NOT_NAN, opts, |n| {
                    q.iter()
                        .flat_map(|&q| {
                            let (a, b, _) = percentile_ranks(n, q);
                            [a, b]
                        })
                        .collect()
                })?;
                for (o, &q) in out.iter_mut().zip(q) {
                    *o = r.percentile(q);
                }
            }
            Reduction::SigmaClip(c) => {
                let s = crate::sigma_clip::sigma_clipped_stats_in(src, region, c, opts)?;
                out.copy_from_slice(&[s.mean, s.median, s.std, s.count as f64]);
            }
        }
        Ok(())
    }
}

/// [`Stats`] as the seven fields of [`Reduction::Stats`].
fn stats_fields(s: &Stats) -> [f64; 7] {
    [
        s.count as f64,
        s.nan_count as f64,
        s.sum,
        s.mean,
        s.min,
        s.max,
        s.std,
    ]
}

/// The fields named `names` (of [`FIELDS`], checked) of `s`, into `out`.
fn pick_fields(s: &Stats, names: &[String], out: &mut [f64]) {
    let all = stats_fields(s);
    for (o, n) in out.iter_mut().zip(names) {
        *o = FIELDS
            .iter()
            .position(|f| f == n)
            .map_or(f64::NAN, |i| all[i]);
    }
}

/// NaN-aware statistics of values in memory (compensated sum, two-pass std).
fn stats_of(v: &[f64]) -> Stats {
    let (mut n, mut sum, mut comp) = (0u64, 0f64, 0f64);
    let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in v {
        if x.is_nan() {
            continue;
        }
        n += 1;
        let t = sum + x;
        comp += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
        mn = mn.min(x);
        mx = mx.max(x);
    }
    let m = Moments::of(v, &Keep::NOT_NAN);
    let empty = n == 0;
    Stats {
        count: n,
        nan_count: v.len() as u64 - n,
        sum: sum + comp,
        mean: if empty {
            f64::NAN
        } else {
            (sum + comp) / n as f64
        },
        min: if empty { f64::NAN } else { mn },
        max: if empty { f64::NAN } else { mx },
        std: m.std(0),
    }
}

/// The axes of a reduction, checked: numpy order, negative counting from the end, each once;
/// returned ascending.
///
/// # Errors
/// An axis out of range or given twice.
pub fn normalize_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let k = if a < 0 { a + ndim as i64 } else { a };
        if k < 0 || k >= ndim as i64 {
            return Err(Error::Shape(format!(
                "axis {a} out of range for {ndim} axes"
            )));
        }
        if out.contains(&(k as usize)) {
            return Err(Error::Shape(format!("axis {a} given twice")));
        }
        out.push(k as usize);
    }
    out.sort_unstable();
    Ok(out)
}

/// The result of [`along_axes`]: the output shape (the array's without the reduced axes) and,
/// per output element in C order, one value per field.
#[derive(Debug, Clone, PartialEq)]
pub struct AxesResult {
    /// The output's shape.
    pub shape: Vec<u64>,
    /// The names of the values per element ([`Reduction::fields`]).
    pub fields: Vec<String>,
    /// `values[i * fields.len() + f]`: field `f` of output element `i`.
    pub values: Vec<f64>,
}

impl AxesResult {
    /// One field as an array of the output's shape: float64, counts as int64.
    ///
    /// # Errors
    /// A field this result does not have.
    pub fn field(&self, name: &str) -> Result<nd_core::ArrayBuf> {
        let Some(f) = self.fields.iter().position(|x| x == name) else {
            return Err(Error::Unsupported(format!(
                "statistic '{name}' is not one of {}",
                self.fields.join(", ")
            )));
        };
        let k = self.fields.len();
        let col = self.values.iter().skip(f).step_by(k).copied();
        if name.ends_with("count") {
            nd_core::ArrayBuf::from_vec(
                self.shape.clone(),
                &col.map(|v| v as i64).collect::<Vec<_>>(),
            )
        } else {
            nd_core::ArrayBuf::from_vec(self.shape.clone(), &col.collect::<Vec<_>>())
        }
    }
}

/// Copy the C-order block `src` of `shape` to `dst`, element `idx` going to
/// `sum(idx[k] * strides[k])`.
fn transpose(src: &[f64], shape: &[usize], strides: &[usize], dst: &mut [f64]) {
    let nd = shape.len();
    if nd == 0 {
        if let (Some(d), Some(s)) = (dst.first_mut(), src.first()) {
            *d = *s;
        }
        return;
    }
    let (last, ls) = (shape[nd - 1], strides[nd - 1]);
    if last == 0 {
        return;
    }
    let mut idx = vec![0usize; nd - 1];
    let mut base = 0usize;
    for row in src.chunks_exact(last) {
        for (i, &v) in row.iter().enumerate() {
            dst[base + i * ls] = v;
        }
        let mut k = nd - 1;
        while k > 0 {
            k -= 1;
            idx[k] += 1;
            base += strides[k];
            if idx[k] < shape[k] {
                break;
            }
            base -= strides[k] * shape[k];
            idx[k] = 0;
        }
    }
}

/// Reduce `src` along `axes` (ascending, as [`normalize_axes`] returns them): `what` per lane,
/// in parallel, memory within `opts.budget` plus the output: blocks hold whole lanes, a lane larger than the budget is reduced alone in a few passes. One
/// axis with [`Reduction::Stats`] or [`Reduction::StatsOnly`] streams instead (see
/// [`crate::stats_along_axis`]): no whole lanes needed, only the asked fields computed.
///
/// # Errors
/// Bad axes or parameters, values the reduction does not define, the output too large for
/// memory, or a failed read.
pub fn along_axes(
    src: &dyn ArrayRead,
    axes: &[usize],
    what: &Reduction,
    opts: &Options,
) -> Result<AxesResult> {
    let shape = src.shape().to_vec();
    let nd = shape.len();
    let axes = normalize_axes(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>(), nd)?;
    what.check(src)?;
    let fields = what.fields();
    let k = fields.len();
    if axes.len() == 1 && matches!(what, Reduction::Stats | Reduction::StatsOnly(_)) {
        let (shape, values) = crate::along::along_axis(src, axes[0], &fields, opts)?;
        return Ok(AxesResult {
            shape,
            fields,
            values,
        });
    }
    let kept: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    let out_shape: Vec<u64> = kept.iter().map(|&i| shape[i]).collect();
    let out_n = nd_core::num_elements(&out_shape)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::Shape("the output has too many elements".into()))?;
    let out_bytes = out_n.saturating_mul(k).saturating_mul(8);
    let mut values: Vec<f64> = Vec::new();
    values.try_reserve_exact(out_n * k).map_err(|_| {
        Error::Shape(format!(
            "an output of {out_bytes} bytes does not fit in memory"
        ))
    })?;
    values.resize(out_n * k, f64::NAN);
    if out_n == 0 {
        return Ok(AxesResult {
            shape: out_shape,
            fields,
            values,
        });
    }
    let lane_len: u64 = axes.iter().map(|&a| shape[a]).product();
    let block_opts = Options {
        budget: opts.budget.saturating_sub(out_bytes).max(opts.budget / 4),
        threads: opts.threads,
        progress: None,
    };
    // stored value, f64 copy and transposed copy
    let elem = (block_elem(src.dtype()) + 8) as u64;
    let lanes_per_block =
        block_opts.max_block_bytes() as u64 / lane_len.max(1).saturating_mul(elem);
    let out_strides = nd_core::shape::strides(&out_shape, nd_core::Order::C);
    let out_index = |kept_pos: &[u64]| -> usize {
        kept_pos
            .iter()
            .zip(&out_strides)
            .map(|(&c, &s)| c * s)
            .sum::<u64>() as usize
    };
    if lanes_per_block == 0 {
        // one lane is larger than the budget: each out of core, one after the other
        for i in 0..out_n {
            let pos = nd_core::shape::coords_of(i as u64, &out_shape);
            let mut ranges: Vec<std::ops::Range<u64>> = (0..nd).map(|a| 0..shape[a]).collect();
            for (j, &a) in kept.iter().enumerate() {
                ranges[a] = pos[j]..pos[j] + 1;
            }
            what.lane_out_of_core(
                src,
                &Region::new(ranges),
                &block_opts,
                &mut values[i * k..(i + 1) * k],
            )?;
        }
        return Ok(AxesResult {
            shape: out_shape,
            fields,
            values,
        });
    }
    let cs = src.chunk_shape();
    let mut block = shape.clone();
    let mut cap = lanes_per_block;
    for &a in kept.iter().rev() {
        if cap >= shape[a] {
            cap /= shape[a].max(1);
        } else {
            let c = cs.get(a).copied().unwrap_or(1).max(1);
            block[a] = if cap >= c { cap / c * c } else { cap.max(1) };
            cap = 1;
        }
    }
    let regions = crate::blocks::block_regions(&shape, &block)?;
    let dtype = src.dtype().clone();
    let out = Mutex::new(values);
    opts.run(|| {
        regions
            .par_iter()
            .with_max_len(1)
            .try_for_each(|r| -> Result<()> {
                let buf = src.read_region(r)?;
                let mut vals = vec![0f64; buf.len()];
                cast_into(&dtype, buf.bytes(), &mut vals)?;
                drop(buf);
                let bs: Vec<usize> = r.shape().iter().map(|&d| d as usize).collect();
                let bk: Vec<u64> = kept.iter().map(|&a| bs[a] as u64).collect();
                let lanes = bk.iter().product::<u64>() as usize;
                let l = lane_len as usize;
                // destination strides: kept axes step whole lanes, reduced axes within a lane
                let mut strides = vec![0usize; nd];
                let mut s = l;
                for &a in kept.iter().rev() {
                    strides[a] = s;
                    s *= bs[a];
                }
                let mut s = 1;
                for &a in axes.iter().rev() {
                    strides[a] = s;
                    s *= bs[a];
                }
                let mut t = vec![0f64; vals.len()];
                transpose(&vals, &bs, &strides, &mut t);
                drop(vals);
                let start = r.start();
                let mut res = vec![0f64; lanes * k];
                let mut at = Vec::with_capacity(lanes);
                for (j, lane) in t.chunks_exact_mut(l.max(1)).enumerate().take(lanes) {
                    what.lane(lane, &mut res[j * k..(j + 1) * k])?;
                    let pos: Vec<u64> = nd_core::shape::coords_of(j as u64, &bk)
                        .iter()
                        .zip(&kept)
                        .map(|(&c, &a)| c + start[a])
                        .collect();
                    at.push(out_index(&pos));
                }
                if l == 0 {
                    // empty lanes: the reduction of no values
                    for j in 0..lanes {
                        what.lane(&mut [], &mut res[j * k..(j + 1) * k])?;
                        let pos: Vec<u64> = nd_core::shape::coords_of(j as u64, &bk)
                            .iter()
                            .zip(&kept)
                            .map(|(&c, &a)| c + start[a])
                            .collect();
                        at.push(out_index(&pos));
                    }
                }
                let mut o = out
                    .lock()
                    .map_err(|_| Error::Unsupported("poisoned".into()))?;
                for (j, &i) in at.iter().enumerate() {
                    o[i * k..(i + 1) * k].copy_from_slice(&res[j * k..(j + 1) * k]);
                }
                Ok(())
            })
    })??;
    Ok(AxesResult {
        shape: out_shape,
        fields,
        values: out
            .into_inner()
            .map_err(|_| Error::Unsupported("poisoned".into()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    /// numpy's nanpercentile of one lane, by sorting.
    fn pct(v: &[f64], q: f64) -> f64 {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        if s.is_empty() {
            return f64::NAN;
        }
        s.sort_by(f64::total_cmp);
        let (a, b, t) = percentile_ranks(s.len() as u64, q);
        lerp(s[a as usize], s[b as usize], t)
    }

    fn cube() -> (Vec<f64>, MemArray) {
        let v: Vec<f64> = (0..4 * 5 * 6)
            .map(|i| {
                if i % 11 == 3 {
                    f64::NAN
                } else {
                    ((i * 37) % 23) as f64
                }
            })
            .collect();
        (
            v.clone(),
            MemArray::new(ArrayBuf::from_vec(vec![4, 5, 6], &v).unwrap()),
        )
    }

    #[test]
    fn percentiles_along_two_axes_every_budget() {
        let (v, a) = cube();
        // axes (0, 2): lane (j) holds v[i, j, l] for all i, l
        let want: Vec<f64> = (0..5)
            .map(|j| {
                let lane: Vec<f64> = (0..4)
                    .flat_map(|i| (0..6).map(move |l| (i, l)))
                    .map(|(i, l)| v[i * 30 + j * 6 + l])
                    .collect();
                pct(&lane, 50.0)
            })
            .collect();
        for budget in [64, 2000, 1 << 20] {
            let opts = Options {
                budget,
                ..Options::default()
            };
            let r = along_axes(&a, &[0, 2], &Reduction::Percentiles(vec![50.0]), &opts).unwrap();
            assert_eq!(r.shape, vec![5]);
            assert_eq!(r.values, want, "budget {budget}");
        }
    }

    #[test]
    fn stats_along_two_axes_equal_one_then_merge() {
        let (v, a) = cube();
        let r = along_axes(&a, &[1, 2], &Reduction::Stats, &Options::default()).unwrap();
        for i in 0..4 {
            let lane = &v[i * 30..(i + 1) * 30];
            let s = stats_of(lane);
            assert_eq!(r.values[i * 7..(i + 1) * 7], stats_fields(&s));
        }
        let c = r.field("count").unwrap();
        assert_eq!(c.dtype(), &nd_core::DataType::Int64);
        assert!(r.field("median").is_err());
        // out of core per lane gives the same counts, min and max
        let small = Options {
            budget: 64,
            ..Options::default()
        };
        let r2 = along_axes(&a, &[1, 2], &Reduction::Stats, &small).unwrap();
        for i in 0..4 {
            assert_eq!(r2.values[i * 7..i * 7 + 2], r.values[i * 7..i * 7 + 2]);
            assert_eq!(
                r2.values[i * 7 + 4..i * 7 + 6],
                r.values[i * 7 + 4..i * 7 + 6]
            );
            assert!((r2.values[i * 7 + 3] - r.values[i * 7 + 3]).abs() < 1e-12);
        }
    }

    #[test]
    fn axes_checked() {
        assert_eq!(normalize_axes(&[-1, 0], 3).unwrap(), vec![0, 2]);
        assert!(normalize_axes(&[3], 3).is_err());
        assert!(normalize_axes(&[1, -2], 3).is_err());
    }
}
