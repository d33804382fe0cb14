//! Element reads, writes and casts with numpy's semantics, for the numcodecs filters.
//!
//! Values travel as [`Val`] (i64, u64 or f64). Writing a value into a type follows numpy's
//! `astype` (unsafe casting): integers wrap, floats truncate toward zero into integers, floats
//! round to nearest-even into narrower floats. Float arithmetic in a narrow type is done in f64
//! and rounded after each operation, which gives the same result as numpy's f32/f16 loops
//! (one f64 operation on f32 or f16 operands is exact enough that a second rounding is harmless).

use crate::{Error, Result};
use nd_core::dtype::{DataType, Endian};

/// A numeric element type with byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    F32,
    F64,
}

/// A numeric type: kind, byte order, and the typestr it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumType {
    pub kind: Kind,
    pub big: bool,
    pub typestr: String,
}

/// One value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    I(i64),
    U(u64),
    F(f64),
}

impl Val {
    pub fn as_f64(self) -> f64 {
        match self {
            Val::I(i) => i as f64,
            Val::U(u) => u as f64,
            Val::F(f) => f,
        }
    }
}

impl NumType {
    /// Parse a numpy typestr of a bool, integer or float type.
    pub fn parse(codec: &str, s: &str) -> Result<NumType> {
        let (dt, endian) = DataType::from_typestr(s)
            .map_err(|e| Error::Config(format!("{codec}: dtype '{s}': {e}")))?;
        let kind = match dt {
            DataType::Bool => Kind::Bool,
            DataType::Int8 => Kind::I8,
            DataType::Int16 => Kind::I16,
            DataType::Int32 => Kind::I32,
            DataType::Int64 => Kind::I64,
            DataType::UInt8 => Kind::U8,
            DataType::UInt16 => Kind::U16,
            DataType::UInt32 => Kind::U32,
            DataType::UInt64 => Kind::U64,
            DataType::Float16 => Kind::F16,
            DataType::Float32 => Kind::F32,
            DataType::Float64 => Kind::F64,
            other => {
                return Err(Error::Unsupported(format!(
                    "{codec}: dtype '{s}' ({other}) is not a bool, integer or float type"
                )))
            }
        };
        let big = endian == Endian::Big;
        // numpy normalises the typestr: native order is written explicitly, 1-byte types as '|'.
        let typestr = dt.typestr(endian);
        Ok(NumType { kind, big, typestr })
    }

    pub fn size(&self) -> usize {
        match self.kind {
            Kind::Bool | Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 | Kind::F16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::U64 | Kind::F64 => 8,
        }
    }

    pub fn is_float(&self) -> bool {
        matches!(self.kind, Kind::F16 | Kind::F32 | Kind::F64)
    }

