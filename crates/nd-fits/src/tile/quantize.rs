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

impl Dither {
    /// The ZQUANTIZ name: `NO_DITHER`, `SUBTRACTIVE_DITHER_1` or `SUBTRACTIVE_DITHER_2`.
    pub fn name(self) -> &'static str {
        match self {
            Dither::None => "NO_DITHER",
            Dither::Subtractive1 => "SUBTRACTIVE_DITHER_1",
            Dither::Subtractive2 => "SUBTRACTIVE_DITHER_2",
        }
    }
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
    unquantize_map(q, dither, row, scale, zero, wide, None, out, |v| v)
}

/// [`unquantize`] for integers of any width, values equal to `zblank` (compared as integers)
/// made NaN, and each f64 result passed through `f` (e.g. the cast to f32) as it is stored.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn unquantize_map<Q: Copy + Into<i64>, O>(
    q: &[Q],
    dither: Dither,
    row: i64,
    scale: f64,
    zero: f64,
    wide: bool,
    zblank: Option<i64>,
    out: &mut [O],
    f: impl Fn(f64) -> O,
) {
    let blank = |v: i64| zblank == Some(v);
    match dither {
        Dither::None => {
            for (o, &v) in out.iter_mut().zip(q) {
                let v: i64 = v.into();
                *o = f(if blank(v) {
                    f64::NAN
                } else {
                    v as f64 * scale + zero
                });
            }
        }
        _ => {
            let mut it = DitherIter::new(row);
            let d2 = dither == Dither::Subtractive2 && wide;
            for (o, &v) in out.iter_mut().zip(q) {
                let v: i64 = v.into();
                let r = it.next_value();
                *o = f(if blank(v) {
                    f64::NAN
                } else if d2 && v == ZERO_VALUE {
                    0.0
                } else {
                    (v as f64 - r as f64 + 0.5) * scale + zero
                });
            }
        }
    }
}

