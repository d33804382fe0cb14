//! Decoding one tile into the image's physical values, and the [`ChunkDecoder`] that hands
//! tiles to nd-core's chunk engine ([`nd_core::read_chunked`]), which places them in the output
//! (straight into it when a tile is one contiguous run there) and runs them in parallel.
//!
//! Fast paths decode straight into the output type: lossless integer RICE_1 / GZIP_1 /
//! NOCOMPRESS tiles and quantized RICE_1 float tiles. Everything else goes through
//! [`TileDecoder::decode_tile`], which finds the tile's column and bytes and hands them to
//! [`TileSettings`] (`values.rs`: decode, unquantize, ZBLANK, the cast to ZBITPIX, then
//! BSCALE/BZERO/BLANK), the code a chunk codec outside nd calls too.

use super::header::Algorithm;
use super::quantize::{self, Dither};
use super::rice;
use super::values::{place_edge, TileColumn, TileParams, TileSettings};
use crate::error::{Error, Result};
use crate::scale::{convert, Scaling};
use crate::table::{Column, ColumnFormat};
use nd_core::scratch::{with_scratch, Scratch};
use nd_core::{ByteSource, ChunkDecoder, ChunkGrid, DataType};
use std::ops::Range;
use std::sync::Arc;

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
    /// Algorithm, quantization and scaling: what decodes any one tile's bytes.
    pub(super) s: TileSettings,
    pub(super) zdtype: DataType,
    pub(super) cdata: (Column, Ranges),
    pub(super) gzdata: Option<(Column, Ranges)>,
    pub(super) udata: Option<(Column, Ranges)>,
    pub(super) zscale: Option<Vec<f64>>,
    pub(super) zzero: Option<Vec<f64>>,
    pub(super) zblank_col: Option<Vec<i64>>,
    pub(super) zblank_header: Option<i64>,
    /// The physical type.
    pub(super) dtype: DataType,
}

impl TileDecoder {
    /// The table row of tile `chunk` (its grid index): tiles are stored in C order.
    pub(super) fn row_of(&self, chunk: &[u64]) -> u64 {
        self.grid.linear_index(chunk)
    }

    /// The parameters of tile `row` whose bytes are in `column`.
    pub(super) fn params(&self, row: u64, column: TileColumn) -> TileParams {
        let r = row as usize;
        TileParams {
            row,
            column,
            zscale: self.zscale.as_ref().and_then(|v| v.get(r).copied()),
            zzero: self.zzero.as_ref().and_then(|v| v.get(r).copied()),
            zblank: match &self.zblank_col {
                Some(c) => c.get(r).copied(),
                None => self.zblank_header,
            },
        }
    }

    /// Which column holds tile `row` of `n` pixels, and where its bytes lie in the file.
    pub(super) fn locate(&self, row: u64, n: usize) -> Result<(TileColumn, Range<u64>)> {
        let (ccol, cranges) = &self.cdata;
        let (count, range) = cranges
            .get(row as usize)
            .cloned()
            .ok_or_else(|| self.terr(row, &ccol.name, "no such tile row".into()))?;
        if count != 0 {
            return Ok((TileColumn::Compressed, range));
        }
        if let Some((_, gr)) = &self.gzdata {
            let (_, r) = &gr[row as usize];
            return Ok((TileColumn::Gzip, r.clone()));
        }
        if let Some((uc, ur)) = &self.udata {
            let (cnt, r) = &ur[row as usize];
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
            return Ok((TileColumn::Uncompressed(code), r.clone()));
        }
        Err(self.terr(
            row,
            &ccol.name,
            "empty COMPRESSED_DATA and no GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA column".into(),
        ))
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

    /// Decode tile `row` of `tshape` (its actual, clipped shape) into ZBITPIX-typed native
    /// bytes: [`TileSettings::decode_typed`] on the bytes of the column that holds it.
    fn decode_tile(&self, row: u64, tshape: &[u64]) -> Result<Vec<u8>> {
        let n = tshape.iter().product::<u64>() as usize;
        let (column, range) = self.locate(row, n)?;
        let b = self.heap_bytes(&range)?;
        let name = match column {
            TileColumn::Compressed => &self.cdata.0.name,
            TileColumn::Gzip => self.gzdata.as_ref().map_or("", |c| &c.0.name),
            TileColumn::Uncompressed(_) => self.udata.as_ref().map_or("", |c| &c.0.name),
        };
        self.s
            .decode_typed(&b, &self.params(row, column), tshape)
            .map_err(|m| self.terr(row, name, m))
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
        let phys = self.s.to_physical(self.decode_tile(row, tshape)?);
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
        if self.s.codec.algorithm != Algorithm::Rice
            || self.s.scaling != Scaling::None
            || !matches!(self.s.codec.zbitpix, -32 | -64)
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
        rice::decode(&b, self.s.codec.bytepix, self.s.codec.blocksize, q)
            .map_err(|m| self.terr(row, &ccol.name, m))?;
        let zblank = match &self.zblank_col {
            Some(c) => c.get(r).copied(),
            None => self.zblank_header,
        };
        let seed = if self.s.dither == Dither::None {
            0
        } else {
            row as i64 + self.s.dither0
        };
        // cfitsio checks ZERO_VALUE only in its 4-byte-integer routines.
        let wide = self.s.codec.bytepix == 4;
        let (d, sc, ze) = (self.s.dither, scale, zero);
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
        if self.s.codec.zbitpix == -32 {
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
        if self.s.quantized {
            return self.decode_quantized(row, tshape, scratch, dst);
        }
        if self.s.codec.zbitpix <= 0
            || !matches!(
                self.s.scaling,
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
        match self.s.codec.algorithm {
            Algorithm::Rice => {
                let b = self.heap_bytes(range)?;
                let (bytepix, bs) = (self.s.codec.bytepix, self.s.codec.blocksize);
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
                match (self.s.codec.zbitpix, &self.s.scaling) {
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
                let src: &[u8] = if self.s.codec.algorithm == Algorithm::Gzip1 {
                    use nd_codecs::Codec;
                    raw = nd_codecs::Gzip { level: 1 }
                        .decode(&b, n.saturating_mul(8).max(64))
                        .map_err(|e| self.terr(row, name, format!("GZIP_1: {e}")))?;
                    &raw
                } else {
                    &b
                };
                // Only values of ZBITPIX's own width: the big-endian pixels as they are.
                if src.len() != n * self.zdtype.size() {
                    return Ok(false);
                }
                convert(self.s.codec.zbitpix, &self.s.scaling, src, dst);
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
            place_edge(full, &tshape, self.dtype.size(), phys, dst)
                .map_err(|m| self.terr(row, &self.cdata.0.name, m))?;
            scratch.tile = tile;
            Ok(true)
        })
    }
}
