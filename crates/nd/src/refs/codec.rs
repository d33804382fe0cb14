//! Decoding for nd's own codec ids in reference sets ([`super::ND_FITS_SCALE`],
//! [`super::ND_ASDF_LZ4`], [`super::ND_ASDF_STRIDED`], [`super::ND_FITS_TILE`],
//! [`super::ND_FITS_TILE_TABLE`], [`super::ND_FITS_TILE_GROUP`], [`super::ND_FITS_COLUMN`]): what
//! the `ndfiles` Python package's numcodecs and zarr-python 3 codecs call.

use super::tiles::TileTable;
use super::{
    ND_ASDF_LZ4, ND_ASDF_STRIDED, ND_FITS_COLUMN, ND_FITS_SCALE, ND_FITS_TILE, ND_FITS_TILE_GROUP,
    ND_FITS_TILE_TABLE,
};
use crate::error::{Error, Result};
use nd_core::DataType;
use serde_json::Value;

/// A codec configuration parsed once, to decode many chunks: what a codec object of the
/// `ndfiles` package holds (an `nd_fits_tile_table` or `nd_fits_tile_group` configuration
/// carries a table of every tile, worth parsing only once).
#[derive(Debug, Clone)]
pub struct Decoder {
    config: Value,
    table: Option<TileTable>,
}

impl Decoder {
    /// Parse `config` (a numcodecs-style JSON object with `id`).
    ///
    /// # Errors
    /// [`Error::Input`] for an `nd_fits_tile_table` or `nd_fits_tile_group` configuration that
    /// is not valid (the other ids are checked when decoding).
    pub fn new(config: Value) -> Result<Decoder> {
        let table = match config["id"].as_str() {
            Some(id @ (ND_FITS_TILE_TABLE | ND_FITS_TILE_GROUP)) => Some(
                TileTable::new(&config).map_err(|m| Error::input(format!("codec {id:?}: {m}")))?,
            ),
            _ => None,
        };
        Ok(Decoder { config, table })
    }

    /// Decode one chunk, as [`decode`].
    ///
    /// # Errors
    /// As [`decode`].
    pub fn decode(&self, data: &[u8], max_len: usize) -> Result<(DataType, Vec<u8>)> {
        match &self.table {
            Some(t) => {
                let id = self.config["id"].as_str().unwrap_or_default();
                let out = t
                    .decode(data, max_len)
                    .map_err(|m| Error::input(format!("codec {id:?}: {m}")))?;
                Ok((t.dtype(), out))
            }
            None => decode(&self.config, data, max_len),
        }
    }
}

