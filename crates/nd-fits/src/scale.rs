//! Stored values to physical values: the element type of a BITPIX, astropy's choice of
//! scaling (BSCALE/BZERO/BLANK, the unsigned and signed-byte conventions) and the conversion of
//! big-endian stored bytes into native physical values.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::header::Header;
use nd_core::DataType;

/// The element type of a BITPIX value.
pub fn bitpix_dtype(bitpix: i64) -> Option<DataType> {
    Some(match bitpix {
        8 => DataType::UInt8,
        16 => DataType::Int16,
        32 => DataType::Int32,
        64 => DataType::Int64,
        -32 => DataType::Float32,
        -64 => DataType::Float64,
        _ => return None,
    })
}

/// How stored values become physical values (astropy's rules, `uint=True`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scaling {
    /// Physical = stored (no BSCALE/BZERO/BLANK, or raw reads).
    None,
    /// BITPIX 8 with BZERO = -128, BSCALE = 1: signed bytes.
    Int8,
    /// BITPIX 16/32/64 with BZERO = 2^15 / 2^31 / 2^63, BSCALE = 1: unsigned integers.
    Unsigned,
    /// Float32 result: `f32(x) * f32(BSCALE) + f32(BZERO)` (each step rounded to f32, as numpy
    /// does), BLANK values to NaN.
    F32 {
        /// BSCALE, when not 1.
        scale: Option<f32>,
        /// BZERO, when not 0.
        zero: Option<f32>,
        /// BLANK, when present, an integer, and non-zero (astropy tests `if self._blank:`).
        blank: Option<i64>,
    },
    /// Float64 result: `f64(x) * BSCALE + BZERO`, BLANK values to NaN.
    F64 {
        /// BSCALE, when not 1.
        scale: Option<f64>,
        /// BZERO, when not 0.
        zero: Option<f64>,
        /// BLANK (see [`Scaling::F32`]).
        blank: Option<i64>,
    },
}

/// In words: `unsigned`, `signed bytes`, or `BSCALE = s, BZERO = z, BLANK = b -> float32`.
impl std::fmt::Display for Scaling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn parts(
            f: &mut std::fmt::Formatter<'_>,
            scale: Option<f64>,
            zero: Option<f64>,
            blank: Option<i64>,
            to: &str,
        ) -> std::fmt::Result {
            let mut items = Vec::new();
            if let Some(s) = scale {
                items.push(format!("BSCALE = {s}"));
            }
            if let Some(z) = zero {
                items.push(format!("BZERO = {z}"));
            }
            if let Some(b) = blank {
                items.push(format!("BLANK = {b}"));
            }
            write!(f, "{} -> {to}", items.join(", "))
        }
        match self {
            Scaling::None => f.write_str("none"),
            Scaling::Int8 => f.write_str("signed bytes (BZERO = -128)"),
            Scaling::Unsigned => f.write_str("unsigned integers"),
            Scaling::F32 { scale, zero, blank } => parts(
                f,
                scale.map(f64::from),
                zero.map(f64::from),
                *blank,
                "float32",
            ),
            Scaling::F64 { scale, zero, blank } => parts(f, *scale, *zero, *blank, "float64"),
        }
    }
}

impl Scaling {
    /// What astropy warns about an image HDU's BLANK when it opens the HDU
    /// (`_ImageBaseHDU._verify_blank`), in its words: a BLANK that is not an integer, and a
    /// BLANK on floating-point data (BITPIX < 0). Either way the BLANK is ignored, by astropy
    /// and by [`Scaling::from_header`]. Read from the header's quick scan: no card is parsed.
    pub fn blank_warnings(h: &Header, bitpix: i64) -> Vec<String> {
        let Some(blank) = h.structural("BLANK") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // astropy's `_is_int`: Python ints (bool among them) and numpy integers
        if !matches!(blank, Value::Int(_) | Value::BigInt(_) | Value::Bool(_)) {
            out.push(format!(
                "Invalid value for 'BLANK' keyword in header: {} The 'BLANK' keyword must be an \
                 integer.  It will be ignored in the meantime.",
                py_repr(blank)
            ));
        }
        if bitpix <= 0 {
            out.push(
                "Invalid 'BLANK' keyword in header.  The 'BLANK' keyword is only applicable to \
                 integer data, and will be ignored in this HDU."
                    .to_string(),
            );
        }
        out
    }

