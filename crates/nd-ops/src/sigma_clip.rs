//! Sigma-clipped statistics as astropy's `sigma_clipped_stats` computes them with its defaults
//! (`cenfunc='median'`, `stdfunc='std'`, `std_ddof=0`, no `grow`).
//!
//! astropy drops the values that are not finite (NaN and infinities), then repeats at most
//! `maxiters` times: the median and the population standard deviation of the values left give
//! the bounds `median - sigma_lower * std ..= median + sigma_upper * std`; the values outside
//! are dropped; it stops early when an iteration drops none. The result is the mean, median and
//! standard deviation of what is left. A value once dropped stays dropped, so what is left after
//! each iteration is every finite value within the tightest bounds so far: an interval. Out of
//! core, each iteration is therefore one exact median of the values within an interval
//! ([`crate::quantiles`]' passes, the moments counted in the first), with no mask to store.

use crate::quantile::{select_in_memory, select_ranks};
use crate::values::{check_real, percentile_ranks, Keep, Moments};
use crate::Options;
use nd_core::{ArrayRead, Error, Region, Result};

/// The clipping parameters (astropy's `SigmaClip`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaClip {
    /// Lower bound in standard deviations below the median (astropy's `sigma_lower`).
    pub sigma_lower: f64,
    /// Upper bound in standard deviations above the median (`sigma_upper`).
    pub sigma_upper: f64,
    /// Most iterations (`maxiters`).
    pub maxiters: u32,
}

impl Default for SigmaClip {
    /// astropy's defaults: sigma 3, maxiters 5.
    fn default() -> Self {
        SigmaClip {
            sigma_lower: 3.0,
            sigma_upper: 3.0,
            maxiters: 5,
        }
    }
}

impl SigmaClip {
    fn check(&self) -> Result<()> {
        let ok = |s: f64| s.is_finite() && s >= 0.0;
        if !(ok(self.sigma_lower) && ok(self.sigma_upper)) {
            return Err(Error::Unsupported(format!(
                "sigma {}/{}: give finite, non-negative numbers",
                self.sigma_lower, self.sigma_upper
            )));
        }
        Ok(())
    }

    /// The bounds the statistics of one iteration give.
    fn bounds(&self, median: f64, std: f64) -> (f64, f64) {
        (
            median - std * self.sigma_lower,
            median + std * self.sigma_upper,
        )
    }
}

/// The result of sigma clipping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClippedStats {
    /// Mean of the values left (NaN if none).
    pub mean: f64,
    /// Median of the values left.
    pub median: f64,
    /// Population standard deviation (ddof 0) of the values left.
    pub std: f64,
    /// How many values are left.
    pub count: u64,
    /// How many were dropped: not finite, or clipped.
    pub rejected: u64,
    /// Iterations done (astropy's `niterations`).
    pub iterations: u32,
    /// The last lower bound applied (the interval's; `-inf` when none was).
    pub lower: f64,
    /// The last upper bound applied.
    pub upper: f64,
}

/// Count, mean, median and std of the values an interval keeps.
#[derive(Debug, Clone, Copy)]
struct Center {
    n: u64,
    mean: f64,
    median: f64,
    std: f64,
}

/// The median (numpy's: the mean of the two middle values for an even count) from two ranks.
fn median_of(n: u64, at: impl Fn(u64) -> f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let (a, b, t) = percentile_ranks(n, 50.0);
    if a == b || t == 0.0 {
        at(a)
    } else {
        (at(a) + at(b)) / 2.0
    }
}

/// The iteration itself, over any way of computing the center of an interval.
fn iterate(
    clip: &SigmaClip,
    total: u64,
    mut center: impl FnMut(f64, f64) -> Result<Center>,
) -> Result<ClippedStats> {
    clip.check()?;
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut c = center(lo, hi)?;
    let mut iterations = 0;
    while iterations < clip.maxiters {
        iterations += 1;
        let (l, h) = clip.bounds(c.median, c.std);
        // NaN bounds (no values left) keep nothing, as astropy's comparisons with NaN do
        lo = if l.is_nan() { f64::INFINITY } else { lo.max(l) };
        hi = if h.is_nan() {
            f64::NEG_INFINITY
        } else {
            hi.min(h)
        };
        let next = center(lo, hi)?;
        let changed = c.n != next.n;
        c = next;
        if !changed {
            break;
        }
    }
    Ok(ClippedStats {
        mean: c.mean,
        median: c.median,
        std: c.std,
        count: c.n,
        rejected: total - c.n,
        iterations,
        lower: lo,
        upper: hi,
    })
}

