//! A reference set's Zarr v2 hierarchy rewritten as Zarr v3 (`nd refs --zarr-format 3`): one
//! `zarr.json` per node, the codecs as a v3 codec chain, chunk keys in the v3 default encoding
//! (`c/0/1`; `c` for a 0-d array). The byte ranges and inline chunks are unchanged
//! (`spec-notes/virtual-zarr.md`, "Zarr v3 output").

use super::{
    Ref, RefSet, ND_ASDF_LZ4, ND_ASDF_STRIDED, ND_FITS_COLUMN, ND_FITS_SCALE, ND_FITS_TILE,
    ND_FITS_TILE_GROUP, ND_FITS_TILE_TABLE,
};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Rewrite a (v2) reference set as Zarr v3: groups and arrays get a `zarr.json` (attributes
/// inside it, `_ARRAY_DIMENSIONS` as `dimension_names`), each array's filters and compressor
/// become a codec chain (array→array codecs, `bytes` with the stored byte order, bytes→bytes
/// codecs), and chunk `i.j` becomes `c/i/j`.
///
/// Codec names: `gzip` (a Zarr v3 codec); numcodecs' codecs by their `numcodecs.` names
/// (`numcodecs.fixedscaleoffset`, `numcodecs.shuffle`, `numcodecs.zlib`, `numcodecs.bz2`,
/// `numcodecs.lz4`, and for Zarr-in-ASDF `numcodecs.blosc`, `numcodecs.zstd`, `numcodecs.lzma`),
/// which zarr-python 3 reads through numcodecs; nd's own codecs by their ids
/// (`nd_fits_scale`, `nd_fits_tile`, `nd_fits_tile_table`, `nd_fits_tile_group`, `nd_asdf_lz4`,
/// `nd_asdf_strided`, `nd_fits_column`), registered by the `ndfiles` package in zarr-python 3's
/// `zarr.codecs` entry points. `fill_value` is the `.zarray`'s where it has one
/// (Zarr-in-ASDF, whose unwritten chunks have no reference), else 0 (never used: every chunk is
/// referenced).
///
/// # Errors
/// [`Error::Input`] for a set that is already v3, metadata that is not valid JSON of the
/// expected shape, or a dtype or codec without a v3 form (none of those nd writes).
pub fn to_v3(set: &RefSet) -> Result<RefSet> {
    let mut out = BTreeMap::new();
    let doc = |k: &str| match set.refs.get(k) {
        Some(Ref::Json(v)) => Ok(Some(v)),
        None => Ok(None),
        Some(_) => Err(Error::input(format!("{k}: a metadata key is not JSON"))),
    };
    if set.refs.contains_key("zarr.json") {
        return Err(Error::input("the references are already Zarr v3"));
    }
    // node paths ("" for the root) and whether each is an array
    let mut nodes: BTreeMap<String, bool> = BTreeMap::new();
    for k in set.refs.keys() {
        let (dir, name) = split(k);
        match name {
            ".zgroup" => {
                nodes.entry(dir.to_string()).or_insert(false);
            }
            ".zarray" => {
                nodes.insert(dir.to_string(), true);
            }
            _ => {}
        }
    }
    let mut skipped = set.skipped.clone();
    let mut left_out = Vec::new();
    for (path, &is_array) in &nodes {
        let attrs = doc(&join(path, ".zattrs"))?
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let meta = if is_array {
            let z = doc(&join(path, ".zarray"))?
                .ok_or_else(|| Error::input(format!("{path}: no .zarray")))?;
            match array_meta(path, z, attrs)? {
                Some(m) => m,
                None if z["dtype"].is_array() => {
                    skipped.push(format!(
                        "array \"{path}\": a structured (record) dtype {}: zarr-python 3 has no structured data type (Zarr v2 references map it); not mapped",
                        z["dtype"]
                    ));
                    left_out.push(path.clone());
                    continue;
                }
                None => {
                    skipped.push(format!(
                        "array \"{path}\": dtype {} has no Zarr v3 data type; not mapped",
                        z["dtype"]
                    ));
                    left_out.push(path.clone());
                    continue;
                }
            }
        } else {
            json!({"zarr_format": 3, "node_type": "group", "attributes": attrs})
        };
        out.insert(join(path, "zarr.json"), Ref::Json(meta));
    }
    if skipped.len() != set.skipped.len() {
        if let Some(Ref::Json(root)) = out.get_mut("zarr.json") {
            if root["attributes"].is_object() {
                root["attributes"]["nd_skipped"] = json!(skipped);
            }
        }
    }
    for (k, r) in &set.refs {
        let (dir, name) = split(k);
        if name.starts_with(".z") {
            continue;
        }
        if nodes.get(dir) != Some(&true) {
            return Err(Error::input(format!("{k}: a chunk outside every array")));
        }
        if left_out.iter().any(|p| p == dir) {
            continue;
        }
        let mut key = String::from("c");
        if name != "0" || !is_scalar(set, dir) {
            for i in name.split('.') {
                key.push('/');
                key.push_str(i);
            }
        }
        out.insert(join(dir, &key), r.clone());
    }
    Ok(RefSet {
        urls: set.urls.clone(),
        refs: out,
        skipped,
        needs_nd_codec: set.needs_nd_codec.clone(),
    })
}

/// Whether the array at `path` is 0-d (its one chunk is `0` in v2, `c` in v3).
fn is_scalar(set: &RefSet, path: &str) -> bool {
    matches!(set.refs.get(&join(path, ".zarray")),
        Some(Ref::Json(z)) if z["shape"].as_array().is_some_and(Vec::is_empty))
}

/// `(directory, last component)` of a key.
fn split(k: &str) -> (&str, &str) {
    k.rsplit_once('/').unwrap_or(("", k))
}

/// `path/name`, or `name` for the root.
fn join(path: &str, name: &str) -> String {
    super::key(path, name)
}

/// The v3 `zarr.json` of an array from its `.zarray` and `.zattrs`; `None` for a dtype without a
/// v3 data type.
fn array_meta(path: &str, z: &Value, mut attrs: Map<String, Value>) -> Result<Option<Value>> {
    let bad = |what: String| Error::input(format!("array \"{path}\": {what}"));
    let dtype = match &z["dtype"] {
        Value::String(d) => d.as_str(),
        Value::Array(_) => return Ok(None),
        _ => return Err(bad("dtype is not a string".into())),
    };
    let Some((data_type, default_fill)) = data_type(dtype) else {
        return Ok(None);
    };
    // the fill value of a store with unwritten chunks (Zarr-in-ASDF); v2 and v3 spell numbers,
    // booleans and "NaN"/"Infinity" alike
    let fill = match &z["fill_value"] {
        Value::Null => default_fill,
        v => v.clone(),
    };
    let filters: Vec<&Value> = z["filters"].as_array().into_iter().flatten().collect();
    let mut array_array = Vec::new();
    let mut bytes_bytes = Vec::new();
    // the type the `bytes` codec sees: the stored one, below any array→array filter
    let mut stored = dtype.to_string();
    for f in filters.iter().copied().chain(z.get("compressor")) {
        if f.is_null() {
            continue;
        }
        let id = f["id"]
            .as_str()
            .ok_or_else(|| bad("a codec without id".into()))?;
        match id {
            "fixedscaleoffset" | ND_FITS_SCALE => {
                if !bytes_bytes.is_empty() {
                    return Err(bad(format!("{id} after a bytes codec")));
                }
                stored = match id {
                    ND_FITS_SCALE => match f["bitpix"].as_i64() {
                        Some(8) => "|u1",
                        Some(16) => ">i2",
                        Some(32) => ">i4",
                        Some(64) => ">i8",
                        Some(-32) => ">f4",
                        Some(-64) => ">f8",
                        _ => return Err(bad("nd_fits_scale without a valid bitpix".into())),
                    }
                    .to_string(),
                    _ => f["astype"].as_str().unwrap_or(&stored).to_string(),
                };
                let name = if id == ND_FITS_SCALE {
                    id.to_string()
                } else {
                    format!("numcodecs.{id}")
                };
                array_array.push(codec(&name, f));
            }
            "shuffle" | "zlib" | "bz2" | "lz4" | "blosc" | "zstd" | "lzma" => {
                bytes_bytes.push(codec(&format!("numcodecs.{id}"), f));
            }
            "gzip" => bytes_bytes.push(codec("gzip", f)),
            ND_FITS_TILE | ND_FITS_TILE_TABLE | ND_FITS_TILE_GROUP | ND_ASDF_LZ4
            | ND_ASDF_STRIDED | ND_FITS_COLUMN => bytes_bytes.push(codec(id, f)),
            other => return Err(bad(format!("codec {other:?} has no v3 form here"))),
        }
    }
    let mut chain = array_array;
    let endian = match stored.as_bytes().first() {
        Some(b'>') => json!({"endian": "big"}),
        Some(b'<') => json!({"endian": "little"}),
        _ => json!({}),
    };
    chain.push(json!({"name": "bytes", "configuration": endian}));
    chain.extend(bytes_bytes);
    let mut meta = json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": z["shape"],
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": z["chunks"]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": chain,
    });
    if let Some(dims) = attrs.remove("_ARRAY_DIMENSIONS") {
        meta["dimension_names"] = dims;
    }
    meta["attributes"] = Value::Object(attrs);
    Ok(Some(meta))
}

