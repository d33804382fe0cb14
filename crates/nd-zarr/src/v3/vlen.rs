//! Zarr v3 arrays of the variable-length data types zarr-python 3 writes for `str` and `bytes`
//! arrays: `string` (array→bytes codec `vlen-utf8`) and `bytes` (`variable_length_bytes`,
//! codec `vlen-bytes`). nd-core has no variable-length element type: these arrays are read by
//! [`crate::object::ObjectArray`], as Zarr v2 object arrays are, as fixed-width numpy `U<w>` /
//! `S<w>`. This module parses their `zarr.json` and decodes a stored chunk (or shard) into its
//! items.
//!
//! The `vlen-*` codec uses numcodecs' framing (see [`nd_codecs::object`]); it may sit inside
//! `sharding_indexed` (at any depth), after `transpose`, and before bytes→bytes codecs, as in
//! any other chain. Fill values as zarr-python 3.1 reads them: for `string` a JSON string or
//! number, shown as Python's `str()` of it (`0` → `"0"`, `1e20` → `"1e+20"`, `true` → `"True"`:
//! `bool` is an `int` in Python); for `bytes` a base64 string (Python's non-validating decode).

use super::codec::{CodecChain, Ctx};
use super::meta::{name_config, ArrayMetadataV3, MetadataErrorV3, ZARR_JSON};
use crate::error::{store_err, Result};
use crate::node::join;
use nd_codecs::object::{python_str, ObjectCodec};
use nd_codecs::Codec as _;
use nd_core::{DataType, Store};
use serde_json::{json, Value};
use std::sync::Arc;

type MResult<T> = std::result::Result<T, MetadataErrorV3>;

/// The object codec a variable-length v3 data type needs: `string` → `vlen-utf8`, `bytes`
/// (zarr-python 3 also reads `variable_length_bytes`) → `vlen-bytes`; `None` for any other
/// data type (or a `data_type` that is not a name).
pub fn vlen_codec_of(data_type: &Value) -> Option<ObjectCodec> {
    match name_config(data_type, "data_type").ok()?.0 {
        "string" => Some(ObjectCodec::VlenUtf8),
        "bytes" | "variable_length_bytes" => Some(ObjectCodec::VlenBytes),
        _ => None,
    }
}

/// The metadata of a Zarr v3 array of a variable-length data type (`string`, `bytes`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMetadataV3 {
    /// Shape, chunk grid, chunk key encoding, dimension names, attributes and codecs as written,
    /// parsed as for a one-byte array: `data_type` and `fill_value` of this stand-in are
    /// `uint8` and 0; the real ones are the fields below.
    pub grid: ArrayMetadataV3,
    /// The element kind: `vlen-utf8` (text, read as numpy `U`) or `vlen-bytes` (numpy `S`).
    pub codec: ObjectCodec,
    /// The fill value as one item (UTF-8 text, or bytes).
    pub fill: Vec<u8>,
    /// `data_type` as written.
    pub data_type_json: Value,
    /// `fill_value` as written.
    pub fill_value_json: Value,
    /// The codec chain, short (`vlen-utf8+zstd`, `sharding_indexed(vlen-utf8+zstd)`).
    pub codecs_described: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The fill value of a variable-length type as one item, as zarr-python 3.1 reads it.
fn fill_item(codec: ObjectCodec, v: &Value) -> MResult<Vec<u8>> {
    const F: &str = "fill_value";
    match (codec, v) {
        // `str(data)` of an int, float or str (`check_vlen_string_json_scalar`)
        (ObjectCodec::VlenUtf8, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            Ok(python_str(v).unwrap_or_default().into_bytes())
        }
        (ObjectCodec::VlenUtf8, other) => Err(invalid(
            F,
            format!("{other} is neither a string nor a number"),
        )),
        // `base64.standard_b64decode`
        (_, Value::String(s)) => nd_codecs::b64::Base64
            .decode(s.as_bytes(), s.len())
            .map_err(|e| invalid(F, format!("'{s}' is not base64: {e}"))),
        (_, other) => Err(invalid(F, format!("{other} is not a base64 string"))),
    }
}

impl ObjectMetadataV3 {
    /// Parse a `zarr.json` document whose `data_type` is `string` or `bytes`.
    ///
    /// # Errors
    /// As [`ArrayMetadataV3::from_json`]; [`MetadataErrorV3::Invalid`] for a fill value
    /// zarr-python 3 does not read, a codec chain without the matching `vlen-*` codec (or with
    /// `bytes`), a data type that is not variable-length.
    pub fn from_json(v: &Value) -> MResult<ObjectMetadataV3> {
        let dt = v
            .get("data_type")
            .ok_or(MetadataErrorV3::Missing("data_type"))?;
        let codec = vlen_codec_of(dt)
            .ok_or_else(|| invalid("data_type", format!("{dt} is not string or bytes")))?;
        let mut standin = v.clone();
        if let Some(m) = standin.as_object_mut() {
            m.insert("data_type".into(), json!("uint8"));
            m.insert("fill_value".into(), json!(0));
        }
        let mut grid = ArrayMetadataV3::from_json(&standin)?;
        let fill_value_json = v
            .get("fill_value")
            .cloned()
            .ok_or(MetadataErrorV3::Missing("fill_value"))?;
        let fill = fill_item(codec, &fill_value_json)?;
        let chain = CodecChain::parse_vlen(&grid.codecs, &grid.chunk_shape, codec)?;
        grid.fill_value = Vec::new();
        Ok(ObjectMetadataV3 {
            grid,
            codec,
            fill,
            data_type_json: dt.clone(),
            fill_value_json,
            codecs_described: chain.describe(),
        })
    }

