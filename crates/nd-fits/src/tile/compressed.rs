//! [`CompressedImage`]: a tile-compressed HDU opened for reading, its Z keywords checked and its
//! tiles located in the heap; reads hand the tiles a region touches to nd-core's chunk engine.

use super::decode::{Ranges, TileDecoder};
use super::header::{image_header, zval, Algorithm};
use super::quantize::Dither;
use super::values::{TileParams, TileSettings};
use super::TileCodec;
use crate::card::Value;
use crate::error::{Error, Result};
use crate::hdu::{header_attributes, Hdu};
use crate::header::Header;
use crate::scale::{bitpix_dtype, Scaling};
use crate::table::{Column, ColumnFormat, Table};
use nd_core::{ArrayBuf, ArrayRead, Attributes, ChunkGrid, ChunkedLayout, DataType, Order, Region};

/// A tile-compressed image HDU opened for reading.
#[derive(Debug)]
pub struct CompressedImage {
    table: Table,
    image_header: Header,
    attrs: Attributes,
    parallel: bool,
    tiles: TileDecoder,
}

fn col_f64(a: &ArrayBuf) -> Vec<f64> {
    match a.dtype() {
        DataType::Float64 => a.as_slice::<f64>().map(|s| s.to_vec()).unwrap_or_default(),
        DataType::Float32 => a
            .as_slice::<f32>()
            .map(|s| s.iter().map(|&v| v as f64).collect())
            .unwrap_or_default(),
        _ => col_i64(a).into_iter().map(|v| v as f64).collect(),
    }
}

fn col_i64(a: &ArrayBuf) -> Vec<i64> {
    let b = a.bytes();
    match a.dtype() {
        DataType::UInt8 => b.iter().map(|&v| v as i64).collect(),
        DataType::Int16 => bytemuck::cast_slice::<u8, i16>(b)
            .iter()
            .map(|&v| v as i64)
            .collect(),
        DataType::Int32 => a
            .as_slice::<i32>()
            .map(|s| s.iter().map(|&v| v as i64).collect())
            .unwrap_or_default(),
        DataType::Int64 => a.as_slice::<i64>().map(|s| s.to_vec()).unwrap_or_default(),
        DataType::Float64 => a
            .as_slice::<f64>()
            .map(|s| s.iter().map(|&v| v as i64).collect())
            .unwrap_or_default(),
        _ => vec![],
    }
}

