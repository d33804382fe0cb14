//! One tile's stored bytes to the image's physical values, given the image's settings
//! ([`TileSettings`]) and the tile's own parameters ([`TileParams`]: its index, which column
//! holds it, its ZSCALE / ZZERO / ZBLANK). The tile reader ([`super::CompressedImage`]) decodes
//! every tile it does not take a fast path for through this, and so does a chunk codec outside
//! nd that knows which tile a chunk is (kerchunk references, `nd refs`).

use super::codec::TileCodec;
use super::header::Algorithm;
use super::quantize::{self, Dither};
use crate::scale::{bitpix_dtype, convert, Scaling};
use nd_core::io::region_runs;
use nd_core::{DataType, Order, Region};

/// Which column of the compressed table holds a tile's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileColumn {
    /// COMPRESSED_DATA: the image's algorithm (and quantization).
    Compressed,
    /// GZIP_COMPRESSED_DATA: a gzip stream of the tile's unquantized big-endian values.
    Gzip,
    /// UNCOMPRESSED_DATA with its TFORM code (`B`, `I`, `J`, `K`, `E`, `D`): the tile's
    /// big-endian values.
    Uncompressed(char),
}

impl TileColumn {
    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            TileColumn::Compressed => "COMPRESSED_DATA",
            TileColumn::Gzip => "GZIP_COMPRESSED_DATA",
            TileColumn::Uncompressed(_) => "UNCOMPRESSED_DATA",
        }
    }
}

/// What decoding one tile needs beyond the image's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileParams {
    /// The tile's index (table row, 0-based): with ZDITHER0 it seeds the dither sequence.
    pub row: u64,
    /// The column its bytes are in.
    pub column: TileColumn,
    /// Its ZSCALE (quantized images).
    pub zscale: Option<f64>,
    /// Its ZZERO (quantized images).
    pub zzero: Option<f64>,
    /// The integer that marks a null pixel: the tile's ZBLANK, else the header's ZBLANK (or
    /// the image's BLANK), as astropy takes it.
    pub zblank: Option<i64>,
}

/// Decoded tile values before they take the image type.
pub(super) enum Vals {
    /// Integers and the byte width they were decoded from.
    Int(Vec<i64>, usize),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// The settings common to every tile of one image: its algorithm, quantization and scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct TileSettings {
    /// The algorithm, ZBITPIX and the algorithm's settings.
    pub codec: TileCodec,
    /// The tiles in COMPRESSED_DATA are quantized floats (ZSCALE / ZZERO per tile).
    pub quantized: bool,
    /// ZQUANTIZ (for quantized tiles).
    pub dither: Dither,
    /// ZDITHER0.
    pub dither0: i64,
    /// The image's BSCALE / BZERO / BLANK.
    pub scaling: Scaling,
}

impl TileSettings {
    /// The type the tiles decode into (ZBITPIX's), `None` for an invalid ZBITPIX.
    pub fn stored_dtype(&self) -> Option<DataType> {
        bitpix_dtype(self.codec.zbitpix)
    }

    /// The physical type (after the image's scaling).
    pub fn dtype(&self) -> DataType {
        self.scaling.physical_dtype(self.codec.zbitpix)
    }

    /// Decode tile `p` of `tshape` (its actual, clipped shape) from its stored bytes `b` into
    /// the image's physical values (native byte order), exactly as the tile reader does.
    ///
    /// # Errors
    /// A message when the bytes do not decode into `tshape`'s pixel count, or a quantized
    /// tile has no ZSCALE / ZZERO.
    pub fn decode(&self, b: &[u8], p: &TileParams, tshape: &[u64]) -> Result<Vec<u8>, String> {
        Ok(self.to_physical(self.decode_typed(b, p, tshape)?))
    }

