//! Tile-compressed images (a BINTABLE with ZIMAGE = T): the image presented as astropy's
//! `CompImageHDU` presents it — its header rebuilt from the Z keywords, its data decoded tile by
//! tile (RICE_1, GZIP_1, GZIP_2, PLIO_1, HCOMPRESS_1, NOCOMPRESS, and the GZIP_COMPRESSED_DATA /
//! UNCOMPRESSED_DATA fallbacks), unquantized with cfitsio's dither sequence, then scaled by the
//! image's BSCALE/BZERO/BLANK. A region decodes only the tiles it touches, in parallel.
//! See `spec-notes/fits-tile-compression.md`.

pub mod hcompress;
pub mod plio;
pub mod quantize;
pub mod rice;

use crate::card::{Card, Value};
use crate::error::{Error, Result};
use crate::hdu::{header_attributes, Hdu};
use crate::header::Header;
use crate::runs::region_runs;
use crate::scale::{bitpix_dtype, convert, Scaling};
use crate::table::{Column, ColumnFormat, Table};
use nd_core::{
    ArrayBuf, ArrayRead, Attributes, ChunkDecoder, ChunkGrid, ChunkPiece, ChunkedLayout, DataType,
    Order, Region,
};
use quantize::Dither;
use std::ops::Range;

/// A tile compression algorithm (ZCMPTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RICE_1 (also spelled RICE_ONE).
    Rice,
    /// GZIP_1: gzip of the big-endian pixels.
    Gzip1,
    /// GZIP_2: gzip of the byte-shuffled big-endian pixels.
    Gzip2,
    /// PLIO_1: IRAF pixel lists.
    Plio,
    /// HCOMPRESS_1: H-transform, quantized, quadtree coded.
    Hcompress,
    /// NOCOMPRESS: big-endian pixels as they are.
    NoCompress,
}

impl Algorithm {
    /// From a ZCMPTYPE value.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Some(match s.trim() {
            "RICE_1" | "RICE_ONE" => Algorithm::Rice,
            "GZIP_1" => Algorithm::Gzip1,
            "GZIP_2" => Algorithm::Gzip2,
            "PLIO_1" => Algorithm::Plio,
            "HCOMPRESS_1" => Algorithm::Hcompress,
            "NOCOMPRESS" => Algorithm::NoCompress,
            _ => return None,
        })
    }

    /// The ZCMPTYPE name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Rice => "RICE_1",
            Algorithm::Gzip1 => "GZIP_1",
            Algorithm::Gzip2 => "GZIP_2",
            Algorithm::Plio => "PLIO_1",
            Algorithm::Hcompress => "HCOMPRESS_1",
            Algorithm::NoCompress => "NOCOMPRESS",
        }
    }
}

