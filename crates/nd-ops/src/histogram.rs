//! Histograms with equal bins, counted out of core exactly as `numpy.histogram(a, bins=N,
//! range=(lo, hi))` counts them: bins closed on the left, the last also on the right, values
//! outside the range (and NaN) not counted, edges and bin arithmetic in numpy's type (float32
//! for float32 and float16 data, float64 otherwise), so a value on an edge lands where numpy puts it.

use crate::values::{check_real, fold_values};
use crate::Options;
use nd_core::{ArrayRead, DataType, Error, Region, Result};

/// A histogram: `counts[i]` values in `edges[i]..edges[i + 1]` (the last bin closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `bins + 1` edges, ascending.
    pub edges: Vec<f64>,
    /// `bins` counts.
    pub counts: Vec<u64>,
    /// Values outside the range (infinities included) and NaNs, not counted.
    pub outside: u64,
}

/// The arithmetic numpy does in the histogram's type.
macro_rules! numpy_bins {
    ($name:ident, $t:ty) => {
        /// Edges and bin assignment in this float type, as numpy computes them.
        struct $name {
            first: $t,
            last: $t,
            denom: $t,
            edges: Vec<$t>,
        }

        impl $name {
            /// `explicit`: the range was given (numpy evaluates `linspace` in float64 and
            /// casts), else it is the data's min and max in this type.
            fn new(lo: f64, hi: f64, bins: usize, explicit: bool) -> Self {
                let div = bins as f64;
                let edges: Vec<$t> = if explicit {
                    let step = (hi - lo) / div;
                    (0..=bins)
                        .map(|i| {
                            let y = if step == 0.0 {
                                i as f64 / div * (hi - lo)
                            } else {
                                i as f64 * step
                            };
                            (if i == bins { hi } else { y + lo }) as $t
                        })
                        .collect()
                } else {
                    let (a, b) = (lo as $t, hi as $t);
                    let delta = b - a;
                    let step = delta / (bins as $t);
                    (0..=bins)
                        .map(|i| {
                            let y = if step == 0.0 {
                                (i as $t) / (bins as $t) * delta
                            } else {
                                (i as $t) * step
                            };
                            if i == bins {
                                b
                            } else {
                                y + a
                            }
                        })
                        .collect()
                };
                let denom = if explicit {
                    (hi - lo) as $t
                } else {
                    (hi as $t) - (lo as $t)
                };
                $name {
                    first: lo as $t,
                    last: hi as $t,
                    denom,
                    edges,
                }
            }

            /// The bin of `v`, or None outside the range (and for NaN).
            #[inline(always)]
            fn bin(&self, v: f64) -> Option<usize> {
                let x = v as $t;
                if !(x >= self.first && x <= self.last) {
                    return None;
                }
                let n = self.edges.len() - 1;
                let f = ((x - self.first) / self.denom) * (n as $t);
                let mut i = (f as usize).min(n);
                if i == n {
                    i -= 1;
                }
                if x < self.edges[i] && i > 0 {
                    i -= 1;
                }
                if x >= self.edges[i + 1] && i != n - 1 {
                    i += 1;
                }
                Some(i)
            }
        }
    };
}
numpy_bins!(Bins32, f32);
numpy_bins!(Bins64, f64);

/// One of the two.
enum Bins {
    F32(Bins32),
    F64(Bins64),
}

impl Bins {
    #[inline(always)]
    fn bin(&self, v: f64) -> Option<usize> {
        match self {
            Bins::F32(b) => b.bin(v),
            Bins::F64(b) => b.bin(v),
        }
    }

    fn edges(&self) -> Vec<f64> {
        match self {
            Bins::F32(b) => b.edges.iter().map(|&e| e as f64).collect(),
            Bins::F64(b) => b.edges.clone(),
        }
    }
}