impl CompressedImage {
    pub(crate) fn new(table: Table, hdu: &Hdu) -> Result<CompressedImage> {
        let h = &hdu.header;
        let idx = hdu.index;
        let herr = |msg: String| Error::Table {
            hdu: idx,
            row: None,
            column: None,
            msg,
        };
        let zbitpix = h
            .get_int("ZBITPIX")
            .ok_or_else(|| herr("ZBITPIX missing".into()))?;
        let zdtype =
            bitpix_dtype(zbitpix).ok_or_else(|| herr(format!("invalid ZBITPIX {zbitpix}")))?;
        let znaxis = h
            .get_int("ZNAXIS")
            .ok_or_else(|| herr("ZNAXIS missing".into()))?;
        if !(0..=999).contains(&znaxis) {
            return Err(herr(format!("invalid ZNAXIS {znaxis}")));
        }
        let mut naxes = Vec::new();
        let mut tiles = Vec::new();
        for k in 1..=znaxis as usize {
            let n = h
                .get_int(&format!("ZNAXIS{k}"))
                .ok_or_else(|| herr(format!("ZNAXIS{k} missing")))?;
            if !(0..=i32::MAX as i64).contains(&n) {
                return Err(herr(format!("invalid ZNAXIS{k} = {n}")));
            }
            let t = h
                .get_int(&format!("ZTILE{k}"))
                .unwrap_or(if k == 1 { n } else { 1 });
            if !(1..=i32::MAX as i64).contains(&t) {
                return Err(herr(format!("invalid ZTILE{k} = {t}")));
            }
            naxes.push(n as u64);
            tiles.push((t as u64).min((n as u64).max(1)));
        }
        let shape: Vec<u64> = naxes.iter().rev().copied().collect();
        let tile: Vec<u64> = tiles.iter().rev().copied().collect();
        let cmp = h.get_str("ZCMPTYPE").unwrap_or("").trim().to_string();
        let algo =
            Algorithm::from_name(&cmp).ok_or_else(|| herr(format!("unknown ZCMPTYPE '{cmp}'")))?;
        let int_setting = |name: &str, d: i64| -> i64 {
            zval(h, name)
                .and_then(|v| v.as_f64())
                .map(|f| f as i64)
                .unwrap_or(d)
        };
        let blocksize = int_setting("BLOCKSIZE", 32);
        let bytepix = int_setting("BYTEPIX", 4);
        let hscale = int_setting("SCALE", 0);
        // astropy writes SMOOTH as a logical (T/F); cfitsio as an integer.
        let hsmooth = match zval(h, "SMOOTH") {
            Some(Value::Bool(b)) => b,
            _ => int_setting("SMOOTH", 0) != 0,
        };
        let image_header = image_header(h)?;
        let scaling = Scaling::from_header(&image_header, zbitpix, idx)?;
        let dtype = scaling.physical_dtype(zbitpix);
        let ntiles: u64 = shape
            .iter()
            .zip(&tile)
            .map(|(&n, &t)| n.div_ceil(t))
            .product();
        if !shape.contains(&0) && table.nrows() < ntiles {
            return Err(herr(format!(
                "{ntiles} tiles but the table has {} rows",
                table.nrows()
            )));
        }
        let rows = 0..if shape.contains(&0) { 0 } else { ntiles };
        let find = |name: &str| table.find_column(name).ok().cloned();
        let with_ranges = |c: Column| -> Result<(Column, Ranges)> {
            if !matches!(c.format, ColumnFormat::Var { .. }) {
                return Err(Error::Table {
                    hdu: idx,
                    row: None,
                    column: Some(c.name.clone()),
                    msg: format!("{} must be a P or Q column, not {}", c.name, c.tform),
                });
            }
            let r = table.vla_ranges(&c, rows.clone())?;
            Ok((c, r))
        };
        let cdata = with_ranges(
            find("COMPRESSED_DATA").ok_or_else(|| herr("no COMPRESSED_DATA column".into()))?,
        )?;
        let gzdata = find("GZIP_COMPRESSED_DATA").map(with_ranges).transpose()?;
        let udata = find("UNCOMPRESSED_DATA").map(with_ranges).transpose()?;
        let read_col = |name: &str| -> Result<Option<ArrayBuf>> {
            match table.find_column(name) {
                Ok(c) if !c.is_variable() => {
                    Ok(Some(table.read_rows(rows.clone(), &[c.index])?.remove(0)))
                }
                _ => Ok(None),
            }
        };
        let zscale = read_col("ZSCALE")?.map(|a| col_f64(&a));
        let zzero = read_col("ZZERO")?.map(|a| col_f64(&a));
        let zblank_col = read_col("ZBLANK")?.map(|a| col_i64(&a));
        // astropy: header ZBLANK, else the image's BLANK.
        let zblank_header = h
            .get("ZBLANK")
            .or_else(|| image_header.get("BLANK"))
            .and_then(|v| v.as_i128())
            .and_then(|v| i64::try_from(v).ok());
        let quantized = zscale.is_some();
        let dither = match h.get_str("ZQUANTIZ").map(|s| s.trim()) {
            Some("NO_DITHER") | None => Dither::None,
            Some("SUBTRACTIVE_DITHER_2") => Dither::Subtractive2,
            Some("SUBTRACTIVE_DITHER_1") | Some("NONE") => Dither::Subtractive1,
            Some(other) => return Err(herr(format!("unknown ZQUANTIZ '{other}'"))),
        };
        let dither0 = h.get_int("ZDITHER0").unwrap_or(0);
        let attrs = header_attributes(&image_header);
        Ok(CompressedImage {
            tiles: TileDecoder {
                source: table.source().clone(),
                hdu: idx,
                grid: ChunkGrid::new(shape, tile)?,
                s: TileSettings {
                    codec: TileCodec {
                        algorithm: algo,
                        zbitpix,
                        blocksize: blocksize.clamp(0, 1 << 20) as usize,
                        bytepix: bytepix.clamp(0, 8) as usize,
                        hscale,
                        hsmooth,
                        plio_big_endian: matches!(
                            cdata.0.format,
                            ColumnFormat::Var { code: 'I', .. }
                        ),
                    },
                    quantized,
                    dither,
                    dither0,
                    scaling,
                },
                zdtype,
                cdata,
                gzdata,
                udata,
                zscale,
                zzero,
                zblank_col,
                zblank_header,
                dtype,
            },
            table,
            image_header,
            attrs,
            parallel: true,
        })
    }

    /// The image header (astropy's `hdul[i].header`).
    pub fn image_header(&self) -> &Header {
        &self.image_header
    }