    /// The dtype shown before the width is known: the data type and its codec
    /// (`string (vlen-utf8)`).
    pub fn describe(&self) -> String {
        let name = name_config(&self.data_type_json, "data_type").map_or("?", |(n, _)| n);
        format!("{name} ({})", self.codec.id())
    }
}

/// The stored chunks (shards) of a variable-length v3 array, decoded into items.
#[derive(Debug)]
pub struct VlenChunks {
    store: Arc<dyn Store>,
    path: String,
    meta: ObjectMetadataV3,
    chain: CodecChain,
}

impl VlenChunks {
    /// Over the array at `path` of `store` described by `meta`.
    ///
    /// # Errors
    /// A codec chain that is invalid or not implemented (named by the array's `zarr.json`).
    pub fn new(store: Arc<dyn Store>, path: &str, meta: ObjectMetadataV3) -> Result<VlenChunks> {
        let chain = CodecChain::parse_vlen(&meta.grid.codecs, &meta.grid.chunk_shape, meta.codec)
            .map_err(|source| crate::Error::MetadataV3 {
            key: join(path, ZARR_JSON),
            source,
        })?;
        Ok(VlenChunks {
            store,
            path: path.to_string(),
            meta,
            chain,
        })
    }

    /// The metadata.
    pub fn metadata(&self) -> &ObjectMetadataV3 {
        &self.meta
    }

    /// Decode the stored chunk (a shard, for a sharded array) at grid index `chunk`, calling
    /// `emit(position, item)` once for every element, `position` in C order over the chunk
    /// shape (an empty inner chunk of a shard gives the fill value). One get; memory is the
    /// stored and decoded bytes of one chunk plus the items of one (inner) chunk.
    /// Returns `false` (and emits nothing) when the chunk is absent.
    ///
    /// # Errors
    /// Store errors; corrupt data (a codec, the shard index, the vlen framing, an item count
    /// other than the chunk's, invalid UTF-8), each naming the chunk's key.
    pub fn for_each_item(&self, chunk: &[u64], emit: &mut dyn FnMut(u64, &[u8])) -> Result<bool> {
        let key = join(&self.path, &self.meta.grid.chunk_key_encoding.key(chunk));
        let Some(data) = self.store.get(&key).map_err(store_err(&key))? else {
            return Ok(false);
        };
        let ctx = Ctx {
            key: &key,
            dtype: &DataType::UInt8,
            fill: &self.meta.fill,
        };
        self.chain.decode_items(&ctx, &data, emit)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(dt: Value, fill: Value, codecs: Value) -> Value {
        json!({
            "zarr_format": 3, "node_type": "array", "shape": [5], "data_type": dt,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill, "codecs": codecs,
        })
    }

    #[test]
    fn metadata_and_fill_values_as_zarr_python_3_reads_them() {
        let utf8 = json!([{"name": "vlen-utf8", "configuration": {}}, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}]);
        let m =
            ObjectMetadataV3::from_json(&doc(json!("string"), json!(""), utf8.clone())).unwrap();
        assert_eq!(m.codec, ObjectCodec::VlenUtf8);
        assert_eq!(m.fill, b"");
        assert_eq!(m.codecs_described, "vlen-utf8+zstd");
        assert_eq!(m.describe(), "string (vlen-utf8)");
        for (fill, text) in [
            (json!(0), "0"),
            (json!(1.5), "1.5"),
            (json!(1e-7), "1e-07"),
            (json!(true), "True"),
            (json!("zé"), "zé"),
        ] {
            let m = ObjectMetadataV3::from_json(&doc(json!("string"), fill, utf8.clone())).unwrap();
            assert_eq!(m.fill, text.as_bytes());
        }
        for fill in [json!(null), json!([1]), json!({})] {
            assert!(
                ObjectMetadataV3::from_json(&doc(json!("string"), fill, utf8.clone())).is_err()
            );
        }
        let bytes = json!([{"name": "vlen-bytes"}]);
        for dt in ["bytes", "variable_length_bytes"] {
            let m =
                ObjectMetadataV3::from_json(&doc(json!(dt), json!("AAFi"), bytes.clone())).unwrap();
            assert_eq!(m.fill, b"\0\x01b");
        }
        assert!(
            ObjectMetadataV3::from_json(&doc(json!("bytes"), json!(0), bytes.clone())).is_err()
        );
        // the codec must match the data type; `bytes` cannot serialize a variable-length type
        assert!(ObjectMetadataV3::from_json(&doc(json!("bytes"), json!(""), utf8)).is_err());
        assert!(ObjectMetadataV3::from_json(&doc(
            json!("string"),
            json!(""),
            json!([{"name": "bytes"}])
        ))
        .is_err());
        assert!(ObjectMetadataV3::from_json(&doc(json!("uint8"), json!(0), bytes)).is_err());
    }
}
