//! Numeric conversion between element types, as numpy's `arr.astype(T)` does (`casting='unsafe'`).
//!
//! Arrays deliver values as native-endian bytes of a [`DataType`]; [`cast_into`] turns them into a
//! slice of any [`Scalar`] (`bool`, the integers, `f16`, `f32`, `f64`, `Complex32`, `Complex64`),
//! whatever the stored type, so a float32 array can be read as `f64`, an int16 one as `f32`, any
//! numeric one as `bool`.
//!
//! The rules are numpy's:
//!
//! | from → to | result |
//! |---|---|
//! | integer → integer | wraps (two's complement truncation to the target's width) |
//! | integer or float → float | rounded to nearest, ties to even (±inf past the target's range) |
//! | float → integer | truncated toward zero |
//! | complex → real | the real part, converted as above (numpy also drops it, with a `ComplexWarning`) |
//! | real → complex | the value as the real part, imaginary part 0 |
//! | bool → number | 0 or 1 |
//! | number → bool | `x != 0` (NaN → true; a complex number is true when either part is non-zero) |
//!
//! **Where numpy is undefined.** Converting NaN, ±inf or a float whose truncation does not fit the
//! integer target is undefined behaviour in C, and numpy's result depends on the platform (x86 gives
//! the "integer indefinite" value, ARM saturates). nd saturates, as Rust's `as` does: NaN → 0,
//! +inf and values above the target's range → its maximum, -inf and values below → its minimum.
//!
//! Stored booleans are read as "any non-zero byte is true": a file's bytes are never reinterpreted
//! as `bool`, so a hostile 2 or 255 is simply `true`.
//!
//! ```
//! use nd_core::{cast::cast_into, DataType};
//! let stored: Vec<u8> = [1.5f32, -2.5, 3e9].iter().flat_map(|v| v.to_ne_bytes()).collect();
//! let mut wide = [0f64; 3];
//! cast_into(&DataType::Float32, &stored, &mut wide)?;
//! assert_eq!(wide, [1.5, -2.5, 3e9]);
//! let mut ints = [0i32; 3];
//! cast_into(&DataType::Float32, &stored, &mut ints)?;
//! assert_eq!(ints, [1, -2, i32::MAX]); // 3e9 does not fit an i32: saturated
//! let mut flags = [false; 3];
//! cast_into(&DataType::Float32, &stored, &mut flags)?;
//! assert_eq!(flags, [true, true, true]);
//! # Ok::<(), nd_core::Error>(())
//! ```

use crate::dtype::{DataType, Element};
use crate::error::{Error, Result};
use half::f16;
use num_complex::{Complex32, Complex64};

mod sealed {
    /// Conversion of one value from `S`, with numpy's `astype` semantics.
    pub trait CastFrom<S>: Sized {
        fn cast_from(s: S) -> Self;
    }

    /// Keeps [`super::Scalar`] closed to the types this module converts.
    pub trait Sealed: Sized {
        /// The values as bytes, for the plain copy of same-type casts (`None` for `bool`, whose
        /// bytes may not be filled from a file).
        fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]>;
    }
}
use sealed::CastFrom;

/// A Rust type that numeric array data can be converted into: `bool`, `i8`, `i16`, `i32`, `i64`,
/// `u8`, `u16`, `u32`, `u64`, [`half::f16`], `f32`, `f64`, [`num_complex::Complex32`] and
/// [`num_complex::Complex64`].
///
/// Every numeric [`DataType`] converts to every `Scalar` through [`cast_into`] (see the module docs
/// for the rules). Unlike [`Element`], `Scalar` includes `bool`, which is not `Pod`: a `bool` is only
/// ever produced by comparing a stored value with zero. The trait is sealed (its conversions are
/// fixed by this module) and meant as a generic bound, `fn read<T: Scalar>(..)`.
pub trait Scalar:
    Copy
    + Default
    + PartialEq
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
    + sealed::Sealed
    + CastFrom<bool>
    + CastFrom<i8>
    + CastFrom<i16>
    + CastFrom<i32>
    + CastFrom<i64>
    + CastFrom<u8>
    + CastFrom<u16>
    + CastFrom<u32>
    + CastFrom<u64>
    + CastFrom<f16>
    + CastFrom<f32>
    + CastFrom<f64>
    + CastFrom<Complex32>
    + CastFrom<Complex64>
{
    /// The data type whose stored values this type holds unchanged.
    const DTYPE: DataType;
}