/// Decoded tile values before they take the image type.
enum Vals {
    /// Integers and the byte width they were decoded from.
    Int(Vec<i64>, usize),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Heap ranges of one data column, per tile.
type Ranges = Vec<(u64, Range<u64>)>;

/// A tile-compressed image HDU opened for reading.
#[derive(Debug)]
pub struct CompressedImage {
    table: Table,
    hdu: usize,
    image_header: Header,
    shape: Vec<u64>,
    tile: Vec<u64>,
    zbitpix: i64,
    zdtype: DataType,
    algo: Algorithm,
    blocksize: usize,
    bytepix: usize,
    hscale: i64,
    hsmooth: bool,
    quantized: bool,
    dither: Dither,
    dither0: i64,
    cdata: (Column, Ranges),
    gzdata: Option<(Column, Ranges)>,
    udata: Option<(Column, Ranges)>,
    zscale: Option<Vec<f64>>,
    zzero: Option<Vec<f64>>,
    zblank_col: Option<Vec<i64>>,
    zblank_header: Option<i64>,
    scaling: Scaling,
    dtype: DataType,
    attrs: Attributes,
    parallel: bool,
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

/// Keywords of the table that do not belong to the image header (astropy's reserved set).
fn is_reserved(k: &str) -> bool {
    const FIXED: &[&str] = &[
        "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "CHECKSUM",
        "DATASUM", "ZIMAGE", "ZCMPTYPE", "ZMASKCMP", "ZQUANTIZ", "ZDITHER0", "ZBLANK", "ZSCALE",
        "ZZERO", "ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZEXTEND", "ZBLOCKED", "ZPCOUNT",
        "ZGCOUNT", "ZHECKSUM", "ZDATASUM", "SIMPLE", "EXTEND",
    ];
    if FIXED.contains(&k) {
        return true;
    }
    let indexed = |p: &str| {
        k.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    };
    [
        "NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL",
        "TZERO", "TDISP", "TBCOL", "TDIM", "TCTYP", "TCUNI", "TCRPX", "TCRVL", "TCDLT", "TCROT",
    ]
    .iter()
    .any(|p| indexed(p))
}

/// The image header astropy shows for a compressed HDU: the table header without its table
/// and compression keywords, SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT (and
/// EXTEND, CHECKSUM, DATASUM) from their Z counterparts.
pub fn image_header(table: &Header) -> Result<Header> {
    let mut h = Header::new();
    let get = |k: &str| {
        table
            .card(k)
            .map(|c| (c.value().clone(), c.comment().map(String::from)))
    };
    let push = |h: &mut Header, k: &str, v: Value, c: Option<String>| -> Result<()> {
        h.push(Card::new(k, v, c.as_deref())?);
        Ok(())
    };
    if let Some((v, c)) = get("ZSIMPLE") {
        push(&mut h, "SIMPLE", v, c)?;
    } else {
        let c = get("ZTENSION").and_then(|x| x.1);
        push(&mut h, "XTENSION", Value::Str("IMAGE".into()), c)?;
    }
    let (bp, bpc) = get("ZBITPIX").unwrap_or((Value::Int(8), None));
    push(&mut h, "BITPIX", bp, bpc)?;
    let (nx, nxc) = get("ZNAXIS").unwrap_or((Value::Int(0), None));
    let n = nx.as_i128().unwrap_or(0).clamp(0, 999) as usize;
    push(&mut h, "NAXIS", nx, nxc)?;
    for k in 1..=n {
        if let Some((v, c)) = get(&format!("ZNAXIS{k}")) {
            push(&mut h, &format!("NAXIS{k}"), v, c)?;
        }
    }
    if get("ZSIMPLE").is_none() {
        let (p, pc) = get("ZPCOUNT").unwrap_or((Value::Int(0), None));
        push(&mut h, "PCOUNT", p, pc)?;
        let (g, gc) = get("ZGCOUNT").unwrap_or((Value::Int(1), None));
        push(&mut h, "GCOUNT", g, gc)?;
    }
    // The table's EXTNAME: the last one (the image's, when both are present), dropped when it
    // is the default 'COMPRESSED_IMAGE'.
    let last_extname = table
        .cards_named("EXTNAME")
        .last()
        .map(|c| c.raw().to_string());
    for card in table.cards() {
        let k = card.keyword();
        if is_reserved(k) || k == "BSCALE" || k == "BZERO" || k == "GROUPS" {
            continue;
        }
        if k == "EXTNAME" {
            let is_last = last_extname.as_deref() == Some(card.raw());
            let default = matches!(card.value(), Value::Str(s) if s.trim() == "COMPRESSED_IMAGE");
            if !is_last || default || h.contains("EXTNAME") {
                continue;
            }
        }
        h.push(card.clone());
    }
    // BSCALE / BZERO move to the end, and only when truthy (astropy strips and re-adds them).
    for k in ["BSCALE", "BZERO"] {
        if let Some((v, c)) = get(k) {
            if !v.num_eq(0) && v != Value::Bool(false) {
                push(&mut h, k, v, c)?;
            }
        }
    }
    for (z, k) in [
        ("ZEXTEND", "EXTEND"),
        ("ZBLOCKED", "BLOCKED"),
        ("ZHECKSUM", "CHECKSUM"),
        ("ZDATASUM", "DATASUM"),
    ] {
        if let Some((v, c)) = get(z) {
            push(&mut h, k, v, c)?;
        }
    }
    // Integer images get a BLANK from ZBLANK (or the most negative value when only a ZBLANK
    // column exists), as astropy fills it in.
    let bitpix = h.get_int("BITPIX").unwrap_or(0);
    if bitpix > 0 && !h.contains("BLANK") {
        if let Some((v, _)) = get("ZBLANK") {
            push(&mut h, "BLANK", v, None)?;
        } else {
            let tf = table.get_int("TFIELDS").unwrap_or(0).clamp(0, 999);
            let has_col = (1..=tf)
                .any(|i| table.get_str(&format!("TTYPE{i}")).map(|s| s.trim()) == Some("ZBLANK"));
            if has_col && bitpix < 64 {
                push(&mut h, "BLANK", Value::Int(-(1i64 << (bitpix - 1))), None)?;
            }
        }
    }
    Ok(h)
}

/// ZVALn for the ZNAMEn equal to `name` (case-insensitive), as astropy looks it up.
fn zval(h: &Header, name: &str) -> Option<Value> {
    for i in 1..1000 {
        let n = h.get_str(&format!("ZNAME{i}"))?;
        if n.trim().eq_ignore_ascii_case(name) {
            return h.get(&format!("ZVAL{i}")).cloned();
        }
    }
    None
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
            Algorithm::from_name(&cmp).ok_or_else(|| herr(format!("unknown ZCMPTYPE {cmp:?}")))?;
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
            Some(other) => return Err(herr(format!("unknown ZQUANTIZ {other:?}"))),
        };
        let dither0 = h.get_int("ZDITHER0").unwrap_or(0);
        let attrs = header_attributes(&image_header);
        Ok(CompressedImage {
            table,
            hdu: idx,
            image_header,
            shape,
            tile,
            zbitpix,
            zdtype,
            algo,
            blocksize: blocksize.clamp(0, 1 << 20) as usize,
            bytepix: bytepix.clamp(0, 8) as usize,
            hscale,
            hsmooth,
            quantized,
            dither,
            dither0,
            cdata,
            gzdata,
            udata,
            zscale,
            zzero,
            zblank_col,
            zblank_header,
            scaling,
            dtype,
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
        self.algo
    }

    /// The tile shape (numpy order).
    pub fn tile_shape(&self) -> &[u64] {
        &self.tile
    }

    /// ZBITPIX.
    pub fn zbitpix(&self) -> i64 {
        self.zbitpix
    }

    /// Decode tiles in parallel (default) or one after another.
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    fn terr(&self, row: u64, col: &str, msg: String) -> Error {
        Error::Table {
            hdu: self.hdu,
            row: Some(row),
            column: Some(col.to_string()),
            msg,
        }
    }

    fn heap_bytes(&self, r: &Range<u64>) -> Result<nd_core::Bytes> {
        let size = self.table.source().len();
        if r.end > size {
            return Err(Error::Truncated {
                hdu: self.hdu,
                offset: r.start,
                needed: r.end - r.start,
                size,
            });
        }
        Ok(self.table.source().read_range(r.clone())?)
    }

    /// GZIP_1 / NOCOMPRESS bytes to values, the type chosen by the byte count (astropy).
    fn by_size(&self, b: &[u8], n: usize, lossless: bool, row: u64, col: &str) -> Result<Vals> {
        let float = self.zbitpix < 0 && lossless;
        Ok(if b.len() == n * 2 {
            Vals::Int(
                b.chunks_exact(2)
                    .map(|c| i16::from_be_bytes([c[0], c[1]]) as i64)
                    .collect(),
                2,
            )
        } else if b.len() == n * 4 {
            if float {
                Vals::F32(
                    b.chunks_exact(4)
                        .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            } else {
                Vals::Int(
                    b.chunks_exact(4)
                        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect(),
                    4,
                )
            }
        } else if b.len() == n * 8 {
            let w = |c: &[u8]| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                a
            };
            if float {
                Vals::F64(
                    b.chunks_exact(8)
                        .map(|c| f64::from_be_bytes(w(c)))
                        .collect(),
                )
            } else {
                Vals::Int(
                    b.chunks_exact(8)
                        .map(|c| i64::from_be_bytes(w(c)))
                        .collect(),
                    8,
                )
            }
        } else if b.len() == n {
            Vals::Int(b.iter().map(|&v| v as i64).collect(), 1)
        } else {
            return Err(self.terr(
                row,
                col,
                format!(
                    "tile of {n} pixels decompressed to {} bytes (not 1, 2, 4 or 8 per pixel)",
                    b.len()
                ),
            ));
        })
    }

    fn gunzip(&self, data: &[u8], n: usize, row: u64, col: &str) -> Result<Vec<u8>> {
        use nd_codecs::Codec;
        nd_codecs::Gzip { level: 1 }
            .decode(data, n.saturating_mul(8).max(64))
            .map_err(|e| self.terr(row, col, format!("{}: {e}", self.algo.name())))
    }

    /// Decode tile `row` of `tshape` (its actual, clipped shape) into ZBITPIX-typed native bytes.
    fn decode_tile(&self, row: u64, tshape: &[u64]) -> Result<Vec<u8>> {
        let n = tshape.iter().product::<u64>() as usize;
        let (ccol, cranges) = &self.cdata;
        let (count, range) = cranges
            .get(row as usize)
            .cloned()
            .ok_or_else(|| self.terr(row, &ccol.name, "no such tile row".into()))?;
        let mut apply_q = true;
        let vals = if count == 0 {
            apply_q = false;
            if let Some((gc, gr)) = &self.gzdata {
                let (_, r) = &gr[row as usize];
                let b = self.heap_bytes(r)?;
                let raw = self.gunzip(&b, n, row, &gc.name)?;
                self.by_size(&raw, n, true, row, &gc.name)?
            } else if let Some((uc, ur)) = &self.udata {
                let (cnt, r) = &ur[row as usize];
                let b = self.heap_bytes(r)?;
                let code = match uc.format {
                    ColumnFormat::Var { code, .. } => code,
                    _ => 'B',
                };
                if *cnt as usize != n {
                    return Err(self.terr(
                        row,
                        &uc.name,
                        format!("{cnt} values for a tile of {n} pixels"),
                    ));
                }
                match code {
                    'E' => self.by_size(&b, n, true, row, &uc.name)?,
                    'D' => self.by_size(&b, n, true, row, &uc.name)?,
                    _ => self.by_size(&b, n, false, row, &uc.name)?,
                }
            } else {
                return Err(self.terr(
                    row,
                    &ccol.name,
                    "empty COMPRESSED_DATA and no GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA column"
                        .into(),
                ));
            }
        } else {
            let b = self.heap_bytes(&range)?;
            let name = &ccol.name;
            let lossless = !self.quantized;
            match self.algo {
                Algorithm::Rice => {
                    let mut out = vec![0i32; n];
                    rice::decode(&b, self.bytepix, self.blocksize, &mut out)
                        .map_err(|m| self.terr(row, name, m))?;
                    Vals::Int(out.into_iter().map(|v| v as i64).collect(), self.bytepix)
                }
                Algorithm::Gzip1 => {
                    let raw = self.gunzip(&b, n, row, name)?;
                    self.by_size(&raw, n, lossless, row, name)?
                }
                Algorithm::Gzip2 => {
                    let raw = self.gunzip(&b, n, row, name)?;
                    let item = raw.len().checked_div(n).unwrap_or(1).max(1);
                    if raw.len() % item != 0 {
                        return Err(self.terr(
                            row,
                            name,
                            format!("GZIP_2: {} bytes for {n} pixels", raw.len()),
                        ));
                    }
                    let m = raw.len() / item;
                    let mut un = vec![0u8; raw.len()];
                    for (k, plane) in raw.chunks_exact(m.max(1)).enumerate() {
                        for (i, &v) in plane.iter().enumerate() {
                            un[i * item + k] = v;
                        }
                    }
                    self.by_size(&un, n, lossless, row, name)?
                }
                Algorithm::NoCompress => self.by_size(&b, n, lossless, row, name)?,
                Algorithm::Plio => {
                    let words: Vec<i16> =
                        if matches!(ccol.format, ColumnFormat::Var { code: 'I', .. }) {
                            b.chunks_exact(2)
                                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                                .collect()
                        } else {
                            b.chunks_exact(2)
                                .map(|c| i16::from_ne_bytes([c[0], c[1]]))
                                .collect()
                        };
                    let mut out = vec![0i32; n];
                    plio::decode(&words, &mut out).map_err(|m| self.terr(row, name, m))?;
                    Vals::Int(out.into_iter().map(|v| v as i64).collect(), 4)
                }
                Algorithm::Hcompress => {
                    let dims: Vec<u64> = tshape.iter().copied().filter(|&d| d != 1).collect();
                    let (nx, ny) = match dims.as_slice() {
                        [a, b] => (*a as usize, *b as usize),
                        [a] if tshape.len() >= 2 => (*a as usize, 1),
                        [] if n == 1 => (1, 1),
                        _ => {
                            return Err(self.terr(
                                row,
                                name,
                                format!("HCOMPRESS expects two-dimensional tiles, got {tshape:?}"),
                            ))
                        }
                    };
                    let out = hcompress::decode(&b, nx, ny, self.hscale, self.hsmooth)
                        .map_err(|m| self.terr(row, name, m))?;
                    Vals::Int(out, 4)
                }
            }
        };
        self.finish_tile(vals, row, n, apply_q)
    }

    fn finish_tile(&self, vals: Vals, row: u64, n: usize, apply_q: bool) -> Result<Vec<u8>> {
        let zblank = match &self.zblank_col {
            Some(c) => c.get(row as usize).copied(),
            None => self.zblank_header,
        };
        // Quantized tiles: integers → floats with the tile's ZSCALE / ZZERO.
        let vals = match vals {
            Vals::Int(q, width) if apply_q && self.quantized => {
                let r = row as usize;
                let scale = self.zscale.as_ref().and_then(|v| v.get(r).copied());
                let zero = self.zzero.as_ref().and_then(|v| v.get(r).copied());
                let (Some(scale), Some(zero)) = (scale, zero) else {
                    return Err(self.terr(row, "ZZERO", "ZSCALE without ZZERO".into()));
                };
                let seed = if self.dither == Dither::None {
                    0
                } else {
                    row as i64 + self.dither0
                };
                let mut out = vec![0f64; q.len()];
                // cfitsio checks ZERO_VALUE only in its 4-byte-integer routines.
                let wide = width == 4;
                quantize::unquantize(&q, self.dither, seed, scale, zero, wide, &mut out);
                if let Some(zb) = zblank {
                    for (o, &v) in out.iter_mut().zip(&q) {
                        if v == zb {
                            *o = f64::NAN;
                        }
                    }
                }
                Vals::F64(out)
            }
            Vals::Int(q, w) => Vals::Int(q, w),
            Vals::F32(mut f) => {
                if let (Some(zb), true) = (zblank, apply_q) {
                    for v in f.iter_mut() {
                        if *v == zb as f32 {
                            *v = f32::NAN;
                        }
                    }
                }
                Vals::F32(f)
            }
            Vals::F64(mut f) => {
                if let (Some(zb), true) = (zblank, apply_q) {
                    for v in f.iter_mut() {
                        if *v == zb as f64 {
                            *v = f64::NAN;
                        }
                    }
                }
                Vals::F64(f)
            }
        };
        let len = match &vals {
            Vals::Int(v, _) => v.len(),
            Vals::F32(v) => v.len(),
            Vals::F64(v) => v.len(),
        };
        if len < n {
            return Err(self.terr(
                row,
                &self.cdata.0.name,
                format!("tile decoded to {len} values, {n} needed"),
            ));
        }
        // numpy's unsafe cast into the ZBITPIX array.
        let es = self.zdtype.size();
        let mut out = vec![0u8; n * es];
        macro_rules! cast {
            ($src:expr, $t:ty) => {
                for (d, &v) in out.chunks_exact_mut(es).zip($src.iter()) {
                    d.copy_from_slice(&(v as $t).to_ne_bytes());
                }
            };
        }
        macro_rules! cast_int {
            ($src:expr) => {
                match self.zbitpix {
                    8 => cast!($src, u8),
                    16 => cast!($src, i16),
                    32 => cast!($src, i32),
                    64 => cast!($src, i64),
                    -32 => cast!($src, f32),
                    _ => cast!($src, f64),
                }
            };
        }
        match &vals {
            Vals::Int(v, _) => {
                if self.zbitpix > 0 {
                    // Integer → integer: wrap (two's complement truncation).
                    match self.zbitpix {
                        8 => cast!(v, u8),
                        16 => cast!(v, i16),
                        32 => cast!(v, i32),
                        _ => cast!(v, i64),
                    }
                } else {
                    cast_int!(v)
                }
            }
            Vals::F32(v) => cast_int!(v),
            Vals::F64(v) => cast_int!(v),
        }
        Ok(out)
    }

    /// Physical bytes of a decoded tile.
    fn to_physical(&self, typed: Vec<u8>) -> Vec<u8> {
        if self.scaling == Scaling::None {
            return typed;
        }
        let es = self.zdtype.size();
        let mut be = typed;
        for c in be.chunks_exact_mut(es) {
            c.reverse(); // native (little-endian) → big-endian
        }
        if cfg!(target_endian = "big") {
            for c in be.chunks_exact_mut(es) {
                c.reverse();
            }
        }
        let n = be.len() / es;
        let mut out = vec![0u8; n * self.dtype.size()];
        convert(self.zbitpix, &self.scaling, &be, &mut out);
        out
    }

    fn grid(&self) -> Result<ChunkGrid> {
        Ok(ChunkGrid::new(self.shape.clone(), self.tile.clone())?)
    }

    /// Read a region into a new buffer.
    pub fn read(&self, region: &Region) -> Result<ArrayBuf> {
        region.check_within(&self.shape)?;
        let mut buf = ArrayBuf::zeros(self.dtype.clone(), region.shape())?;
        self.read_into(region, buf.bytes_mut())?;
        Ok(buf)
    }

    fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        nd_core::array::check_out_len(region, &self.dtype, out)?;
        if region.is_empty() {
            return Ok(());
        }
        let grid = self.grid()?;
        let rshape = region.shape();
        let mut pieces = grid.pieces(region)?;
        // Bands: the pieces sharing one range of the region's first axis. Each band is one
        // contiguous slice of `out`, so bands can be written by different threads without
        // sharing anything.
        pieces.sort_by_key(|p| p.in_out.ranges.first().map(|r| r.start).unwrap_or(0));
        let es = self.dtype.size();
        let row_bytes = rshape.iter().skip(1).product::<u64>() as usize * es;
        let mut bands: Vec<Band> = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            let r = p.in_out.ranges.first().cloned().unwrap_or(0..1);
            match bands.last_mut() {
                Some(b) if b.rows == r => b.pieces.end = i + 1,
                _ => bands.push(Band {
                    rows: r,
                    pieces: i..i + 1,
                }),
            }
        }
        // The bands must cover the region's first axis in order (they do for a chunk grid).
        let mut next = 0;
        for b in &bands {
            if b.rows.start != next {
                return Err(Error::Core(nd_core::Error::Shape(format!(
                    "tile bands out of order at row {}",
                    b.rows.start
                ))));
            }
            next = b.rows.end;
        }
        if rshape.is_empty() || (self.parallel && bands.len() < 2 && pieces.len() > 1) {
            // One band of several tiles (tiles split only along inner axes): let the shared
            // engine decode its tiles in parallel.
            let layout = ChunkedLayout {
                grid,
                elem_size: es,
                order: Order::C,
                fill: vec![],
            };
            let dec = TileDecoder { img: self };
            return nd_core::read_chunked(&layout, region, out, &dec, self.parallel);
        }
        // Tasks: runs of consecutive bands of at least TASK_BYTES of output each, so that small
        // tiles (e.g. one row each) are not one parallel task apiece.
        let mut tasks: Vec<(Range<usize>, &mut [u8])> = Vec::new();
        let mut rest = out;
        let mut i = 0;
        while i < bands.len() {
            let start = i;
            let mut bytes = 0usize;
            while i < bands.len() && (bytes == 0 || bytes < TASK_BYTES) {
                bytes += (bands[i].rows.end - bands[i].rows.start) as usize * row_bytes;
                i += 1;
            }
            if bytes > rest.len() {
                return Err(Error::Core(nd_core::Error::Shape(
                    "tile bands exceed the output".into(),
                )));
            }
            let (head, tail) = rest.split_at_mut(bytes);
            tasks.push((start..i, head));
            rest = tail;
        }
        let run = |scratch: &mut Scratch, (bs, buf): (Range<usize>, &mut [u8])| -> Result<()> {
            let mut off = 0usize;
            for band in &bands[bs] {
                let nrows = band.rows.end - band.rows.start;
                let len = nrows as usize * row_bytes;
                let bbuf = &mut buf[off..off + len]; // ok: the task's slice is the sum of its bands
                off += len;
                let mut bshape = rshape.clone();
                bshape[0] = nrows; // ok: rshape is not empty (checked above)
                for p in &pieces[band.pieces.clone()] {
                    self.put_piece(p, &grid, &bshape, band.rows.start, scratch, bbuf)?;
                }
            }
            Ok(())
        };
        if self.parallel && tasks.len() > 1 {
            use rayon::prelude::*;
            tasks
                .into_par_iter()
                .try_for_each_init(Scratch::default, |s, t| run(s, t))
        } else {
            let mut s = Scratch::default();
            tasks.into_iter().try_for_each(|t| run(&mut s, t))
        }
    }