    fn raw<const N: usize>(&self, b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[..N]); // ok: callers pass exactly size() bytes
        if self.big {
            a.reverse();
        }
        a
    }

    /// Read one element from `b` (exactly `size()` bytes).
    pub fn read(&self, b: &[u8]) -> Val {
        match self.kind {
            Kind::Bool => Val::U((b[0] != 0) as u64), // ok: size 1
            Kind::I8 => Val::I(b[0] as i8 as i64),    // ok: size 1
            Kind::U8 => Val::U(b[0] as u64),          // ok: size 1
            Kind::I16 => Val::I(i16::from_le_bytes(self.raw(b)) as i64),
            Kind::U16 => Val::U(u16::from_le_bytes(self.raw(b)) as u64),
            Kind::I32 => Val::I(i32::from_le_bytes(self.raw(b)) as i64),
            Kind::U32 => Val::U(u32::from_le_bytes(self.raw(b)) as u64),
            Kind::I64 => Val::I(i64::from_le_bytes(self.raw(b))),
            Kind::U64 => Val::U(u64::from_le_bytes(self.raw(b))),
            Kind::F16 => Val::F(half::f16::from_le_bytes(self.raw(b)).to_f64()),
            Kind::F32 => Val::F(f32::from_le_bytes(self.raw(b)) as f64),
            Kind::F64 => Val::F(f64::from_le_bytes(self.raw(b))),
        }
    }

    fn put<const N: usize>(&self, mut a: [u8; N], out: &mut [u8]) {
        if self.big {
            a.reverse();
        }
        out[..N].copy_from_slice(&a); // ok: callers pass exactly size() bytes
    }

    /// Write `v` into `out` (exactly `size()` bytes) with numpy's `astype` cast.
    pub fn write(&self, v: Val, out: &mut [u8]) {
        match self.kind {
            Kind::Bool => {
                out[0] = match v {
                    Val::I(i) => i != 0,
                    Val::U(u) => u != 0,
                    Val::F(f) => f != 0.0,
                } as u8 // ok: size 1
            }
            Kind::F16 => self.put(half::f16::from_f64(v.as_f64()).to_le_bytes(), out),
            Kind::F32 => {
                let f = match v {
                    Val::I(i) => i as f32,
                    Val::U(u) => u as f32,
                    Val::F(f) => f as f32,
                };
                self.put(f.to_le_bytes(), out)
            }
            Kind::F64 => self.put(v.as_f64().to_le_bytes(), out),
            _ => {
                let bits = self.int_bits(v);
                match self.kind {
                    Kind::I8 | Kind::U8 => out[0] = bits as u8, // ok: size 1
                    Kind::I16 | Kind::U16 => self.put((bits as u16).to_le_bytes(), out),
                    Kind::I32 | Kind::U32 => self.put((bits as u32).to_le_bytes(), out),
                    _ => self.put(bits.to_le_bytes(), out),
                }
            }
        }
    }

    /// The two's-complement bits of `v` cast to an integer (before truncation to the width).
    fn int_bits(&self, v: Val) -> u64 {
        match v {
            Val::I(i) => i as u64,
            Val::U(u) => u,
            Val::F(f) => {
                let t = f.trunc();
                if self.kind == Kind::U64 && (0.0..18446744073709551616.0).contains(&t) {
                    t as u64
                } else if (-9223372036854775808.0..9223372036854775808.0).contains(&t) {
                    t as i64 as u64
                } else {
                    // What x86 produces for NaN and out-of-range values.
                    i64::MIN as u64
                }
            }
        }
    }

    /// Round an f64 to this float type's precision (identity for f64; for integers, no-op).
    pub fn round_float(&self, x: f64) -> f64 {
        match self.kind {
            Kind::F32 => x as f32 as f64,
            Kind::F16 => half::f16::from_f64(x).to_f64(),
            _ => x,
        }
    }

    /// Wrap an integer value to this integer type (two's complement).
    pub fn wrap_int(&self, bits: u64) -> Val {
        match self.kind {
            Kind::Bool => Val::U((bits != 0) as u64),
            Kind::I8 => Val::I(bits as i8 as i64),
            Kind::I16 => Val::I(bits as i16 as i64),
            Kind::I32 => Val::I(bits as i32 as i64),
            Kind::I64 => Val::I(bits as i64),
            Kind::U8 => Val::U(bits as u8 as u64),
            Kind::U16 => Val::U(bits as u16 as u64),
            Kind::U32 => Val::U(bits as u32 as u64),
            Kind::U64 => Val::U(bits),
            _ => Val::F(bits as i64 as f64),
        }
    }

    /// Cast a value into this type, as a value (what `write` then `read` would give).
    pub fn cast(&self, v: Val) -> Val {
        let mut b = [0u8; 8];
        let n = self.size();
        self.write(v, &mut b[..n]);
        self.read(&b[..n])
    }

    /// `a - b` in this type (wrapping for integers, rounded for floats).
    pub fn sub(&self, a: Val, b: Val) -> Val {
        if self.is_float() {
            Val::F(self.round_float(a.as_f64() - b.as_f64()))
        } else {
            self.wrap_int(bits_of(a).wrapping_sub(bits_of(b)))
        }
    }

    /// `a + b` in this type.
    pub fn add(&self, a: Val, b: Val) -> Val {
        if self.is_float() {
            Val::F(self.round_float(a.as_f64() + b.as_f64()))
        } else {
            self.wrap_int(bits_of(a).wrapping_add(bits_of(b)))
        }
    }

    /// `a * b` in this type.
    pub fn mul(&self, a: Val, b: Val) -> Val {
        if self.is_float() {
            Val::F(self.round_float(a.as_f64() * b.as_f64()))
        } else {
            self.wrap_int(bits_of(a).wrapping_mul(bits_of(b)))
        }
    }
}

fn bits_of(v: Val) -> u64 {
    match v {
        Val::I(i) => i as u64,
        Val::U(u) => u,
        Val::F(f) => f as i64 as u64,
    }
}

/// Check that `len` is a whole number of `size`-byte items.
pub(crate) fn check_items(codec: &'static str, len: usize, size: usize) -> Result<usize> {
    if size == 0 || !len.is_multiple_of(size) {
        return Err(Error::corrupt(
            codec,
            format!("{len} bytes is not a whole number of {size}-byte items"),
        ));
    }
    Ok(len / size)
}