/// The histogram of `src` in `bins` equal bins over `range` (inclusive), or over the smallest
/// and largest finite values when `range` is None (numpy refuses data with NaN or infinities
/// then; nd leaves them out, as `numpy.histogram(a[numpy.isfinite(a)], bins)`). An empty range
/// is widened by 0.5 each side, as numpy does. One pass over the array (two without `range`),
/// memory: one block per thread and the counts.
///
/// # Errors
/// No bins, more bins than half the budget holds, a range that is not finite or is reversed, values that are not real numbers, or a
/// failed read.
pub fn histogram(
    src: &dyn ArrayRead,
    bins: usize,
    range: Option<(f64, f64)>,
    opts: &Options,
) -> Result<Histogram> {
    check_real(src.dtype(), "a histogram")?;
    if bins == 0 || bins > 1 << 26 {
        return Err(Error::Unsupported(format!(
            "{bins} bins: give 1 to {}",
            1 << 26
        )));
    }
    // one count per bin in each block in flight and in the total
    let count_bytes = bins.saturating_mul(8).saturating_mul(opts.threads() + 1);
    if count_bytes > opts.budget / 2 {
        return Err(Error::Unsupported(format!(
            "{bins} bins need {count_bytes} bytes of counts ({} threads), more than half the \
             memory budget of {} bytes",
            opts.threads(),
            opts.budget
        )));
    }
    let region = Region::full(src.shape());
    let (lo, hi, explicit) = match range {
        Some((lo, hi)) => {
            if !(lo.is_finite() && hi.is_finite()) || lo > hi {
                return Err(Error::Unsupported(format!(
                    "histogram range {lo}..{hi}: give finite bounds, the lower first"
                )));
            }
            (lo, hi, true)
        }
        None => {
            let (lo, hi) = fold_values(
                src,
                &region,
                opts,
                || (f64::INFINITY, f64::NEG_INFINITY),
                |(a, b), x| {
                    for &v in x.iter().filter(|v| v.is_finite()) {
                        *a = a.min(v);
                        *b = b.max(v);
                    }
                },
                |(a, b), (c, d)| {
                    *a = a.min(c);
                    *b = b.max(d);
                },
            )?;
            if lo > hi {
                (0.0, 1.0, false) // no finite value: numpy's range for no data
            } else {
                (lo, hi, false)
            }
        }
    };
    let f32_type = matches!(src.dtype(), DataType::Float32 | DataType::Float16);
    let (lo, hi) = if lo == hi {
        if f32_type {
            (((lo as f32) - 0.5) as f64, ((hi as f32) + 0.5) as f64)
        } else {
            (lo - 0.5, hi + 0.5)
        }
    } else {
        (lo, hi)
    };
    let b = if f32_type {
        Bins::F32(Bins32::new(lo, hi, bins, explicit))
    } else {
        Bins::F64(Bins64::new(lo, hi, bins, explicit))
    };
    let (counts, outside) = fold_values(
        src,
        &region,
        opts,
        || (vec![0u64; bins], 0u64),
        |(c, o), x| {
            for &v in x {
                match b.bin(v) {
                    Some(i) => c[i] += 1,
                    None => *o += 1,
                }
            }
        },
        |(c, o), (c2, o2)| {
            for (a, b) in c.iter_mut().zip(c2) {
                *a += b;
            }
            *o += o2;
        },
    )?;
    Ok(Histogram {
        edges: b.edges(),
        counts,
        outside,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    #[test]
    fn last_bin_closed_nan_and_outside_left_out() {
        let v = [
            0.0f64,
            0.5,
            1.0,
            2.0,
            3.0,
            4.0,
            f64::NAN,
            -1.0,
            9.0,
            f64::INFINITY,
        ];
        let a = MemArray::new(ArrayBuf::from_vec(vec![10], &v).unwrap());
        // np.histogram([0, .5, 1, 2, 3, 4, -1, 9], bins=4, range=(0, 4)) -> [2, 1, 1, 2]
        let h = histogram(&a, 4, Some((0.0, 4.0)), &Options::default()).unwrap();
        assert_eq!(h.counts, vec![2, 1, 1, 2]);
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.outside, 4);
        // without a range: finite min..max = -1..9
        let h = histogram(&a, 2, None, &Options::default()).unwrap();
        assert_eq!(h.edges, vec![-1.0, 4.0, 9.0]);
        assert_eq!(h.counts, vec![6, 2]);
        assert!(histogram(&a, 0, None, &Options::default()).is_err());
        // the counts of every block in flight must fit half the budget
        let small = Options {
            budget: 1 << 16,
            threads: 1,
            progress: None,
        };
        assert!(histogram(&a, 4096, None, &small).is_err());
        assert!(histogram(&a, 1024, None, &small).is_ok());
        assert!(histogram(&a, 2, Some((1.0, 0.0)), &Options::default()).is_err());
    }

    #[test]
    fn constant_data_widened() {
        let a = MemArray::new(ArrayBuf::from_vec(vec![3], &[2i16, 2, 2]).unwrap());
        let h = histogram(&a, 2, None, &Options::default()).unwrap();
        assert_eq!(h.edges, vec![1.5, 2.0, 2.5]);
        assert_eq!(h.counts, vec![0, 3]);
    }
}
