//! Tile-compressed FITS images whose chunks need a table in the codec configuration, because a
//! numcodecs / zarr codec sees only a chunk's bytes:
//! - [`super::ND_FITS_TILE_TABLE`]: one tile per chunk, for tiles that need their own parameters
//!   (quantized tiles with their own ZSCALE / ZZERO and dither seed, null pixels, tiles in
//!   GZIP_COMPRESSED_DATA / UNCOMPRESSED_DATA, edge tiles that do not divide the image); the
//!   table (JSON lists) identifies a tile from its bytes (their length and checksums) and gives
//!   its index and parameters;
//! - [`super::ND_FITS_TILE_GROUP`]: a group of tiles per chunk (a run of whole tile rows, one
//!   byte range of the heap), for images with many tiles; the table (base64 of little-endian
//!   binary columns) gives every tile's length and parameters, and every chunk's checksum.
//!
//! Both are parsed into one [`TileTable`], which finds the chunk from its bytes, splits it into
//! its tiles' streams and decodes each with nd-fits' own tile decoding
//! ([`nd_fits::TileSettings::decode`]), placing it into the chunk: astropy's physical values,
//! zeros past the image's edge (`spec-notes/virtual-zarr.md`, "Tile-compressed images").

mod columns;
mod layout;

use super::codec::{scaling_from_config, tile_codec, tile_config};
use super::{ND_FITS_TILE_GROUP, ND_FITS_TILE_TABLE};
use columns::{decode_column, encode_column, TileColumns};
use layout::{group_chunk_shape, tile_shape_of, Layout};
use nd_core::shape::copy_region;
use nd_core::{Order, Region};
use nd_fits::{CompressedImage, Dither, TileParams, TileSettings};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::ops::Range;

/// The most tiles an [`super::ND_FITS_TILE_TABLE`] table holds (its configuration is about 60
/// bytes of JSON a tile, so at most about 4 MB; zarr-python parses it once per array).
pub const MAX_TILES: usize = 65_536;

/// The most tiles an [`super::ND_FITS_TILE_GROUP`] table holds: 4,194,304 (a 8192² image in
/// 4×4 tiles). Its configuration is 5⅓ bytes of base64 a tile for lossless images (the length),
/// 26⅔ for quantized ones (length, ZSCALE, ZZERO), plus 10⅔ for a ZBLANK column and 1⅓ for
/// fallback columns where they occur: at most about 112 MB, 27 MB for 10^6 quantized tiles.
pub const MAX_GROUP_TILES: usize = 1 << 22;

/// A chunk's identity in a table: its byte length and two checksums (CRC-32C and zlib's
/// CRC-32) of its bytes, as one number (written as 16 hex digits, or a little-endian u64).
type Key = (u64, u64);

fn key_of(b: &[u8]) -> Key {
    let hash = (u64::from(nd_codecs::checksum::crc32c(b)) << 32)
        | u64::from(nd_codecs::checksum::crc32(b));
    (b.len() as u64, hash)
}

/// The image's settings in a configuration (both codecs): those of `nd_fits_tile`, `shape`,
/// `zquantiz`, `zdither0`, `zblank` (when every tile has the same), `bscale` / `bzero` /
/// `blank` (the image header's).
fn image_config(
    id: &str,
    s: &TileSettings,
    header: &nd_fits::Header,
    shape: &[u64],
    tile: &[u64],
    zblank_all: Option<i64>,
) -> Value {
    let mut cfg = tile_config(&s.codec, tile);
    cfg["id"] = json!(id);
    cfg["shape"] = json!(shape);
    cfg["zquantiz"] = if s.quantized {
        json!(s.dither.name())
    } else {
        Value::Null
    };
    cfg["zdither0"] = json!(s.dither0);
    cfg["zblank"] = json!(zblank_all);
    cfg["bscale"] = json!(header.get_float("BSCALE").unwrap_or(1.0));
    cfg["bzero"] = json!(header.get_float("BZERO").unwrap_or(0.0));
    cfg["blank"] = json!(match &s.scaling {
        nd_fits::Scaling::F32 { blank, .. } | nd_fits::Scaling::F64 { blank, .. } => *blank,
        _ => None,
    });
    cfg
}

