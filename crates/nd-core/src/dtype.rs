//! Data types: the element types that FITS, ASDF, Zarr and `.npy` can hold,
//! with numpy typestr parsing and printing, and byte-order conversion.

use crate::error::{Error, Result};
use std::fmt;

/// Byte order of stored multi-byte values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (`<`).
    Little,
    /// Big-endian (`>`).
    Big,
    /// Byte order does not apply (`|`): single bytes, byte strings, records.
    NotApplicable,
}

impl Endian {
    /// The byte order of this machine.
    #[cfg(target_endian = "little")]
    pub const NATIVE: Endian = Endian::Little;
    /// The byte order of this machine.
    #[cfg(target_endian = "big")]
    pub const NATIVE: Endian = Endian::Big;

    /// The numpy character for this byte order.
    pub fn as_char(self) -> char {
        match self {
            Endian::Little => '<',
            Endian::Big => '>',
            Endian::NotApplicable => '|',
        }
    }

    /// True when values in this byte order must be swapped to be native.
    pub fn needs_swap(self) -> bool {
        matches!(
            (self, Endian::NATIVE),
            (Endian::Little, Endian::Big) | (Endian::Big, Endian::Little)
        )
    }
}

/// A record (structured) type: named fields at byte offsets within an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructType {
    /// The fields, in declaration order.
    pub fields: Vec<Field>,
    /// Size of one record in bytes (at least the end of the last field; may include padding).
    pub itemsize: usize,
}

/// One field of a record type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Element type of the field.
    pub dtype: DataType,
    /// Byte order of the field's values.
    pub endian: Endian,
    /// Byte offset within the record.
    pub offset: usize,
    /// Sub-array shape (empty for a scalar field).
    pub shape: Vec<usize>,
}

impl Field {
    /// Size of the field in bytes (element size times sub-shape).
    pub fn size(&self) -> usize {
        self.dtype.size() * self.shape.iter().product::<usize>()
    }
}

/// The largest element numpy makes (its itemsize is a C `int`): `|S2147483647` is a type,
/// `|S2147483648`, `<U536870912` and a record or subarray field of more bytes are not ("data
/// type not understood", "dtype size in bytes must fit into a C int"). nd refuses them too, so
/// that no file can make it allocate one element (a fill value, a scratch element) of more.
pub const MAX_ITEMSIZE: usize = i32::MAX as usize;

const TOO_LARGE: &str = "an element larger than numpy's limit of 2^31 - 1 bytes";

/// The type of one array element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataType {
    /// Boolean stored as one byte (0 or 1).
    Bool,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer.
    Int32,
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 8-bit integer.
    UInt8,
    /// Unsigned 16-bit integer.
    UInt16,
    /// Unsigned 32-bit integer.
    UInt32,
    /// Unsigned 64-bit integer.
    UInt64,
    /// IEEE half precision.
    Float16,
    /// IEEE single precision.
    Float32,
    /// IEEE double precision.
    Float64,
    /// Two f32 (real, imaginary).
    Complex64,
    /// Two f64 (real, imaginary).
    Complex128,
    /// Fixed-length byte string of this many bytes (numpy `S`), zero padded.
    Bytes(usize),
    /// Fixed-length UCS-4 string of this many characters (numpy `U`).
    Ucs4(usize),
    /// Opaque bytes (numpy `V`).
    Raw(usize),
    /// numpy datetime64 with its unit (`ns`, `s`, `D`, `10ms`, ...), stored as i64.
    DateTime64(String),
    /// numpy timedelta64 with its unit, stored as i64.
    TimeDelta64(String),
    /// A record of named fields.
    Struct(StructType),
}

impl DataType {
    /// Size of one element in bytes.
    pub fn size(&self) -> usize {
        use DataType::*;
        match self {
            Bool | Int8 | UInt8 => 1,
            Int16 | UInt16 | Float16 => 2,
            Int32 | UInt32 | Float32 => 4,
            Int64 | UInt64 | Float64 | Complex64 | DateTime64(_) | TimeDelta64(_) => 8,
            Complex128 => 16,
            Bytes(n) | Raw(n) => *n,
            Ucs4(n) => 4 * n,
            Struct(s) => s.itemsize,
        }
    }

