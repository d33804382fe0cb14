//! Tile-compressed FITS images whose tiles need per-tile parameters (quantized tiles with their
//! own ZSCALE / ZZERO and dither seed, null pixels, tiles in GZIP_COMPRESSED_DATA /
//! UNCOMPRESSED_DATA, edge tiles that do not divide the image): nd's codec
//! [`super::ND_FITS_TILE_TABLE`], whose configuration carries a table that identifies a tile
//! from its bytes (their length and checksums) and gives its index and parameters. A chunk is
//! still exactly one tile's bytes in the file; the codec finds the tile in the table and decodes
//! it with nd-fits' own tile decoding ([`nd_fits::TileSettings::decode_full`]), giving
//! astropy's physical values, an edge tile padded to the full tile shape
//! (`spec-notes/virtual-zarr.md`, "Tile-compressed images").

use super::codec::{scaling_from_config, tile_codec, tile_config};
use super::ND_FITS_TILE_TABLE;
use nd_fits::{CompressedImage, Dither, TileColumn, TileParams, TileSettings};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::ops::Range;

/// The most tiles a tile table holds (its configuration is about 60 bytes a tile, so at most
/// about 4 MB; zarr-python parses it once per array).
pub const MAX_TILES: usize = 65_536;

/// A tile's identity in the table: its byte length and two checksums (CRC-32C and zlib's
/// CRC-32) of its bytes, written as 16 hex digits.
type Key = (u64, u64);

fn key_of(b: &[u8]) -> Key {
    let hash = (u64::from(nd_codecs::checksum::crc32c(b)) << 32)
        | u64::from(nd_codecs::checksum::crc32(b));
    (b.len() as u64, hash)
}

/// The tile shape of tile `row` of a C-order grid over `shape` (clipped at the image's edge).
fn tile_shape_of(shape: &[u64], tile: &[u64], row: u64) -> Vec<u64> {
    let grid: Vec<u64> = shape
        .iter()
        .zip(tile)
        .map(|(&s, &t)| s.div_ceil(t))
        .collect();
    let idx = nd_core::shape::coords_of(row, &grid);
    idx.iter()
        .zip(shape.iter().zip(tile))
        .map(|(&i, (&s, &t))| t.min(s - i * t))
        .collect()
}

/// The `nd_fits_tile_table` configuration of image `c` and every tile's byte range (table-row,
/// i.e. C grid, order). Reads every tile's bytes (to take their checksums). Else the reason the
/// image cannot be mapped: more than [`MAX_TILES`] tiles, or two tiles that the table cannot
/// tell apart (equal length and checksums) and that decode to different values.
pub(super) fn table_codec(
    c: &CompressedImage,
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
) -> Result<(Value, Vec<Range<u64>>), String> {
    let entries = c.tile_entries().map_err(|e| e.to_string())?;
    let shape = nd_core::ArrayRead::shape(c).to_vec();
    let cfg = table_config(
        c.tile_settings(),
        c.image_header(),
        &shape,
        c.tile_shape(),
        &entries,
        read,
    )?;
    Ok((cfg, entries.into_iter().map(|(r, _)| r).collect()))
}