macro_rules! scalar_pod {
    ($($t:ty => $d:ident),*) => {$(
        impl Scalar for $t {
            const DTYPE: DataType = DataType::$d;
        }
        impl sealed::Sealed for $t {
            fn pod_bytes_mut(values: &mut [Self]) -> Option<&mut [u8]> {
                Some(bytemuck::cast_slice_mut(values))
            }
        }
    )*};
}
scalar_pod!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, u8 => UInt8, u16 => UInt16,
    u32 => UInt32, u64 => UInt64, f16 => Float16, f32 => Float32, f64 => Float64,
    Complex32 => Complex64, Complex64 => Complex128);

impl Scalar for bool {
    const DTYPE: DataType = DataType::Bool;
}
impl sealed::Sealed for bool {
    fn pod_bytes_mut(_: &mut [Self]) -> Option<&mut [u8]> {
        None
    }
}

// ---- The 14 x 14 conversions, one `CastFrom` impl per (source, target) pair. ----

/// Integers and f32/f64 among themselves: Rust's `as` is numpy's rule (integers wrap, floats
/// round to nearest, float to integer truncates), and saturates where numpy is undefined.
macro_rules! cast_as {
    ($t:ty; $($s:ty),*) => {$(
        impl CastFrom<$s> for $t {
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn cast_from(s: $s) -> $t {
                s as $t
            }
        }
    )*};
}

/// The conversions of each "primitive" (an integer, f32 or f64) with the other primitives, bool
/// and f16.
macro_rules! primitive {
    ($($t:ty),*) => {$(
        cast_as!($t; i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
        impl CastFrom<bool> for $t {
            #[inline(always)]
            fn cast_from(s: bool) -> $t {
                u8::from(s) as $t
            }
        }
        impl CastFrom<$t> for bool {
            #[inline(always)]
            fn cast_from(s: $t) -> bool {
                s != <$t>::default()
            }
        }
        impl CastFrom<f16> for $t {
            /// Through f32, which holds every f16 exactly.
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn cast_from(s: f16) -> $t {
                s.to_f32() as $t
            }
        }
    )*};
}
primitive!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// Integers and f32 to f16 go through f32 as numpy does (`npy_float_to_half((float)x)`): exact for
/// every integer below 2^24, and any larger one is past f16's range either way.
macro_rules! to_f16_via_f32 {
    ($($s:ty),*) => {$(
        impl CastFrom<$s> for f16 {
            #[inline(always)]
            #[allow(clippy::unnecessary_cast)]
            fn cast_from(s: $s) -> f16 {
                f16::from_f32(s as f32)
            }
        }
    )*};
}
to_f16_via_f32!(i8, i16, i32, i64, u8, u16, u32, u64, f32);

impl CastFrom<f64> for f16 {
    #[inline(always)]
    fn cast_from(s: f64) -> f16 {
        f64_to_f16(s)
    }
}
impl CastFrom<f16> for f16 {
    #[inline(always)]
    fn cast_from(s: f16) -> f16 {
        s
    }
}
impl CastFrom<bool> for f16 {
    #[inline(always)]
    fn cast_from(s: bool) -> f16 {
        if s {
            f16::ONE
        } else {
            f16::ZERO
        }
    }
}
impl CastFrom<f16> for bool {
    #[inline(always)]
    fn cast_from(s: f16) -> bool {
        // f16's == has -0 == 0 and NaN != anything, so NaN is true, as in numpy.
        s != f16::ZERO
    }
}
impl CastFrom<bool> for bool {
    #[inline(always)]
    fn cast_from(s: bool) -> bool {
        s
    }
}

/// Complex sources to real targets: the real part (numpy's behaviour, with its ComplexWarning).
macro_rules! complex_to_real {
    ($($t:ty),*) => {$(
        impl CastFrom<Complex32> for $t {
            #[inline(always)]
            fn cast_from(s: Complex32) -> $t {
                <$t>::cast_from(s.re)
            }
        }
        impl CastFrom<Complex64> for $t {
            #[inline(always)]
            fn cast_from(s: Complex64) -> $t {
                <$t>::cast_from(s.re)
            }
        }
    )*};
}
complex_to_real!(i8, i16, i32, i64, u8, u16, u32, u64, f16, f32, f64);

impl CastFrom<Complex32> for bool {
    #[inline(always)]
    fn cast_from(s: Complex32) -> bool {
        s.re != 0.0 || s.im != 0.0
    }
}
impl CastFrom<Complex64> for bool {
    #[inline(always)]
    fn cast_from(s: Complex64) -> bool {
        s.re != 0.0 || s.im != 0.0
    }
}

/// Real sources to complex targets: the value converted to the part type, imaginary part 0.
macro_rules! real_to_complex {
    ($($s:ty),*) => {$(
        impl CastFrom<$s> for Complex32 {
            #[inline(always)]
            fn cast_from(s: $s) -> Complex32 {
                Complex32::new(f32::cast_from(s), 0.0)
            }
        }
        impl CastFrom<$s> for Complex64 {
            #[inline(always)]
            fn cast_from(s: $s) -> Complex64 {
                Complex64::new(f64::cast_from(s), 0.0)
            }
        }
    )*};
}
real_to_complex!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f16, f32, f64);

