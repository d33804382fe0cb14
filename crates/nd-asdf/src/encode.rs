//! What a writer encodes: types and values as tree nodes (the ASDF datatype node, inline data,
//! the pieces of an ndarray node, paths in the tree), and blocks as bytes (block headers and the
//! block index).

use crate::error::{Error, Result};
use crate::layout::{BLOCK_MAGIC, INDEX_HEADER};
use crate::yaml::{python_float_repr, Node, ThinVec, Value};
use nd_core::{ArrayBuf, DataType, Endian};

/// The ndarray tag written (standard 1.5.0).
pub const NDARRAY_TAG_WRITE: &str = "tag:stsci.edu:asdf/core/ndarray-1.0.0";

/// The ASDF datatype node of a type (records with per-field byte order and shape).
pub fn datatype_node(dt: &DataType, endian: Endian) -> Result<Node> {
    let name = match dt {
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Float16 => "float16",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Complex64 => "complex64",
        DataType::Complex128 => "complex128",
        DataType::Bool => "bool8",
        DataType::Bytes(n) => {
            return Ok(Node::new(Value::Seq(thin_vec::thin_vec![
                Node::str("ascii"),
                Node::new(Value::int(*n as i128)),
            ])))
        }
        DataType::Ucs4(n) => {
            return Ok(Node::new(Value::Seq(thin_vec::thin_vec![
                Node::str("ucs4"),
                Node::new(Value::int(*n as i128)),
            ])))
        }
        DataType::Struct(s) => {
            let mut pos = 0;
            let mut fields = Vec::new();
            for f in &s.fields {
                if f.offset != pos {
                    return Err(Error::node(
                        "",
                        "records with padding cannot be written to ASDF",
                    ));
                }
                pos += f.size();
                let mut m = vec![
                    (Node::str("name"), Node::str(f.name.clone())),
                    (Node::str("datatype"), datatype_node(&f.dtype, f.endian)?),
                ];
                if f.dtype.has_byte_order() {
                    m.push((Node::str("byteorder"), Node::str(byteorder(f.endian))));
                }
                if !f.shape.is_empty() {
                    m.push((
                        Node::str("shape"),
                        Node::new(Value::Seq(
                            f.shape
                                .iter()
                                .map(|&d| Node::new(Value::int(d as i128)))
                                .collect(),
                        )),
                    ));
                }
                fields.push(Node::new(Value::Map(m.into())));
            }
            if pos != s.itemsize {
                return Err(Error::node(
                    "",
                    "records with padding cannot be written to ASDF",
                ));
            }
            return Ok(Node::new(Value::Seq(fields.into())));
        }
        other => return Err(Error::node("", format!("ASDF has no datatype for {other}"))),
    };
    let _ = endian;
    Ok(Node::str(name))
}

/// The `byteorder` value of a byte order (native order for single-byte types).
pub(crate) fn byteorder(e: Endian) -> &'static str {
    match e {
        Endian::Big => "big",
        Endian::Little => "little",
        Endian::NotApplicable => {
            if Endian::NATIVE == Endian::Big {
                "big"
            } else {
                "little"
            }
        }
    }
}

/// A sequence node of integers (a shape).
pub(crate) fn int_seq(v: &[u64]) -> Node {
    Node::new(Value::Seq(
        v.iter()
            .map(|&d| Node::new(Value::int(d as i128)))
            .collect(),
    ))
}

/// Insert `value` at a `/`-separated path into a mapping tree, creating mappings on the way.
pub fn insert_path(root: &mut Node, path: &str, value: Node) -> Result<()> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = segs.split_last() else {
        return Err(Error::node(path, "empty path"));
    };
    let mut cur = root;
    for s in parents {
        if cur.get(s).is_none() {
            cur.insert(s, Node::new(Value::Map(ThinVec::new())));
        }
        cur = cur
            .get_mut(s)
            .ok_or_else(|| Error::node(path, "parent is not a mapping"))?;
        if cur.as_map().is_none() {
            return Err(Error::node(path, "parent is not a mapping"));
        }
    }
    if cur.as_map().is_none() {
        return Err(Error::node(path, "parent is not a mapping"));
    }
    cur.insert(last, value);
    Ok(())
}

/// Inline data nodes for native-endian C-order values.
pub(crate) fn inline_data(buf: &ArrayBuf) -> Result<Node> {
    let dt = buf.dtype().clone();
    let size = dt.size();
    let bytes = buf.bytes();
    let scalars: Vec<Node> = bytes
        .chunks(size.max(1))
        .map(|c| scalar_node(&dt, c))
        .collect::<Result<_>>()?;
    fn nest(items: &mut std::vec::IntoIter<Node>, shape: &[u64]) -> Node {
        match shape.split_first() {
            None => items.next().unwrap_or(Node::new(Value::Null)),
            Some((&d, rest)) => Node::new(Value::Seq((0..d).map(|_| nest(items, rest)).collect())),
        }
    }
    let mut it = scalars.into_iter();
    Ok(nest(&mut it, buf.shape()))
}