/// The settings, image shape and tile shape of a configuration (either codec).
fn settings_of(c: &Value) -> Result<(TileSettings, Vec<u64>, Vec<u64>), String> {
    let codec = tile_codec(c, true)?;
    let sizes = |k: &str| -> Result<Vec<u64>, String> {
        c[k].as_array()
            .and_then(|t| t.iter().map(Value::as_u64).collect())
            .ok_or_else(|| format!("`{k}` must be a list of sizes"))
    };
    let (shape, tile) = (sizes("shape")?, sizes("tile")?);
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
    Ok((settings, shape, tile))
}

/// What the references need of a tile-compressed image mapped through a tile table: the
/// codec configuration, the chunk shape, and each chunk's byte range (C order over the chunk
/// grid).
#[derive(Debug)]
pub(super) struct Mapped {
    /// The `nd_fits_tile_table` / `nd_fits_tile_group` configuration.
    pub(super) config: Value,
    /// The chunk shape (pixels).
    pub(super) chunks: Vec<u64>,
    /// Each chunk's byte range in the file.
    pub(super) ranges: Vec<Range<u64>>,
}

/// The `nd_fits_tile_table` mapping of image `c`: one tile a chunk. Reads every tile's bytes
/// (to take their checksums). Else the reason the image cannot be mapped: more than
/// [`MAX_TILES`] tiles, or two tiles that the table cannot tell apart (equal length and
/// checksums) and that decode to different values.
pub(super) fn table_codec(
    c: &CompressedImage,
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
) -> Result<Mapped, String> {
    let tile = c.tile_shape().to_vec();
    map_image(c, &tile, false, read)
}

/// The `nd_fits_tile_group` mapping of image `c`: groups of tiles of about `chunk_bytes` of
/// values a chunk ([`group_chunk_shape`]). Reads the compressed data once (a read per chunk).
/// Else the reason: the tiles of a chunk not one after another in the heap, more than
/// [`MAX_GROUP_TILES`] tiles, a tile of 4 GiB or more, or two chunks the table cannot tell
/// apart that decode to different values.
pub(super) fn group_codec(
    c: &CompressedImage,
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
    chunk_bytes: u64,
) -> Result<Mapped, String> {
    let shape = nd_core::ArrayRead::shape(c).to_vec();
    let elem = c.tile_settings().dtype().size() as u64;
    let chunk = group_chunk_shape(&shape, c.tile_shape(), elem, chunk_bytes);
    map_image(c, &chunk, true, read)
}

fn map_image(
    c: &CompressedImage,
    chunk: &[u64],
    grouped: bool,
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
) -> Result<Mapped, String> {
    let shape = nd_core::ArrayRead::shape(c).to_vec();
    let tile = c.tile_shape().to_vec();
    let max = if grouped { MAX_GROUP_TILES } else { MAX_TILES };
    let ntiles = shape
        .iter()
        .zip(&tile)
        .try_fold(1u64, |a, (&s, &t)| a.checked_mul(s.div_ceil(t)));
    if ntiles.is_none_or(|n| n > max as u64) {
        let codec = if grouped {
            ND_FITS_TILE_GROUP
        } else {
            ND_FITS_TILE_TABLE
        };
        return Err(format!(
            "{} tiles: {codec}'s table holds at most {max} (the codec configuration would be \
             too large)",
            ntiles.map_or("too many".to_string(), |n| n.to_string())
        ));
    }
    let entries = c.tile_entries().map_err(|e| e.to_string())?;
    let image = Image {
        settings: c.tile_settings(),
        header: c.image_header(),
        shape: &shape,
        tile: &tile,
        entries: &entries,
    };
    map_tiles(&image, chunk, grouped, read)
}

/// An image as [`map_tiles`] needs it.
struct Image<'a> {
    settings: &'a TileSettings,
    header: &'a nd_fits::Header,
    shape: &'a [u64],
    tile: &'a [u64],
    /// Every tile's byte range and parameters, in table-row (C grid) order.
    entries: &'a [(Range<u64>, TileParams)],
}