/// A v3 codec entry from a numcodecs configuration (its `id` dropped).
fn codec(name: &str, config: &Value) -> Value {
    let mut c = config.as_object().cloned().unwrap_or_default();
    c.remove("id");
    json!({"name": name, "configuration": c})
}

/// The v3 data type of a v2 (numpy) typestr, and its fill value: the core types by name,
/// byte strings (`|S4`) and unicode (`<U3`) as zarr-python 3's `null_terminated_bytes` and
/// `fixed_length_utf32`.
fn data_type(typestr: &str) -> Option<(Value, Value)> {
    let t = typestr.trim_start_matches(['<', '>', '|', '=']);
    let sized = |name: &str, unit: u64| {
        let n: u64 = t[1..].parse().ok().filter(|&n| n > 0)?;
        let cfg = json!({"length_bytes": n.checked_mul(unit)?});
        Some((json!({"name": name, "configuration": cfg}), json!("")))
    };
    let (name, fill) = match t {
        "b1" => ("bool", json!(false)),
        "i1" => ("int8", json!(0)),
        "i2" => ("int16", json!(0)),
        "i4" => ("int32", json!(0)),
        "i8" => ("int64", json!(0)),
        "u1" => ("uint8", json!(0)),
        "u2" => ("uint16", json!(0)),
        "u4" => ("uint32", json!(0)),
        "u8" => ("uint64", json!(0)),
        "f2" => ("float16", json!(0.0)),
        "f4" => ("float32", json!(0.0)),
        "f8" => ("float64", json!(0.0)),
        "c8" => ("complex64", json!([0.0, 0.0])),
        "c16" => ("complex128", json!([0.0, 0.0])),
        _ if t.starts_with('S') => return sized("null_terminated_bytes", 1),
        _ if t.starts_with('U') => return sized("fixed_length_utf32", 4),
        _ => return None,
    };
    Some((json!(name), fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(refs: Vec<(&str, Ref)>) -> RefSet {
        RefSet {
            urls: vec!["/f.fits".into()],
            refs: refs.into_iter().map(|(k, r)| (k.to_string(), r)).collect(),
            skipped: vec![],
            needs_nd_codec: vec![],
        }
    }

    #[test]
    fn scaled_shuffled_gzip_tiles_become_one_chain() {
        let s = set(vec![
            (".zgroup", Ref::Json(json!({"zarr_format": 2}))),
            (".zattrs", Ref::Json(json!({"A": 1}))),
            (
                "SCI/.zarray",
                Ref::Json(json!({"zarr_format": 2, "shape": [4, 6], "chunks": [1, 6],
                    "dtype": "<u2", "fill_value": null, "order": "C",
                    "compressor": {"id": "gzip", "level": 1},
                    "filters": [{"id": "fixedscaleoffset", "scale": 1.0, "offset": 32768.0,
                                 "dtype": "<u2", "astype": ">i2"},
                                {"id": "shuffle", "elementsize": 2}]})),
            ),
            (
                "SCI/.zattrs",
                Ref::Json(json!({"_ARRAY_DIMENSIONS": ["y", "x"], "fits_hdu": 1})),
            ),
            (
                "SCI/3.0",
                Ref::Range {
                    file: 0,
                    offset: 10,
                    length: 5,
                },
            ),
        ]);
        let v = to_v3(&s).unwrap();
        let keys: Vec<&str> = v.refs.keys().map(String::as_str).collect();
        assert_eq!(keys, ["SCI/c/3/0", "SCI/zarr.json", "zarr.json"]);
        let Ref::Json(m) = &v.refs["SCI/zarr.json"] else {
            panic!("not JSON")
        };
        assert_eq!(m["data_type"], "uint16");
        assert_eq!(m["dimension_names"], json!(["y", "x"]));
        assert_eq!(m["attributes"], json!({"fits_hdu": 1}));
        let names: Vec<&str> = m["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "numcodecs.fixedscaleoffset",
                "bytes",
                "numcodecs.shuffle",
                "gzip"
            ]
        );
        assert_eq!(m["codecs"][1]["configuration"]["endian"], "big");
        assert_eq!(m["codecs"][0]["configuration"]["astype"], ">i2");
        let Ref::Json(root) = &v.refs["zarr.json"] else {
            panic!("not JSON")
        };
        assert_eq!(root["node_type"], "group");
        assert_eq!(root["attributes"]["A"], 1);
        assert!(to_v3(&v).is_err(), "already v3");
    }

    #[test]
    fn a_scalar_chunk_is_c() {
        let s = set(vec![
            (".zgroup", Ref::Json(json!({"zarr_format": 2}))),
            (
                "x/.zarray",
                Ref::Json(json!({"shape": [], "chunks": [], "dtype": "|u1",
                    "compressor": null, "filters": null})),
            ),
            ("x/0", Ref::Bytes(vec![7])),
        ]);
        let v = to_v3(&s).unwrap();
        assert_eq!(v.refs["x/c"], Ref::Bytes(vec![7]));
        let Ref::Json(m) = &v.refs["x/zarr.json"] else {
            panic!("not JSON")
        };
        assert_eq!(m["codecs"], json!([{"name": "bytes", "configuration": {}}]));
        let odd = set(vec![
            (".zgroup", Ref::Json(json!({"zarr_format": 2}))),
            (
                "x/.zarray",
                Ref::Json(json!({"shape": [1], "chunks": [1], "dtype": "<M8[s]"})),
            ),
            ("x/0", Ref::Bytes(vec![0; 8])),
            (
                "s/.zarray",
                Ref::Json(json!({"shape": [1], "chunks": [1], "dtype": ">U3"})),
            ),
        ]);
        let v = to_v3(&odd).unwrap();
        let keys: Vec<&str> = v.refs.keys().map(String::as_str).collect();
        assert_eq!(keys, ["s/zarr.json", "zarr.json"]);
        assert!(
            v.skipped[0].contains("no Zarr v3 data type"),
            "{:?}",
            v.skipped
        );
        let Ref::Json(root) = &v.refs["zarr.json"] else {
            panic!("not JSON")
        };
        assert_eq!(root["attributes"]["nd_skipped"], json!(v.skipped));
        let Ref::Json(m) = &v.refs["s/zarr.json"] else {
            panic!("not JSON")
        };
        assert_eq!(m["data_type"]["name"], "fixed_length_utf32");
        assert_eq!(m["data_type"]["configuration"]["length_bytes"], 12);
        assert_eq!(m["codecs"][0]["configuration"]["endian"], "big");
    }
}