    /// astropy's choice for an image HDU header (`_get_scaled_image_data`, `_dtype_for_bitpix`).
    pub fn from_header(h: &Header, bitpix: i64, hdu: usize) -> Result<Scaling> {
        // `structural`: the scaling keywords are read without parsing the other cards
        let num = |key: &str, default: i64| -> Result<Value> {
            match h.structural(key) {
                None => Ok(Value::Int(default)),
                Some(v) if v.is_number() => Ok(v.clone()),
                Some(v) => Err(Error::Unsupported {
                    hdu,
                    msg: format!("{key} = {v} is not a number"),
                }),
            }
        };
        let bzero = num("BZERO", 0)?;
        let bscale = num("BSCALE", 1)?;
        // astropy ignores BLANK unless it is an integer and BITPIX > 0.
        let blank_val = match h.structural("BLANK") {
            Some(v @ (Value::Int(_) | Value::BigInt(_))) if bitpix > 0 => Some(v.as_i128()),
            _ => None,
        };
        let trivial_scale = bzero.num_eq(0) && bscale.num_eq(1);
        if trivial_scale && blank_val.is_none() {
            return Ok(Scaling::None);
        }
        let one = bscale.num_eq(1);
        if !trivial_scale && one {
            let unsigned = match bitpix {
                16 => bzero.num_eq(1 << 15),
                32 => bzero.num_eq(1 << 31),
                64 => bzero.num_eq(1 << 63),
                _ => false,
            };
            if unsigned {
                return Ok(Scaling::Unsigned);
            }
            if bitpix == 8 && bzero.num_eq(-128) {
                return Ok(Scaling::Int8);
            }
        }
        // NaN substitution only for a truthy BLANK that fits the comparison.
        let blank = blank_val
            .flatten()
            .and_then(|b| i64::try_from(b).ok())
            .filter(|&b| b != 0);
        let scale_f = if one { None } else { bscale.as_f64() };
        let zero_f = if bzero.num_eq(0) {
            None
        } else {
            bzero.as_f64()
        };
        Ok(match bitpix {
            8 | 16 | -32 => Scaling::F32 {
                scale: scale_f.map(|s| s as f32),
                zero: zero_f.map(|z| z as f32),
                blank,
            },
            _ => Scaling::F64 {
                scale: scale_f,
                zero: zero_f,
                blank,
            },
        })
    }

    /// Convert stored big-endian values of `bitpix` (`src`) into this scaling's physical values
    /// in native byte order (`dst`, of [`Scaling::physical_dtype`]), exactly as image reads do.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when `bitpix` is invalid or the lengths do not match
    /// (`src.len() / |bitpix/8|` elements, `dst` that many physical elements).
    pub fn apply(&self, bitpix: i64, src: &[u8], dst: &mut [u8]) -> Result<()> {
        let stored = bitpix_dtype(bitpix).ok_or_else(|| Error::Unsupported {
            hdu: 0,
            msg: format!("invalid BITPIX {bitpix}"),
        })?;
        let n = src.len() / stored.size();
        if !src.len().is_multiple_of(stored.size())
            || dst.len() != n * self.physical_dtype(bitpix).size()
        {
            return Err(Error::Unsupported {
                hdu: 0,
                msg: format!(
                    "{} stored bytes of BITPIX {bitpix} cannot fill {} physical bytes",
                    src.len(),
                    dst.len()
                ),
            });
        }
        convert(bitpix, self, src, dst);
        Ok(())
    }

    /// The type of the physical values.
    pub fn physical_dtype(&self, bitpix: i64) -> DataType {
        match self {
            Scaling::None => bitpix_dtype(bitpix).unwrap_or(DataType::UInt8),
            Scaling::Int8 => DataType::Int8,
            Scaling::Unsigned => match bitpix {
                16 => DataType::UInt16,
                32 => DataType::UInt32,
                _ => DataType::UInt64,
            },
            Scaling::F32 { .. } => DataType::Float32,
            Scaling::F64 { .. } => DataType::Float64,
        }
    }
}

#[inline(always)]
fn map_elems<const S: usize, const D: usize>(
    src: &[u8],
    dst: &mut [u8],
    f: impl Fn([u8; S]) -> [u8; D],
) {
    for (s, d) in src.chunks_exact(S).zip(dst.chunks_exact_mut(D)) {
        let a: [u8; S] = s.try_into().unwrap_or([0; S]);
        d.copy_from_slice(&f(a));
    }
}