    /// Size of the unit that byte order applies to (1 when byte order does not matter).
    pub fn swap_unit(&self) -> usize {
        use DataType::*;
        match self {
            Complex64 => 4,
            Complex128 => 8,
            Ucs4(_) => 4,
            Bool | Int8 | UInt8 | Bytes(_) | Raw(_) | Struct(_) => 1,
            other => other.size(),
        }
    }

    /// True for types whose byte order matters (multi-byte numbers and UCS-4).
    pub fn has_byte_order(&self) -> bool {
        match self {
            DataType::Struct(s) => s.fields.iter().any(|f| f.dtype.has_byte_order()),
            other => other.swap_unit() > 1,
        }
    }

    /// True for integer types (signed or unsigned).
    pub fn is_integer(&self) -> bool {
        use DataType::*;
        matches!(
            self,
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
        )
    }

    /// True for floating-point types (not complex).
    pub fn is_float(&self) -> bool {
        matches!(
            self,
            DataType::Float16 | DataType::Float32 | DataType::Float64
        )
    }

    /// True for plain numeric types (bool, integers, floats, complex).
    pub fn is_numeric(&self) -> bool {
        self.is_integer()
            || self.is_float()
            || matches!(
                self,
                DataType::Bool | DataType::Complex64 | DataType::Complex128
            )
    }

    /// The same type with every field in native byte order (what a decoded buffer holds).
    pub fn to_native(&self) -> DataType {
        match self {
            DataType::Struct(s) => DataType::Struct(StructType {
                itemsize: s.itemsize,
                fields: s
                    .fields
                    .iter()
                    .map(|f| Field {
                        dtype: f.dtype.to_native(),
                        endian: if f.dtype.has_byte_order() {
                            Endian::NATIVE
                        } else {
                            Endian::NotApplicable
                        },
                        ..f.clone()
                    })
                    .collect(),
            }),
            other => other.clone(),
        }
    }

    /// True when values of this type stored in `endian` differ from native values by a byte
    /// swap ([`DataType::swap_to_native`] changes them); records: when any field's own byte
    /// order (`endian` is ignored for them) is not native.
    pub fn swaps_from(&self, endian: Endian) -> bool {
        match self {
            DataType::Struct(s) => s.fields.iter().any(|f| f.dtype.swaps_from(f.endian)),
            _ => endian.needs_swap() && self.swap_unit() > 1,
        }
    }

    /// Convert `data` (whole elements of this type stored in `endian`) to native byte order in place.
    /// Records are converted field by field using each field's own byte order (`endian` is ignored for them).
    pub fn swap_to_native(&self, endian: Endian, data: &mut [u8]) {
        match self {
            DataType::Struct(s) => {
                let size = s.itemsize.max(1);
                for rec in data.chunks_exact_mut(size) {
                    for f in &s.fields {
                        let end = (f.offset + f.size()).min(rec.len());
                        if f.offset < end {
                            f.dtype.swap_to_native(f.endian, &mut rec[f.offset..end]);
                        }
                    }
                }
            }
            _ => {
                if endian.needs_swap() {
                    swap_bytes(self.swap_unit(), data);
                }
            }
        }
    }

    /// Convert native-endian `data` to `endian` in place (the inverse of [`DataType::swap_to_native`]).
    /// For records, fields are converted to each field's byte order in `self`.
    pub fn swap_from_native(&self, endian: Endian, data: &mut [u8]) {
        // Swapping is its own inverse.
        self.swap_to_native(endian, data)
    }

