//! What the order statistics share: reading a region of an array block by block as f64 values
//! (in parallel, within the budget), which values count, numpy's interpolation between two order
//! statistics, and the mean and standard deviation of the values kept.

use crate::Options;
use nd_core::{cast::cast_into, ArrayRead, DataType, Error, Region, Result};
use rayon::prelude::*;
use std::sync::Mutex;

/// Which values a reduction counts: never NaN; with `finite`, only finite values within
/// `lo..=hi` (sigma clipping: astropy drops infinities as well as NaN).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keep {
    pub lo: f64,
    pub hi: f64,
    pub finite: bool,
}

impl Keep {
    /// Every value but NaN (numpy's nan-functions).
    pub const NOT_NAN: Keep = Keep {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
        finite: false,
    };

    /// Finite values within `lo..=hi`.
    pub fn finite_within(lo: f64, hi: f64) -> Keep {
        Keep {
            lo,
            hi,
            finite: true,
        }
    }

    #[inline(always)]
    pub fn test(&self, v: f64) -> bool {
        if self.finite {
            v.is_finite() && v >= self.lo && v <= self.hi
        } else {
            !v.is_nan()
        }
    }
}

/// Fail for values whose order statistics nd does not define (complex, strings, records).
pub(crate) fn check_real(dtype: &DataType, what: &str) -> Result<()> {
    match dtype {
        DataType::Complex64 | DataType::Complex128 => {
            Err(Error::Unsupported(format!("{what} of {dtype} values")))
        }
        d if d.is_numeric() => Ok(()),
        d => Err(Error::Unsupported(format!("{what} of {d} values"))),
    }
}

/// Bytes each element of a block costs while it is reduced: its stored value and its f64 copy.
pub(crate) fn block_elem(dtype: &DataType) -> usize {
    dtype.size().max(1) + 8
}

/// Read `region` of `src` block by block in parallel (at most `opts.budget` bytes of blocks and
/// their f64 copies in flight), handing each block's values as f64 (numpy's `astype(float64)`)
/// to `fold` on a per-block accumulator made by `init`, and merging the accumulators with
/// `merge` (in no particular order).
pub(crate) fn fold_values<A: Send>(
    src: &dyn ArrayRead,
    region: &Region,
    opts: &Options,
    init: impl Fn() -> A + Sync,
    fold: impl Fn(&mut A, &[f64]) + Sync,
    merge: impl Fn(&mut A, A) + Sync,
) -> Result<A> {
    let dtype = src.dtype().clone();
    let shape = region.shape();
    let cs = src.chunk_shape();
    let blocks = crate::plan(&shape, block_elem(&dtype), &cs, &cs, opts)?;
    let origin = region.start();
    let total = Mutex::new(init());
    opts.run(|| {
        blocks
            .par_iter()
            .with_max_len(1)
            .try_for_each(|b| -> Result<()> {
                let r = Region::new(
                    b.ranges
                        .iter()
                        .zip(&origin)
                        .map(|(x, &o)| x.start + o..x.end + o)
                        .collect(),
                );
                let buf = src.read_region(&r)?;
                let mut vals = vec![0f64; buf.len()];
                cast_into(&dtype, buf.bytes(), &mut vals)?;
                drop(buf);
                let mut acc = init();
                fold(&mut acc, &vals);
                let mut t = total
                    .lock()
                    .map_err(|_| Error::Unsupported("poisoned".into()))?;
                merge(&mut t, acc);
                Ok(())
            })
    })??;
    total
        .into_inner()
        .map_err(|_| Error::Unsupported("poisoned".into()))
}

/// An order-preserving key of an f64: keys compare as the values do (`-0.0` just below `0.0`).
#[inline(always)]
pub(crate) fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The value of a [`key`].
pub(crate) fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Where numpy's default (`linear`) percentile `q` (0..=100) of `n` sorted values falls: the
/// two ranks to interpolate between and the weight of the second.
pub(crate) fn percentile_ranks(n: u64, q: f64) -> (u64, u64, f64) {
    if n == 0 {
        return (0, 0, 0.0);
    }
    let h = (n - 1) as f64 * (q / 100.0);
    let lo = h.floor().clamp(0.0, (n - 1) as f64);
    let hi = (lo + 1.0).min((n - 1) as f64);
    (lo as u64, hi as u64, h - lo)
}

/// numpy's `_lerp`: `a + (b - a) t`, computed from `b`'s side when `t >= 0.5`.
pub(crate) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Check percentiles (0..=100, as numpy's `percentile`).
pub(crate) fn check_percentiles(q: &[f64]) -> Result<()> {
    match q.iter().find(|q| !(0.0..=100.0).contains(*q)) {
        Some(bad) => Err(Error::Unsupported(format!(
            "percentile {bad} is not within 0..100"
        ))),
        None => Ok(()),
    }
}

/// Count, mean and sum of squared deviations of a set of values, mergeable (Chan et al.).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// The moments of the values of `v` that `keep` accepts (two passes over `v`).
    pub fn of(v: &[f64], keep: &Keep) -> Moments {
        let (mut n, mut s) = (0u64, 0f64);
        for &x in v {
            if keep.test(x) {
                n += 1;
                s += x;
            }
        }
        if n == 0 {
            return Moments::default();
        }
        let mean = s / n as f64;
        let m2 = v
            .iter()
            .filter(|&&x| keep.test(x))
            .map(|&x| (x - mean) * (x - mean))
            .sum();
        Moments { n, mean, m2 }
    }

    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        self.mean += d * o.n as f64 / n as f64;
        self.m2 += o.m2 + d * d * self.n as f64 * o.n as f64 / n as f64;
        self.n = n;
    }

    /// The mean (NaN with no values).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// The standard deviation with `ddof` delta degrees of freedom (NaN when `n <= ddof`).
    pub fn std(&self, ddof: u64) -> f64 {
        if self.n <= ddof {
            f64::NAN
        } else {
            (self.m2 / (self.n - ddof) as f64).max(0.0).sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_as_values() {
        let vals = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            1e-300,
            1.0,
            2.5,
            f64::INFINITY,
        ];
        for w in vals.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
        }
        for v in vals {
            assert_eq!(unkey(key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn percentile_ranks_as_numpy() {
        // np.percentile(np.arange(10.), 33) == 2.97: between ranks 2 and 3, weight 0.97
        let (lo, hi, t) = percentile_ranks(10, 33.0);
        assert_eq!((lo, hi), (2, 3));
        assert!((lerp(2.0, 3.0, t) - 2.97).abs() < 1e-12);
        assert_eq!(percentile_ranks(1, 50.0), (0, 0, 0.0));
        assert_eq!(percentile_ranks(5, 100.0).0, 4);
    }
}