#[inline(always)]
fn to_f32<const S: usize>(
    src: &[u8],
    dst: &mut [u8],
    get: impl Fn([u8; S]) -> (f32, i64),
    scale: Option<f32>,
    zero: Option<f32>,
    blank: Option<i64>,
) {
    map_elems::<S, 4>(src, dst, |a| {
        let (mut v, raw) = get(a);
        if let Some(s) = scale {
            v *= s;
        }
        if let Some(z) = zero {
            v += z;
        }
        if blank == Some(raw) {
            v = f32::NAN;
        }
        v.to_ne_bytes()
    })
}

#[inline(always)]
fn to_f64<const S: usize>(
    src: &[u8],
    dst: &mut [u8],
    get: impl Fn([u8; S]) -> (f64, i64),
    scale: Option<f64>,
    zero: Option<f64>,
    blank: Option<i64>,
) {
    map_elems::<S, 8>(src, dst, |a| {
        let (mut v, raw) = get(a);
        if let Some(s) = scale {
            v *= s;
        }
        if let Some(z) = zero {
            v += z;
        }
        if blank == Some(raw) {
            v = f64::NAN;
        }
        v.to_ne_bytes()
    })
}

/// Convert stored big-endian values of `bitpix` into physical native values.
pub(crate) fn convert(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { convert_avx2(bitpix, scaling, src, dst) };
            return;
        }
    }
    convert_generic(bitpix, scaling, src, dst)
}

/// True when [`convert_in_place`] can do this conversion: the stored and the physical values
/// have the same size and the conversion is a byte swap (or a bit flip) of each element.
pub(crate) fn converts_in_place(scaling: &Scaling) -> bool {
    matches!(scaling, Scaling::None | Scaling::Int8 | Scaling::Unsigned)
}

/// [`convert`] for the conversions of [`converts_in_place`], done on the stored bytes where they
/// lie: a full read fills the output with the file's bytes and swaps them there (no second
/// buffer, one pass over memory that is already in cache). Other scalings are left untouched
/// (the caller checks [`converts_in_place`] first).
pub(crate) fn convert_in_place(bitpix: i64, scaling: &Scaling, buf: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { convert_in_place_avx2(bitpix, scaling, buf) };
            return;
        }
    }
    convert_in_place_generic(bitpix, scaling, buf)
}

/// [`convert_in_place`] compiled with AVX2 enabled (vectorised swaps).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_in_place_avx2(bitpix: i64, scaling: &Scaling, buf: &mut [u8]) {
    convert_in_place_generic(bitpix, scaling, buf)
}

#[inline(always)]
fn convert_in_place_generic(bitpix: i64, scaling: &Scaling, buf: &mut [u8]) {
    match (scaling, bitpix) {
        (Scaling::None, 8) => {}
        (Scaling::None, 16) => map_in_place::<2>(buf, |a| u16::from_be_bytes(a).to_ne_bytes()),
        (Scaling::None, 32 | -32) => {
            map_in_place::<4>(buf, |a| u32::from_be_bytes(a).to_ne_bytes())
        }
        (Scaling::None, _) => map_in_place::<8>(buf, |a| u64::from_be_bytes(a).to_ne_bytes()),
        (Scaling::Int8, _) => buf.iter_mut().for_each(|b| *b ^= 0x80),
        (Scaling::Unsigned, 16) => {
            map_in_place::<2>(buf, |a| (u16::from_be_bytes(a) ^ 0x8000).to_ne_bytes())
        }
        (Scaling::Unsigned, 32) => {
            map_in_place::<4>(buf, |a| (u32::from_be_bytes(a) ^ 0x8000_0000).to_ne_bytes())
        }
        (Scaling::Unsigned, _) => map_in_place::<8>(buf, |a| {
            (u64::from_be_bytes(a) ^ 0x8000_0000_0000_0000).to_ne_bytes()
        }),
        (Scaling::F32 { .. } | Scaling::F64 { .. }, _) => {}
    }
}

#[inline(always)]
fn map_in_place<const S: usize>(buf: &mut [u8], f: impl Fn([u8; S]) -> [u8; S]) {
    for d in buf.chunks_exact_mut(S) {
        let a: [u8; S] = (&*d).try_into().unwrap_or([0; S]);
        d.copy_from_slice(&f(a));
    }
}

/// The same loops compiled with AVX2 enabled, so that byte swaps vectorise (vpshufb).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_avx2(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    convert_generic(bitpix, scaling, src, dst)
}