    /// The underlying binary table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The compression algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.tiles.s.codec.algorithm
    }

    /// The tile shape (numpy order).
    pub fn tile_shape(&self) -> &[u64] {
        self.tiles.grid.chunk_shape()
    }

    /// ZBITPIX.
    pub fn zbitpix(&self) -> i64 {
        self.tiles.s.codec.zbitpix
    }

    /// Where each tile's compressed bytes lie in the file, in tile (table row) order, when every
    /// tile can be decoded from those bytes alone with settings common to all tiles: no
    /// quantization (per-tile ZSCALE/ZZERO and dither), no null pixels (ZBLANK), every tile in
    /// COMPRESSED_DATA (no GZIP_COMPRESSED_DATA / UNCOMPRESSED_DATA fallback). `None` otherwise.
    /// What a reference to one tile per chunk needs (`nd refs`).
    pub fn uniform_tile_ranges(&self) -> Option<Vec<std::ops::Range<u64>>> {
        let t = &self.tiles;
        if t.s.quantized || t.zblank_col.is_some() || t.zblank_header.is_some() {
            return None;
        }
        let ranges = &t.cdata.1;
        if ranges.iter().any(|(count, _)| *count == 0) {
            return None;
        }
        Some(ranges.iter().map(|(_, r)| r.clone()).collect())
    }

    /// The settings that decode any one tile from its bytes alone, for RICE_1, PLIO_1 and
    /// HCOMPRESS_1 images (`None` for the other algorithms).
    pub fn tile_codec(&self) -> Option<super::TileCodec> {
        matches!(
            self.tiles.s.codec.algorithm,
            Algorithm::Rice | Algorithm::Plio | Algorithm::Hcompress
        )
        .then(|| self.tiles.s.codec.clone())
    }

    /// The settings that decode any tile of the image given its own parameters
    /// ([`Self::tile_entries`]): [`TileSettings::decode`] gives the physical values the reads
    /// of this image give.
    pub fn tile_settings(&self) -> &TileSettings {
        &self.tiles.s
    }

    /// Every tile in table-row (C grid) order: where its bytes lie in the file (in whichever
    /// column holds them) and its parameters.
    ///
    /// # Errors
    /// A tile with no bytes in any column, or an UNCOMPRESSED_DATA count that is not the
    /// tile's pixel count.
    pub fn tile_entries(&self) -> Result<Vec<(std::ops::Range<u64>, TileParams)>> {
        let t = &self.tiles;
        let grid = &t.grid;
        let ntiles = if grid.array_shape().contains(&0) {
            0
        } else {
            grid.num_chunks()
        };
        let mut out = Vec::with_capacity(usize::try_from(ntiles).unwrap_or(0).min(1 << 20));
        for row in 0..ntiles {
            let chunk = grid.coords_of(row);
            let n = grid.chunk_region(&chunk).shape().iter().product::<u64>();
            let (column, range) = t.locate(row, n as usize)?;
            out.push((range, t.params(row, column)));
        }
        Ok(out)
    }

    /// The image's own BSCALE/BZERO/BLANK, applied to the decoded tiles.
    pub fn scaling(&self) -> &Scaling {
        &self.tiles.s.scaling
    }

    /// Decode tiles in parallel (default) or one after another.
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// Read a region into a new buffer.
    pub fn read(&self, region: &Region) -> Result<ArrayBuf> {
        region.check_within(self.shape())?;
        let mut buf = ArrayBuf::zeros(self.dtype().clone(), region.shape())?;
        self.read_into(region, buf.bytes_mut())?;
        Ok(buf)
    }

    /// Fill `out` with `region`, whole image or not: nd-core's chunk engine hands every tile the
    /// region touches to the [`TileDecoder`] (in parallel unless [`Self::set_parallel`] turned
    /// it off), straight into `out` when the whole tile is one contiguous run there.
    fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        nd_core::array::check_out_len(region, &self.tiles.dtype, out)?;
        if region.is_empty() {
            return Ok(());
        }
        let layout = ChunkedLayout {
            grid: self.tiles.grid.clone(),
            elem_size: self.tiles.dtype.size(),
            order: Order::C,
            fill: vec![],
        };
        nd_core::read_chunked(&layout, region, out, &self.tiles, self.parallel)
    }

    /// Which tiles (table rows) a region touches.
    pub fn tiles_for(&self, region: &Region) -> Result<Vec<u64>> {
        let pieces = self.tiles.grid.pieces(region)?;
        let mut v: Vec<u64> = pieces.iter().map(|p| self.tiles.row_of(&p.chunk)).collect();
        v.sort_unstable();
        Ok(v)
    }
}