/// The `nd_fits_tile_table` configuration of an image of `shape` in tiles of `tile` with
/// settings `s`, its header (BSCALE / BZERO), and its tiles (`entries`, table-row order).
fn table_config(
    s: &TileSettings,
    header: &nd_fits::Header,
    shape: &[u64],
    tile: &[u64],
    entries: &[(Range<u64>, TileParams)],
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
) -> Result<Value, String> {
    if entries.len() > MAX_TILES {
        return Err(format!(
            "{} tiles: a tile table holds at most {MAX_TILES} (the codec configuration would be \
             too large)",
            entries.len()
        ));
    }
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let (mut lengths, mut keys) = (Vec::new(), Vec::new());
    for (row, (range, p)) in entries.iter().enumerate() {
        let b = read(range.clone())?;
        let k = key_of(&b);
        if let Some(&first) = seen.get(&k) {
            // the codec will decode this tile as `first`: that must give the same values
            let (r0, p0) = &entries[first];
            let b0 = read(r0.clone())?;
            if b0 != b {
                return Err(format!(
                    "tiles {first} and {row} have different bytes with equal length and \
                     checksums, which the codec's table cannot tell apart"
                ));
            }
            let dec = |p: &TileParams| {
                let t = tile_shape_of(shape, tile, p.row);
                s.decode_full(&b, p, &t, tile)
            };
            if dec(p0)? != dec(p)? {
                return Err(format!(
                    "tiles {first} and {row} have the same bytes but decode to different values \
                     (their ZSCALE / ZZERO / ZBLANK, dither seeds or edge shapes differ), and a \
                     codec sees only a chunk's bytes"
                ));
            }
        } else {
            seen.insert(k, row);
        }
        lengths.push(json!(k.0));
        keys.push(json!(format!("{:016x}", k.1)));
    }
    let mut table = Map::new();
    table.insert("length".into(), json!(lengths));
    table.insert("checksum".into(), json!(keys));
    let params: Vec<&TileParams> = entries.iter().map(|(_, p)| p).collect();
    if s.quantized {
        table.insert(
            "zscale".into(),
            json!(params.iter().map(|p| p.zscale).collect::<Vec<_>>()),
        );
        table.insert(
            "zzero".into(),
            json!(params.iter().map(|p| p.zzero).collect::<Vec<_>>()),
        );
    }
    // ZBLANK once when every tile has the same (the header's ZBLANK or BLANK), else per tile
    let zblank = params.first().and_then(|p| p.zblank);
    if params.iter().any(|p| p.zblank != zblank) {
        table.insert(
            "zblank".into(),
            json!(params.iter().map(|p| p.zblank).collect::<Vec<_>>()),
        );
    }
    if params.iter().any(|p| p.column != TileColumn::Compressed) {
        let col = |c: TileColumn| match c {
            TileColumn::Compressed => "C".to_string(),
            TileColumn::Gzip => "G".to_string(),
            TileColumn::Uncompressed(code) => format!("U{code}"),
        };
        table.insert(
            "column".into(),
            json!(params.iter().map(|p| col(p.column)).collect::<Vec<_>>()),
        );
    }
    let mut cfg = tile_config(&s.codec, tile);
    cfg["id"] = json!(ND_FITS_TILE_TABLE);
    cfg["shape"] = json!(shape);
    cfg["zquantiz"] = if s.quantized {
        json!(s.dither.name())
    } else {
        Value::Null
    };
    cfg["zdither0"] = json!(s.dither0);
    cfg["zblank"] = json!(zblank.filter(|_| !table.contains_key("zblank")));
    cfg["bscale"] = json!(header.get_float("BSCALE").unwrap_or(1.0));
    cfg["bzero"] = json!(header.get_float("BZERO").unwrap_or(0.0));
    cfg["blank"] = json!(match &s.scaling {
        nd_fits::Scaling::F32 { blank, .. } | nd_fits::Scaling::F64 { blank, .. } => *blank,
        _ => None,
    });
    cfg["tiles"] = Value::Object(table);
    Ok(cfg)
}

/// A parsed `nd_fits_tile_table` configuration: decodes any chunk that is one of its tiles.
#[derive(Debug, Clone)]
pub struct TileTable {
    settings: TileSettings,
    shape: Vec<u64>,
    tile: Vec<u64>,
    params: Vec<TileParams>,
    rows: HashMap<Key, usize>,
}

