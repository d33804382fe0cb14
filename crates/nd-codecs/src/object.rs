//! The numcodecs object codecs of Zarr v2 object (`|O`) arrays, decoded to one byte string per
//! element: `vlen-utf8` (text), `vlen-bytes` (bytes) and `json2` (text: each JSON item as
//! Python's `str()` of it). Such a codec is the first filter of a `|O` array; the filters after
//! it and the compressor are ordinary bytes codecs.
//!
//! - `vlen-utf8` / `vlen-bytes` (numcodecs `vlen.pyx`): `[u32 LE item count]` then per item
//!   `[u32 LE byte length][bytes]`, items in the chunk's memory order.
//! - `json2` (numcodecs `json.py`): a JSON list `[items..., dtype, shape]`; the items are
//!   `numpy.atleast_1d(chunk).tolist()` (nested lists for several dimensions, flattened here in C
//!   order, as zarr-python reshapes them).
//!
//! `pickle` (arbitrary code on decode: numcodecs 0.15 refuses it too unless told otherwise),
//! `msgpack2`, `vlen-array` (ragged numeric arrays) and `categorize` on objects are refused with
//! [`Error::Unsupported`] saying so.

use crate::{Error, Result};
use serde_json::Value;

/// An object codec nd decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectCodec {
    /// `vlen-utf8`: UTF-8 text.
    VlenUtf8,
    /// `vlen-bytes`: byte strings.
    VlenBytes,
    /// `json2`: JSON items (strings, numbers, booleans, null), read as text.
    Json2,
}

impl ObjectCodec {
    /// From the first filter of a `|O` array.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for `pickle`, `msgpack2`, `vlen-array` and any other id, with why.
    pub fn from_config(v: &Value) -> Result<ObjectCodec> {
        match v.get("id").and_then(Value::as_str) {
            Some("vlen-utf8") => Ok(ObjectCodec::VlenUtf8),
            Some("vlen-bytes") => Ok(ObjectCodec::VlenBytes),
            Some("json2") => match v.get("encoding").and_then(Value::as_str) {
                None | Some("utf-8" | "utf8" | "UTF-8") => Ok(ObjectCodec::Json2),
                Some(other) => Err(Error::Unsupported(format!(
                    "json2 object codec with encoding '{other}'"
                ))),
            },
            Some("pickle") => Err(Error::Unsupported(
                "object codec \"pickle\": unpickling can run arbitrary code, nd does not \
                 (numcodecs 0.15 refuses too unless ALLOW_UNSAFE_PICKLE_DECODE is set)"
                    .into(),
            )),
            Some("vlen-array") => Err(Error::Unsupported(
                "object codec \"vlen-array\": ragged arrays have no fixed-shape numpy form".into(),
            )),
            Some(id) => Err(Error::Unsupported(format!("object codec '{id}'"))),
            None => Err(Error::Config(format!(
                "object codec without an \"id\": {v}"
            ))),
        }
    }

    /// The Zarr v3 array→bytes codec of a variable-length data type, by its `name`:
    /// `vlen-utf8` (data type `string`) or `vlen-bytes` (data type `bytes`); `None` otherwise.
    pub fn from_v3_name(name: &str) -> Option<ObjectCodec> {
        match name {
            "vlen-utf8" => Some(ObjectCodec::VlenUtf8),
            "vlen-bytes" => Some(ObjectCodec::VlenBytes),
            _ => None,
        }
    }