impl ArrayRead for CompressedImage {
    fn shape(&self) -> &[u64] {
        self.tiles.grid.array_shape()
    }
    fn dtype(&self) -> &DataType {
        &self.tiles.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.tiles.grid.chunk_shape().to_vec()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        self.read_into(region, out).map_err(Into::into)
    }
    fn codec(&self) -> Option<String> {
        Some(format!(
            "FITS tile compression {}{}",
            self.tiles.s.codec.algorithm.name(),
            if self.tiles.s.quantized {
                format!(" (quantized, {})", self.tiles.s.dither.name())
            } else {
                String::new()
            }
        ))
    }
    fn attributes(&self) -> Attributes {
        self.attrs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serial and parallel drivers, and an output slice not aligned for the pixel type,
    /// give the same bytes as the parallel read (which tests/compressed.rs checks against
    /// astropy) for every compressed image of testdata, whole and by an off-grid region.
    #[test]
    fn serial_parallel_and_unaligned_reads_agree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits");
        let text = std::fs::read_to_string(root.join("manifest.json")).unwrap();
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut done = 0;
        for entry in m.as_object().unwrap().values() {
            let fits = crate::fits::Fits::open(root.join(entry["path"].as_str().unwrap())).unwrap();
            for h in entry["hdus"].as_array().unwrap() {
                if h.get("comp").is_none() {
                    continue;
                }
                let i = h["index"].as_u64().unwrap() as usize;
                let mut img = fits.compressed_image(i).unwrap();
                let shape = img.shape().to_vec();
                let mut regions = vec![Region::new(shape.iter().map(|&d| 0..d).collect())];
                if shape.iter().all(|&d| d >= 3) {
                    regions.push(Region::new(shape.iter().map(|&d| 1..d - 1).collect()));
                }
                for region in regions {
                    img.set_parallel(true);
                    let par = img.read(&region).unwrap();
                    img.set_parallel(false);
                    let ser = img.read(&region).unwrap();
                    assert_eq!(par.bytes(), ser.bytes(), "HDU {i} {region:?}");
                    let mut v = vec![0u8; par.bytes().len() + 1];
                    img.read_into(&region, &mut v[1..]).unwrap();
                    assert_eq!(&v[1..], par.bytes(), "HDU {i} {region:?} unaligned");
                }
                done += 1;
            }
        }
        assert!(done >= 40, "{done}");
    }

    /// Every tile of every compressed image of testdata, decoded from its bytes and its
    /// parameters alone ([`TileSettings::decode_full`], what `nd refs`' codec calls), equals
    /// the reader's values for that tile (checked against astropy by tests/compressed.rs), an
    /// edge tile padded to the full tile shape.
    #[test]
    fn tiles_decode_from_bytes_and_parameters() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits");
        let text = std::fs::read_to_string(root.join("manifest.json")).unwrap();
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (mut images, mut tiles, mut fallback, mut edge) = (0, 0, 0, 0);
        for entry in m.as_object().unwrap().values() {
            let fits = crate::fits::Fits::open(root.join(entry["path"].as_str().unwrap())).unwrap();
            for h in entry["hdus"].as_array().unwrap() {
                if h.get("comp").is_none() {
                    continue;
                }
                let img = fits
                    .compressed_image(h["index"].as_u64().unwrap() as usize)
                    .unwrap();
                let grid = &img.tiles.grid;
                let full = grid.chunk_shape().to_vec();
                let es = img.dtype().size();
                for (row, (range, p)) in img.tile_entries().unwrap().into_iter().enumerate() {
                    assert_eq!(p.row, row as u64);
                    let region = grid.chunk_region(&grid.coords_of(row as u64));
                    let tshape = region.shape();
                    let bytes = img.table().source().read_range(range).unwrap();
                    let got = img
                        .tile_settings()
                        .decode_full(&bytes, &p, &tshape, &full)
                        .unwrap();
                    let want = img.read(&region).unwrap();
                    let mut padded = vec![0u8; full.iter().product::<u64>() as usize * es];
                    super::super::values::place_edge(&full, &tshape, es, want.bytes(), &mut padded)
                        .unwrap();
                    assert_eq!(
                        got, padded,
                        "{} HDU {} tile {row}",
                        entry["path"], h["index"]
                    );
                    tiles += 1;
                    fallback += usize::from(p.column != super::super::TileColumn::Compressed);
                    edge += usize::from(tshape != full);
                }
                images += 1;
            }
        }
        assert!(
            images >= 50 && fallback >= 10 && edge >= 50,
            "{images} {tiles} {fallback} {edge}"
        );
    }
}