// Quantizing for writing: cfitsio's fits_quantize_float / _double as astropy calls them.
macro_rules! quantizer {
    ($noise:ident, $quantize:ident, $t:ty) => {
        /// cfitsio's FnNoise5 for one row of pixels (astropy passes the tile as one row, no
        /// null check): (min, max, noise2, noise3, noise5).
        fn $noise(a: &[$t]) -> ($t, $t, f64, f64, f64) {
            let (mut mn, mut mx) = (<$t>::MAX, -<$t>::MAX);
            for &v in a {
                if v < mn {
                    mn = v;
                }
                if v > mx {
                    mx = v;
                }
            }
            let nx = a.len();
            if nx < 9 {
                return (mn, mx, 0.0, 0.0, 0.0);
            }
            let mut d2: Vec<$t> = vec![0.0; nx];
            let mut d3: Vec<$t> = vec![0.0; nx];
            let mut d5: Vec<$t> = vec![0.0; nx];
            let (mut nvals, mut nvals2) = (0usize, 0usize);
            let [mut v1, mut v2, mut v3, mut v4, mut v5, mut v6, mut v7, mut v8] =
                [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]; // ok: nx >= 9
            for &v9 in &a[8..] {
                if !(v5 == v6 && v6 == v7) {
                    d2[nvals2] = (v5 - v7).abs();
                    nvals2 += 1;
                }
                if !(v3 == v4 && v4 == v5 && v5 == v6 && v6 == v7) {
                    d3[nvals] = ((2.0 * v5) - v3 - v7).abs();
                    d5[nvals] = ((6.0 * v5) - (4.0 * v3) - (4.0 * v7) + v1 + v9).abs();
                    nvals += 1;
                }
                v1 = v2;
                v2 = v3;
                v3 = v4;
                v4 = v5;
                v5 = v6;
                v6 = v7;
                v7 = v8;
                v8 = v9;
            }
            let _ = (v1, v2, v8);
            // The median as cfitsio's quick_select returns it: element (n - 1) / 2.
            let median = |d: &mut [$t]| -> f64 {
                let k = (d.len() - 1) / 2;
                d.select_nth_unstable_by(k, |x, y| x.total_cmp(y));
                d[k] as f64
            };
            let (x2, x3, x5) = if nvals == 0 {
                (0.0, 0.0, 0.0)
            } else if nvals == 1 {
                let x2 = if nvals2 == 1 { d2[0] as f64 } else { 0.0 };
                (x2, d3[0] as f64, d5[0] as f64)
            } else {
                // cfitsio takes the median of the first `nvals` second-order differences
                // (zeros past `nvals2`), as it does.
                let x2 = if nvals2 > 1 {
                    median(&mut d2[..nvals])
                } else {
                    0.0
                };
                (x2, median(&mut d3[..nvals]), median(&mut d5[..nvals]))
            };
            (mn, mx, 1.0483579 * x2, 0.6052697 * x3, 0.1772048 * x5)
        }

        /// cfitsio's fits_quantize_float / _double as astropy calls it (no null check, `row` =
        /// tile index + ZDITHER0, or 0 for no dithering): the integers, ZSCALE and ZZERO, or
        /// None when the tile is not to be quantized.
        pub fn $quantize(
            a: &[$t],
            level: f32,
            dither: Dither,
            row: i64,
        ) -> Option<(Vec<i32>, f64, f64)> {
            let nx = a.len();
            if nx <= 1 {
                return None;
            }
            let (mn, mx, delta) = if level >= 0.0 {
                let (mn, mx, n2, n3, n5) = $noise(a);
                let mut stdev = n3;
                if n2 != 0.0 && n2 < stdev {
                    stdev = n2;
                }
                if n5 != 0.0 && n5 < stdev {
                    stdev = n5;
                }
                let delta = if level == 0.0 {
                    stdev / 4.0
                } else {
                    stdev / level as f64
                };
                if delta == 0.0 {
                    return None;
                }
                (mn, mx, delta)
            } else {
                let (mn, mx, ..) = $noise(&a[..nx.min(1)]);
                let (mn, mx) = a.iter().fold((mn, mx), |(lo, hi), &v| {
                    (if v < lo { v } else { lo }, if v > hi { v } else { hi })
                });
                (mn, mx, -(level as f64))
            };
            let span = (mx - mn) as f64;
            if span / delta > 2.0 * 2147483647.0 - 10.0 {
                return None;
            }
            let zeropt = if dither == Dither::Subtractive2 {
                mn as f64 - delta * (-2147483647.0 + 10.0)
            } else if span / delta < 2147483647.0 - 10.0 {
                let iq = (mn as f64 / delta + 0.5) as i64;
                iq as f64 * delta
            } else {
                ((mn + mx) as f64) / 2.0
            };
            let nint = |x: f64| -> i32 {
                if x >= 0.0 {
                    (x + 0.5) as i32
                } else {
                    (x - 0.5) as i32
                }
            };
            let t = &dither_table().0;
            let mut q = Vec::with_capacity(nx);
            if row > 0 {
                let mut iseed = ((row - 1) % N_RANDOM as i64) as usize;
                let mut next = (t[iseed] as f64 * 500.0) as usize;
                for &v in a {
                    if dither == Dither::Subtractive2 && v == 0.0 {
                        q.push(ZERO_VALUE as i32);
                    } else {
                        let r = t[next.min(N_RANDOM - 1)] as f64;
                        q.push(nint(((v as f64 - zeropt) / delta) + r - 0.5));
                    }
                    next += 1;
                    if next == N_RANDOM {
                        iseed += 1;
                        if iseed == N_RANDOM {
                            iseed = 0;
                        }
                        next = (t[iseed] * 500.0f32) as usize;
                    }
                }
            } else {
                for &v in a {
                    q.push(nint((v as f64 - zeropt) / delta));
                }
            }
            Some((q, delta, zeropt))
        }
    };
}

quantizer!(noise5_f32, quantize_f32, f32);
quantizer!(noise5_f64, quantize_f64, f64);

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
            let row = if d == Dither::None { 0 } else { 17 };
            let (q, s, z) = quantize_f64(&vals, 4.0, d, row).unwrap();
            let q: Vec<i64> = q.into_iter().map(|v| v as i64).collect();
            let mut out = vec![0f64; vals.len()];
            unquantize(&q, d, row, s, z, true, &mut out);
            for (a, b) in vals.iter().zip(&out) {
                assert!((a - b).abs() <= s, "{a} {b} {s}");
            }
        }
    }

    #[test]
    fn noise_of_short_and_constant_rows() {
        assert_eq!(noise5_f64(&[1.0, 2.0, 3.0]), (1.0, 3.0, 0.0, 0.0, 0.0));
        let c = [5.0f32; 20];
        let (mn, mx, n2, n3, n5) = noise5_f32(&c);
        assert_eq!((mn, mx, n2, n3, n5), (5.0, 5.0, 0.0, 0.0, 0.0));
        assert!(quantize_f32(&c, 16.0, Dither::Subtractive1, 1).is_none());
        assert!(quantize_f32(&[1.0], 16.0, Dither::Subtractive1, 1).is_none());
        // A ramp: second differences vanish, noise3 and noise5 are 0, noise2 is not.
        let r: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let (_, _, n2, n3, n5) = noise5_f64(&r);
        assert_eq!((n3, n5), (0.0, 0.0));
        assert!((n2 - 2.0 * 1.0483579).abs() < 1e-12);
        // An absolute step quantizes even a constant tile.
        let (q, s, _) = quantize_f32(&c, -0.5, Dither::None, 0).unwrap();
        assert_eq!(s, 0.5);
        assert!(q.iter().all(|&v| v == q[0]));
    }
}
