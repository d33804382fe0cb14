//! Interpretation of `core/ndarray` nodes: data types, byte order, shape, source, offset, strides, mask;
//! and conversion of inline data to bytes.

use crate::error::{Error, Result};
use crate::yaml::{Node, Value};
use nd_core::{DataType, Endian, Field, StructType};

/// The ndarray tag base (any version).
pub const NDARRAY_TAG: &str = "tag:stsci.edu:asdf/core/ndarray";
/// The complex tag base.
pub const COMPLEX_TAG: &str = "tag:stsci.edu:asdf/core/complex";

/// Where an ndarray's values are.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A block of this file (negative counts from the end).
    Block(i64),
    /// The first block of another ASDF file, by relative URI.
    External(String),
    /// Inline nested lists in the tree.
    Inline(Node),
}

/// One dimension of a shape: a size, or `'*'` (streamed: as many rows as the block holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(u64),
    /// `'*'`.
    Star,
}

/// A mask: another array of booleans, or a scalar value that marks masked elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Mask {
    /// An ndarray node (values != 0 are masked).
    Array(Box<NdArrayMeta>),
    /// A scalar: elements equal to it are masked (NaN: NaN elements are masked).
    Scalar(f64),
    /// An ndarray node whose description is invalid (why): python asdf cannot convert it, and
    /// leaves the array unmasked (with a warning).
    Unreadable(String),
}

/// A parsed `core/ndarray` node.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArrayMeta {
    /// Where the values are.
    pub source: Source,
    /// The shape (`None`: inline data without a shape, taken from the data).
    pub shape: Option<Vec<Dim>>,
    /// Element type.
    pub dtype: DataType,
    /// Byte order of the stored values (for records, each field has its own).
    pub endian: Endian,
    /// Byte offset of the first element in the block.
    pub offset: u64,
    /// Byte strides (C-contiguous when `None`).
    pub strides: Option<Vec<i64>>,
    /// The mask, if any.
    pub mask: Option<Mask>,
}

fn endian_of(node: &Node, path: &str) -> Result<Endian> {
    match node.as_str() {
        Some("big") => Ok(Endian::Big),
        Some("little") => Ok(Endian::Little),
        _ => Err(Error::node(
            path,
            format!("invalid byteorder {}", node.to_json()),
        )),
    }
}

/// Parse an ASDF `datatype` (a name, `[ascii, N]`, `[ucs4, N]` or a record list) with the
/// array's byte order as the default for record fields.
pub fn parse_datatype(node: &Node, endian: Endian, path: &str) -> Result<(DataType, Endian)> {
    let bad = |m: &str| Error::node(path, format!("datatype: {m}"));
    match &node.value {
        Value::Str(s) => {
            let dt = match &**s {
                "int8" => DataType::Int8,
                "int16" => DataType::Int16,
                "int32" => DataType::Int32,
                "int64" => DataType::Int64,
                "uint8" => DataType::UInt8,
                "uint16" => DataType::UInt16,
                "uint32" => DataType::UInt32,
                "uint64" => DataType::UInt64,
                "float16" => DataType::Float16,
                "float32" => DataType::Float32,
                "float64" => DataType::Float64,
                "complex64" => DataType::Complex64,
                "complex128" => DataType::Complex128,
                "bool8" => DataType::Bool,
                other => return Err(bad(&format!("unknown type '{other}'"))),
            };
            let e = if dt.has_byte_order() {
                endian
            } else {
                Endian::NotApplicable
            };
            Ok((dt, e))
        }
        Value::Seq(items)
            if items.len() == 2
                && matches!(items[0].as_str(), Some("ascii" | "ucs4"))
                && items[1].as_int().is_some() =>
        {
            let n = items[1]
                .as_int()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= 1 << 30)
                .ok_or_else(|| bad("bad string length"))?;
            if items[0].as_str() == Some("ascii") {
                Ok((DataType::Bytes(n), Endian::NotApplicable))
            } else {
                Ok((DataType::Ucs4(n), endian))
            }
        }
        Value::Seq(items) => {
            let mut fields = Vec::with_capacity(items.len());
            let mut offset = 0usize;
            for (i, it) in items.iter().enumerate() {
                let (name, dnode, fe, shape) = match &it.value {
                    Value::Map(_) => {
                        let d = it
                            .get("datatype")
                            .ok_or_else(|| bad("field without datatype"))?;
                        let fe = match it.get("byteorder") {
                            Some(b) => endian_of(b, path)?,
                            None => endian,
                        };
                        let name = it
                            .get("name")
                            .and_then(|n| n.key_string())
                            .unwrap_or_default();
                        let shape = match it.get("shape") {
                            Some(s) => s
                                .as_seq()
                                .ok_or_else(|| bad("field shape is not a list"))?
                                .iter()
                                .map(|d| {
                                    d.as_int()
                                        .and_then(|v| usize::try_from(v).ok())
                                        .ok_or_else(|| bad("bad field shape"))
                                })
                                .collect::<Result<Vec<_>>>()?,
                            None => vec![],
                        };
                        (name, d, fe, shape)
                    }
                    _ => (String::new(), it, endian, vec![]),
                };
                let (dt, e) = parse_datatype(dnode, fe, path)?;
                // numpy names unnamed fields f0, f1, ...
                let name = if name.is_empty() {
                    format!("f{i}")
                } else {
                    name
                };
                let f = Field {
                    name,
                    dtype: dt,
                    endian: e,
                    offset,
                    shape,
                };
                let size = f
                    .shape
                    .iter()
                    .try_fold(f.dtype.size(), |a, &d| a.checked_mul(d))
                    .ok_or_else(|| bad("record too large"))?;
                offset = offset
                    .checked_add(size)
                    .filter(|&o| o <= 1 << 40)
                    .ok_or_else(|| bad("record too large"))?;
                fields.push(f);
            }
            Ok((
                DataType::Struct(StructType {
                    fields,
                    itemsize: offset,
                }),
                Endian::NotApplicable,
            ))
        }
        _ => Err(bad("not a name or list")),
    }
}