impl TileTable {
    /// Parse a configuration (see [`table_codec`]).
    ///
    /// # Errors
    /// A message naming the key that is missing or not valid.
    pub fn new(c: &Value) -> Result<TileTable, String> {
        let codec = tile_codec(c, true)?;
        let sizes = |k: &str| -> Result<Vec<u64>, String> {
            c[k].as_array()
                .and_then(|t| t.iter().map(Value::as_u64).collect())
                .ok_or_else(|| format!("`{k}` must be a list of sizes"))
        };
        let (shape, tile) = (sizes("shape")?, sizes("tile")?);
        if shape.len() != tile.len() || tile.contains(&0) {
            return Err("`shape` and `tile` must be of equal length, tiles not empty".into());
        }
        let ntiles = shape
            .iter()
            .zip(&tile)
            .try_fold(1u64, |a, (&s, &t)| a.checked_mul(s.div_ceil(t)))
            .filter(|&n| n as usize <= MAX_TILES)
            .ok_or("more tiles than a tile table holds")? as usize;
        let (quantized, dither) = match c["zquantiz"].as_str() {
            None => (false, Dither::None),
            Some("NO_DITHER") => (true, Dither::None),
            Some("SUBTRACTIVE_DITHER_1") => (true, Dither::Subtractive1),
            Some("SUBTRACTIVE_DITHER_2") => (true, Dither::Subtractive2),
            Some(other) => return Err(format!("`zquantiz` {other:?}")),
        };
        let scaling = scaling_from_config(c, codec.zbitpix)?;
        let settings = TileSettings {
            codec,
            quantized,
            dither,
            dither0: c["zdither0"].as_i64().unwrap_or(0),
            scaling,
        };
        let t = &c["tiles"];
        let list = |k: &str| -> Result<Option<&Vec<Value>>, String> {
            match &t[k] {
                Value::Null => Ok(None),
                Value::Array(v) if v.len() == ntiles => Ok(Some(v)),
                _ => Err(format!("`tiles.{k}` must be a list of {ntiles} values")),
            }
        };
        let lengths = list("length")?.ok_or("`tiles.length` missing")?;
        let sums = list("checksum")?.ok_or("`tiles.checksum` missing")?;
        let (zscale, zzero) = (list("zscale")?, list("zzero")?);
        let (zblank, column) = (list("zblank")?, list("column")?);
        let header_zblank = c["zblank"].as_i64();
        let mut params = Vec::with_capacity(ntiles);
        let mut rows = HashMap::with_capacity(ntiles);
        for i in 0..ntiles {
            let len = lengths[i].as_u64().ok_or("`tiles.length`: not a size")?;
            let sum = sums[i]
                .as_str()
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or("`tiles.checksum`: not 16 hex digits")?;
            let col = match column.map(|v| &v[i]).and_then(Value::as_str) {
                None | Some("C") => TileColumn::Compressed,
                Some("G") => TileColumn::Gzip,
                Some(u) if u.len() == 2 && u.starts_with('U') => {
                    TileColumn::Uncompressed(u.chars().nth(1).unwrap_or('B'))
                }
                Some(other) => return Err(format!("`tiles.column` {other:?}")),
            };
            params.push(TileParams {
                row: i as u64,
                column: col,
                zscale: zscale.and_then(|v| v[i].as_f64()),
                zzero: zzero.and_then(|v| v[i].as_f64()),
                zblank: match zblank {
                    Some(v) => v[i].as_i64(),
                    None => header_zblank,
                },
            });
            // equal keys decode alike (checked when the table was made): keep the first
            rows.entry((len, sum)).or_insert(i);
        }
        Ok(TileTable {
            settings,
            shape,
            tile,
            params,
            rows,
        })
    }

    /// The physical type the tiles decode into.
    pub fn dtype(&self) -> nd_core::DataType {
        self.settings.dtype()
    }