fn scalar_node(dt: &DataType, c: &[u8]) -> Result<Node> {
    macro_rules! ne {
        ($t:ty) => {{
            let mut a = [0u8; std::mem::size_of::<$t>()];
            a.copy_from_slice(&c[..std::mem::size_of::<$t>()]);
            <$t>::from_ne_bytes(a)
        }};
    }
    Ok(match dt {
        DataType::Bool => Node::new(Value::Bool(c[0] != 0)),
        DataType::Int8 => Node::new(Value::int(ne!(i8) as i128)),
        DataType::Int16 => Node::new(Value::int(ne!(i16) as i128)),
        DataType::Int32 => Node::new(Value::int(ne!(i32) as i128)),
        DataType::Int64 => Node::new(Value::int(ne!(i64) as i128)),
        DataType::UInt8 => Node::new(Value::int(ne!(u8) as i128)),
        DataType::UInt16 => Node::new(Value::int(ne!(u16) as i128)),
        DataType::UInt32 => Node::new(Value::int(ne!(u32) as i128)),
        DataType::UInt64 => Node::new(Value::int(ne!(u64) as i128)),
        DataType::Float16 => Node::new(Value::Float(half::f16::from_bits(ne!(u16)).to_f64())),
        DataType::Float32 => Node::new(Value::Float(ne!(f32) as f64)),
        DataType::Float64 => Node::new(Value::Float(ne!(f64))),
        DataType::Complex64 | DataType::Complex128 => {
            let (re, im) = if *dt == DataType::Complex64 {
                (ne!(f32) as f64, {
                    let mut a = [0u8; 4];
                    a.copy_from_slice(&c[4..8]);
                    f32::from_ne_bytes(a) as f64
                })
            } else {
                (ne!(f64), {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&c[8..16]);
                    f64::from_ne_bytes(a)
                })
            };
            let fmt = |x: f64| {
                if x.is_nan() {
                    "nan".to_string()
                } else if x.is_infinite() {
                    if x > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    let r = python_float_repr(x);
                    r.strip_suffix(".0").map(str::to_string).unwrap_or(r)
                }
            };
            let im_s = fmt(im);
            let sign = if im_s.starts_with('-') { "" } else { "+" };
            Node::tagged(
                "tag:stsci.edu:asdf/core/complex-1.0.0",
                Value::Str(format!("({}{sign}{im_s}j)", fmt(re)).into()),
            )
        }
        DataType::Bytes(_) => {
            let end = c.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            Node::str(String::from_utf8_lossy(&c[..end]).to_string())
        }
        DataType::Ucs4(_) => {
            let s: String = c
                .chunks_exact(4)
                .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
                .take_while(|&u| u != 0)
                .filter_map(char::from_u32)
                .collect();
            Node::str(s)
        }
        DataType::Struct(s) => {
            let mut items = Vec::new();
            for f in &s.fields {
                let fb = c
                    .get(f.offset..f.offset + f.size())
                    .ok_or_else(|| Error::node("", "record field out of range"))?;
                if f.shape.is_empty() {
                    items.push(scalar_node(&f.dtype, fb)?);
                } else {
                    let sub = ArrayBuf::from_bytes(
                        f.dtype.to_native(),
                        f.shape.iter().map(|&d| d as u64).collect(),
                        fb,
                    )?;
                    items.push(inline_data(&sub)?);
                }
            }
            Node::new(Value::Seq(items.into()))
        }
        other => return Err(Error::node("", format!("cannot write {other} inline"))),
    })
}

/// `dt` with every field of a record set to byte order `endian`.
pub(crate) fn with_endian(dt: &DataType, endian: Endian) -> DataType {
    match dt {
        DataType::Struct(s) => {
            let mut s = s.clone();
            for f in &mut s.fields {
                if f.dtype.has_byte_order() {
                    f.endian = endian;
                }
            }
            DataType::Struct(s)
        }
        other => other.clone(),
    }
}

/// Append a block header (magic, header size, 48 header bytes; big-endian fields) to `out`.
pub(crate) fn write_block_header(
    out: &mut Vec<u8>,
    flags: u32,
    comp: [u8; 4],
    alloc: u64,
    used: u64,
    data: u64,
    sum: [u8; 16],
) {
    out.extend_from_slice(BLOCK_MAGIC);
    out.extend_from_slice(&48u16.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&comp);
    out.extend_from_slice(&alloc.to_be_bytes());
    out.extend_from_slice(&used.to_be_bytes());
    out.extend_from_slice(&data.to_be_bytes());
    out.extend_from_slice(&sum);
}

/// Append the block index (block offsets as a YAML sequence) to `out`.
pub(crate) fn write_index(out: &mut Vec<u8>, offsets: &[u64]) {
    out.extend_from_slice(INDEX_HEADER);
    out.extend_from_slice(b"\n%YAML 1.1\n---\n");
    for o in offsets {
        out.extend_from_slice(format!("- {o}\n").as_bytes());
    }
    out.extend_from_slice(b"...\n");
}
