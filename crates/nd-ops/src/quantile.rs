//! Exact medians and percentiles of arrays larger than memory, as numpy's `nanmedian` and
//! `nanpercentile` (default `linear` method) give them.
//!
//! The values are never sorted as a whole. Each value maps to a 64-bit key that orders as the
//! values do ([`key`]); a first pass counts the keys by their top 16 bits (and the NaNs), which
//! says in which bucket each wanted rank lies. Each further pass looks only at the values of
//! those buckets: it collects them when they fit a quarter of the budget (then the final answer
//! is read off the sorted few, exactly), or else counts them by their next 16 bits. After at most
//! four counting passes a bucket is a single key, so the value is exact in any case. A typical
//! image needs two or three passes; the memory is one block per thread plus the collected
//! candidates, whatever the array's size. Arrays whose values fit a quarter of the budget are
//! read once and selected in memory.

use crate::values::{
    check_percentiles, check_real, fold_values, key, lerp, percentile_ranks, unkey, Keep, Moments,
};
use crate::Options;
use nd_core::{ArrayRead, Region, Result};

/// Bits of the key resolved per counting pass.
const DIGIT: u32 = 16;
/// Buckets per counting pass.
const BUCKETS: usize = 1 << DIGIT;

/// Percentiles of the non-NaN values of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    /// Number of non-NaN values.
    pub count: u64,
    /// Number of NaN values.
    pub nan_count: u64,
    /// One value per percentile asked for, in the order asked (NaN when `count` is 0).
    pub values: Vec<f64>,
}

/// Exact percentiles `q` (each within 0..=100; 50 is the median) of the non-NaN values of `src`,
/// as numpy's `nanpercentile(a, q)` (method `linear`) computes them, in f64. Infinite values
/// take part as numpy's do. Out of core: a few passes over the array, memory within
/// `opts.budget`: counts by the top 16 bits of an order-preserving key, then only the
/// buckets holding the ranks wanted, collected and selected once they fit a quarter of the budget.
///
/// # Errors
/// A percentile outside 0..=100, values that are not real numbers, or a failed read.
pub fn quantiles(src: &dyn ArrayRead, q: &[f64], opts: &Options) -> Result<Quantiles> {
    check_real(src.dtype(), "percentiles")?;
    check_percentiles(q)?;
    let region = Region::full(src.shape());
    let sel = select_ranks(src, &region, Keep::NOT_NAN, opts, |n| {
        q.iter()
            .flat_map(|&q| {
                let (a, b, _) = percentile_ranks(n, q);
                [a, b]
            })
            .collect()
    })?;
    Ok(Quantiles {
        count: sel.n,
        nan_count: sel.skipped,
        values: q.iter().map(|&q| sel.percentile(q)).collect(),
    })
}

/// What [`select_ranks`] found: the number of values kept and skipped, their moments, and the
/// value at each rank asked for.
#[derive(Debug, Clone)]
pub(crate) struct Ranked {
    pub n: u64,
    pub skipped: u64,
    pub moments: Moments,
    /// (rank, value), sorted by rank.
    pub at: Vec<(u64, f64)>,
}

impl Ranked {
    /// The value at `rank` (which must have been asked for).
    fn value(&self, rank: u64) -> f64 {
        match self.at.binary_search_by_key(&rank, |&(r, _)| r) {
            Ok(i) => self.at[i].1,
            Err(_) => f64::NAN,
        }
    }

    /// numpy's linear percentile `q` from the ranks asked for.
    pub fn percentile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let (a, b, t) = percentile_ranks(self.n, q);
        lerp(self.value(a), self.value(b), t)
    }
}

/// The values at ranks `ranks` of `vals` (sorted ranks, each `< vals.len()`), selected in place.
pub(crate) fn select_in_memory(vals: &mut [f64], ranks: &[u64]) -> Vec<(u64, f64)> {
    let mut out = Vec::with_capacity(ranks.len());
    let mut start = 0usize;
    for &r in ranks {
        let r = r as usize;
        if r >= vals.len() {
            break;
        }
        if r >= start {
            let (_, v, _) = vals[start..].select_nth_unstable_by(r - start, f64::total_cmp);
            out.push((r as u64, *v));
            start = r + 1;
        } else {
            // a repeated rank: already in place
            out.push((r as u64, vals[r]));
        }
    }
    out
}

/// The sorted, distinct ranks `< n` of a list.
fn sorted_ranks(mut r: Vec<u64>, n: u64) -> Vec<u64> {
    r.retain(|&x| x < n);
    r.sort_unstable();
    r.dedup();
    r
}

/// One rank being searched for: the key prefix of the bucket holding it, how many bits that
/// prefix has, the rank within the bucket and the bucket's size.
#[derive(Debug, Clone, Copy)]
struct Target {
    rank: u64,
    prefix: u64,
    bits: u32,
    within: u64,
    size: u64,
    value: Option<f64>,
}