fn int_list(node: &Node, what: &str, path: &str) -> Result<Vec<i64>> {
    node.as_seq()
        .ok_or_else(|| Error::node(path, format!("{what} is not a list")))?
        .iter()
        .map(|n| {
            n.as_int()
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| Error::node(path, format!("{what} entry is not an integer")))
        })
        .collect()
}

/// The entries of an ndarray mapping that [`parse_ndarray`] reads, found in one pass over its
/// keys (as [`Node::get`] finds them: the first string key of that name; a key of another type
/// never spells these names).
#[derive(Default)]
struct Fields<'a> {
    source: Option<&'a Node>,
    data: Option<&'a Node>,
    byteorder: Option<&'a Node>,
    datatype: Option<&'a Node>,
    shape: Option<&'a Node>,
    offset: Option<&'a Node>,
    strides: Option<&'a Node>,
    mask: Option<&'a Node>,
}

impl<'a> Fields<'a> {
    fn of(entries: &'a [(Node, Node)]) -> Self {
        let mut f = Fields::default();
        for (k, v) in entries {
            let Value::Str(key) = &k.value else {
                continue;
            };
            let slot = match &**key {
                "source" => &mut f.source,
                "data" => &mut f.data,
                "byteorder" => &mut f.byteorder,
                "datatype" => &mut f.datatype,
                "shape" => &mut f.shape,
                "offset" => &mut f.offset,
                "strides" => &mut f.strides,
                "mask" => &mut f.mask,
                _ => continue,
            };
            slot.get_or_insert(v);
        }
        f
    }
}