    /// Decode the tile of piece `p` and put its part into `bbuf`, the band (of shape `bshape`,
    /// starting at row `band_start` of the region) that holds it: straight into `bbuf` when
    /// the whole tile lands there contiguously, else through the scratch tile buffer.
    fn put_piece(
        &self,
        p: &ChunkPiece,
        grid: &ChunkGrid,
        bshape: &[u64],
        band_start: u64,
        scratch: &mut Scratch,
        bbuf: &mut [u8],
    ) -> Result<()> {
        let gs = grid.grid_shape();
        let row = p.chunk.iter().zip(&gs).fold(0u64, |a, (&c, &g)| a * g + c);
        let tshape = grid.chunk_region(&p.chunk).shape();
        let es = self.dtype.size();
        let nbytes = tshape.iter().product::<u64>() as usize * es;
        let mut dst_start = p.in_out.start();
        if let Some(d) = dst_start.first_mut() {
            *d -= band_start;
        }
        let count = p.in_out.shape();
        if count == tshape {
            if let Some(off) = contiguous_offset(bshape, &dst_start, &count) {
                let o = off as usize * es;
                if let Some(dst) = bbuf.get_mut(o..o + nbytes) {
                    return self.decode_into(row, &tshape, scratch, dst);
                }
            }
        }
        let mut tile = std::mem::take(&mut scratch.tile);
        let tb = aligned_bytes(&mut tile, nbytes);
        self.decode_into(row, &tshape, scratch, tb)?;
        nd_core::shape::copy_region(
            tb,
            &tshape,
            Order::C,
            &p.in_chunk,
            bbuf,
            bshape,
            &dst_start,
            es,
        )?;
        scratch.tile = tile;
        Ok(())
    }