/// The bucket of `hist` holding rank `within` (0-based): (bucket, rank within it, its size).
fn locate(hist: &[u64], within: u64) -> (u64, u64, u64) {
    let mut before = 0u64;
    for (b, &c) in hist.iter().enumerate() {
        if within < before + c {
            return (b as u64, within - before, c);
        }
        before += c;
    }
    // not reached when `within` is below the total
    (hist.len() as u64 - 1, 0, 0)
}

/// Per-block (and then merged) work of one refining pass, one entry per bucket searched.
enum Part {
    Collect(Vec<f64>),
    Count(Vec<u64>),
}

/// The values at the ranks `ranks_of(n)` (0-based, among the `n` values `keep` accepts, in
/// ascending order) of `region` of `src`, with their count and moments, out of core.
pub(crate) fn select_ranks(
    src: &dyn ArrayRead,
    region: &Region,
    keep: Keep,
    opts: &Options,
    ranks_of: impl Fn(u64) -> Vec<u64>,
) -> Result<Ranked> {
    let collect_budget = (opts.budget / 4).max(1024) as u64;
    let total = region.num_elements();
    // extra 8 bytes per element: a block's values collected before they are merged
    let block_opts = Options {
        budget: opts.budget,
        threads: opts.threads,
        progress: None,
    };
    if total.saturating_mul(8) <= collect_budget {
        let (mut vals, skipped, moments) = fold_values(
            src,
            region,
            &block_opts,
            || (Vec::new(), 0u64, Moments::default()),
            |(v, s, m), x| {
                let before = v.len();
                v.extend(x.iter().copied().filter(|&x| keep.test(x)));
                *s += (x.len() - (v.len() - before)) as u64;
                m.merge(&Moments::of(&v[before..], &keep));
            },
            |(v, s, m), (v2, s2, m2)| {
                v.extend(v2);
                *s += s2;
                m.merge(&m2);
            },
        )?;
        let n = vals.len() as u64;
        let ranks = sorted_ranks(ranks_of(n), n);
        let at = select_in_memory(&mut vals, &ranks);
        return Ok(Ranked {
            n,
            skipped,
            moments,
            at,
        });
    }
    // first pass: counts by the top 16 bits, skipped values, moments
    let (hist, skipped, moments) = fold_values(
        src,
        region,
        &block_opts,
        || (vec![0u64; BUCKETS], 0u64, Moments::default()),
        |(h, s, m), x| {
            let mut n = 0u64;
            for &v in x {
                if keep.test(v) {
                    h[(key(v) >> (64 - DIGIT)) as usize] += 1;
                    n += 1;
                }
            }
            *s += x.len() as u64 - n;
            m.merge(&Moments::of(x, &keep));
        },
        |(h, s, m), (h2, s2, m2)| {
            for (a, b) in h.iter_mut().zip(h2) {
                *a += b;
            }
            *s += s2;
            m.merge(&m2);
        },
    )?;
    let n = moments.n;
    let ranks = sorted_ranks(ranks_of(n), n);
    let mut targets: Vec<Target> = ranks
        .iter()
        .map(|&rank| {
            let (b, within, size) = locate(&hist, rank);
            Target {
                rank,
                prefix: b,
                bits: DIGIT,
                within,
                size,
                value: None,
            }
        })
        .collect();
    drop(hist);
    while targets.iter().any(|t| t.value.is_none()) {
        // the buckets searched in this pass (all open targets have prefixes of the same length)
        let mut groups: Vec<(u64, u64)> = targets
            .iter()
            .filter(|t| t.value.is_none())
            .map(|t| (t.prefix, t.size))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let bits = targets
            .iter()
            .find(|t| t.value.is_none())
            .map_or(DIGIT, |t| t.bits);
        let mut room = collect_budget;
        let collect: Vec<bool> = groups
            .iter()
            .map(|&(_, size)| {
                let fits = size.saturating_mul(8) <= room;
                if fits {
                    room -= size * 8;
                }
                fits
            })
            .collect();
        let prefixes: Vec<u64> = groups.iter().map(|g| g.0).collect();
        let shift = 64 - bits;
        let parts = fold_values(
            src,
            region,
            &block_opts,
            || {
                collect
                    .iter()
                    .map(|&c| {
                        if c {
                            Part::Collect(Vec::new())
                        } else {
                            Part::Count(vec![0u64; BUCKETS])
                        }
                    })
                    .collect::<Vec<Part>>()
            },
            |parts, x| {
                for &v in x {
                    if !keep.test(v) {
                        continue;
                    }
                    let k = key(v);
                    let Ok(g) = prefixes.binary_search(&(k >> shift)) else {
                        continue;
                    };
                    match &mut parts[g] {
                        Part::Collect(c) => c.push(v),
                        Part::Count(h) => {
                            h[((k << bits) >> (64 - DIGIT)) as usize] += 1;
                        }
                    }
                }
            },
            |parts, more| {
                for (p, m) in parts.iter_mut().zip(more) {
                    match (p, m) {
                        (Part::Collect(a), Part::Collect(b)) => a.extend(b),
                        (Part::Count(a), Part::Count(b)) => {
                            for (x, y) in a.iter_mut().zip(b) {
                                *x += y;
                            }
                        }
                        _ => {}
                    }
                }
            },
        )?;
        for (g, part) in parts.into_iter().enumerate() {
            let prefix = prefixes[g];
            match part {
                Part::Collect(mut vals) => {
                    let mine: Vec<u64> = targets
                        .iter()
                        .filter(|t| t.value.is_none() && t.prefix == prefix)
                        .map(|t| t.within)
                        .collect();
                    let ranks = sorted_ranks(mine, vals.len() as u64);
                    let found = select_in_memory(&mut vals, &ranks);
                    for t in targets
                        .iter_mut()
                        .filter(|t| t.value.is_none() && t.prefix == prefix)
                    {
                        t.value = found
                            .iter()
                            .find(|&&(r, _)| r == t.within)
                            .map(|&(_, v)| v)
                            .or(Some(f64::NAN));
                    }
                }
                Part::Count(hist) => {
                    for t in targets
                        .iter_mut()
                        .filter(|t| t.value.is_none() && t.prefix == prefix)
                    {
                        let (b, within, size) = locate(&hist, t.within);
                        t.prefix = (t.prefix << DIGIT) | b;
                        t.bits += DIGIT;
                        t.within = within;
                        t.size = size;
                        if t.bits >= 64 {
                            t.value = Some(unkey(t.prefix));
                        }
                    }
                }
            }
        }
    }
    Ok(Ranked {
        n,
        skipped,
        moments,
        at: targets
            .iter()
            .map(|t| (t.rank, t.value.unwrap_or(f64::NAN)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemArray;
    use nd_core::ArrayBuf;

    fn numpy_percentile(v: &[f64], q: f64) -> f64 {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        s.sort_by(f64::total_cmp);
        if s.is_empty() {
            return f64::NAN;
        }
        let (a, b, t) = percentile_ranks(s.len() as u64, q);
        lerp(s[a as usize], s[b as usize], t)
    }

    /// Pseudo-random values with repeats, NaNs, both zeros and infinities.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (x >> 33) as f64 / (1u64 << 31) as f64;
                match i % 97 {
                    0 => f64::NAN,
                    1 => -0.0,
                    2 => f64::INFINITY,
                    3 => 7.0,
                    _ => (r - 0.3) * 1e3,
                }
            })
            .collect()
    }

    #[test]
    fn out_of_core_equals_sorting() {
        let q = [0.0, 0.5, 13.0, 50.0, 77.7, 99.0, 100.0];
        for (n, budget) in [
            (1, 1 << 20),
            (10, 1 << 20),
            (5000, 1 << 10),
            (100_000, 64 << 10),
        ] {
            let v = values(n, n as u64);
            let a = MemArray::new(ArrayBuf::from_vec(vec![n as u64], &v).unwrap());
            let opts = Options {
                budget,
                ..Options::default()
            };
            let got = quantiles(&a, &q, &opts).unwrap();
            assert_eq!(got.count + got.nan_count, n as u64);
            for (i, &q) in q.iter().enumerate() {
                let want = numpy_percentile(&v, q);
                assert!(
                    got.values[i] == want || (got.values[i].is_nan() && want.is_nan()),
                    "n {n} q {q}: {} vs {want}",
                    got.values[i]
                );
            }
        }
    }

    #[test]
    fn all_nan_and_bad_percentile() {
        let a = MemArray::new(ArrayBuf::from_vec(vec![3], &[f64::NAN; 3]).unwrap());
        let got = quantiles(&a, &[50.0], &Options::default()).unwrap();
        assert_eq!((got.count, got.nan_count), (0, 3));
        assert!(got.values[0].is_nan());
        assert!(quantiles(&a, &[101.0], &Options::default()).is_err());
    }

    #[test]
    fn integers_and_one_bucket() {
        // many equal values: every pass lands in one bucket until the key is whole
        let v: Vec<i32> = (0..200_000)
            .map(|i| if i % 3 == 0 { 5 } else { i })
            .collect();
        let a = MemArray::new(ArrayBuf::from_vec(vec![200_000], &v).unwrap());
        let opts = Options {
            budget: 1 << 20,
            ..Options::default()
        };
        let got = quantiles(&a, &[0.0, 25.0, 50.0, 100.0], &opts).unwrap();
        let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        for (i, q) in [0.0, 25.0, 50.0, 100.0].into_iter().enumerate() {
            assert_eq!(got.values[i], numpy_percentile(&f, q), "q {q}");
        }
    }
}
