//! Order statistics and reductions of an [`Array`]: medians and percentiles, histograms,
//! sigma-clipped statistics, reductions along several axes — all out of core (memory within the
//! budget of the [`WorkOptions`]), on the dataset's thread pool, NaN-aware as numpy's
//! nan-functions and astropy's `sigma_clipped_stats` are.

use crate::array::Array;
use crate::error::{Error, Result};
use nd_ops::{
    AxesResult, ClippedStats, Histogram, Options as WorkOptions, Quantiles, Reduction, SigmaClip,
};

impl Array {
    /// Exact percentiles `q` (0..=100) of the non-NaN values, as numpy's `nanpercentile(a, q)`
    /// (method `linear`), in a few passes with memory within `opts.budget`.
    ///
    /// # Errors
    /// [`Error::Input`] for a percentile outside 0..=100, values that are not real numbers, or a
    /// failed read.
    pub fn quantiles(&self, q: &[f64], opts: &WorkOptions) -> Result<Quantiles> {
        self.on_pool(|| nd_ops::quantiles(self.as_read(), q, opts))
            .map_err(|e| self.fail(e))
    }

    /// The median of the non-NaN values (numpy's `nanmedian`; NaN when there are none).
    ///
    /// # Errors
    /// As [`Array::quantiles`].
    pub fn median(&self, opts: &WorkOptions) -> Result<f64> {
        Ok(self.quantiles(&[50.0], opts)?.values[0])
    }

    /// The histogram in `bins` equal bins over `range`, or over the finite values' min..max, as
    /// `numpy.histogram` counts (see [`nd_ops::histogram`]).
    ///
    /// # Errors
    /// [`Error::Input`] for no bins, a bad range, values that are not real numbers, or a
    /// failed read.
    pub fn histogram(
        &self,
        bins: usize,
        range: Option<(f64, f64)>,
        opts: &WorkOptions,
    ) -> Result<Histogram> {
        self.on_pool(|| nd_ops::histogram(self.as_read(), bins, range, opts))
            .map_err(|e| self.fail(e))
    }

    /// astropy's `sigma_clipped_stats` (cenfunc median, stdfunc std, ddof 0) of all values.
    ///
    /// # Errors
    /// [`Error::Input`] for bad parameters, values that are not real numbers, or a failed read.
    pub fn sigma_clipped_stats(
        &self,
        clip: &SigmaClip,
        opts: &WorkOptions,
    ) -> Result<ClippedStats> {
        self.on_pool(|| nd_ops::sigma_clipped_stats(self.as_read(), clip, opts))
            .map_err(|e| self.fail(e))
    }

    /// `what` along `axes` (numpy order, negative from the end), e.g. the median image of a
    /// cube along axis 0, or the mean spectrum over axes `[1, 2]`.
    ///
    /// # Errors
    /// [`Error::Input`] for bad axes or parameters, values the reduction does not define, an
    /// output larger than memory, or a failed read.
    pub fn reduce_axes(
        &self,
        axes: &[i64],
        what: &Reduction,
        opts: &WorkOptions,
    ) -> Result<AxesResult> {
        let axes = nd_ops::normalize_axes(axes, self.shape().len()).map_err(|e| self.fail(e))?;
        self.on_pool(|| nd_ops::along_axes(self.as_read(), &axes, what, opts))
            .map_err(|e| self.fail(e))
    }
}

/// The statistics a name selects (`nd stat --stat NAME`, `ndfiles` `Array.reduce`): the
/// reduction that computes it and the field of the result that holds it. A plain statistic is
/// [`Reduction::StatsOnly`] of that one field, so that a reduction computes nothing else.
///
/// Names: `count`, `nan_count`, `sum`, `mean`, `min`, `max`, `std` (numpy's nan-functions,
/// ddof 0); `median`, `pQ` (percentile Q, e.g. `p95`, `p99.5`; numpy's `nanpercentile`);
/// `clipped_mean`, `clipped_median`, `clipped_std`, `clipped_count` (astropy's
/// `sigma_clipped_stats` with `clip`).
///
/// # Errors
/// [`Error::Input`] for another name.
pub fn stat_reduction(name: &str, clip: SigmaClip) -> Result<(Reduction, String)> {
    let name = name.trim();
    match name {
        "count" | "nan_count" | "sum" | "mean" | "min" | "max" | "std" => Ok((
            Reduction::StatsOnly(vec![name.to_string()]),
            name.to_string(),
        )),
        "median" => Ok((Reduction::Percentiles(vec![50.0]), "p50".into())),
        "clipped_mean" | "clipped_median" | "clipped_std" | "clipped_count" => {
            Ok((Reduction::SigmaClip(clip), name.to_string()))
        }
        _ => {
            let q = name
                .strip_prefix('p')
                .and_then(|q| q.parse::<f64>().ok())
                .filter(|q| (0.0..=100.0).contains(q));
            match q {
                Some(q) => Ok((Reduction::Percentiles(vec![q]), format!("p{q}"))),
                None => Err(Error::input(format!(
                    "unknown statistic '{name}': give count, nan_count, sum, mean, min, max, std, \
                     median, pQ (a percentile 0..100, e.g. p95), clipped_mean, clipped_median, \
                     clipped_std or clipped_count"
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            stat_reduction("p99.5", SigmaClip::default()).unwrap().1,
            "p99.5"
        );
        assert_eq!(
            stat_reduction("median", SigmaClip::default()).unwrap().0,
            Reduction::Percentiles(vec![50.0])
        );
        assert_eq!(
            stat_reduction("sum", SigmaClip::default()).unwrap(),
            (Reduction::StatsOnly(vec!["sum".into()]), "sum".into())
        );
        for bad in ["p101", "px", "avg", ""] {
            assert!(stat_reduction(bad, SigmaClip::default()).is_err(), "{bad}");
        }
    }
}