impl CastFrom<Complex32> for Complex32 {
    #[inline(always)]
    fn cast_from(s: Complex32) -> Complex32 {
        s
    }
}
impl CastFrom<Complex64> for Complex64 {
    #[inline(always)]
    fn cast_from(s: Complex64) -> Complex64 {
        s
    }
}
impl CastFrom<Complex32> for Complex64 {
    #[inline(always)]
    fn cast_from(s: Complex32) -> Complex64 {
        Complex64::new(f64::from(s.re), f64::from(s.im))
    }
}
impl CastFrom<Complex64> for Complex32 {
    #[inline(always)]
    fn cast_from(s: Complex64) -> Complex32 {
        Complex32::new(s.re as f32, s.im as f32)
    }
}

/// f64 to f16, rounded to nearest with ties to even in one step, as numpy's
/// `npy_doublebits_to_halfbits` does. (`half::f16::from_f64` rounds through f32 where the CPU has
/// F16C, and its portable path drops the low 32 mantissa bits first: both can round a value just
/// above a tie down.) NaN stays NaN (quieted, sign and top payload bits kept).
fn f64_to_f16(x: f64) -> f16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let man = bits & ((1u64 << 52) - 1);
    if exp == 0x7ff {
        let payload = if man == 0 {
            0
        } else {
            0x0200 | (man >> 42) as u16
        };
        return f16::from_bits(sign | 0x7c00 | payload);
    }
    // x = m * 2^(e - 52) with the hidden bit in m (f64 subnormals are far below f16's range).
    let e = exp - 1023;
    if e >= 16 {
        return f16::from_bits(sign | 0x7c00);
    }
    if e < -25 {
        // below 2^-25, half the smallest f16 subnormal: rounds to zero
        return f16::from_bits(sign);
    }
    let m = man | (1u64 << 52);
    // Keep 11 bits (hidden bit + 10) for a normal result, fewer for a subnormal one.
    let shift = if e >= -14 { 42 } else { (42 - 14 - e) as u32 };
    let q = m >> shift;
    let rem = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    let round_up = rem > half || (rem == half && q & 1 == 1);
    let q = q + u64::from(round_up);
    // For a normal result q holds the hidden bit, which adds one to the biased exponent (e + 14);
    // a carry out of the mantissa moves into the exponent, up to 0x7c00 = inf.
    let magnitude = if e >= -14 {
        (((e + 14) as u64) << 10) + q
    } else {
        q
    };
    f16::from_bits(sign | magnitude as u16)
}

// ---- Slice conversion: dispatch once on the stored type, then one monomorphised loop. ----

/// Elements converted per step when the stored bytes are not aligned for their type.
const BOUNCE: usize = 256;

#[inline]
fn convert_slice<S: Copy, T: CastFrom<S>>(src: &[S], out: &mut [T]) {
    for (o, &s) in out.iter_mut().zip(src) {
        *o = T::cast_from(s);
    }
}

/// Convert `bytes` (whole native-endian `S` values, as many as `out` holds) into `out`.
fn convert<S: Element, T: CastFrom<S>>(bytes: &[u8], out: &mut [T]) {
    if let Ok(src) = bytemuck::try_cast_slice::<u8, S>(bytes) {
        return convert_slice(src, out);
    }
    // Unaligned: through a small aligned buffer.
    let mut buf = [S::zeroed(); BOUNCE];
    let size = std::mem::size_of::<S>();
    for (b, o) in bytes.chunks(BOUNCE * size).zip(out.chunks_mut(BOUNCE)) {
        let vals = &mut buf[..o.len()];
        bytemuck::cast_slice_mut::<S, u8>(vals).copy_from_slice(b);
        convert_slice(vals, o);
    }
}