    /// [`Self::decode`] placed into a tile of the full tile shape `full` (an edge tile's
    /// values at its clipped shape `tshape`, in C order, the rest zero): the chunk a Zarr
    /// reader expects.
    ///
    /// # Errors
    /// As [`Self::decode`]; also when `tshape` does not fit in `full`.
    pub fn decode_full(
        &self,
        b: &[u8],
        p: &TileParams,
        tshape: &[u64],
        full: &[u64],
    ) -> Result<Vec<u8>, String> {
        let phys = self.decode(b, p, tshape)?;
        if tshape == full {
            return Ok(phys);
        }
        let e = self.dtype().size();
        let n = full
            .iter()
            .try_fold(e as u64, |a, &d| a.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("tile too large")?;
        let mut dst = vec![0u8; n];
        place_edge(full, tshape, e, &phys, &mut dst)?;
        Ok(dst)
    }

    /// Decode into ZBITPIX-typed native bytes (before the image's scaling).
    pub(super) fn decode_typed(
        &self,
        b: &[u8],
        p: &TileParams,
        tshape: &[u64],
    ) -> Result<Vec<u8>, String> {
        let n = usize::try_from(tshape.iter().product::<u64>()).map_err(|e| e.to_string())?;
        let algo = self.codec.algorithm;
        let vals = match p.column {
            TileColumn::Gzip => self.by_size(&gunzip(algo, b, n)?, n, true)?,
            TileColumn::Uncompressed(code) => self.by_size(b, n, matches!(code, 'E' | 'D'))?,
            TileColumn::Compressed => {
                let lossless = !self.quantized;
                match algo {
                    Algorithm::Gzip1 => self.by_size(&gunzip(algo, b, n)?, n, lossless)?,
                    Algorithm::Gzip2 => {
                        let raw = gunzip(algo, b, n)?;
                        let item = raw.len().checked_div(n).unwrap_or(1).max(1);
                        if raw.len() % item != 0 {
                            return Err(format!("GZIP_2: {} bytes for {n} pixels", raw.len()));
                        }
                        let m = raw.len() / item;
                        let mut un = vec![0u8; raw.len()];
                        for (k, plane) in raw.chunks_exact(m.max(1)).enumerate() {
                            for (i, &v) in plane.iter().enumerate() {
                                un[i * item + k] = v;
                            }
                        }
                        self.by_size(&un, n, lossless)?
                    }
                    Algorithm::NoCompress => self.by_size(b, n, lossless)?,
                    Algorithm::Rice | Algorithm::Plio | Algorithm::Hcompress => {
                        let (v, w) = self.codec.decode_ints(b, tshape)?;
                        Vals::Int(v, w)
                    }
                }
            }
        };
        self.finish_tile(vals, p, n)
    }

    /// GZIP_1 / NOCOMPRESS bytes to values, the type chosen by the byte count (astropy).
    fn by_size(&self, b: &[u8], n: usize, lossless: bool) -> Result<Vals, String> {
        let float = self.codec.zbitpix < 0 && lossless;
        let w8 = |c: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            a
        };
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
            if float {
                Vals::F64(
                    b.chunks_exact(8)
                        .map(|c| f64::from_be_bytes(w8(c)))
                        .collect(),
                )
            } else {
                Vals::Int(
                    b.chunks_exact(8)
                        .map(|c| i64::from_be_bytes(w8(c)))
                        .collect(),
                    8,
                )
            }
        } else if b.len() == n {
            Vals::Int(b.iter().map(|&v| v as i64).collect(), 1)
        } else {
            return Err(format!(
                "tile of {n} pixels decompressed to {} bytes (not 1, 2, 4 or 8 per pixel)",
                b.len()
            ));
        })
    }

    /// Unquantize (COMPRESSED_DATA of a quantized image), null pixels to NaN, then numpy's
    /// unsafe cast into the ZBITPIX type: native bytes of `n` values.
    fn finish_tile(&self, vals: Vals, p: &TileParams, n: usize) -> Result<Vec<u8>, String> {
        let zblank = p.zblank;
        let apply_q = p.column == TileColumn::Compressed;
        // Quantized tiles: integers → floats with the tile's ZSCALE / ZZERO.
        let vals = match vals {
            Vals::Int(q, width) if apply_q && self.quantized => {
                let (Some(scale), Some(zero)) = (p.zscale, p.zzero) else {
                    return Err("a quantized tile without ZSCALE / ZZERO".into());
                };
                let seed = if self.dither == Dither::None {
                    0
                } else {
                    p.row as i64 + self.dither0
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
            return Err(format!("tile decoded to {len} values, {n} needed"));
        }
        let zbitpix = self.codec.zbitpix;
        let es = self
            .stored_dtype()
            .ok_or_else(|| format!("invalid ZBITPIX {zbitpix}"))?
            .size();
        let mut out = vec![0u8; n * es];
        macro_rules! cast {
            ($src:expr, $t:ty) => {
                for (d, &v) in out.chunks_exact_mut(es).zip($src.iter()) {
                    d.copy_from_slice(&(v as $t).to_ne_bytes());
                }
            };
        }
        macro_rules! cast_any {
            ($src:expr) => {
                match zbitpix {
                    8 => cast!($src, u8),
                    16 => cast!($src, i16),
                    32 => cast!($src, i32),
                    64 => cast!($src, i64),
                    -32 => cast!($src, f32),
                    _ => cast!($src, f64),
                }
            };
        }
        // Integer → integer wraps (two's complement truncation), as numpy's unsafe cast.
        match &vals {
            Vals::Int(v, _) => cast_any!(v),
            Vals::F32(v) => cast_any!(v),
            Vals::F64(v) => cast_any!(v),
        }
        Ok(out)
    }

    /// Physical bytes of a decoded tile (ZBITPIX-typed native bytes in).
    pub(super) fn to_physical(&self, typed: Vec<u8>) -> Vec<u8> {
        if self.scaling == Scaling::None {
            return typed;
        }
        let zbitpix = self.codec.zbitpix;
        let es = (zbitpix.unsigned_abs() / 8) as usize;
        let mut be = typed;
        if cfg!(target_endian = "little") {
            for c in be.chunks_exact_mut(es) {
                c.reverse(); // native → big-endian
            }
        }
        let n = be.len() / es;
        let mut out = vec![0u8; n * self.dtype().size()];
        convert(zbitpix, &self.scaling, &be, &mut out);
        out
    }
}

/// Gunzip a tile of `n` pixels (at most 8 bytes each).
fn gunzip(algo: Algorithm, data: &[u8], n: usize) -> Result<Vec<u8>, String> {
    use nd_codecs::Codec;
    nd_codecs::Gzip { level: 1 }
        .decode(data, n.saturating_mul(8).max(64))
        .map_err(|e| format!("{}: {e}", algo.name()))
}

/// Place an edge tile's values `src` (clipped shape `tshape`, C order, `e` bytes each) into a
/// full tile `dst` of shape `full`.
pub(super) fn place_edge(
    full: &[u64],
    tshape: &[u64],
    e: usize,
    src: &[u8],
    dst: &mut [u8],
) -> Result<(), String> {
    if tshape.len() != full.len() || tshape.iter().zip(full).any(|(t, f)| t > f) {
        return Err(format!("tile shape {tshape:?} does not fit in {full:?}"));
    }
    let e = e as u64;
    let part = Region::new(tshape.iter().map(|&d| 0..d).collect());
    let mut at = 0usize;
    region_runs(full, Order::C, &part, |off, n| {
        let (o, l) = ((off * e) as usize, (n * e) as usize);
        match (dst.get_mut(o..o + l), src.get(at..at + l)) {
            (Some(d), Some(s)) => d.copy_from_slice(s),
            _ => return Err(nd_core::Error::Shape("tile bytes out of range".into())),
        }
        at += l;
        Ok(())
    })
    .map_err(|e: nd_core::Error| e.to_string())
}