    /// Decode tile `row` (clipped shape `tshape`) into `dst`: its physical values, native-endian.
    fn decode_into(
        &self,
        row: u64,
        tshape: &[u64],
        scratch: &mut Scratch,
        dst: &mut [u8],
    ) -> Result<()> {
        if self.decode_direct(row, tshape, scratch, dst)? {
            return Ok(());
        }
        let phys = self.to_physical(self.decode_tile(row, tshape)?);
        if phys.len() != dst.len() {
            return Err(self.terr(
                row,
                &self.cdata.0.name,
                format!("tile decoded to {} bytes, {} needed", phys.len(), dst.len()),
            ));
        }
        dst.copy_from_slice(&phys);
        Ok(())
    }

    /// Quantized RICE tiles of float images: the integers decoded into a reused buffer, then
    /// unquantized (dither, ZBLANK → NaN) straight into `dst` as f32 / f64, computing what
    /// [`Self::finish_tile`] computes. Returns false when the tile takes the general path.
    fn decode_quantized(
        &self,
        row: u64,
        tshape: &[u64],
        scratch: &mut Scratch,
        dst: &mut [u8],
    ) -> Result<bool> {
        if self.algo != Algorithm::Rice
            || self.scaling != Scaling::None
            || !matches!(self.zbitpix, -32 | -64)
        {
            return Ok(false);
        }
        let (ccol, cranges) = &self.cdata;
        let Some((count, range)) = cranges.get(row as usize) else {
            return Ok(false);
        };
        let r = row as usize;
        let scale = self.zscale.as_ref().and_then(|v| v.get(r).copied());
        let zero = self.zzero.as_ref().and_then(|v| v.get(r).copied());
        let (Some(scale), Some(zero)) = (scale, zero) else {
            return Ok(false);
        };
        let n = tshape.iter().product::<u64>() as usize;
        if *count == 0 || dst.len() != n * self.dtype.size() {
            return Ok(false);
        }
        let b = self.heap_bytes(range)?;
        let q = &mut scratch.ints;
        if q.len() < n {
            q.resize(n, 0);
        }
        let q = &mut q[..n];
        rice::decode(&b, self.bytepix, self.blocksize, q)
            .map_err(|m| self.terr(row, &ccol.name, m))?;
        let zblank = match &self.zblank_col {
            Some(c) => c.get(r).copied(),
            None => self.zblank_header,
        };
        let seed = if self.dither == Dither::None {
            0
        } else {
            row as i64 + self.dither0
        };
        // cfitsio checks ZERO_VALUE only in its 4-byte-integer routines.
        let wide = self.bytepix == 4;
        let (d, sc, ze) = (self.dither, scale, zero);
        macro_rules! go {
            ($t:ty, $f:expr) => {{
                match bytemuck::try_cast_slice_mut::<u8, $t>(dst) {
                    Ok(o) => quantize::unquantize_map(&*q, d, seed, sc, ze, wide, zblank, o, $f),
                    Err(_) => {
                        let tb = aligned_bytes(&mut scratch.tmp, dst.len());
                        let o = bytemuck::cast_slice_mut::<u8, $t>(tb);
                        quantize::unquantize_map(&*q, d, seed, sc, ze, wide, zblank, o, $f);
                        dst.copy_from_slice(tb);
                    }
                }
            }};
        }
        if self.zbitpix == -32 {
            go!(f32, |v| v as f32);
        } else {
            go!(f64, |v| v);
        }
        Ok(true)
    }