/// The configuration, chunk shape and chunk ranges of `image` in chunks of `chunk` (the tile
/// shape unless `grouped`).
fn map_tiles(
    image: &Image<'_>,
    chunk: &[u64],
    grouped: bool,
    read: &dyn Fn(Range<u64>) -> Result<Vec<u8>, String>,
) -> Result<Mapped, String> {
    let (shape, tile, entries, s) = (image.shape, image.tile, image.entries, image.settings);
    let max = if grouped { MAX_GROUP_TILES } else { MAX_TILES };
    let layout = Layout::new(shape, tile, chunk, max)?;
    if entries.len() != layout.num_tiles() {
        return Err(format!(
            "{} tiles for a grid of {:?}",
            entries.len(),
            layout.tiles
        ));
    }
    let params: Vec<TileParams> = entries.iter().map(|(_, p)| *p).collect();
    let cols = TileColumns::of(&params, s.quantized);
    // each chunk's byte range: its tiles one after another in the heap
    let mut ranges = Vec::with_capacity(layout.num_chunks());
    for k in 0..layout.num_chunks() {
        let mut span: Option<Range<u64>> = None;
        let mut last = 0;
        layout.tiles_of(k, |row, _| {
            let r = &entries[row as usize].0;
            span = Some(match span.take() {
                None => r.clone(),
                Some(sp) if sp.end == r.start => sp.start..r.end,
                Some(sp) => {
                    return Err(format!(
                        "tiles {last} and {row} are not one after another in the heap (bytes \
                         ..{} then {}..): a chunk of several tiles must be one byte range",
                        sp.end, r.start
                    ))
                }
            });
            last = row;
            Ok(())
        })?;
        ranges.push(span.ok_or("a chunk without tiles")?);
    }
    let mut keys = Vec::with_capacity(ranges.len());
    for r in &ranges {
        keys.push(key_of(&read(r.clone())?));
    }
    let id = if grouped {
        ND_FITS_TILE_GROUP
    } else {
        ND_FITS_TILE_TABLE
    };
    let mut cfg = image_config(id, s, image.header, shape, tile, cols.zblank_all);
    let mut table = Map::new();
    if grouped {
        let lengths: Vec<u32> = entries
            .iter()
            .map(|(r, _)| {
                u32::try_from(r.end - r.start).map_err(|_| "a tile of 4 GiB or more".to_string())
            })
            .collect::<Result<_, _>>()?;
        table.insert("length".into(), encode_column(&lengths, u32::to_le_bytes));
        cols.to_binary(&mut table)?;
        cfg["chunk_shape"] = json!(chunk);
        let sums: Vec<u64> = keys.iter().map(|k| k.1).collect();
        cfg["chunks"] = json!({"checksum": encode_column(&sums, u64::to_le_bytes)});
    } else {
        table.insert(
            "length".into(),
            json!(keys.iter().map(|k| k.0).collect::<Vec<_>>()),
        );
        let sums: Vec<String> = keys.iter().map(|k| format!("{:016x}", k.1)).collect();
        table.insert("checksum".into(), json!(sums));
        cols.to_lists(&mut table);
    }
    cfg["tiles"] = Value::Object(table);
    // chunks the table cannot tell apart: the codec decodes each as the first, which must
    // give the same values (checked with the parsed configuration, as the codec decodes)
    let parsed = TileTable::new(&cfg)?;
    let what = if grouped { "chunks" } else { "tiles" };
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (k, key) in keys.iter().enumerate() {
        let Some(&first) = seen.get(key) else {
            seen.insert(*key, k);
            continue;
        };
        let (b0, b) = (read(ranges[first].clone())?, read(ranges[k].clone())?);
        if b0 != b {
            return Err(format!(
                "{what} {first} and {k} have different bytes with equal length and checksums, \
                 which the codec's table cannot tell apart"
            ));
        }
        if parsed.decode_chunk(first, &b)? != parsed.decode_chunk(k, &b)? {
            return Err(format!(
                "{what} {first} and {k} have the same bytes but decode to different values \
                 (their ZSCALE / ZZERO / ZBLANK, dither seeds or edge shapes differ), and a \
                 codec sees only a chunk's bytes"
            ));
        }
    }
    Ok(Mapped {
        config: cfg,
        chunks: chunk.to_vec(),
        ranges,
    })
}