/// Parse an ndarray node (mapping or bare inline list).
pub fn parse_ndarray(node: &Node, path: &str) -> Result<NdArrayMeta> {
    if let Value::Seq(_) = node.value {
        // a bare list: inline data, type inferred
        let (dt, e) = infer_inline_dtype(node, path)?;
        return Ok(NdArrayMeta {
            source: Source::Inline(node.clone()),
            shape: None,
            dtype: dt,
            endian: e,
            offset: 0,
            strides: None,
            mask: None,
        });
    }
    let Some(entries) = node.as_map() else {
        return Err(Error::node(path, "ndarray is neither a mapping nor a list"));
    };
    let f = Fields::of(entries);
    let (source, endian) = match (f.source, f.data) {
        (Some(_), Some(_)) => {
            return Err(Error::node(path, "both source and data are given"));
        }
        (Some(s), None) => {
            let endian = endian_of(
                f.byteorder
                    .ok_or_else(|| Error::node(path, "source without byteorder"))?,
                path,
            )?;
            let src = match &s.value {
                Value::Int(i) => Source::Block(
                    i64::try_from(i.get()).map_err(|_| Error::node(path, "source out of range"))?,
                ),
                Value::Str(u) => Source::External(u.to_string()),
                _ => return Err(Error::node(path, "source is neither an integer nor a URI")),
            };
            (src, endian)
        }
        (None, Some(d)) => (Source::Inline(d.clone()), Endian::NATIVE),
        (None, None) => return Err(Error::node(path, "ndarray without source or data")),
    };
    let (dtype, endian) = match f.datatype {
        Some(d) => parse_datatype(d, endian, path)?,
        None => match &source {
            Source::Inline(d) => infer_inline_dtype(d, path)?,
            _ => return Err(Error::node(path, "ndarray without datatype")),
        },
    };
    let shape = match f.shape {
        None => None,
        Some(s) => Some(
            s.as_seq()
                .ok_or_else(|| Error::node(path, "shape is not a list"))?
                .iter()
                .map(|d| match &d.value {
                    Value::Int(i) => u64::try_from(i.get())
                        .map(Dim::Fixed)
                        .map_err(|_| Error::node(path, "negative dimension")),
                    Value::Str(s) if &**s == "*" => Ok(Dim::Star),
                    _ => Err(Error::node(path, "bad dimension")),
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    if let Some(sh) = &shape {
        if sh.iter().skip(1).any(|d| *d == Dim::Star) {
            return Err(Error::node(path, "'*' may only be the first dimension"));
        }
    }
    let offset = match f.offset {
        None => 0,
        Some(o) => o
            .as_int()
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Error::node(path, "offset is not a non-negative integer"))?,
    };
    let strides = match f.strides {
        None => None,
        Some(s) => Some(int_list(s, "strides", path)?),
    };
    if let (Some(st), Some(sh)) = (&strides, &shape) {
        if st.len() != sh.len() {
            return Err(Error::node(path, "strides and shape differ in length"));
        }
    }
    let mask = match f.mask {
        None => None,
        Some(m) => match &m.value {
            Value::Int(i) => Some(Mask::Scalar(i.get() as f64)),
            Value::Float(f) => Some(Mask::Scalar(*f)),
            Value::Map(_) | Value::Seq(_)
                if m.tag()
                    .is_some_and(|t| crate::yaml::tag_base(t) == NDARRAY_TAG) =>
            {
                Some(match parse_ndarray(m, &format!("{path}/mask")) {
                    Ok(meta) => Mask::Array(Box::new(meta)),
                    Err(e) => Mask::Unreadable(e.to_string()),
                })
            }
            // python asdf applies a mask that is an ndarray or a number; an untagged list or
            // mapping (not an ndarray to it) leaves the array unmasked
            Value::Map(_) | Value::Seq(_) => None,
            _ => return Err(Error::node(path, "mask is neither a number nor an array")),
        },
    };
    Ok(NdArrayMeta {
        source,
        shape,
        dtype,
        endian,
        offset,
        strides,
        mask,
    })
}

/// numpy's type inference for inline data without a datatype (bool < int64 < float64 < complex128,
/// strings as UCS-4 of the longest).
fn infer_inline_dtype(data: &Node, path: &str) -> Result<(DataType, Endian)> {
    let mut rank = 0u8; // 0 none, 1 bool, 2 int, 3 float, 4 complex, 5 str
    let mut maxlen = 0usize;
    let mut stack = vec![data];
    while let Some(n) = stack.pop() {
        match &n.value {
            Value::Seq(items) => stack.extend(items.iter()),
            Value::Bool(_) => rank = rank.max(1),
            Value::Int(_) => rank = rank.max(2),
            Value::Float(_) | Value::Null => rank = rank.max(3),
            Value::Str(s) if n.has_tag_base(COMPLEX_TAG) => {
                let _ = s;
                rank = rank.max(4)
            }
            Value::Str(s) => {
                rank = 5;
                maxlen = maxlen.max(s.chars().count());
            }
            Value::Map(_) => return Err(Error::node(path, "mapping inside inline data")),
        }
    }
    Ok(match rank {
        0 | 3 => (DataType::Float64, Endian::NATIVE),
        1 => (DataType::Bool, Endian::NotApplicable),
        2 => (DataType::Int64, Endian::NATIVE),
        4 => (DataType::Complex128, Endian::NATIVE),
        _ => (DataType::Ucs4(maxlen.max(1)), Endian::NATIVE),
    })
}

/// Parse a complex number the way python asdf does (`i` → `j`, then Python's `complex()`).
pub fn parse_complex(s: &str) -> Option<(f64, f64)> {
    let mut t = s.trim().to_string();
    if t.starts_with('(') && t.ends_with(')') && t.len() >= 2 {
        t = t[1..t.len() - 1].to_string();
    }
    // i -> j except in "inf"
    let t = t.replace("inf", "\u{1}").replace("INF", "\u{2}");
    let t = t
        .replace(['i', 'I'], "j")
        .replace('\u{1}', "inf")
        .replace('\u{2}', "INF");
    let lower = t.to_lowercase();
    let pf = |x: &str| -> Option<f64> {
        let x = x.trim();
        match x {
            "" | "+" => Some(1.0),
            "-" => Some(-1.0),
            _ => {
                let y = x.trim_start_matches(['+', '-']);
                let v = match y {
                    "inf" | "infinity" => f64::INFINITY,
                    "nan" => f64::NAN,
                    _ => y.parse::<f64>().ok()?,
                };
                Some(if x.starts_with('-') { -v } else { v })
            }
        }
    };
    if let Some(body) = lower.strip_suffix('j') {
        // find the split between real and imaginary: the last + or - not after an 'e'
        let b = body.as_bytes();
        let mut split = None;
        for i in (1..b.len()).rev() {
            if (b[i] == b'+' || b[i] == b'-') && b[i - 1] != b'e' {
                split = Some(i);
                break;
            }
        }
        match split {
            Some(i) => Some((pf(&body[..i])?, pf(&body[i..])?)),
            None => Some((0.0, pf(body)?)),
        }
    } else {
        Some((pf(&lower)?, 0.0))
    }
}

/// Shape of nested inline lists (as numpy would infer it; ragged lists are an error).
/// For records, the innermost list level that forms one record is not a dimension.
pub fn inline_shape(data: &Node, dtype: &DataType, path: &str) -> Result<Vec<u64>> {
    let mut shape = Vec::new();
    let mut cur = data;
    while let Value::Seq(items) = &cur.value {
        shape.push(items.len() as u64);
        if shape.len() > 64 {
            return Err(Error::node(path, "inline data nests too deep"));
        }
        match items.first() {
            Some(f) => cur = f,
            None => break,
        }
    }
    // for records, the innermost list is one record, not a dimension
    if matches!(dtype, DataType::Struct(_))
        && !shape.is_empty()
        && !matches!(cur.value, Value::Seq(_))
    {
        shape.pop();
    }
    Ok(shape)
}

/// Convert inline data to native-endian C-order bytes of `dtype` and shape `shape`, plus the mask
/// of `null` entries (python asdf masks them). Errors when the data does not have that shape.
pub fn inline_to_bytes(
    data: &Node,
    dtype: &DataType,
    shape: &[u64],
    path: &str,
) -> Result<(Vec<u8>, Option<Vec<bool>>)> {
    let n = nd_core::num_elements(shape)
        .filter(|&n| n <= 1 << 28)
        .ok_or_else(|| Error::node(path, "inline array too large"))? as usize;
    let size = dtype.size();
    let mut out = Vec::with_capacity(n.saturating_mul(size).min(1 << 28));
    let mut mask = Vec::with_capacity(n);
    fn rec(
        node: &Node,
        dims: &[u64],
        dtype: &DataType,
        out: &mut Vec<u8>,
        mask: &mut Vec<bool>,
        path: &str,
    ) -> Result<()> {
        if let Some((&d, rest)) = dims.split_first() {
            let items = node
                .as_seq()
                .ok_or_else(|| Error::node(path, "inline data does not match the shape"))?;
            if items.len() as u64 != d {
                return Err(Error::node(path, "inline data does not match the shape"));
            }
            for it in items {
                rec(it, rest, dtype, out, mask, path)?;
            }
            return Ok(());
        }
        mask.push(matches!(node.value, Value::Null));
        encode_scalar(node, dtype, out, path)
    }
    rec(data, shape, dtype, &mut out, &mut mask, path)?;
    let any = mask.iter().any(|&m| m);
    Ok((out, any.then_some(mask)))
}

fn num_of(node: &Node) -> Option<f64> {
    match &node.value {
        Value::Int(i) => Some(i.get() as f64),
        Value::Float(f) => Some(*f),
        Value::Bool(b) => Some(*b as u8 as f64),
        Value::Null => Some(0.0),
        Value::Str(s) if node.has_tag_base(COMPLEX_TAG) => parse_complex(s).map(|c| c.0),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn int_of(node: &Node) -> Option<i128> {
    match &node.value {
        Value::Int(i) => Some(i.get()),
        Value::Float(f) if f.is_finite() => Some(f.trunc() as i128),
        Value::Bool(b) => Some(*b as i128),
        Value::Null => Some(0),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Append one scalar value of `dtype` (native endian) to `out`.
fn encode_scalar(node: &Node, dtype: &DataType, out: &mut Vec<u8>, path: &str) -> Result<()> {
    let bad = || {
        Error::node(
            path,
            format!("inline value {} is not a {dtype}", node.to_json()),
        )
    };
    macro_rules! int {
        ($t:ty) => {{
            let v = int_of(node).ok_or_else(bad)?;
            // numpy wraps out-of-range Python ints for unsigned/signed via C casts only for
            // in-range values; out-of-range is an OverflowError there, an error here
            let v = <$t>::try_from(v).map_err(|_| bad())?;
            out.extend_from_slice(&v.to_ne_bytes());
        }};
    }
    match dtype {
        DataType::Bool => {
            let v = match &node.value {
                Value::Bool(b) => *b,
                _ => num_of(node).ok_or_else(bad)? != 0.0,
            };
            out.push(v as u8);
        }
        DataType::Int8 => int!(i8),
        DataType::Int16 => int!(i16),
        DataType::Int32 => int!(i32),
        DataType::Int64 => int!(i64),
        DataType::UInt8 => int!(u8),
        DataType::UInt16 => int!(u16),
        DataType::UInt32 => int!(u32),
        DataType::UInt64 => int!(u64),
        DataType::Float16 => {
            let v = num_of(node).ok_or_else(bad)?;
            out.extend_from_slice(&half::f16::from_f64(v).to_ne_bytes());
        }
        DataType::Float32 => {
            out.extend_from_slice(&(num_of(node).ok_or_else(bad)? as f32).to_ne_bytes())
        }
        DataType::Float64 => out.extend_from_slice(&num_of(node).ok_or_else(bad)?.to_ne_bytes()),
        DataType::Complex64 | DataType::Complex128 => {
            let (re, im) = match &node.value {
                Value::Str(s) => parse_complex(s).ok_or_else(bad)?,
                Value::Null => (0.0, 0.0),
                _ => (num_of(node).ok_or_else(bad)?, 0.0),
            };
            if *dtype == DataType::Complex64 {
                out.extend_from_slice(&(re as f32).to_ne_bytes());
                out.extend_from_slice(&(im as f32).to_ne_bytes());
            } else {
                out.extend_from_slice(&re.to_ne_bytes());
                out.extend_from_slice(&im.to_ne_bytes());
            }
        }
        DataType::Bytes(n) => {
            let s = scalar_text(node).ok_or_else(bad)?;
            let b = s.as_bytes();
            let k = b.len().min(*n);
            out.extend_from_slice(&b[..k]);
            out.resize(out.len() + (n - k), 0);
        }
        DataType::Ucs4(n) => {
            let s = scalar_text(node).ok_or_else(bad)?;
            let mut k = 0;
            for c in s.chars().take(*n) {
                out.extend_from_slice(&(c as u32).to_ne_bytes());
                k += 1;
            }
            out.resize(out.len() + 4 * (n - k), 0);
        }
        DataType::Struct(st) => {
            let items = node.as_seq().ok_or_else(bad)?;
            if items.len() != st.fields.len() {
                return Err(bad());
            }
            let start = out.len();
            out.resize(start + st.itemsize, 0);
            for (f, item) in st.fields.iter().zip(items) {
                let mut tmp = Vec::with_capacity(f.size());
                if f.shape.is_empty() {
                    encode_scalar(item, &f.dtype, &mut tmp, path)?;
                } else {
                    let (b, _) = inline_to_bytes(
                        item,
                        &f.dtype,
                        &f.shape.iter().map(|&d| d as u64).collect::<Vec<_>>(),
                        path,
                    )?;
                    tmp = b;
                }
                let dst = out
                    .get_mut(start + f.offset..start + f.offset + tmp.len())
                    .ok_or_else(bad)?;
                dst.copy_from_slice(&tmp);
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// The text of one inline element of a string dtype. A `null` (a masked element) is `"0"`:
/// python asdf puts `0` under the mask (`np.where(nones, 0, inline)`) and numpy turns it into
/// the text `'0'` of the string dtype, as the numeric dtypes get the value 0.
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.to_string()),
        Value::Null => Some("0".into()),
        Value::Seq(_) | Value::Map(_) => None,
        _ => node.key_string(),
    }
}