    /// Parse a simple numpy typestr such as `<f8`, `>i2`, `|u1`, `|b1`, `|S5`, `<U4`, `|V8`, `<M8[ns]`.
    /// Returns the type and the byte order written.
    pub fn from_typestr(s: &str) -> Result<(DataType, Endian)> {
        let err = |reason: &str| Error::DType {
            text: s.to_string(),
            reason: reason.to_string(),
        };
        let mut chars = s.chars();
        let first = chars.next().ok_or_else(|| err("empty"))?;
        let (endian, rest) = match first {
            '<' => (Endian::Little, &s[1..]),
            '>' => (Endian::Big, &s[1..]),
            '|' => (Endian::NotApplicable, &s[1..]),
            '=' => (Endian::NATIVE, &s[1..]),
            _ => (Endian::NotApplicable, s),
        };
        let kind = rest.chars().next().ok_or_else(|| err("missing kind"))?;
        let body = &rest[kind.len_utf8()..];
        if kind == 'M' || kind == 'm' {
            // M8[unit] / m8[unit] / M8 (generic)
            let unit = if let Some(b) = body.strip_prefix('8') {
                if b.is_empty() {
                    String::new()
                } else {
                    b.strip_prefix('[')
                        .and_then(|b| b.strip_suffix(']'))
                        .ok_or_else(|| err("bad datetime unit"))?
                        .to_string()
                }
            } else {
                return Err(err("datetime must be 8 bytes"));
            };
            let dt = if kind == 'M' {
                DataType::DateTime64(unit)
            } else {
                DataType::TimeDelta64(unit)
            };
            return Ok((dt, endian));
        }
        let n: usize = body.parse().map_err(|_| err("bad size"))?;
        let dt = match (kind, n) {
            ('b', 1) => DataType::Bool,
            ('?', 1) => DataType::Bool,
            ('i', 1) => DataType::Int8,
            ('i', 2) => DataType::Int16,
            ('i', 4) => DataType::Int32,
            ('i', 8) => DataType::Int64,
            ('u', 1) => DataType::UInt8,
            ('u', 2) => DataType::UInt16,
            ('u', 4) => DataType::UInt32,
            ('u', 8) => DataType::UInt64,
            ('f', 2) => DataType::Float16,
            ('f', 4) => DataType::Float32,
            ('f', 8) => DataType::Float64,
            ('c', 8) => DataType::Complex64,
            ('c', 16) => DataType::Complex128,
            ('S', n) | ('a', n) if n <= MAX_ITEMSIZE => DataType::Bytes(n),
            ('U', n) if n <= MAX_ITEMSIZE / 4 => DataType::Ucs4(n),
            ('V', n) if n <= MAX_ITEMSIZE => DataType::Raw(n),
            ('S' | 'a' | 'U' | 'V', _) => return Err(err(TOO_LARGE)),
            _ => return Err(err("unknown kind/size")),
        };
        let endian = if dt.has_byte_order() {
            if endian == Endian::NotApplicable {
                // numpy writes e.g. "|f8" nowhere, but treat a missing order as native
                Endian::NATIVE
            } else {
                endian
            }
        } else {
            Endian::NotApplicable
        };
        Ok((dt, endian))
    }

    /// The numpy typestr of a non-record type in the given byte order (`<f8`, `|u1`, `|S5`, `<U4`).
    /// Records have no typestr; use [`DataType::to_descr`].
    pub fn typestr(&self, endian: Endian) -> String {
        use DataType::*;
        let order = if self.has_byte_order() {
            match endian {
                Endian::NotApplicable => Endian::NATIVE.as_char(),
                e => e.as_char(),
            }
        } else {
            '|'
        };
        // the fixed-size kinds without the formatting machinery (a listing of thousands of
        // arrays writes one each): order, kind, one or two digits
        let fixed = |kind: char| {
            let mut t = String::with_capacity(4);
            t.push(order);
            t.push(kind);
            let n = self.size();
            if n >= 10 {
                t.push(char::from(b'0' + (n / 10 % 10) as u8));
            }
            t.push(char::from(b'0' + (n % 10) as u8));
            t
        };
        match self {
            Bool => fixed('b'),
            Int8 | Int16 | Int32 | Int64 => fixed('i'),
            UInt8 | UInt16 | UInt32 | UInt64 => fixed('u'),
            Float16 | Float32 | Float64 => fixed('f'),
            Complex64 | Complex128 => fixed('c'),
            Bytes(n) => format!("|S{n}"),
            Ucs4(n) => format!("{order}U{n}"),
            Raw(n) => format!("|V{n}"),
            DateTime64(u) if u.is_empty() => format!("{order}M8"),
            DateTime64(u) => format!("{order}M8[{u}]"),
            TimeDelta64(u) if u.is_empty() => format!("{order}m8"),
            TimeDelta64(u) => format!("{order}m8[{u}]"),
            Struct(s) => format!("|V{}", s.itemsize),
        }
    }