/// The error for a type that does not convert to numbers.
fn not_numeric(src: &DataType, dst: DataType) -> Error {
    Error::Cast {
        from: src.to_string(),
        to: dst.to_string(),
    }
}

/// Check that values of `src` can be converted to `T` (that `src` is numeric), before reading any.
///
/// Fails with [`Error::Cast`] naming both types for strings, records, opaque bytes and datetimes;
/// numeric types are those of [`DataType::is_numeric`].
pub fn check_cast<T: Scalar>(src: &DataType) -> Result<()> {
    if src.is_numeric() {
        Ok(())
    } else {
        Err(not_numeric(src, T::DTYPE))
    }
}

/// `out` as the bytes of stored `src` values, when `T` holds them unchanged (`T::DTYPE == *src`
/// and `T` is not `bool`): a reader can then fill `out` directly, with no conversion and no
/// intermediate buffer. `None` when a conversion ([`cast_into`]) is needed.
pub fn stored_bytes_mut<'a, T: Scalar>(src: &DataType, out: &'a mut [T]) -> Option<&'a mut [u8]> {
    if *src == T::DTYPE {
        <T as sealed::Sealed>::pod_bytes_mut(out)
    } else {
        None
    }
}

/// Convert `bytes`, native-endian values of type `src`, into `out`, as numpy's
/// `arr.astype(T)` does (see the [module docs](self) for the rules and for what nd does where
/// numpy is undefined).
///
/// `bytes` must hold exactly `out.len()` values of `src`, else an [`Error::Shape`]; a non-numeric
/// `src` is an [`Error::Cast`]. A same-type conversion is a plain copy (except to `bool`, whose
/// stored bytes are compared with zero); the others convert in one loop per (source, target) pair.
pub fn cast_into<T: Scalar>(src: &DataType, bytes: &[u8], out: &mut [T]) -> Result<()> {
    check_cast::<T>(src)?;
    let want = out.len().checked_mul(src.size());
    if want != Some(bytes.len()) {
        return Err(Error::Shape(format!(
            "cannot convert {} bytes of {src} into {} values of {}: need {} bytes",
            bytes.len(),
            out.len(),
            T::DTYPE,
            want.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
        )));
    }
    if *src == T::DTYPE {
        if let Some(dst) = <T as sealed::Sealed>::pod_bytes_mut(out) {
            dst.copy_from_slice(bytes);
            return Ok(());
        }
    }
    match src {
        DataType::Bool => {
            // Any non-zero byte is true; a stored byte is never reinterpreted as `bool`.
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = T::cast_from(b != 0);
            }
        }
        DataType::Int8 => convert::<i8, T>(bytes, out),
        DataType::Int16 => convert::<i16, T>(bytes, out),
        DataType::Int32 => convert::<i32, T>(bytes, out),
        DataType::Int64 => convert::<i64, T>(bytes, out),
        DataType::UInt8 => convert::<u8, T>(bytes, out),
        DataType::UInt16 => convert::<u16, T>(bytes, out),
        DataType::UInt32 => convert::<u32, T>(bytes, out),
        DataType::UInt64 => convert::<u64, T>(bytes, out),
        DataType::Float16 => convert::<f16, T>(bytes, out),
        DataType::Float32 => convert::<f32, T>(bytes, out),
        DataType::Float64 => convert::<f64, T>(bytes, out),
        DataType::Complex64 => convert::<Complex32, T>(bytes, out),
        DataType::Complex128 => convert::<Complex64, T>(bytes, out),
        other => return Err(not_numeric(other, T::DTYPE)),
    }
    Ok(())
}