    /// The numcodecs id.
    pub fn id(self) -> &'static str {
        match self {
            ObjectCodec::VlenUtf8 => "vlen-utf8",
            ObjectCodec::VlenBytes => "vlen-bytes",
            ObjectCodec::Json2 => "json2",
        }
    }

    /// True when the items are text (read as numpy `U`), false for bytes (numpy `S`).
    pub fn is_text(self) -> bool {
        !matches!(self, ObjectCodec::VlenBytes)
    }

    /// Decode one chunk's object codec output into exactly `n` items (UTF-8 for text).
    /// Items are slices of `data` where possible; allocation is bounded by `data.len()`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a truncated buffer, an item count other than `n`, invalid UTF-8
    /// (vlen-utf8), invalid JSON or a JSON item that is a list or object where a scalar belongs.
    pub fn decode(self, data: &[u8], n: usize) -> Result<Vec<Vec<u8>>> {
        match self {
            ObjectCodec::VlenUtf8 | ObjectCodec::VlenBytes => {
                let items = decode_vlen(self.id(), data, n)?;
                if self == ObjectCodec::VlenUtf8 {
                    for (i, it) in items.iter().enumerate() {
                        if std::str::from_utf8(it).is_err() {
                            return Err(Error::corrupt(
                                "vlen-utf8",
                                format!("item {i} is not valid UTF-8"),
                            ));
                        }
                    }
                }
                Ok(items.into_iter().map(<[u8]>::to_vec).collect())
            }
            ObjectCodec::Json2 => decode_json2(data, n),
        }
    }
}

fn u32_at(data: &[u8], pos: usize) -> Option<usize> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) // ok: 4 bytes
}

/// numcodecs' vlen framing: `[u32 count]` then `[u32 len][bytes]` per item.
fn decode_vlen<'a>(codec: &'static str, data: &'a [u8], n: usize) -> Result<Vec<&'a [u8]>> {
    let count = u32_at(data, 0)
        .ok_or_else(|| Error::corrupt(codec, "missing or truncated header (4 bytes)"))?;
    if count != n {
        return Err(Error::corrupt(
            codec,
            format!("{count} items, the chunk has {n} elements"),
        ));
    }
    // each item takes at least 4 bytes: checked before allocating
    if count > data.len() / 4 {
        return Err(Error::corrupt(
            codec,
            format!("{count} items in {} bytes", data.len()),
        ));
    }
    let mut out = Vec::with_capacity(count);
    let mut pos = 4usize;
    for i in 0..count {
        let len = u32_at(data, pos).ok_or_else(|| {
            Error::corrupt(codec, format!("item {i}: truncated length at byte {pos}"))
        })?;
        pos += 4;
        let item = pos
            .checked_add(len)
            .and_then(|end| data.get(pos..end))
            .ok_or_else(|| {
                Error::corrupt(
                    codec,
                    format!(
                        "item {i}: {len} bytes at byte {pos} run past the end ({})",
                        data.len()
                    ),
                )
            })?;
        out.push(item);
        pos += len;
    }
    Ok(out)
}

/// Python's `str()` of a JSON scalar as `json.loads` returns it (`null` is `"None"`, `true`
/// `"True"`, `1e20` `"1e+20"`); `None` for a list or an object. zarr-python keeps the fill value
/// of an object array (v2) or a `string` array (v3) as JSON decodes it and shows it this way.
pub fn python_str(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => python_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// Python's `repr(float)`: shortest round-trip digits; scientific (`1e+20`, `1.5e-07`) below
/// 1e-4 and from 1e16 on; a whole number keeps `.0`.
fn python_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = exp.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", e.abs())
    } else if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn flatten<'a>(v: &'a Value, depth: usize, out: &mut Vec<&'a Value>) -> bool {
    match v {
        Value::Array(items) if depth > 0 => items.iter().all(|x| flatten(x, depth - 1, out)),
        _ if depth > 0 => false,
        x => {
            out.push(x);
            true
        }
    }
}

