//! Floating-point quantization of tile-compressed images: the dither sequence and the
//! unquantize step, exactly as cfitsio / astropy compute them.

use std::sync::OnceLock;

/// Number of entries of the dither sequence.
pub const N_RANDOM: usize = 10_000;

/// The value SUBTRACTIVE_DITHER_2 uses for pixels that were exactly zero.
pub const ZERO_VALUE: i64 = -2_147_483_646;

/// The dither sequence (Park–Miller, a = 16807, m = 2^31 − 1, seed 1, as f32 of seed/m) and
/// the final seed (1043618065 when correct).
pub fn dither_table() -> &'static ([f32; N_RANDOM], i64) {
    static T: OnceLock<([f32; N_RANDOM], i64)> = OnceLock::new();
    T.get_or_init(|| {
        let (a, m) = (16807.0f64, 2147483647.0f64);
        let mut seed = 1.0f64;
        let mut v = [0f32; N_RANDOM];
        for x in v.iter_mut() {
            let temp = a * seed;
            seed = temp - m * ((temp / m) as i64 as f64);
            *x = (seed / m) as f32;
        }
        (v, seed as i64)
    })
}

/// How a tile's integers become floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dither {
    /// ZQUANTIZ = NO_DITHER: `q * ZSCALE + ZZERO`.
    None,
    /// SUBTRACTIVE_DITHER_1 (and astropy's "NONE" = 0, which dithers the same way).
    Subtractive1,
    /// SUBTRACTIVE_DITHER_2: as 1, and ZERO_VALUE means exactly 0.0.
    Subtractive2,
}

/// The dither state for one tile: `row` = tile index (0-based) + ZDITHER0, as astropy passes it.
pub struct DitherIter {
    iseed: usize,
    next: usize,
}

impl DitherIter {
    /// Start the sequence for a tile (cfitsio: `iseed = (row - 1) % 10000`).
    pub fn new(row: i64) -> Self {
        let iseed = (row - 1).rem_euclid(N_RANDOM as i64) as usize;
        let t = &dither_table().0;
        DitherIter {
            iseed,
            next: (t[iseed] * 500.0f32) as usize,
        }
    }

    /// The next dither value.
    #[inline(always)]
    pub fn next_value(&mut self) -> f32 {
        let t = &dither_table().0;
        let v = t[self.next.min(N_RANDOM - 1)];
        self.next += 1;
        if self.next == N_RANDOM {
            self.iseed += 1;
            if self.iseed == N_RANDOM {
                self.iseed = 0;
            }
            self.next = (t[self.iseed] * 500.0f32) as usize;
        }
        v
    }
}

/// Unquantize `q` (integers of the tile) into f64 results (to be rounded to f32 for ZBITPIX −32
/// by the caller, as cfitsio's `(float)` cast does). `wide` is true when the integers were
/// 4-byte values (only then does DITHER_2's ZERO_VALUE apply, as in cfitsio's i4 routines).
pub fn unquantize(
    q: &[i64],
    dither: Dither,
    row: i64,
    scale: f64,
    zero: f64,
    wide: bool,
    out: &mut [f64],
) {
    match dither {
        Dither::None => {
            for (o, &v) in out.iter_mut().zip(q) {
                *o = v as f64 * scale + zero;
            }
        }
        _ => {
            let mut it = DitherIter::new(row);
            let d2 = dither == Dither::Subtractive2 && wide;
            for (o, &v) in out.iter_mut().zip(q) {
                let r = it.next_value();
                *o = if d2 && v == ZERO_VALUE {
                    0.0
                } else {
                    (v as f64 - r as f64 + 0.5) * scale + zero
                };
            }
        }
    }
}

/// Quantize floats for writing (cfitsio's `fits_quantize_float` idea, simplified): returns the
/// integers, ZSCALE and ZZERO, or None when the tile cannot be quantized (all NaN handled by the
/// caller). `level` > 0: noise / level; < 0: |level| is the scale itself.
pub fn quantize(
    vals: &[f64],
    level: f64,
    dither: Dither,
    row: i64,
    nan_value: i64,
) -> Option<(Vec<i64>, f64, f64)> {
    let finite: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return Some((vec![nan_value; vals.len()], 1.0, 0.0));
    }
    let (mn, mx) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let scale = if level < 0.0 {
        -level
    } else {
        // Noise estimate: median absolute difference of neighbours (MAD of first differences).
        let mut d: Vec<f64> = finite.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        let noise = if d.is_empty() {
            0.0
        } else {
            let k = d.len() / 2;
            d.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
            d[k] * 1.0 / (2f64.sqrt() * 0.6745)
        };
        if noise == 0.0 {
            // Constant or integer-valued tile: use a scale of 1 / level.
            1.0 / level.max(1.0)
        } else {
            noise / level
        }
    };
    if scale.is_nan() || scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    // Integer range available: keep clear of the NaN marker and ZERO_VALUE.
    let range = (mx - mn) / scale;
    if range > 2.0 * 2147483600.0 - 10.0 {
        return None;
    }
    let zero = mn + (range / 2.0).floor() * scale;
    let mut it = DitherIter::new(row);
    let mut q = Vec::with_capacity(vals.len());
    for &v in vals {
        let r = if dither == Dither::None {
            0.5
        } else {
            it.next_value() as f64
        };
        if !v.is_finite() {
            q.push(nan_value);
        } else if dither == Dither::Subtractive2 && v == 0.0 {
            q.push(ZERO_VALUE);
        } else if dither == Dither::None {
            q.push(((v - zero) / scale).round() as i64);
        } else {
            q.push(((v - zero) / scale + r - 0.5).round() as i64);
        }
    }
    Some((q, scale, zero))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_10000th_seed_is_1043618065() {
        assert_eq!(dither_table().1, 1043618065);
        let t = &dither_table().0;
        assert!(t.iter().all(|&v| v > 0.0 && v < 1.0));
    }

    #[test]
    fn quantize_round_trip_within_a_step() {
        let vals: Vec<f64> = (0..500).map(|i| (i as f64 * 0.37).sin() * 100.0).collect();
        for d in [Dither::None, Dither::Subtractive1, Dither::Subtractive2] {
            let (q, s, z) = quantize(&vals, 4.0, d, 17, i32::MIN as i64).unwrap();
            let mut out = vec![0f64; vals.len()];
            unquantize(&q, d, 17, s, z, true, &mut out);
            for (a, b) in vals.iter().zip(&out) {
                assert!((a - b).abs() <= s, "{a} {b} {s}");
            }
        }
    }
}