/// Convert `bytes`, native-endian values of type `src`, into a new vector (see [`cast_into`]).
/// `bytes.len()` must be a multiple of `src`'s size.
pub fn cast_to_vec<T: Scalar>(src: &DataType, bytes: &[u8]) -> Result<Vec<T>> {
    check_cast::<T>(src)?;
    let size = src.size();
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::Shape(format!(
            "{} bytes are not whole values of {src} ({size} bytes each)",
            bytes.len()
        )));
    }
    let mut out = vec![T::default(); bytes.len() / size];
    cast_into(src, bytes, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ne<S: Element>(v: &[S]) -> Vec<u8> {
        bytemuck::cast_slice(v).to_vec()
    }

    #[test]
    fn hostile_bool_bytes_are_true() {
        let bytes = [0u8, 1, 2, 255, 0, 128];
        let want = [false, true, true, true, false, true];
        let mut b = [false; 6];
        cast_into(&DataType::Bool, &bytes, &mut b).unwrap();
        assert_eq!(b, want);
        let mut i = [0i32; 6];
        cast_into(&DataType::Bool, &bytes, &mut i).unwrap();
        assert_eq!(i, [0, 1, 1, 1, 0, 1]);
        let mut u = [0u8; 6];
        cast_into(&DataType::Bool, &bytes, &mut u).unwrap();
        assert_eq!(u, [0, 1, 1, 1, 0, 1], "bool to u8 is 0/1, not a byte copy");
        let mut f = [0f64; 6];
        cast_into(&DataType::Bool, &bytes, &mut f).unwrap();
        assert_eq!(f, [0.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
        let mut h = [f16::ZERO; 6];
        cast_into(&DataType::Bool, &bytes, &mut h).unwrap();
        assert_eq!(h[3], f16::ONE);
        let mut c = [Complex32::default(); 6];
        cast_into(&DataType::Bool, &bytes, &mut c).unwrap();
        assert_eq!(c[2], Complex32::new(1.0, 0.0));
        assert_eq!(cast_to_vec::<bool>(&DataType::Bool, &bytes).unwrap(), want);
    }

    #[test]
    fn non_numeric_sources_are_typed_errors() {
        for dt in [
            DataType::Bytes(4),
            DataType::Ucs4(1),
            DataType::Raw(4),
            DataType::DateTime64("s".into()),
            DataType::TimeDelta64("ns".into()),
            DataType::Struct(crate::dtype::StructType {
                fields: vec![],
                itemsize: 4,
            }),
        ] {
            let mut out = [0f32; 2];
            let e = cast_into(&dt, &[0u8; 8], &mut out).unwrap_err();
            match &e {
                Error::Cast { from, to } => {
                    assert_eq!(from, &dt.to_string());
                    assert_eq!(to, &DataType::Float32.to_string());
                }
                other => panic!("{other:?}"),
            }
            let msg = e.to_string();
            assert!(
                msg.contains(&dt.to_string()) && msg.contains("float32"),
                "{msg}"
            );
            assert!(matches!(
                check_cast::<bool>(&dt),
                Err(Error::Cast { to, .. }) if to == DataType::Bool.to_string()
            ));
            assert!(cast_to_vec::<u8>(&dt, &[0u8; 8]).is_err());
        }
        // zero-sized non-numeric types are refused before any division by their size
        assert!(cast_to_vec::<u8>(&DataType::Raw(0), &[]).is_err());
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let bytes = ne(&[1.0f32, 2.0]);
        let mut out = [0f64; 3];
        let e = cast_into(&DataType::Float32, &bytes, &mut out).unwrap_err();
        assert!(matches!(e, Error::Shape(_)), "{e:?}");
        assert!(e.to_string().contains("float32"), "{e}");
        let mut out = [0f64; 1];
        assert!(cast_into(&DataType::Float32, &bytes, &mut out).is_err());
        let mut same = [0f32; 1];
        assert!(cast_into(&DataType::Float32, &bytes, &mut same).is_err());
        assert!(cast_into(&DataType::Float32, &bytes[..7], &mut [0f32; 2]).is_err());
        assert!(cast_to_vec::<f64>(&DataType::Float32, &bytes[..7]).is_err());
        let empty: &mut [u8] = &mut [];
        cast_into(&DataType::Int64, &[], empty).unwrap();
    }

    #[test]
    fn same_type_is_a_copy() {
        let v = [1.5f64, f64::NAN, -0.0, f64::INFINITY];
        let mut out = [0f64; 4];
        cast_into(&DataType::Float64, &ne(&v), &mut out).unwrap();
        assert_eq!(ne(&out), ne(&v));
        let c = [Complex64::new(1.0, -2.0)];
        assert_eq!(
            cast_to_vec::<Complex64>(&DataType::Complex128, &ne(&c)).unwrap(),
            c
        );
    }

    #[test]
    fn unaligned_bytes() {
        let v: Vec<i32> = (0..1000).map(|i| i * 7 - 3000).collect();
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&ne(&v));
        let mut out = vec![0f64; v.len()];
        cast_into(&DataType::Int32, &bytes[1..], &mut out).unwrap();
        assert!(out.iter().zip(&v).all(|(o, &i)| *o == f64::from(i)));
        let mut same = vec![0i32; v.len()];
        cast_into(&DataType::Int32, &bytes[1..], &mut same).unwrap();
        assert_eq!(same, v);
    }

    #[test]
    fn rules() {
        let f = ne(&[
            2.7f64,
            -2.7,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            300.0,
            -0.0,
        ]);
        assert_eq!(
            cast_to_vec::<i8>(&DataType::Float64, &f).unwrap(),
            [2, -2, 0, 127, -128, 127, 0]
        );
        assert_eq!(
            cast_to_vec::<u64>(&DataType::Float64, &f).unwrap(),
            [2, 0, 0, u64::MAX, 0, 300, 0]
        );
        assert_eq!(
            cast_to_vec::<bool>(&DataType::Float64, &f).unwrap(),
            [true, true, true, true, true, true, false]
        );
        let i = ne(&[300i32, -1, 65536 + 255]);
        assert_eq!(
            cast_to_vec::<u8>(&DataType::Int32, &i).unwrap(),
            [44, 255, 255]
        );
        assert_eq!(
            cast_to_vec::<i16>(&DataType::Int32, &i).unwrap(),
            [300, -1, 255]
        );
        let c = ne(&[Complex32::new(0.0, 1.0), Complex32::new(2.5, 9.0)]);
        assert_eq!(
            cast_to_vec::<bool>(&DataType::Complex64, &c).unwrap(),
            [true, true]
        );
        assert_eq!(
            cast_to_vec::<f64>(&DataType::Complex64, &c).unwrap(),
            [0.0, 2.5]
        );
        assert_eq!(
            cast_to_vec::<Complex64>(&DataType::Complex64, &c).unwrap(),
            [Complex64::new(0.0, 1.0), Complex64::new(2.5, 9.0)]
        );
    }

    /// f64 -> f16 against the exact nearest f16 (ties to even), found by comparing with the two
    /// neighbouring f16 values: every f16 and every midpoint between neighbours is an exact f64.
    #[test]
    fn f64_to_f16_rounds_once() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..200_000 {
            let r = next();
            // values across f16's range (exponents -27..17), sometimes exactly on a midpoint
            let e = (r % 45) as i32 - 27;
            let mut v = f64::from_bits((((e + 1023) as u64) << 52) | (next() >> 12));
            if i % 3 == 0 {
                // a tie between two f16 values, maybe nudged by one unit in the last place
                let h = f16::from_bits((r >> 20) as u16 & 0x7bfe);
                let up = f16::from_bits(h.to_bits() + 1);
                v = (h.to_f64() + up.to_f64()) / 2.0;
                v = f64::from_bits(v.to_bits().wrapping_add((r >> 40) % 3).wrapping_sub(1));
            }
            for v in [v, -v] {
                let got = f64_to_f16(v);
                let want = nearest_f16(v);
                assert_eq!(got.to_bits(), want.to_bits(), "{v:e}");
            }
        }
        assert!(f64_to_f16(f64::NAN).is_nan());
        assert!(f64_to_f16(-f64::NAN).is_nan());
        assert_eq!(f64_to_f16(f64::INFINITY), f16::INFINITY);
        assert_eq!(f64_to_f16(65520.0), f16::INFINITY);
        assert_eq!(f64_to_f16(65519.99), f16::MAX);
        // just above a tie hidden in the low 32 bits: rounds up
        assert_eq!(
            f64_to_f16(1.0 + 2f64.powi(-11) + 2f64.powi(-40)).to_bits(),
            0x3c01
        );
    }

    fn nearest_f16(v: f64) -> f16 {
        let a = v.abs();
        let sign = if v.is_sign_negative() { 0x8000 } else { 0 };
        // largest f16 magnitude <= a, by bisection over the ordered bit patterns 0..=0x7c00
        let (mut lo, mut hi) = (0u16, 0x7c00u16);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if f16::from_bits(mid).to_f64() <= a {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let below = f16::from_bits(lo).to_f64();
        if below == a || lo == 0x7c00 {
            return f16::from_bits(sign | lo);
        }
        // the next f16 up; past 65504 that is 65536 (where rounding reaches inf)
        let above = if lo == 0x7bff {
            65536.0
        } else {
            f16::from_bits(lo + 1).to_f64()
        };
        let mid = (below + above) / 2.0;
        let pick = if a < mid || (a == mid && lo & 1 == 0) {
            lo
        } else {
            lo + 1
        };
        f16::from_bits(sign | pick)
    }
}