/// astropy's `sigma_clipped_stats(a, sigma_lower=…, sigma_upper=…, maxiters=…)` over the whole
/// of `src`, out of core: per iteration the passes of one exact median (see the module docs).
///
/// # Errors
/// Bad parameters, values that are not real numbers, or a failed read.
pub fn sigma_clipped_stats(
    src: &dyn ArrayRead,
    clip: &SigmaClip,
    opts: &Options,
) -> Result<ClippedStats> {
    check_real(src.dtype(), "sigma clipping")?;
    sigma_clipped_stats_in(src, &Region::full(src.shape()), clip, opts)
}

/// [`sigma_clipped_stats`] of a region of `src`.
pub(crate) fn sigma_clipped_stats_in(
    src: &dyn ArrayRead,
    region: &Region,
    clip: &SigmaClip,
    opts: &Options,
) -> Result<ClippedStats> {
    iterate(clip, region.num_elements(), |lo, hi| {
        let r = select_ranks(src, region, Keep::finite_within(lo, hi), opts, |n| {
            let (a, b, _) = percentile_ranks(n.max(1), 50.0);
            vec![a, b]
        })?;
        let at = |k: u64| {
            r.at.iter()
                .find(|&&(rank, _)| rank == k)
                .map_or(f64::NAN, |&(_, v)| v)
        };
        Ok(Center {
            n: r.n,
            mean: r.moments.mean(),
            median: median_of(r.n, at),
            std: r.moments.std(0),
        })
    })
}

/// The same for values in memory (one lane of an axis reduction); `vals` is reordered.
pub(crate) fn sigma_clip_values(vals: &mut [f64], clip: &SigmaClip) -> Result<ClippedStats> {
    let total = vals.len() as u64;
    // the finite values first; each iteration keeps its survivors at the front
    let mut len = 0;
    for i in 0..vals.len() {
        if vals[i].is_finite() {
            vals.swap(i, len);
            len += 1;
        }
    }
    let cell = std::cell::Cell::new(len);
    iterate(clip, total, |lo, hi| {
        let mut k = 0;
        let len = cell.get();
        for i in 0..len {
            let v = vals[i];
            if v >= lo && v <= hi {
                vals.swap(i, k);
                k += 1;
            }
        }
        cell.set(k);
        let kept = &mut vals[..k];
        let m = Moments::of(kept, &Keep::NOT_NAN);
        let (a, b, _) = percentile_ranks((k as u64).max(1), 50.0);
        let at = if k == 0 {
            Vec::new()
        } else {
            select_in_memory(kept, &[a, b])
        };
        let get = |r: u64| at.iter().find(|x| x.0 == r).map_or(f64::NAN, |x| x.1);
        Ok(Center {
            n: k as u64,
            mean: m.mean(),
            median: median_of(k as u64, get),
            std: m.std(0),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    #[test]
    fn matches_astropy_on_a_small_case() {
        // astropy.stats.sigma_clipped_stats([1, 2, 3, 4, 5, 6, 7, 8, 9, 100, nan, inf])
        // -> (5.0, 5.0, 2.581988897471611); 100 clipped in the first iteration, stop at the 2nd
        let v = [
            1.0,
            2.0,
            3.0,
            4.0,
            5.0,
            6.0,
            7.0,
            8.0,
            9.0,
            100.0,
            f64::NAN,
            f64::INFINITY,
        ];
        let a = MemArray::new(ArrayBuf::from_vec(vec![12], &v).unwrap());
        for budget in [1 << 20, 64] {
            let opts = Options {
                budget,
                ..Options::default()
            };
            let s = sigma_clipped_stats(&a, &SigmaClip::default(), &opts).unwrap();
            assert_eq!((s.mean, s.median), (5.0, 5.0));
            assert!((s.std - 2.581988897471611).abs() < 1e-15);
            assert_eq!((s.count, s.rejected, s.iterations), (9, 3, 2));
        }
        let mut w = v.to_vec();
        let s = sigma_clip_values(&mut w, &SigmaClip::default()).unwrap();
        assert_eq!((s.mean, s.median, s.count), (5.0, 5.0, 9));
    }

    #[test]
    fn no_finite_values() {
        let a = MemArray::new(ArrayBuf::from_vec(vec![2], &[f64::NAN, f64::NAN]).unwrap());
        let s = sigma_clipped_stats(&a, &SigmaClip::default(), &Options::default()).unwrap();
        assert!(s.mean.is_nan() && s.median.is_nan() && s.std.is_nan());
        assert_eq!(s.count, 0);
    }
}