/// A parsed `nd_fits_tile_table` or `nd_fits_tile_group` configuration: decodes any chunk of
/// its image from the chunk's bytes.
#[derive(Debug, Clone)]
pub struct TileTable {
    settings: TileSettings,
    layout: Layout,
    cols: TileColumns,
    /// Each tile's byte length (groups); `None`: a chunk is one tile, all its bytes.
    lengths: Option<Vec<u32>>,
    /// A chunk's bytes → its index (the first of equal keys).
    chunks: HashMap<Key, usize>,
}

impl TileTable {
    /// Parse a configuration (see [`table_codec`], [`group_codec`]).
    ///
    /// # Errors
    /// A message naming the key that is missing or not valid.
    pub fn new(c: &Value) -> Result<TileTable, String> {
        let (settings, shape, tile) = settings_of(c)?;
        let grouped = match c["id"].as_str() {
            Some(ND_FITS_TILE_TABLE) => false,
            Some(ND_FITS_TILE_GROUP) => true,
            other => return Err(format!("not a tile table codec: {other:?}")),
        };
        let t = &c["tiles"];
        let zblank_all = c["zblank"].as_i64();
        let mut chunks = HashMap::new();
        if !grouped {
            let layout = Layout::new(&shape, &tile, &tile, MAX_TILES)?;
            let n = layout.num_tiles();
            let list = |k: &str| match &t[k] {
                Value::Array(v) if v.len() == n => Ok(v),
                _ => Err(format!("`tiles.{k}` must be a list of {n} values")),
            };
            let (lengths, sums) = (list("length")?, list("checksum")?);
            for (i, (len, sum)) in lengths.iter().zip(sums).enumerate() {
                let len = len.as_u64().ok_or("`tiles.length`: not a size")?;
                let sum = sum
                    .as_str()
                    .filter(|h| h.len() == 16)
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or("`tiles.checksum`: not 16 hex digits")?;
                // equal keys decode alike (checked when the table was made): keep the first
                chunks.entry((len, sum)).or_insert(i);
            }
            let cols = TileColumns::from_lists(t, n, zblank_all)?;
            return Ok(TileTable {
                settings,
                layout,
                cols,
                lengths: None,
                chunks,
            });
        }
        let chunk: Vec<u64> = c["chunk_shape"]
            .as_array()
            .and_then(|t| t.iter().map(Value::as_u64).collect())
            .ok_or("`chunk_shape` must be a list of sizes")?;
        let layout = Layout::new(&shape, &tile, &chunk, MAX_GROUP_TILES)?;
        let n = layout.num_tiles();
        let lengths =
            decode_column(t, "length", n, u32::from_le_bytes)?.ok_or("`tiles.length` missing")?;
        let sums = decode_column(
            &c["chunks"],
            "checksum",
            layout.num_chunks(),
            u64::from_le_bytes,
        )?
        .ok_or("`chunks.checksum` missing")?;
        for (k, sum) in sums.into_iter().enumerate() {
            let mut len = 0u64;
            layout.tiles_of(k, |row, _| {
                len += u64::from(lengths[row as usize]);
                Ok(())
            })?;
            chunks.entry((len, sum)).or_insert(k);
        }
        let cols = TileColumns::from_binary(t, n, zblank_all)?;
        Ok(TileTable {
            settings,
            layout,
            cols,
            lengths: Some(lengths),
            chunks,
        })
    }

    /// The physical type the tiles decode into.
    pub fn dtype(&self) -> nd_core::DataType {
        self.settings.dtype()
    }