    /// Build a type from a numpy-style description (simple typestr or record list).
    pub fn from_descr(d: &Descr) -> Result<(DataType, Endian)> {
        match d {
            Descr::Simple(s) => DataType::from_typestr(s),
            Descr::Record(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                let mut offset = 0usize;
                let too_large = || Error::DType {
                    text: crate::npy::descr_to_py(d),
                    reason: TOO_LARGE.into(),
                };
                for f in fields {
                    let (dtype, endian) = DataType::from_descr(&f.descr)?;
                    let size = f
                        .shape
                        .iter()
                        .try_fold(dtype.size(), |a, &n| a.checked_mul(n))
                        .filter(|&n| n <= MAX_ITEMSIZE)
                        .ok_or_else(too_large)?;
                    let field = Field {
                        name: f.name.clone(),
                        dtype,
                        endian,
                        offset,
                        shape: f.shape.clone(),
                    };
                    offset = offset
                        .checked_add(size)
                        .filter(|&n| n <= MAX_ITEMSIZE)
                        .ok_or_else(too_large)?;
                    out.push(field);
                }
                Ok((
                    DataType::Struct(StructType {
                        fields: out,
                        itemsize: offset,
                    }),
                    Endian::NotApplicable,
                ))
            }
        }
    }

    /// The numpy-style description of this type in the given byte order.
    /// Records with gaps between fields are described with `|V` padding fields named `""`... numpy style.
    pub fn to_descr(&self, endian: Endian) -> Descr {
        match self {
            DataType::Struct(s) => {
                let mut fields = Vec::new();
                let mut pos = 0;
                for f in &s.fields {
                    if f.offset > pos {
                        fields.push(DescrField {
                            name: String::new(),
                            descr: Descr::Simple(format!("|V{}", f.offset - pos)),
                            shape: vec![],
                        });
                    }
                    fields.push(DescrField {
                        name: f.name.clone(),
                        descr: f.dtype.to_descr(f.endian),
                        shape: f.shape.clone(),
                    });
                    pos = f.offset + f.size();
                }
                if s.itemsize > pos {
                    fields.push(DescrField {
                        name: String::new(),
                        descr: Descr::Simple(format!("|V{}", s.itemsize - pos)),
                        shape: vec![],
                    });
                }
                Descr::Record(fields)
            }
            other => Descr::Simple(other.typestr(endian)),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DataType::*;
        let s = match self {
            Bool => "bool",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            UInt8 => "uint8",
            UInt16 => "uint16",
            UInt32 => "uint32",
            UInt64 => "uint64",
            Float16 => "float16",
            Float32 => "float32",
            Float64 => "float64",
            Complex64 => "complex64",
            Complex128 => "complex128",
            Bytes(n) => return write!(f, "bytes{n}"),
            Ucs4(n) => return write!(f, "str{n}"),
            Raw(n) => return write!(f, "void{n}"),
            DateTime64(u) => return write!(f, "datetime64[{u}]"),
            TimeDelta64(u) => return write!(f, "timedelta64[{u}]"),
            Struct(s) => {
                write!(f, "{{")?;
                for (i, fl) in s.fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}: {}", fl.name, fl.dtype)?;
                    if !fl.shape.is_empty() {
                        write!(f, "{}", crate::fmt_shape(fl.shape.iter()))?;
                    }
                }
                return write!(f, "}}");
            }
        };
        f.write_str(s)
    }
}

/// A numpy-style type description: a typestr, or a record list of `(name, descr, shape)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descr {
    /// A simple typestr like `<f8`.
    Simple(String),
    /// A record: fields in order.
    Record(Vec<DescrField>),
}

/// One field of a record description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescrField {
    /// Field name (empty for padding).
    pub name: String,
    /// Field type.
    pub descr: Descr,
    /// Sub-array shape (empty for scalar).
    pub shape: Vec<usize>,
}

/// Reverse the bytes of every `unit`-sized group in `data` (a no-op for unit 1).
pub fn swap_bytes(unit: usize, data: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if unit > 1 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { swap_bytes_avx2(unit, data) };
            return;
        }
    }
    swap_bytes_generic(unit, data)
}

/// [`swap_bytes`] compiled with AVX2 enabled, so that the swaps vectorise (vpshufb): the
/// baseline x86-64 target has no byte shuffle and swaps 8-byte values one by one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn swap_bytes_avx2(unit: usize, data: &mut [u8]) {
    swap_bytes_generic(unit, data)
}