    /// Decode one chunk (a tile's bytes) into a full tile of physical values (native byte
    /// order), at most `max_len` bytes.
    ///
    /// # Errors
    /// A message when the bytes are not one of the table's tiles (the file changed since the
    /// references were made), or do not decode.
    pub fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>, String> {
        let full = self
            .tile
            .iter()
            .try_fold(self.dtype().size() as u64, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= max_len as u64);
        if full.is_none() {
            return Err("decoded tile larger than allowed".into());
        }
        let row = *self.rows.get(&key_of(data)).ok_or_else(|| {
            format!(
                "a chunk of {} bytes that is none of the image's tiles (has the file changed \
                 since the references were made?)",
                data.len()
            )
        })?;
        let p = &self.params[row];
        let tshape = tile_shape_of(&self.shape, &self.tile, p.row);
        self.settings
            .decode_full(data, p, &tshape, &self.tile)
            .map_err(|m| format!("tile {row}: {m}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nd_codecs::Codec;
    use nd_fits::{Algorithm, Scaling, TileCodec};

    /// Two tiles of equal bytes: one table entry serves both when they decode alike (no
    /// dither); refused when their dither seeds (tile indices) make them decode differently.
    #[test]
    fn equal_tiles_share_an_entry_only_when_they_decode_alike() {
        let q: Vec<u8> = (0..20i32)
            .flat_map(|v| (v * 37 - 300).to_be_bytes())
            .collect();
        let gz = nd_codecs::Gzip { level: 1 }.encode(&q).unwrap();
        let file = [gz.clone(), gz.clone()].concat();
        let read = |r: Range<u64>| Ok(file[r.start as usize..r.end as usize].to_vec());
        let n = gz.len() as u64;
        let tile = |row: u64| {
            (
                row * n..(row + 1) * n,
                TileParams {
                    row,
                    column: TileColumn::Compressed,
                    zscale: Some(0.25),
                    zzero: Some(10.0),
                    zblank: None,
                },
            )
        };
        let entries = [tile(0), tile(1)];
        let mut s = TileSettings {
            codec: TileCodec {
                algorithm: Algorithm::Gzip1,
                zbitpix: -32,
                blocksize: 32,
                bytepix: 4,
                hscale: 0,
                hsmooth: false,
                plio_big_endian: true,
            },
            quantized: true,
            dither: Dither::None,
            dither0: 1,
            scaling: Scaling::None,
        };
        let h = nd_fits::Header::new();
        let (shape, tshape) = ([2u64, 20], [1u64, 20]);
        let cfg = table_config(&s, &h, &shape, &tshape, &entries, &read).unwrap();
        let t = TileTable::new(&cfg).unwrap();
        assert_eq!(t.rows.len(), 1, "one key for two equal tiles");
        let out = t.decode(&gz, 1 << 20).unwrap();
        let want: Vec<u8> = (0..20i32)
            .flat_map(|v| ((f64::from(v * 37 - 300) * 0.25 + 10.0) as f32).to_ne_bytes())
            .collect();
        assert_eq!(out, want);
        assert!(t.decode(&gz[1..], 1 << 20).is_err(), "bytes of no tile");
        assert!(t.decode(&gz, 79).is_err(), "over the limit");
        s.dither = Dither::Subtractive1;
        let e = table_config(&s, &h, &shape, &tshape, &entries, &read).unwrap_err();
        assert!(
            e.contains("tiles 0 and 1") && e.contains("different values"),
            "{e}"
        );
    }

    /// An edge tile decodes padded to the full tile shape; its tile index gives its shape.
    #[test]
    fn edge_tiles_have_their_clipped_shape() {
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 0), vec![2, 3]);
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 2), vec![2, 1]);
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 8), vec![1, 1]);
    }

    /// Configurations that are not valid (from a reference file, untrusted) are errors naming
    /// the key, never a panic or an unbounded allocation.
    #[test]
    fn invalid_configurations_are_errors() {
        let good = json!({"id": ND_FITS_TILE_TABLE, "zcmptype": "GZIP_1", "zbitpix": 16,
            "tile": [1, 4], "shape": [2, 4], "blocksize": 32, "bytepix": 2, "hscale": 0,
            "hsmooth": false, "plio_big_endian": true, "zquantiz": null, "zdither0": 0,
            "zblank": null, "bscale": 1.0, "bzero": 0.0, "blank": null,
            "tiles": {"length": [3, 4], "checksum": ["0000000000000001", "0000000000000002"]}});
        let t = TileTable::new(&good).unwrap();
        assert!(t
            .decode(b"abc", 1 << 20)
            .unwrap_err()
            .contains("none of the image's tiles"));
        let bad = |path: &[&str], v: Value, want: &str| {
            let mut c = good.clone();
            let mut at = &mut c;
            for k in &path[..path.len() - 1] {
                at = &mut at[*k];
            }
            at[path[path.len() - 1]] = v;
            let e = TileTable::new(&c).unwrap_err();
            assert!(e.contains(want), "{path:?}: {e}");
        };
        bad(&["zcmptype"], json!("LZMA"), "zcmptype");
        bad(&["zbitpix"], json!(12), "zbitpix");
        bad(&["tile"], json!([0, 4]), "tile");
        bad(&["tile"], json!([1]), "tile");
        bad(&["shape"], json!("x"), "shape");
        bad(&["shape"], json!([1u64 << 40, 1u64 << 40]), "more tiles");
        bad(&["zquantiz"], json!("DITHER_9"), "zquantiz");
        bad(&["bscale"], json!("x"), "bscale");
        bad(&["tiles", "length"], json!([3]), "tiles.length");
        bad(
            &["tiles", "checksum"],
            json!(["xyz", "1"]),
            "tiles.checksum",
        );
        bad(&["tiles", "column"], json!(["C", "Q"]), "tiles.column");
        bad(&["tiles", "zscale"], json!({}), "tiles.zscale");
        // a tile shape beyond the decode limit is refused before anything is allocated
        let mut c = good.clone();
        c["tile"] = json!([1 << 20, 1 << 20]);
        c["shape"] = json!([1 << 20, 1 << 20]);
        c["tiles"] = json!({"length": [3], "checksum": ["0000000000000001"]});
        let t = TileTable::new(&c).unwrap();
        assert!(t
            .decode(b"abc", 1 << 30)
            .unwrap_err()
            .contains("larger than allowed"));
    }
}