    /// Decode one chunk (its bytes in the file) into the chunk's physical values (native byte
    /// order, zeros past the image's edge), at most `max_len` bytes.
    ///
    /// # Errors
    /// A message when the bytes are not one of the table's chunks (the file changed since the
    /// references were made), or do not decode.
    pub fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>, String> {
        let full = self
            .layout
            .chunk
            .iter()
            .try_fold(self.dtype().size() as u64, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= max_len as u64);
        if full.is_none() {
            return Err("decoded chunk larger than allowed".into());
        }
        let k = *self.chunks.get(&key_of(data)).ok_or_else(|| {
            let what = if self.lengths.is_some() {
                "chunks"
            } else {
                "tiles"
            };
            format!(
                "a chunk of {} bytes that is none of the image's {what} (has the file changed \
                 since the references were made?)",
                data.len()
            )
        })?;
        self.decode_chunk(k, data)
    }

    /// Decode `data` as chunk `k`: its tiles' streams one after another (each its length in
    /// the table; one tile: all of `data`), each decoded with its own parameters and placed.
    fn decode_chunk(&self, k: usize, data: &[u8]) -> Result<Vec<u8>, String> {
        let l = &self.layout;
        let e = self.dtype().size();
        let n = l
            .chunk
            .iter()
            .try_fold(e as u64, |a, &d| a.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("chunk too large")?;
        let mut out: Option<Vec<u8>> = None;
        let mut pos = 0usize;
        l.tiles_of(k, |row, at| {
            let len = match &self.lengths {
                Some(v) => v[row as usize] as usize,
                None => data.len(),
            };
            let b = pos
                .checked_add(len)
                .and_then(|end| data.get(pos..end))
                .ok_or_else(|| {
                    format!("a chunk of {} bytes is shorter than its tiles", data.len())
                })?;
            pos += len;
            let tshape = tile_shape_of(&l.shape, &l.tile, row);
            let vals = self
                .settings
                .decode(b, &self.cols.params(row as usize), &tshape)
                .map_err(|m| format!("tile {row}: {m}"))?;
            if out.is_none() && tshape == l.chunk && vals.len() == n {
                out = Some(vals); // the chunk is this one whole tile
                return Ok(());
            }
            let dst = out.get_or_insert_with(|| vec![0u8; n]);
            let start: Vec<u64> = at.iter().zip(&l.tile).map(|(&i, &t)| i * t).collect();
            copy_region(
                &vals,
                &tshape,
                Order::C,
                &Region::full(&tshape),
                dst,
                &l.chunk,
                &start,
                e,
            )
            .map_err(|m| format!("tile {row}: {m}"))
        })?;
        if pos != data.len() {
            return Err(format!(
                "a chunk of {} bytes whose tiles take {pos}",
                data.len()
            ));
        }
        out.ok_or_else(|| "a chunk without tiles".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::base64;
    use super::*;
    use nd_codecs::Codec;
    use nd_core::shape::{coords_of, linear_index};
    use nd_fits::TileColumn;
    use nd_fits::{Algorithm, Scaling, TileCodec};

    fn gzip1(zbitpix: i64, quantized: bool, dither: Dither) -> TileSettings {
        TileSettings {
            codec: TileCodec {
                algorithm: Algorithm::Gzip1,
                zbitpix,
                blocksize: 32,
                bytepix: 4,
                hscale: 0,
                hsmooth: false,
                plio_big_endian: true,
            },
            quantized,
            dither,
            dither0: 1,
            scaling: Scaling::None,
        }
    }

    fn params(row: u64, zscale: Option<f64>) -> TileParams {
        TileParams {
            row,
            column: TileColumn::Compressed,
            zscale,
            zzero: zscale.map(|_| 10.0),
            zblank: None,
        }
    }

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
        let entries: Vec<_> = (0..2u64)
            .map(|row| (row * n..(row + 1) * n, params(row, Some(0.25))))
            .collect();
        let mut s = gzip1(-32, true, Dither::None);
        let h = nd_fits::Header::new();
        let (shape, tshape) = ([2u64, 20], [1u64, 20]);
        let image = |s: &TileSettings| -> Result<Mapped, String> {
            let img = Image {
                settings: s,
                header: &h,
                shape: &shape,
                tile: &tshape,
                entries: &entries,
            };
            map_tiles(&img, &tshape, false, &read)
        };
        let cfg = image(&s).unwrap().config;
        let t = TileTable::new(&cfg).unwrap();
        assert_eq!(t.chunks.len(), 1, "one key for two equal tiles");
        let out = t.decode(&gz, 1 << 20).unwrap();
        let want: Vec<u8> = (0..20i32)
            .flat_map(|v| ((f64::from(v * 37 - 300) * 0.25 + 10.0) as f32).to_ne_bytes())
            .collect();
        assert_eq!(out, want);
        assert!(t.decode(&gz[1..], 1 << 20).is_err(), "bytes of no tile");
        assert!(t.decode(&gz, 79).is_err(), "over the limit");
        s.dither = Dither::Subtractive1;
        let e = image(&s).unwrap_err();
        assert!(
            e.contains("tiles 0 and 1") && e.contains("different values"),
            "{e}"
        );
    }

    /// A grouped image: quantized GZIP_1 tiles (each its own ZSCALE, dither seeded by its
    /// index), a fallback tile, edge tiles; every chunk decodes to its tiles' values placed in
    /// the chunk (zeros past the edge), the table compact; tiles not one after another in the
    /// heap are refused.
    #[test]
    fn grouped_chunks_decode_to_their_tiles() {
        let (shape, tile) = ([5u64, 7], [2u64, 3]); // 3×3 tiles, edge tiles on both axes
        let s = gzip1(-32, true, Dither::Subtractive2);
        let mut file = Vec::new();
        let mut entries = Vec::new();
        let mut want_tiles = Vec::new();
        for row in 0..9u64 {
            let t = tile_shape_of(&shape, &tile, row);
            let n = t.iter().product::<u64>() as i32;
            let mut p = params(row, Some(0.5 + row as f64));
            let raw: Vec<u8> = if row == 4 {
                // a fallback tile: its float values, gzip-compressed
                p.column = TileColumn::Gzip;
                (0..n)
                    .flat_map(|v| (v as f32 * 1.5).to_be_bytes())
                    .collect()
            } else {
                (0..n)
                    .flat_map(|v| (v * 3 - 7 + row as i32).to_be_bytes())
                    .collect()
            };
            let gz = nd_codecs::Gzip { level: 1 }.encode(&raw).unwrap();
            let at = file.len() as u64;
            file.extend_from_slice(&gz);
            want_tiles.push(s.decode(&gz, &p, &t).unwrap());
            entries.push((at..file.len() as u64, p));
        }
        let h = nd_fits::Header::new();
        let read = |r: Range<u64>| Ok(file[r.start as usize..r.end as usize].to_vec());
        let img = Image {
            settings: &s,
            header: &h,
            shape: &shape,
            tile: &tile,
            entries: &entries,
        };
        for chunk in [vec![4u64, 7], vec![2, 6], vec![5, 7], vec![2, 3]] {
            let m = map_tiles(&img, &chunk, true, &read).unwrap();
            assert_eq!(m.config["id"], ND_FITS_TILE_GROUP);
            assert!(m.config["tiles"]["length"].is_string(), "binary columns");
            let t = TileTable::new(&m.config).unwrap();
            let grid: Vec<u64> = shape
                .iter()
                .zip(&chunk)
                .map(|(s, c)| s.div_ceil(*c))
                .collect();
            assert_eq!(m.ranges.len() as u64, grid.iter().product::<u64>());
            for (k, r) in m.ranges.iter().enumerate() {
                let got = t.decode(&read(r.clone()).unwrap(), 1 << 20).unwrap();
                // the brute-force chunk: every pixel from its tile's values
                let c0 = coords_of(k as u64, &grid);
                let mut want = vec![0u8; got.len()];
                for (i, px) in want.chunks_exact_mut(4).enumerate() {
                    let w = coords_of(i as u64, &chunk);
                    let g: Vec<u64> = w
                        .iter()
                        .zip(&c0)
                        .zip(&chunk)
                        .map(|((w, c), n)| c * n + w)
                        .collect();
                    if g.iter().zip(&shape).any(|(g, s)| g >= s) {
                        continue;
                    }
                    let ti: Vec<u64> = g.iter().zip(&tile).map(|(g, t)| g / t).collect();
                    let row = linear_index(&ti, &[3, 3]);
                    let ts = tile_shape_of(&shape, &tile, row);
                    let within = (g[0] % 2) * ts[1] + g[1] % 3;
                    px.copy_from_slice(&want_tiles[row as usize][within as usize * 4..][..4]);
                }
                assert_eq!(got, want, "chunk {chunk:?} {k}");
            }
        }
        // not one run of the heap: tiles 1 and 2 swapped
        let mut swapped = entries.clone();
        let (a, b) = (swapped[1].0.clone(), swapped[2].0.clone());
        swapped[1].0 = a.start + (b.end - b.start)..b.end;
        swapped[2].0 = a.start..a.start + (b.end - b.start);
        let img = Image {
            entries: &swapped,
            ..img
        };
        let e = map_tiles(&img, &[2, 7], true, &read).err().unwrap();
        assert!(e.contains("not one after another in the heap"), "{e}");
        assert!(
            map_tiles(&img, &[2, 3], true, &read).is_ok(),
            "one tile a chunk"
        );
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
        let bad = |c0: &Value, path: &[&str], v: Value, want: &str| {
            let mut c = c0.clone();
            let mut at = &mut c;
            for k in &path[..path.len() - 1] {
                at = &mut at[*k];
            }
            at[path[path.len() - 1]] = v;
            let e = TileTable::new(&c).unwrap_err();
            assert!(e.contains(want), "{path:?}: {e}");
        };
        bad(&good, &["zcmptype"], json!("LZMA"), "zcmptype");
        bad(&good, &["zbitpix"], json!(12), "zbitpix");
        bad(
            &good,
            &["tile"],
            json!([0, 4]),
            "tiles and chunks must not be empty",
        );
        bad(&good, &["tile"], json!([1]), "tile");
        bad(&good, &["shape"], json!("x"), "shape");
        bad(
            &good,
            &["shape"],
            json!([1u64 << 40, 1u64 << 40]),
            "more than 65536 tiles",
        );
        bad(&good, &["zquantiz"], json!("DITHER_9"), "zquantiz");
        bad(&good, &["bscale"], json!("x"), "bscale");
        bad(&good, &["tiles", "length"], json!([3]), "tiles.length");
        bad(
            &good,
            &["tiles", "checksum"],
            json!(["xyz", "1"]),
            "tiles.checksum",
        );
        bad(
            &good,
            &["tiles", "column"],
            json!(["C", "Q"]),
            "tiles.column",
        );
        bad(&good, &["tiles", "zscale"], json!({}), "tiles.zscale");
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
        // the group codec: base64 columns of exactly the tiles' and chunks' counts
        let mut group = good.clone();
        group["id"] = json!(ND_FITS_TILE_GROUP);
        group["chunk_shape"] = json!([2, 4]);
        group["tiles"] = json!({"length": base64(&[3, 0, 0, 0, 4, 0, 0, 0])});
        group["chunks"] = json!({"checksum": base64(&[1, 0, 0, 0, 0, 0, 0, 0])});
        let t = TileTable::new(&group).unwrap();
        assert!(t
            .decode(b"abcdefg", 1 << 20)
            .unwrap_err()
            .contains("none of the image's chunks"));
        bad(
            &group,
            &["tiles", "length"],
            json!(base64(&[3, 0, 0, 0])),
            "`length`: 4 bytes where 8",
        );
        bad(
            &group,
            &["tiles", "length"],
            json!([3, 4]),
            "`length` must be base64",
        );
        bad(&group, &["chunks", "checksum"], json!("!!!!"), "checksum");
        bad(
            &group,
            &["chunks"],
            json!(null),
            "`chunks.checksum` missing",
        );
        bad(
            &group,
            &["chunk_shape"],
            json!([2, 3]),
            "neither a multiple",
        );
        bad(&group, &["chunk_shape"], json!([2]), "equal length");
        bad(
            &group,
            &["tiles", "column"],
            json!(base64(&[0, 7])),
            "not a column",
        );
        bad(
            &group,
            &["tiles", "zscale"],
            json!(base64(&[0; 15])),
            "`zscale`",
        );
        bad(
            &group,
            &["shape"],
            json!([1u64 << 40, 1u64 << 40]),
            "more than 4194304 tiles",
        );
    }
}
