//! One lossless integer tile (RICE_1, PLIO_1, HCOMPRESS_1) decoded from its compressed bytes
//! alone, with settings common to all tiles of an image: what the tile reader uses for these
//! algorithms, and what a chunk codec outside nd (kerchunk references, `nd refs`) calls.

use super::header::Algorithm;
use super::{hcompress, plio, rice};

/// The settings that decode any tile of one image (no per-tile parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct TileCodec {
    /// RICE_1, PLIO_1 or HCOMPRESS_1.
    pub algorithm: Algorithm,
    /// ZBITPIX of the image (the type tiles decode into).
    pub zbitpix: i64,
    /// RICE_1 BLOCKSIZE.
    pub blocksize: usize,
    /// RICE_1 BYTEPIX.
    pub bytepix: usize,
    /// HCOMPRESS_1 SCALE.
    pub hscale: i64,
    /// HCOMPRESS_1 SMOOTH.
    pub hsmooth: bool,
    /// PLIO_1 words are big-endian (a `1PI` column) rather than native (`1PB`).
    pub plio_big_endian: bool,
}

impl TileCodec {
    /// Decode one tile of `tshape` (numpy order; its actual, clipped shape) into integers, with
    /// the byte width they were coded in.
    ///
    /// # Errors
    /// A message when the bytes do not decode into `tshape`'s pixel count, or the algorithm is
    /// not one of the three.
    pub fn decode_ints(&self, b: &[u8], tshape: &[u64]) -> Result<(Vec<i64>, usize), String> {
        let n = usize::try_from(tshape.iter().product::<u64>()).map_err(|e| e.to_string())?;
        match self.algorithm {
            Algorithm::Rice => {
                let mut out = vec![0i32; n];
                rice::decode(b, self.bytepix, self.blocksize, &mut out)?;
                Ok((out.into_iter().map(i64::from).collect(), self.bytepix))
            }
            Algorithm::Plio => {
                let words: Vec<i16> = b
                    .chunks_exact(2)
                    .map(|c| {
                        if self.plio_big_endian {
                            i16::from_be_bytes([c[0], c[1]])
                        } else {
                            i16::from_ne_bytes([c[0], c[1]])
                        }
                    })
                    .collect();
                let mut out = vec![0i32; n];
                plio::decode(&words, &mut out)?;
                Ok((out.into_iter().map(i64::from).collect(), 4))
            }
            Algorithm::Hcompress => {
                let dims: Vec<u64> = tshape.iter().copied().filter(|&d| d != 1).collect();
                let (nx, ny) = match dims.as_slice() {
                    [a, b] => (*a as usize, *b as usize),
                    [a] if tshape.len() >= 2 => (*a as usize, 1),
                    [] if n == 1 => (1, 1),
                    _ => {
                        return Err(format!(
                            "HCOMPRESS expects two-dimensional tiles, got {tshape:?}"
                        ))
                    }
                };
                let out = hcompress::decode(b, nx, ny, self.hscale, self.hsmooth)?;
                Ok((out, 4))
            }
            other => Err(format!("{} is not decoded here", other.name())),
        }
    }

    /// Decode one full tile of `tshape` into ZBITPIX-typed big-endian bytes (the stored form of
    /// an uncompressed image), integers cast as numpy's unsafe cast does (two's complement).
    ///
    /// # Errors
    /// As [`TileCodec::decode_ints`]; also when the tile decodes to fewer values than
    /// `tshape` holds, or ZBITPIX is not an integer type.
    pub fn decode_be(&self, b: &[u8], tshape: &[u64]) -> Result<Vec<u8>, String> {
        let (v, _) = self.decode_ints(b, tshape)?;
        let n = tshape.iter().product::<u64>() as usize;
        if v.len() < n {
            return Err(format!("tile decoded to {} values, {n} needed", v.len()));
        }
        let v = &v[..n];
        Ok(match self.zbitpix {
            8 => v.iter().map(|&x| x as u8).collect(),
            16 => v.iter().flat_map(|&x| (x as i16).to_be_bytes()).collect(),
            32 => v.iter().flat_map(|&x| (x as i32).to_be_bytes()).collect(),
            64 => v.iter().flat_map(|&x| x.to_be_bytes()).collect(),
            z => return Err(format!("ZBITPIX {z} is not an integer type")),
        })
    }
}