    /// Lossless integer tiles whose physical values are the stored ones (or the unsigned /
    /// signed-byte BZERO convention): decoded straight into `dst`, without the i64 and
    /// big-endian passes of [`Self::decode_tile`]. Returns false when the tile takes the
    /// general path (other algorithms, quantized or float data, scaling, fallback columns).
    fn decode_direct(
        &self,
        row: u64,
        tshape: &[u64],
        scratch: &mut Scratch,
        dst: &mut [u8],
    ) -> Result<bool> {
        if self.quantized {
            return self.decode_quantized(row, tshape, scratch, dst);
        }
        if self.zbitpix <= 0
            || !matches!(
                self.scaling,
                Scaling::None | Scaling::Int8 | Scaling::Unsigned
            )
        {
            return Ok(false);
        }
        let (ccol, cranges) = &self.cdata;
        let Some((count, range)) = cranges.get(row as usize) else {
            return Ok(false);
        };
        if *count == 0 {
            return Ok(false);
        }
        let n = tshape.iter().product::<u64>() as usize;
        let es = self.dtype.size();
        if dst.len() != n * es {
            return Ok(false);
        }
        let name = &ccol.name;
        match self.algo {
            Algorithm::Rice => {
                let b = self.heap_bytes(range)?;
                let (bytepix, bs) = (self.bytepix, self.blocksize);
                macro_rules! go {
                    ($t:ty, $f:expr) => {{
                        match bytemuck::try_cast_slice_mut::<u8, $t>(dst) {
                            Ok(d) => rice::decode_map(&b, bytepix, bs, d, $f),
                            Err(_) => {
                                let tb = aligned_bytes(&mut scratch.tmp, n * es);
                                let r = rice::decode_map(
                                    &b,
                                    bytepix,
                                    bs,
                                    bytemuck::cast_slice_mut::<u8, $t>(tb),
                                    $f,
                                );
                                dst.copy_from_slice(tb);
                                r
                            }
                        }
                        .map_err(|m| self.terr(row, name, m))?
                    }};
                }
                // The i32 RICE gives, cast (wrapping, as numpy) to ZBITPIX's type, then BZERO.
                match (self.zbitpix, &self.scaling) {
                    (8, Scaling::None) => go!(u8, |v| v as u8),
                    (8, Scaling::Int8) => go!(i8, |v| (v as u8 ^ 0x80) as i8),
                    (16, Scaling::None) => go!(i16, |v| v as i16),
                    (16, Scaling::Unsigned) => go!(u16, |v| v as u16 ^ 0x8000),
                    (32, Scaling::None) => go!(i32, |v| v),
                    (32, Scaling::Unsigned) => go!(u32, |v| v as u32 ^ 0x8000_0000),
                    (64, Scaling::None) => go!(i64, |v| v as i64),
                    (64, Scaling::Unsigned) => go!(u64, |v| v as i64 as u64 ^ (1 << 63)),
                    _ => return Ok(false),
                }
                Ok(true)
            }
            Algorithm::Gzip1 | Algorithm::NoCompress => {
                let b = self.heap_bytes(range)?;
                let raw;
                let src: &[u8] = if self.algo == Algorithm::Gzip1 {
                    raw = self.gunzip(&b, n, row, name)?;
                    &raw
                } else {
                    &b
                };
                // Only values of ZBITPIX's own width: the big-endian pixels as they are.
                if src.len() != n * self.zdtype.size() {
                    return Ok(false);
                }
                convert(self.zbitpix, &self.scaling, src, dst);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Which tiles (table rows) a region touches.
    pub fn tiles_for(&self, region: &Region) -> Result<Vec<u64>> {
        let grid = self.grid()?;
        let gs = grid.grid_shape();
        let mut v: Vec<u64> = grid
            .pieces(region)?
            .iter()
            .map(|p| p.chunk.iter().zip(&gs).fold(0u64, |a, (&c, &g)| a * g + c))
            .collect();
        v.sort_unstable();
        Ok(v)
    }
}

/// Output per parallel task at least (bytes): small tiles are decoded in batches.
const TASK_BYTES: usize = 256 << 10;

/// A run of pieces sharing one range of the region's first axis.
struct Band {
    rows: Range<u64>,
    pieces: Range<usize>,
}

/// Per-thread buffers reused from tile to tile.
#[derive(Default)]
struct Scratch {
    /// A decoded tile that does not land contiguously in the output.
    tile: Vec<u64>,
    /// Typed values for an output slice not aligned for its type.
    tmp: Vec<u64>,
    /// Quantized integers of a tile.
    ints: Vec<i32>,
}

/// The first `nbytes` bytes of `buf` (grown when needed), 8-byte aligned.
fn aligned_bytes(buf: &mut Vec<u64>, nbytes: usize) -> &mut [u8] {
    let words = nbytes.div_ceil(8);
    if buf.len() < words {
        buf.resize(words, 0);
    }
    &mut bytemuck::cast_slice_mut::<u64, u8>(buf)[..nbytes] // ok: buf holds ≥ nbytes bytes
}

/// Element offset of a block (`start`, `count`) of a C-order array of `shape` when the block is
/// one contiguous run there.
fn contiguous_offset(shape: &[u64], start: &[u64], count: &[u64]) -> Option<u64> {
    let nd = shape.len();
    if start.len() != nd || count.len() != nd {
        return None;
    }
    let mut i = nd;
    while i > 0 && count[i - 1] == shape[i - 1] {
        i -= 1;
    }
    if i >= 2 && count[..i - 1].iter().any(|&c| c != 1) {
        return None;
    }
    let mut off = 0u64;
    let mut stride = 1u64;
    for k in (0..nd).rev() {
        off += start[k] * stride;
        stride *= shape[k];
    }
    Some(off)
}

struct TileDecoder<'a> {
    img: &'a CompressedImage,
}

impl ChunkDecoder for TileDecoder<'_> {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        let img = self.img;
        let grid = img.grid()?;
        let gs = grid.grid_shape();
        let row = chunk.iter().zip(&gs).fold(0u64, |a, (&c, &g)| a * g + c);
        let reg = grid.chunk_region(chunk);
        let tshape = reg.shape();
        let mut scratch = Scratch::default();
        if tshape == img.tile {
            img.decode_into(row, &tshape, &mut scratch, dst)?;
        } else {
            let n = tshape.iter().product::<u64>() as usize * img.dtype.size();
            let mut tile = std::mem::take(&mut scratch.tile);
            let phys = aligned_bytes(&mut tile, n);
            img.decode_into(row, &tshape, &mut scratch, phys)?;
            // An edge tile: place its rows into the full-size chunk layout.
            let e = img.dtype.size() as u64;
            let part = Region::new(tshape.iter().map(|&d| 0..d).collect());
            let mut src = 0usize;
            region_runs(&img.tile, &part, |off, n| {
                let (o, l) = ((off * e) as usize, (n * e) as usize);
                dst[o..o + l].copy_from_slice(&phys[src..src + l]);
                src += l;
                Ok(())
            })?;
        }
        Ok(true)
    }
}

impl ArrayRead for CompressedImage {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.tile.clone()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        self.read_into(region, out).map_err(Into::into)
    }
    fn codec(&self) -> Option<String> {
        Some(format!(
            "FITS tile compression {}{}",
            self.algo.name(),
            if self.quantized {
                format!(" (quantized, {:?})", self.dither)
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
            let fits = crate::Fits::open(root.join(entry["path"].as_str().unwrap())).unwrap();
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
}
