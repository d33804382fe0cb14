//! `zarr.json` text as zarr-python 3 writes it: `json.dumps(d, indent=2)` of its dataclass
//! dicts, so keys come in the order zarr-python builds them (not sorted), non-ASCII characters
//! are `\uXXXX` escapes, and NaN / infinities are strings (the metadata never holds a bare NaN).
//!
//! serde_json's `Map` is sorted, so the order is restored here from a fixed ranking of the keys
//! zarr documents use; user attributes keep the (sorted) order of the map, and the paths of
//! consolidated metadata are ordered as zarr-python orders them (depth, then case-folded name).

use serde_json::Value;
use std::fmt::Write as _;

/// Keys of zarr documents in the order zarr-python writes them. Keys that never meet in one
/// object may share a rank order freely (`chunk_shape` is in a grid's and in a sharding
/// codec's configuration, before `codecs` in the latter).
const RANK: &[&str] = &[
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "chunk_shape",
    "codecs",
    "index_codecs",
    "index_location",
    "attributes",
    "dimension_names",
    "zarr_format",
    "consolidated_metadata",
    "node_type",
    "storage_transformers",
    "name",
    "configuration",
    "separator",
    "endian",
    "order",
    "typesize",
    "cname",
    "clevel",
    "shuffle",
    "blocksize",
    "level",
    "checksum",
    "length_bytes",
    "unit",
    "scale_factor",
    "kind",
    "must_understand",
    "metadata",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// A zarr document or one of its structural parts: keys by [`RANK`].
    Zarr,
    /// User data (attributes): the map's own order.
    Free,
    /// The `metadata` of consolidated metadata: paths to documents.
    Paths,
}

/// `v` (a `zarr.json` document) as zarr-python 3 writes it.
pub fn to_json_bytes(v: &Value) -> Vec<u8> {
    let mut s = String::new();
    emit(&mut s, v, Ctx::Zarr, 0);
    s.into_bytes()
}

fn rank(k: &str) -> usize {
    RANK.iter().position(|r| *r == k).unwrap_or(RANK.len())
}

fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn emit(out: &mut String, v: &Value, ctx: Ctx, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_str(out, s),
        Value::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                emit(
                    out,
                    x,
                    if ctx == Ctx::Paths { Ctx::Zarr } else { ctx },
                    depth + 1,
                );
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = m.keys().collect();
            match ctx {
                Ctx::Zarr => keys.sort_by_key(|k| (rank(k), (*k).clone())),
                Ctx::Paths => keys.sort_by_key(|k| (k.matches('/').count(), k.to_lowercase())),
                Ctx::Free => {}
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                push_str(out, k);
                out.push_str(": ");
                let child = match (ctx, k.as_str()) {
                    (Ctx::Free, _) => Ctx::Free,
                    (Ctx::Paths, _) => Ctx::Zarr,
                    (Ctx::Zarr, "attributes") => Ctx::Free,
                    (Ctx::Zarr, "metadata") => Ctx::Paths,
                    (Ctx::Zarr, _) => Ctx::Zarr,
                };
                emit(out, &m[k.as_str()], child, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zarr_python_order_and_escapes() {
        let v = json!({"node_type": "group", "zarr_format": 3,
            "attributes": {"z": 1, "a": "é", "name": []}});
        let s = String::from_utf8(to_json_bytes(&v)).unwrap();
        assert_eq!(
            s,
            "{\n  \"attributes\": {\n    \"a\": \"\\u00e9\",\n    \"name\": [],\n    \"z\": 1\n  },\n  \"zarr_format\": 3,\n  \"node_type\": \"group\"\n}"
        );
        let p = json!({"metadata": {"b/c": {}, "B": {}, "a": {}}});
        let s = String::from_utf8(to_json_bytes(&p)).unwrap();
        let (a, b, bc) = (
            s.find("\"a\"").unwrap(),
            s.find("\"B\"").unwrap(),
            s.find("b/c").unwrap(),
        );
        assert!(a < b && b < bc, "{s}");
    }
}