/// Decode one chunk of `data` with the codec configuration `config` (a numcodecs-style JSON
/// object with `id`). Returns the decoded values' type and bytes (native byte order):
/// - `nd_fits_scale`: stored big-endian values of `bitpix` → astropy's physical values, with
///   BSCALE/BZERO/BLANK applied by the same rules (and code) as nd's FITS image reads;
/// - `nd_asdf_lz4`: python asdf's lz4 block framing (frames of `[u32 BE length][u32 LE size]
///   [LZ4 block]`) → the block's bytes (`|u1`), at most `max_len` bytes;
/// - `nd_asdf_strided`: the byte range spanning one chunk of a strided view of an ASDF block →
///   the chunk's elements in C order, their stored bytes (`|u1`);
/// - `nd_fits_tile`: one lossless RICE_1 / PLIO_1 / HCOMPRESS_1 tile → its ZBITPIX big-endian
///   values (`|u1`);
/// - `nd_fits_tile_table`: one tile of any kind, found in the configuration's table by its
///   bytes → the full tile's physical values (parses the table on every call: use [`Decoder`]
///   for many chunks);
/// - `nd_fits_tile_group`: a group of tiles (their streams one after another), found in the
///   configuration's table by its bytes → the chunk's physical values (as `nd_fits_tile_table`,
///   parsing the table on every call);
/// - `nd_fits_column`: whole rows of a FITS table → one column's values as astropy gives them.
///
/// # Errors
/// [`Error::Input`] for an unknown id, a configuration that is not valid, or data that does not
/// decode.
pub fn decode(config: &Value, data: &[u8], max_len: usize) -> Result<(DataType, Vec<u8>)> {
    let id = config["id"].as_str().unwrap_or_default();
    let bad = |what: &str| Error::input(format!("codec {id:?}: {what}"));
    match id {
        ND_FITS_SCALE => {
            let bitpix = config["bitpix"]
                .as_i64()
                .ok_or_else(|| bad("`bitpix` must be an integer"))?;
            let scaling = scaling_from_config(config, bitpix).map_err(|m| bad(&m))?;
            if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
                return Err(bad(&format!("invalid BITPIX {bitpix}")));
            }
            let stored = (bitpix.unsigned_abs() / 8) as usize;
            let dtype = scaling.physical_dtype(bitpix);
            let n = data.len() / stored;
            let len = n
                .checked_mul(dtype.size())
                .filter(|&l| l <= max_len)
                .ok_or_else(|| bad("decoded chunk larger than allowed"))?;
            let mut out = vec![0u8; len];
            scaling
                .apply(bitpix, &data[..n * stored], &mut out)
                .map_err(|e| bad(&e.to_string()))?;
            Ok((dtype, out))
        }
        ND_ASDF_LZ4 => {
            let out = nd_codecs::asdf::decode(b"lz4\0", data, max_len)
                .map_err(|e| bad(&e.to_string()))?;
            Ok((DataType::UInt8, out))
        }
        ND_ASDF_STRIDED => Ok((
            DataType::UInt8,
            super::strided::decode(config, data, max_len)?,
        )),
        ND_FITS_TILE => {
            let codec = tile_codec(config, false).map_err(|m| bad(&m))?;
            let tile: Vec<u64> = config["tile"]
                .as_array()
                .and_then(|t| t.iter().map(Value::as_u64).collect())
                .ok_or_else(|| bad("`tile` must be a list of sizes"))?;
            tile.iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .and_then(|n| n.checked_mul(codec.zbitpix.unsigned_abs() / 8))
                .filter(|&l| l <= max_len as u64)
                .ok_or_else(|| bad("decoded tile larger than allowed"))?;
            let out = codec.decode_be(data, &tile).map_err(|m| bad(&m))?;
            Ok((DataType::UInt8, out))
        }
        ND_FITS_COLUMN => super::table::decode(config, data, max_len),
        ND_FITS_TILE_TABLE | ND_FITS_TILE_GROUP => {
            Decoder::new(config.clone())?.decode(data, max_len)
        }
        _ => Err(bad("not a codec of nd")),
    }
}