#[inline(always)]
fn swap_bytes_generic(unit: usize, data: &mut [u8]) {
    match unit {
        0 | 1 => {}
        2 => {
            for c in data.chunks_exact_mut(2) {
                let v = u16::from_ne_bytes([c[0], c[1]]).swap_bytes();
                c.copy_from_slice(&v.to_ne_bytes());
            }
        }
        4 => {
            for c in data.chunks_exact_mut(4) {
                let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]).swap_bytes();
                c.copy_from_slice(&v.to_ne_bytes());
            }
        }
        8 => {
            for c in data.chunks_exact_mut(8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                c.copy_from_slice(&u64::from_ne_bytes(a).swap_bytes().to_ne_bytes());
            }
        }
        n => {
            for c in data.chunks_exact_mut(n) {
                c.reverse();
            }
        }
    }
}

/// Rust element types that map to one [`DataType`], for typed access to buffers.
pub trait Element: bytemuck::Pod + Send + Sync + 'static {
    /// The data type of this element.
    const DTYPE: DataType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t { const DTYPE: DataType = DataType::$d; }
    )*};
}
element!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, u8 => UInt8, u16 => UInt16,
    u32 => UInt32, u64 => UInt64, half::f16 => Float16, f32 => Float32, f64 => Float64,
    num_complex::Complex32 => Complex64, num_complex::Complex64 => Complex128);

#[cfg(test)]
mod tests {
    #[test]
    fn elements_larger_than_numpys_limit_are_refused() {
        // numpy 2.4: np.dtype("S2147483647") is a type; "S2147483648", "U536870912" and a
        // subarray field of more than 2^31 - 1 bytes are not
        assert!(DataType::from_typestr("|S2147483647").is_ok());
        assert!(DataType::from_typestr("<U536870911").is_ok());
        for t in [
            "|S2147483648",
            "<U536870912",
            "|V2147483648",
            "|S99999999999999999999",
        ] {
            assert!(DataType::from_typestr(t).is_err(), "{t}");
        }
        let field = |shape: Vec<usize>| DescrField {
            name: "b".into(),
            descr: Descr::Simple(">f4".into()),
            shape,
        };
        let e = DataType::from_descr(&Descr::Record(vec![field(vec![2444445444])])).unwrap_err();
        assert!(e.to_string().contains("numpy's limit"), "{e}");
        assert!(DataType::from_descr(&Descr::Record(vec![field(vec![1 << 61, 1 << 4])])).is_err());
        assert!(DataType::from_descr(&Descr::Record(vec![field(vec![3, 4])])).is_ok());
    }

    use super::*;

    #[test]
    fn typestr_round_trip() {
        for s in [
            "<f8", ">f4", "<i2", ">i8", "|u1", "|i1", "|b1", "<u8", "<c8", ">c16", "|S5", "<U4",
            ">U2", "|V3", "<f2", "<M8[ns]", ">m8[s]", "<M8",
        ] {
            let (dt, e) = DataType::from_typestr(s).unwrap();
            assert_eq!(dt.typestr(e), s, "{s}");
        }
        assert_eq!(
            DataType::from_typestr(">u1").unwrap(),
            (DataType::UInt8, Endian::NotApplicable)
        );
        assert!(DataType::from_typestr("<x4").is_err());
        assert!(DataType::from_typestr("").is_err());
        assert!(DataType::from_typestr("<f").is_err());
    }

    #[test]
    fn record_swap() {
        let d = Descr::Record(vec![
            DescrField {
                name: "a".into(),
                descr: Descr::Simple(">i2".into()),
                shape: vec![],
            },
            DescrField {
                name: "b".into(),
                descr: Descr::Simple("<i2".into()),
                shape: vec![2],
            },
        ]);
        let (dt, _) = DataType::from_descr(&d).unwrap();
        assert_eq!(dt.size(), 6);
        let mut data = vec![0, 1, 2, 0, 3, 0];
        dt.swap_to_native(Endian::NotApplicable, &mut data);
        let a = i16::from_ne_bytes([data[0], data[1]]);
        let b0 = i16::from_ne_bytes([data[2], data[3]]);
        assert_eq!((a, b0), (1, 2));
        assert_eq!(dt.to_descr(Endian::NotApplicable), d);
    }
}
