//! Decoding one tile into the image's physical values, and the [`ChunkDecoder`] that hands
//! tiles to nd-core's chunk engine ([`nd_core::read_chunked`]), which places them in the output
//! (straight into it when a tile is one contiguous run there) and runs them in parallel.
//!
//! Fast paths decode straight into the output type: lossless integer RICE_1 / GZIP_1 /
//! NOCOMPRESS tiles and quantized RICE_1 float tiles. Everything else goes through
//! [`TileDecoder::decode_tile`] (integers or floats as decoded), `finish_tile` (unquantize,
//! ZBLANK, the cast to ZBITPIX) and `to_physical` (BSCALE/BZERO/BLANK).

use super::codec::TileCodec;
use super::header::Algorithm;
use super::quantize::{self, Dither};
use super::rice;
use crate::error::{Error, Result};
use crate::scale::{convert, Scaling};
use crate::table::{Column, ColumnFormat};
use nd_core::io::region_runs;
use nd_core::scratch::{with_scratch, Scratch};
use nd_core::{ByteSource, ChunkDecoder, ChunkGrid, DataType, Region};
use std::ops::Range;
use std::sync::Arc;

/// Decoded tile values before they take the image type.
enum Vals {
    /// Integers and the byte width they were decoded from.
    Int(Vec<i64>, usize),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Heap ranges of one data column, per tile.
pub(super) type Ranges = Vec<(u64, Range<u64>)>;

/// What decoding a tile needs: where the compressed bytes are, the algorithm and its settings,
/// quantization, the fallback columns and the image's scaling. One table row per tile, in the
/// grid's C order.
#[derive(Debug)]
pub(super) struct TileDecoder {
    /// The (decompressed) file the heap is read from.
    pub(super) source: Arc<dyn ByteSource>,
    pub(super) hdu: usize,
    /// The image shape and the tile shape (numpy order).
    pub(super) grid: ChunkGrid,
    pub(super) zbitpix: i64,
    pub(super) zdtype: DataType,
    pub(super) algo: Algorithm,
    pub(super) blocksize: usize,
    pub(super) bytepix: usize,
    pub(super) hscale: i64,
    pub(super) hsmooth: bool,
    pub(super) quantized: bool,
    pub(super) dither: Dither,
    pub(super) dither0: i64,
    pub(super) cdata: (Column, Ranges),
    pub(super) gzdata: Option<(Column, Ranges)>,
    pub(super) udata: Option<(Column, Ranges)>,
    pub(super) zscale: Option<Vec<f64>>,
    pub(super) zzero: Option<Vec<f64>>,
    pub(super) zblank_col: Option<Vec<i64>>,
    pub(super) zblank_header: Option<i64>,
    /// The image's BSCALE/BZERO/BLANK.
    pub(super) scaling: Scaling,
    /// The physical type.
    pub(super) dtype: DataType,
}

impl TileDecoder {
    /// The table row of tile `chunk` (its grid index): tiles are stored in C order.
    pub(super) fn row_of(&self, chunk: &[u64]) -> u64 {
        self.grid.linear_index(chunk)
    }

    /// The settings that decode one RICE_1 / PLIO_1 / HCOMPRESS_1 tile.
    pub(super) fn codec(&self) -> TileCodec {
        TileCodec {
            algorithm: self.algo,
            zbitpix: self.zbitpix,
            blocksize: self.blocksize,
            bytepix: self.bytepix,
            hscale: self.hscale,
            hsmooth: self.hsmooth,
            plio_big_endian: matches!(self.cdata.0.format, ColumnFormat::Var { code: 'I', .. }),
        }
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
        let size = self.source.len();
        if r.end > size {
            return Err(Error::Truncated {
                hdu: self.hdu,
                offset: r.start,
                needed: r.end - r.start,
                size,
            });
        }
        Ok(self.source.read_range(r.clone())?)
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
                Algorithm::Rice | Algorithm::Plio | Algorithm::Hcompress => {
                    let (v, w) = self
                        .codec()
                        .decode_ints(&b, tshape)
                        .map_err(|m| self.terr(row, name, m))?;
                    Vals::Int(v, w)
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

    /// Decode tile `row` (clipped shape `tshape`) into `dst`: its physical values, native-endian.
    fn decode_into(
        &self,
        row: u64,
        tshape: &[u64],
        scratch: &mut TileScratch,
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
        scratch: &mut TileScratch,
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
        scratch: &mut TileScratch,
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
}

/// Buffers that decoding a tile may need, kept per thread from tile to tile ([`with_scratch`]).
#[derive(Default)]
struct TileScratch {
    /// An edge tile at its clipped shape, before it takes the full-size tile layout.
    tile: Vec<u64>,
    /// Typed values for an output slice not aligned for its type.
    tmp: Vec<u64>,
    /// Quantized integers of a tile.
    ints: Vec<i32>,
}

impl Scratch for TileScratch {
    fn held_bytes(&self) -> usize {
        self.tile.held_bytes() + self.tmp.held_bytes() + self.ints.held_bytes()
    }
}

/// The first `nbytes` bytes of `buf` (grown when needed), 8-byte aligned.
fn aligned_bytes(buf: &mut Vec<u64>, nbytes: usize) -> &mut [u8] {
    let words = nbytes.div_ceil(8);
    if buf.len() < words {
        buf.resize(words, 0);
    }
    &mut bytemuck::cast_slice_mut::<u64, u8>(buf)[..nbytes] // ok: buf holds ≥ nbytes bytes
}

impl ChunkDecoder for TileDecoder {
    type Error = Error;
    /// Decode tile `chunk` into `dst`: straight for a full tile; an edge tile is decoded at its
    /// clipped shape, then its rows are placed into the full-size tile layout.
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        let row = self.row_of(chunk);
        let tshape = self.grid.chunk_region(chunk).shape();
        let full = self.grid.chunk_shape();
        if tshape == full {
            with_scratch(|scratch: &mut TileScratch| self.decode_into(row, &tshape, scratch, dst))?;
            return Ok(true);
        }
        with_scratch(|scratch: &mut TileScratch| {
            let n = tshape.iter().product::<u64>() as usize * self.dtype.size();
            let mut tile = std::mem::take(&mut scratch.tile);
            let phys = aligned_bytes(&mut tile, n);
            self.decode_into(row, &tshape, scratch, phys)?;
            let e = self.dtype.size() as u64;
            let part = Region::new(tshape.iter().map(|&d| 0..d).collect());
            let mut src = 0usize;
            region_runs(full, nd_core::Order::C, &part, |off, n| {
                let (o, l) = ((off * e) as usize, (n * e) as usize);
                dst[o..o + l].copy_from_slice(&phys[src..src + l]);
                src += l;
                Ok::<(), Error>(())
            })?;
            scratch.tile = tile;
            Ok(true)
        })
    }
}