/// The FITS scaling of a configuration's `bscale`, `bzero` and `blank` (each optional) for
/// values of `bitpix`, built by nd-fits from a header as for an image.
pub(super) fn scaling_from_config(
    config: &Value,
    bitpix: i64,
) -> std::result::Result<nd_fits::Scaling, String> {
    let mut h = nd_fits::Header::new();
    for key in ["bscale", "bzero"] {
        if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
            let v = match (v.as_i64(), v.as_f64()) {
                (Some(i), _) => nd_fits::Value::Int(i),
                (None, Some(f)) => nd_fits::Value::Float(f),
                _ => return Err(format!("`{key}` must be a number")),
            };
            h.set(&key.to_ascii_uppercase(), v, None)
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(b) = config.get("blank").filter(|v| !v.is_null()) {
        let b = b.as_i64().ok_or("`blank` must be an integer")?;
        h.set("BLANK", b, None).map_err(|e| e.to_string())?;
    }
    nd_fits::Scaling::from_header(&h, bitpix, 0).map_err(|e| e.to_string())
}

/// The tile codec a `nd_fits_tile` configuration describes (RICE_1, PLIO_1, HCOMPRESS_1), or
/// with `any` an `nd_fits_tile_table` one (every algorithm, ZBITPIX of any type).
pub(super) fn tile_codec(c: &Value, any: bool) -> std::result::Result<nd_fits::TileCodec, String> {
    let int = |k: &str| {
        c[k].as_i64()
            .ok_or_else(|| format!("`{k}` must be an integer"))
    };
    let size = |k: &str| {
        int(k).and_then(|v| usize::try_from(v).map_err(|_| format!("`{k}` must not be negative")))
    };
    let name = c["zcmptype"].as_str().unwrap_or_default();
    let algorithm = nd_fits::Algorithm::from_name(name)
        .filter(|a| {
            any || matches!(
                a,
                nd_fits::Algorithm::Rice | nd_fits::Algorithm::Plio | nd_fits::Algorithm::Hcompress
            )
        })
        .ok_or_else(|| format!("`zcmptype` {name:?} is not RICE_1, PLIO_1 or HCOMPRESS_1"))?;
    let zbitpix = int("zbitpix")?;
    if ![8, 16, 32, 64, -32, -64].contains(&zbitpix) {
        return Err(format!("invalid `zbitpix` {zbitpix}"));
    }
    Ok(nd_fits::TileCodec {
        algorithm,
        zbitpix,
        blocksize: size("blocksize")?.min(1 << 20),
        bytepix: size("bytepix")?.min(8),
        hscale: int("hscale")?,
        hsmooth: c["hsmooth"].as_bool().unwrap_or(false),
        plio_big_endian: c["plio_big_endian"].as_bool().unwrap_or(true),
    })
}

/// The `nd_fits_tile` configuration of a tile codec and tile shape.
pub(crate) fn tile_config(t: &nd_fits::TileCodec, tile: &[u64]) -> Value {
    serde_json::json!({
        "id": ND_FITS_TILE,
        "zcmptype": t.algorithm.name(),
        "zbitpix": t.zbitpix,
        "tile": tile,
        "blocksize": t.blocksize,
        "bytepix": t.bytepix,
        "hscale": t.hscale,
        "hsmooth": t.hsmooth,
        "plio_big_endian": t.plio_big_endian,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fits_scale_is_astropys_arithmetic() {
        // int16 [-32768, 100, 7] with BSCALE 0.1, BZERO 5, BLANK -32768 → float32
        let data: Vec<u8> = [-32768i16, 100, 7]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let cfg = json!({"id": "nd_fits_scale", "bitpix": 16, "bscale": 0.1, "bzero": 5.0, "blank": -32768});
        let (dt, out) = decode(&cfg, &data, 1 << 20).unwrap();
        assert_eq!(dt, DataType::Float32);
        let v: Vec<f32> = out
            .chunks(4)
            .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert!(v[0].is_nan());
        // numpy: float32(100) * float32(0.1) + float32(5), each step in float32
        assert_eq!(v[1], 100f32 * 0.1f32 + 5f32);
        assert_eq!(v[2], 7f32 * 0.1f32 + 5f32);
        // unsigned 64-bit: the sign-bit flip, exact
        let data = (-1i64).to_be_bytes();
        let cfg = json!({"id": "nd_fits_scale", "bitpix": 64, "bscale": 1.0, "bzero": 9.223372036854776e18, "blank": null});
        let (dt, out) = decode(&cfg, &data, 8).unwrap();
        assert_eq!(dt, DataType::UInt64);
        assert_eq!(
            u64::from_ne_bytes(out.try_into().unwrap()),
            (1u64 << 63) - 1
        );
        assert!(decode(&cfg, &[0; 16], 8).is_err(), "over the limit");
        assert!(decode(&json!({"id": "x"}), &[], 8).is_err());
        assert!(decode(&json!({"id": "nd_fits_scale", "bitpix": 12}), &[], 8).is_err());
    }
}