#[inline(always)]
fn convert_generic(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    match (scaling, bitpix) {
        (Scaling::None, 8) => dst.copy_from_slice(src),
        (Scaling::None, 16) => map_elems::<2, 2>(src, dst, |a| u16::from_be_bytes(a).to_ne_bytes()),
        (Scaling::None, 32 | -32) => {
            map_elems::<4, 4>(src, dst, |a| u32::from_be_bytes(a).to_ne_bytes())
        }
        (Scaling::None, _) => map_elems::<8, 8>(src, dst, |a| u64::from_be_bytes(a).to_ne_bytes()),
        (Scaling::Int8, _) => map_elems::<1, 1>(src, dst, |a| [a[0] ^ 0x80]),
        (Scaling::Unsigned, 16) => {
            map_elems::<2, 2>(src, dst, |a| (u16::from_be_bytes(a) ^ 0x8000).to_ne_bytes())
        }
        (Scaling::Unsigned, 32) => map_elems::<4, 4>(src, dst, |a| {
            (u32::from_be_bytes(a) ^ 0x8000_0000).to_ne_bytes()
        }),
        (Scaling::Unsigned, _) => map_elems::<8, 8>(src, dst, |a| {
            (u64::from_be_bytes(a) ^ 0x8000_0000_0000_0000).to_ne_bytes()
        }),
        (&Scaling::F32 { scale, zero, blank }, 8) => {
            to_f32::<1>(src, dst, |a| (a[0] as f32, a[0] as i64), scale, zero, blank)
        }
        (&Scaling::F32 { scale, zero, blank }, 16) => to_f32::<2>(
            src,
            dst,
            |a| {
                let v = i16::from_be_bytes(a);
                (v as f32, v as i64)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F32 { scale, zero, .. }, _) => {
            to_f32::<4>(src, dst, |a| (f32::from_be_bytes(a), 0), scale, zero, None)
        }
        (&Scaling::F64 { scale, zero, blank }, 32) => to_f64::<4>(
            src,
            dst,
            |a| {
                let v = i32::from_be_bytes(a);
                (v as f64, v as i64)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F64 { scale, zero, blank }, 64) => to_f64::<8>(
            src,
            dst,
            |a| {
                let v = i64::from_be_bytes(a);
                (v as f64, v)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F64 { scale, zero, .. }, _) => {
            to_f64::<8>(src, dst, |a| (f64::from_be_bytes(a), 0), scale, zero, None)
        }
    }
}

/// Python's `repr` of the value astropy gives for a card (`header[key]`), for its messages:
/// `str()` but for strings, which `repr` quotes.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Undefined => "UNDEFINED".into(),
        Value::Str(s) | Value::Text(s) | Value::Invalid(s) => {
            let s = s.replace('\\', "\\\\");
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\'', "\\'"))
            }
        }
        other => other.python_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let src = [0x80u8, 0x00, 0x7f, 0xff];
        let mut d = [0u8; 4];
        convert(16, &Scaling::Unsigned, &src, &mut d);
        assert_eq!(bytemuck::cast_slice::<u8, u16>(&d), &[0, 0xffff]);
        let mut f = [0u8; 8];
        convert(
            16,
            &Scaling::F32 {
                scale: Some(2.0),
                zero: Some(1.0),
                blank: Some(32767),
            },
            &src,
            &mut f,
        );
        let fv: &[f32] = bytemuck::cast_slice(&f);
        assert_eq!(fv[0], -65535.0);
        assert!(fv[1].is_nan());
    }

    #[test]
    fn in_place_equals_copying_conversion() {
        // 48 bytes: several AVX2 lanes' worth for every element size, odd values in every byte
        let src: Vec<u8> = (0..48u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for (bitpix, scaling) in [
            (8, Scaling::None),
            (16, Scaling::None),
            (32, Scaling::None),
            (-32, Scaling::None),
            (64, Scaling::None),
            (-64, Scaling::None),
            (8, Scaling::Int8),
            (16, Scaling::Unsigned),
            (32, Scaling::Unsigned),
            (64, Scaling::Unsigned),
        ] {
            assert!(converts_in_place(&scaling));
            let mut want = vec![0u8; src.len()];
            convert(bitpix, &scaling, &src, &mut want);
            let mut got = src.clone();
            convert_in_place(bitpix, &scaling, &mut got);
            assert_eq!(got, want, "BITPIX {bitpix}, {scaling:?}");
        }
        let f32s = Scaling::F32 {
            scale: Some(2.0),
            zero: None,
            blank: None,
        };
        assert!(!converts_in_place(&f32s));
    }
}