/// numcodecs `json2`: `[items..., dtype, shape]`.
fn decode_json2(data: &[u8], n: usize) -> Result<Vec<Vec<u8>>> {
    let bad = |r: String| Error::corrupt("json2", r);
    let v = crate::zarr_v2::parse_json_lenient(data).map_err(|e| bad(e.to_string()))?;
    let mut list = match v {
        Value::Array(l) if l.len() >= 2 => l,
        _ => return Err(bad("not a list ending with dtype and shape".into())),
    };
    let shape = list.pop().unwrap_or(Value::Null); // ok: len >= 2
    let _dtype = list.pop();
    let shape: Vec<usize> = shape
        .as_array()
        .and_then(|s| s.iter().map(|x| x.as_u64().map(|x| x as usize)).collect())
        .ok_or_else(|| bad(format!("shape {shape} is not a list of integers")))?;
    let count = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    if count != Some(n) {
        return Err(bad(format!(
            "shape {shape_s}, the chunk has {n} elements",
            shape_s = nd_core::fmt_shape(shape.iter())
        )));
    }
    let mut flat = Vec::with_capacity(n.min(list.len().saturating_mul(64)));
    let ok = if shape.is_empty() {
        // a 0-d chunk: `atleast_1d` made it one item
        list.len() == 1 && flatten(&list[0], 0, &mut flat)
    } else {
        list.len() == shape[0] && list.iter().all(|x| flatten(x, shape.len() - 1, &mut flat))
    };
    if !ok || flat.len() != n {
        return Err(bad(format!(
            "items do not have the shape {shape_s}",
            shape_s = nd_core::fmt_shape(shape.iter())
        )));
    }
    flat.into_iter()
        .map(|x| {
            python_str(x).map(String::into_bytes).ok_or_else(|| {
                bad(format!(
                    "item {x} is a list or object: no numpy string form"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vlen(items: &[&[u8]]) -> Vec<u8> {
        let mut v = (items.len() as u32).to_le_bytes().to_vec();
        for it in items {
            v.extend((it.len() as u32).to_le_bytes());
            v.extend(*it);
        }
        v
    }

    #[test]
    fn vlen_framing() {
        let d = vlen(&[b"ab", b"", "é".as_bytes()]);
        let c = ObjectCodec::from_config(&json!({"id": "vlen-utf8"})).unwrap();
        assert_eq!(
            c.decode(&d, 3).unwrap(),
            vec![b"ab".to_vec(), vec![], "é".as_bytes().to_vec()]
        );
        assert!(c.decode(&d, 2).is_err());
        assert!(c.decode(&d[..d.len() - 1], 3).is_err());
        assert!(c.decode(&[1, 0], 1).is_err());
        assert!(c.decode(&vlen(&[b"\xff"]), 1).is_err());
        let b = ObjectCodec::from_config(&json!({"id": "vlen-bytes"})).unwrap();
        assert_eq!(
            b.decode(&vlen(&[b"\xff\0"]), 1).unwrap(),
            vec![b"\xff\0".to_vec()]
        );
        // a huge claimed count is refused before allocating
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend([0u8; 8]);
        assert!(b.decode(&huge, u32::MAX as usize).is_err());
    }

    #[test]
    fn json2_items_and_refusals() {
        let c = ObjectCodec::from_config(&json!({"id": "json2", "encoding": "utf-8"})).unwrap();
        let got = c
            .decode(br#"[["a",1],[null,false],[1.5e-7,1e20],"|O",[3,2]]"#, 6)
            .unwrap();
        assert_eq!(got[3], b"False");
        assert_eq!(got[4], b"1.5e-07");
        assert_eq!(got[5], b"1e+20");
        assert!(
            c.decode(br#"[["a",1],[null,true],"|O",[3,2]]"#, 6).is_err(),
            "3 rows declared, 2 given"
        );
        let got = c.decode(br#"[["a",1],[null,true],"|O",[2,2]]"#, 4).unwrap();
        let s: Vec<String> = got
            .into_iter()
            .map(|b| String::from_utf8(b).unwrap())
            .collect();
        assert_eq!(s, ["a", "1", "None", "True"]);
        let got = c.decode(br#"[2.5,3.0,"x","|O",[3]]"#, 3).unwrap();
        assert_eq!(got, vec![b"2.5".to_vec(), b"3.0".to_vec(), b"x".to_vec()]);
        assert!(c.decode(br#"[[1],"|O",[1]]"#, 1).is_err());
        for id in ["pickle", "vlen-array", "msgpack2"] {
            let e = ObjectCodec::from_config(&json!({"id": id})).unwrap_err();
            assert!(e.to_string().contains(id), "{e}");
        }
    }
}
