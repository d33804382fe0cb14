//! Writing tile-compressed images (a BINTABLE with ZIMAGE = T) as astropy's `CompImageHDU`
//! writes them: RICE_1, GZIP_1, GZIP_2 and PLIO_1; integer images lossless; float images
//! quantized per tile with cfitsio's algorithm (noise estimate, zero point, dither sequence),
//! tiles that cannot be quantized stored losslessly in GZIP_COMPRESSED_DATA, NaN as ZBLANK; or
//! float images stored losslessly with GZIP_1 / GZIP_2. See `spec-notes/fits-tile-compression.md`.

use crate::card::{Card, Value};
use crate::error::{Error, Result};
use crate::tile::quantize::{quantize_f32, quantize_f64, Dither};
use crate::tile::{plio, rice, Algorithm};
use crate::write::FitsWriter;
use crate::write_table::{build_bintable, ColumnData, ColumnValues};
use nd_core::{ArrayBuf, ArrayRead, ChunkGrid, DataType};
use rayon::prelude::*;
use std::io::Write;

/// The value quantized tiles store for NaN (astropy's `DEFAULT_ZBLANK`), written as ZBLANK.
pub const QUANTIZED_BLANK: i32 = i32::MIN;

/// How float images are quantized (astropy's `quantize_level`, `quantize_method`, `dither_seed`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantization {
    /// Positive: the quantization step is the tile's noise estimate / `level` (astropy's
    /// default 16); negative: `|level|` is the step itself; 0: noise / 4 (cfitsio's default).
    /// Written as NOISEBIT.
    pub level: f32,
    /// ZQUANTIZ: NO_DITHER, SUBTRACTIVE_DITHER_1 (default) or SUBTRACTIVE_DITHER_2.
    pub dither: Dither,
    /// ZDITHER0, 1 ..= 10000 (default 1); ignored for NO_DITHER.
    pub seed: i64,
}

impl Default for Quantization {
    fn default() -> Self {
        Quantization {
            level: 16.0,
            dither: Dither::Subtractive1,
            seed: 1,
        }
    }
}

/// Options of [`FitsWriter::add_compressed_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompressOptions {
    /// ZCMPTYPE: `Rice`, `Gzip1`, `Gzip2` or `Plio` (integers in 0 .. 2^24 only).
    pub algorithm: Algorithm,
    /// The tile shape in numpy order (ZTILEn reversed); `None`: one image row per tile,
    /// `(1, …, 1, NAXIS1)`, the astropy / cfitsio default. Clipped to the image shape.
    pub tile: Option<Vec<u64>>,
    /// Float images: quantization (default), or `None` for lossless storage of the float bytes
    /// (GZIP_1 / GZIP_2 only). Ignored for integer images.
    pub quantize: Option<Quantization>,
    /// RICE_1 pixels per block (ZVAL BLOCKSIZE), default 32.
    pub blocksize: usize,
    /// gzip level for GZIP_1 / GZIP_2 and the lossless fallback, default 6.
    pub gzip_level: u32,
    /// Use 64-bit descriptors (`1QB`) for the compressed-data columns (chosen anyway when the
    /// compressed data pass 2 GiB).
    pub q_descriptors: bool,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            algorithm: Algorithm::Rice,
            tile: None,
            quantize: Some(Quantization::default()),
            blocksize: 32,
            gzip_level: 6,
            q_descriptors: false,
        }
    }
}

impl CompressOptions {
    /// Defaults with another algorithm.
    pub fn new(algorithm: Algorithm) -> CompressOptions {
        CompressOptions {
            algorithm,
            ..Default::default()
        }
    }
}

/// What one tile became.
struct TileOut {
    /// COMPRESSED_DATA bytes (empty for a fallback tile).
    data: Vec<u8>,
    /// PLIO_1: the line list (COMPRESSED_DATA is `1PI`).
    words: Option<Vec<i16>>,
    /// GZIP_COMPRESSED_DATA bytes (fallback tiles).
    gz: Vec<u8>,
    zscale: f64,
    zzero: f64,
    blank: bool,
}

impl TileOut {
    /// The heap bytes of this tile.
    fn heap_bytes(&self) -> usize {
        self.data.len() + self.gz.len() + 2 * self.words.as_ref().map_or(0, |w| w.len())
    }
}

/// Stored pixel values of an integer image and its ZBITPIX / BZERO.
fn int_layout(dt: &DataType) -> Option<(i64, Option<Value>)> {
    Some(match dt {
        DataType::UInt8 => (8, None),
        DataType::Int8 => (8, Some(Value::Int(-128))),
        DataType::Int16 => (16, None),
        DataType::UInt16 => (16, Some(Value::Int(32768))),
        DataType::Int32 => (32, None),
        DataType::UInt32 => (32, Some(Value::Int(2147483648))),
        DataType::Int64 => (64, None),
        DataType::UInt64 => (64, Some(Value::BigInt("9223372036854775808".into()))),
        _ => return None,
    })
}

/// One pixel of an integer image as its stored integer (u8 range for BITPIX 8, signed otherwise).
fn stored_int(dt: &DataType, b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    match dt {
        DataType::UInt8 => b[0] as i64,
        DataType::Int8 => (b[0] ^ 0x80) as i64,
        DataType::Int16 => i16::from_ne_bytes([a[0], a[1]]) as i64,
        DataType::UInt16 => (u16::from_ne_bytes([a[0], a[1]]) ^ 0x8000) as i16 as i64,
        DataType::Int32 => i32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as i64,
        DataType::UInt32 => {
            (u32::from_ne_bytes([a[0], a[1], a[2], a[3]]) ^ 0x8000_0000) as i32 as i64
        }
        DataType::Int64 => i64::from_ne_bytes(a),
        _ => (u64::from_ne_bytes(a) ^ (1 << 63)) as i64,
    }
}

fn gzip(data: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::new(level.min(9)),
    );
    e.write_all(data)
        .and_then(|_| e.finish())
        .map_err(|e| Error::io("gzip", e))
}

/// GZIP_2's byte shuffle: all first bytes, then all second bytes, ...
fn shuffle(be: &[u8], item: usize) -> Vec<u8> {
    let n = be.len() / item;
    let mut out = vec![0u8; be.len()];
    for (i, px) in be.chunks_exact(item).enumerate() {
        for (k, &b) in px.iter().enumerate() {
            out[k * n + i] = b;
        }
    }
    out
}

/// Integers of `width` bytes, big-endian.
fn be_ints(vals: &[i64], width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * width);
    for v in vals {
        out.extend_from_slice(&v.to_be_bytes()[8 - width..]);
    }
    out
}

/// Compress integer values (already stored values) of `width` bytes.
fn compress_ints(vals: &[i64], width: usize, opts: &CompressOptions) -> Result<TileOut> {
    let mut out = TileOut {
        data: Vec::new(),
        words: None,
        gz: Vec::new(),
        zscale: 0.0,
        zzero: 0.0,
        blank: false,
    };
    match opts.algorithm {
        Algorithm::Rice => {
            out.data = rice::encode(vals, width, opts.blocksize).map_err(Error::Invalid)?;
        }
        Algorithm::Gzip1 => out.data = gzip(&be_ints(vals, width), opts.gzip_level)?,
        Algorithm::Gzip2 => {
            out.data = gzip(&shuffle(&be_ints(vals, width), width), opts.gzip_level)?
        }
        Algorithm::Plio => {
            let px: Vec<i32> = vals
                .iter()
                .map(|&v| i32::try_from(v).unwrap_or(-1))
                .collect();
            out.words = Some(plio::encode(&px).map_err(Error::Invalid)?);
        }
        other => {
            return Err(Error::Invalid(format!(
                "writing {} is not supported",
                other.name()
            )))
        }
    }
    Ok(out)
}

/// The float types of images, with their quantizer.
trait QFloat: Copy + PartialOrd {
    const ZERO: Self;
    fn quantize(a: &[Self], level: f32, dither: Dither, row: i64) -> Option<(Vec<i32>, f64, f64)>;
    fn be(v: &[Self]) -> Vec<u8>;
    fn nan(&self) -> bool;
}

impl QFloat for f32 {
    const ZERO: f32 = 0.0;
    fn quantize(a: &[f32], level: f32, dither: Dither, row: i64) -> Option<(Vec<i32>, f64, f64)> {
        quantize_f32(a, level, dither, row)
    }
    fn be(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }
    fn nan(&self) -> bool {
        self.is_nan()
    }
}

impl QFloat for f64 {
    const ZERO: f64 = 0.0;
    fn quantize(a: &[f64], level: f32, dither: Dither, row: i64) -> Option<(Vec<i32>, f64, f64)> {
        quantize_f64(a, level, dither, row)
    }
    fn be(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }
    fn nan(&self) -> bool {
        self.is_nan()
    }
}

/// Quantize (or store losslessly) one float tile as astropy does.
fn compress_floats<T: QFloat>(
    vals: &[T],
    q: Option<&Quantization>,
    row: i64,
    opts: &CompressOptions,
) -> Result<TileOut> {
    let width = std::mem::size_of::<T>();
    let Some(q) = q else {
        let raw = T::be(vals);
        let data = match opts.algorithm {
            Algorithm::Gzip1 => gzip(&raw, opts.gzip_level)?,
            Algorithm::Gzip2 => gzip(&shuffle(&raw, width), opts.gzip_level)?,
            other => {
                return Err(Error::Invalid(format!(
                    "lossless float images need GZIP_1 or GZIP_2, not {}",
                    other.name()
                )))
            }
        };
        return Ok(TileOut {
            data,
            words: None,
            gz: Vec::new(),
            zscale: 0.0,
            zzero: 0.0,
            blank: false,
        });
    };
    // astropy: NaN pixels take the tile's smallest value (0 when all are NaN) while quantizing.
    let nan: Vec<bool> = vals.iter().map(T::nan).collect();
    let any_nan = nan.iter().any(|&b| b);
    let filled: Vec<T> = if any_nan {
        let fill = vals
            .iter()
            .filter(|v| !v.nan())
            .fold(None, |m: Option<T>, &v| match m {
                Some(m) if m <= v => Some(m),
                _ => Some(v),
            })
            .unwrap_or(T::ZERO);
        vals.iter()
            .map(|&v| if v.nan() { fill } else { v })
            .collect()
    } else {
        vals.to_vec()
    };
    let seed_row = if q.dither == Dither::None { 0 } else { row };
    match T::quantize(&filled, q.level, q.dither, seed_row) {
        Some((mut ints, scale, zz)) => {
            if any_nan {
                for (i, &b) in ints.iter_mut().zip(&nan) {
                    if b {
                        *i = QUANTIZED_BLANK;
                    }
                }
            }
            let wide: Vec<i64> = ints.iter().map(|&v| v as i64).collect();
            let mut out = compress_ints(&wide, 4, opts)?;
            out.zscale = scale;
            out.zzero = zz;
            out.blank = any_nan;
            Ok(out)
        }
        None => Ok(TileOut {
            data: Vec::new(),
            words: None,
            gz: gzip(&T::be(vals), opts.gzip_level)?,
            zscale: 0.0,
            zzero: 0.0,
            blank: false,
        }),
    }
}

/// Compress the pixels of tile `k` (native bytes); `row` is the tile's dither row.
fn compress_tile(
    dt: &DataType,
    bytes: &[u8],
    row: i64,
    zbitpix: i64,
    quant: Option<&Quantization>,
    opts: &CompressOptions,
) -> Result<TileOut> {
    match dt {
        DataType::Float32 => {
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])) // ok: chunks_exact(4)
                .collect();
            compress_floats(&v, quant, row, opts)
        }
        DataType::Float64 => {
            let v: Vec<f64> = bytes
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f64::from_ne_bytes(a)
                })
                .collect();
            compress_floats(&v, quant, row, opts)
        }
        _ => {
            let vals: Vec<i64> = bytes
                .chunks_exact(dt.size())
                .map(|b| stored_int(dt, b))
                .collect();
            compress_ints(&vals, (zbitpix / 8) as usize, opts)
        }
    }
}

/// The pixels a compressed image is made from: an image in memory, or an array read a slab of
/// whole tile rows (along the first axis) at a time.
enum Pixels<'a> {
    Memory(&'a ArrayBuf),
    Slabs {
        src: &'a dyn ArrayRead,
        slab_bytes: usize,
    },
}

impl Pixels<'_> {
    fn dtype(&self) -> &DataType {
        match self {
            Pixels::Memory(d) => d.dtype(),
            Pixels::Slabs { src, .. } => src.dtype(),
        }
    }

    fn shape(&self) -> &[u64] {
        match self {
            Pixels::Memory(d) => d.shape(),
            Pixels::Slabs { src, .. } => src.shape(),
        }
    }

    /// The most compressed bytes held before the HDU is written.
    fn held_limit(&self) -> usize {
        match self {
            Pixels::Memory(_) => usize::MAX,
            Pixels::Slabs { slab_bytes, .. } => *slab_bytes / 2,
        }
    }

    /// Call `each(slab, slab_origin, tiles)` for consecutive runs of whole tile rows: the
    /// pixels of the slab, where it starts in the image, and the linear indices of its tiles.
    fn for_each_slab(
        &self,
        grid: &ChunkGrid,
        mut each: impl FnMut(&ArrayBuf, &[u64], std::ops::Range<u64>) -> Result<()>,
    ) -> Result<()> {
        let shape = grid.array_shape();
        let zeros = vec![0u64; shape.len()];
        match self {
            Pixels::Memory(d) => each(d, &zeros, 0..grid.num_chunks()),
            Pixels::Slabs { src, slab_bytes } => {
                let gs = grid.grid_shape();
                let tile0 = grid.chunk_shape()[0];
                let per_row: u64 = gs[1..].iter().product();
                let row_bytes = tile0
                    .saturating_mul(shape[1..].iter().product())
                    .saturating_mul(src.dtype().size() as u64);
                let rows = (*slab_bytes as u64 / row_bytes.max(1)).max(1);
                let mut r0 = 0;
                while r0 < gs[0] {
                    let r1 = (r0 + rows).min(gs[0]);
                    let mut region = nd_core::Region::full(shape);
                    region.ranges[0] = r0 * tile0..(r1 * tile0).min(shape[0]);
                    let slab = src.read_region(&region)?;
                    let mut origin = zeros.clone();
                    origin[0] = r0 * tile0;
                    each(&slab, &origin, r0 * per_row..r1 * per_row)?;
                    r0 = r1;
                }
                Ok(())
            }
        }
    }
}

/// The pixels of one tile (C order), as native bytes.
fn tile_bytes(data: &ArrayBuf, region: &nd_core::Region) -> Result<Vec<u8>> {
    let e = data.dtype().size() as u64;
    let mut out = Vec::with_capacity((region.num_elements() * e) as usize);
    let src = data.bytes();
    nd_core::io::region_runs(data.shape(), nd_core::Order::C, region, |off, n| {
        let (s, l) = ((off * e) as usize, (n * e) as usize);
        out.extend_from_slice(&src[s..s + l]);
        Ok::<(), Error>(())
    })?;
    Ok(out)
}

impl FitsWriter {
    /// Add a tile-compressed image extension (an empty primary HDU is added first if there is
    /// none), read back by astropy as a `CompImageHDU` and by [`crate::Fits::compressed_image`].
    /// Integer images (uint8, int8, int16, uint16, int32, uint32; int64 / uint64 with GZIP only)
    /// are stored losslessly, unsigned ones and int8 with BZERO as astropy writes them. Float
    /// images are quantized as `opts.quantize` says. `cards` (EXTNAME, OBJECT, …) go into the
    /// table header; structural, table and compression keywords among them are ignored.
    ///
    /// ```no_run
    /// use nd_core::ArrayBuf;
    /// use nd_fits::{Algorithm, Card, CompressOptions, FitsWriter};
    /// let img = ArrayBuf::from_vec(vec![2, 3], &[1i16, 2, 3, 4, 5, 6])?;
    /// let mut w = FitsWriter::create("comp.fits");
    /// w.add_compressed_image(&img, &CompressOptions::new(Algorithm::Rice), &[Card::new("EXTNAME", "SCI", None)?])?;
    /// w.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_compressed_image(
        &mut self,
        data: &ArrayBuf,
        opts: &CompressOptions,
        cards: &[Card],
    ) -> Result<()> {
        self.add_compressed(Pixels::Memory(data), opts, cards)
    }

    /// [`FitsWriter::add_compressed_image`] of an array read a slab of whole tile rows at a time
    /// (each at most `slab_bytes`, or one tile row), so the image is never in memory whole; the
    /// compressed tiles are held until the HDU is written (building it takes about three times
    /// their size), and more than `slab_bytes / 2` of them is an error.
    pub fn add_compressed_image_from(
        &mut self,
        src: &dyn ArrayRead,
        slab_bytes: usize,
        opts: &CompressOptions,
        cards: &[Card],
    ) -> Result<()> {
        self.add_compressed(Pixels::Slabs { src, slab_bytes }, opts, cards)
    }

    fn add_compressed(
        &mut self,
        pixels: Pixels,
        opts: &CompressOptions,
        cards: &[Card],
    ) -> Result<()> {
        let dt = pixels.dtype().clone();
        let shape = pixels.shape().to_vec();
        if shape.is_empty() {
            return Err(Error::Invalid(
                "a compressed image needs at least one axis".into(),
            ));
        }
        let float = matches!(dt, DataType::Float32 | DataType::Float64);
        let (zbitpix, bzero) = if float {
            (if dt == DataType::Float32 { -32 } else { -64 }, None)
        } else {
            int_layout(&dt)
                .ok_or_else(|| Error::Invalid(format!("FITS images cannot hold {dt} values")))?
        };
        let quant = if float { opts.quantize } else { None };
        match opts.algorithm {
            Algorithm::Rice | Algorithm::Plio if zbitpix == 64 => {
                return Err(Error::Invalid(format!(
                    "{} cannot hold 64-bit integers (use GZIP_1 or GZIP_2)",
                    opts.algorithm.name()
                )))
            }
            Algorithm::Plio if float => {
                return Err(Error::Invalid("PLIO_1 takes integer images only".into()))
            }
            Algorithm::Hcompress | Algorithm::NoCompress => {
                return Err(Error::Invalid(format!(
                    "writing {} is not supported",
                    opts.algorithm.name()
                )))
            }
            _ => {}
        }
        if opts.algorithm == Algorithm::Rice && opts.blocksize == 0 {
            return Err(Error::Invalid("RICE_1 BLOCKSIZE 0".into()));
        }
        if let Some(q) = &quant {
            if q.dither != Dither::None && !(1..=10000).contains(&q.seed) {
                return Err(Error::Invalid(format!(
                    "ZDITHER0 must be 1 ..= 10000, not {}",
                    q.seed
                )));
            }
            if !q.level.is_finite() {
                return Err(Error::Invalid("quantization level must be finite".into()));
            }
        }
        let ndim = shape.len();
        let tile: Vec<u64> = match &opts.tile {
            Some(t) => {
                if t.len() != ndim || t.contains(&0) {
                    return Err(Error::Invalid(format!(
                        "tile shape {t:?} does not fit an image of shape {shape:?}"
                    )));
                }
                t.iter()
                    .zip(&shape)
                    .map(|(&t, &n)| t.min(n.max(1)))
                    .collect()
            }
            None => {
                let mut t = vec![1u64; ndim];
                t[ndim - 1] = shape[ndim - 1].max(1);
                t
            }
        };
        let empty = shape.contains(&0);
        let grid = ChunkGrid::new(shape.clone(), tile.clone())?;
        let seed = quant.map(|q| q.seed).unwrap_or(0);
        let mut tiles: Vec<TileOut> = Vec::new();
        let mut held = 0usize;
        let each = |slab: &ArrayBuf, origin: &[u64], ks: std::ops::Range<u64>| {
            ks.into_par_iter()
                .map(|k| -> Result<TileOut> {
                    let region = grid.chunk_region(&grid.coords_of(k)).relative_to(origin);
                    let bytes = tile_bytes(slab, &region)?;
                    let mut t =
                        compress_tile(&dt, &bytes, k as i64 + seed, zbitpix, quant.as_ref(), opts)?;
                    // held until the HDU is written: no spare capacity
                    t.data.shrink_to_fit();
                    t.gz.shrink_to_fit();
                    Ok(t)
                })
                .collect::<Result<Vec<_>>>()
        };
        if !empty {
            pixels.for_each_slab(&grid, |slab, origin, ks| {
                let out = each(slab, origin, ks)?;
                held += out.iter().map(TileOut::heap_bytes).sum::<usize>();
                if held > pixels.held_limit() {
                    return Err(Error::Invalid(format!(
                        "the compressed tiles exceed the {} MiB allowed to hold them until the \
                         HDU is written",
                        pixels.held_limit() >> 20
                    )));
                }
                tiles.extend(out);
                Ok(())
            })?;
        }
        let any_blank = tiles.iter().any(|t| t.blank);
        // 32-bit descriptors address at most 2^31 - 1 heap bytes: switch to Q past that.
        let heap = held as u64;
        let q = opts.q_descriptors || heap > i32::MAX as u64;
        let mut columns = Vec::new();
        let bytes_col = |name: &str, rows: Vec<ArrayBuf>| {
            ColumnData::new(
                name,
                ColumnValues::Var {
                    dtype: DataType::UInt8,
                    rows,
                    q,
                },
            )
        };
        let u8_rows = |f: &dyn Fn(&TileOut) -> &[u8]| -> Result<Vec<ArrayBuf>> {
            tiles
                .iter()
                .map(|t| {
                    let b = f(t);
                    Ok(ArrayBuf::from_bytes(
                        DataType::UInt8,
                        vec![b.len() as u64],
                        b,
                    )?)
                })
                .collect()
        };
        if opts.algorithm == Algorithm::Plio {
            let rows = tiles
                .iter()
                .map(|t| {
                    let w = t.words.as_deref().unwrap_or(&[]);
                    Ok(ArrayBuf::from_vec(vec![w.len() as u64], w)?)
                })
                .collect::<Result<Vec<_>>>()?;
            columns.push(ColumnData::new(
                "COMPRESSED_DATA",
                ColumnValues::Var {
                    dtype: DataType::Int16,
                    rows,
                    q,
                },
            ));
        } else {
            columns.push(bytes_col("COMPRESSED_DATA", u8_rows(&|t| &t.data)?));
        }
        if quant.is_some() {
            columns.push(bytes_col("GZIP_COMPRESSED_DATA", u8_rows(&|t| &t.gz)?));
            let zs: Vec<f64> = tiles.iter().map(|t| t.zscale).collect();
            let zz: Vec<f64> = tiles.iter().map(|t| t.zzero).collect();
            columns.push(ColumnData::array(
                "ZSCALE",
                ArrayBuf::from_vec(vec![zs.len() as u64], &zs)?,
            ));
            columns.push(ColumnData::array(
                "ZZERO",
                ArrayBuf::from_vec(vec![zz.len() as u64], &zz)?,
            ));
        }
        // the columns hold copies of the tiles' bytes: free the tiles before the table is built
        drop(tiles);
        let hdu = self.hdus.len().max(1);
        let mut built =
            build_bintable(&columns).map_err(|e| crate::write_table::with_hdu(e, hdu))?;
        let h = &mut built.header;
        h.push(Card::new(
            "ZIMAGE",
            true,
            Some("extension contains compressed image"),
        )?);
        h.push(Card::new("ZTENSION", "IMAGE", Some("Image extension"))?);
        h.push(Card::new("ZBITPIX", zbitpix, Some("array data type"))?);
        h.push(Card::new(
            "ZNAXIS",
            ndim as i64,
            Some("number of array dimensions"),
        )?);
        for (i, &d) in shape.iter().rev().enumerate() {
            h.push(Card::new(&format!("ZNAXIS{}", i + 1), d, None)?);
        }
        h.push(Card::new("ZPCOUNT", 0i64, Some("number of parameters"))?);
        h.push(Card::new("ZGCOUNT", 1i64, Some("number of groups"))?);
        for (i, &t) in tile.iter().rev().enumerate() {
            h.push(Card::new(
                &format!("ZTILE{}", i + 1),
                t,
                Some("size of tiles to be compressed"),
            )?);
        }
        h.push(Card::new(
            "ZCMPTYPE",
            opts.algorithm.name(),
            Some("compression algorithm"),
        )?);
        let mut params: Vec<(&str, i64, &str)> = Vec::new();
        if opts.algorithm == Algorithm::Rice {
            let bytepix = if float { 4 } else { zbitpix / 8 };
            params.push(("BLOCKSIZE", opts.blocksize as i64, "pixels per block"));
            params.push(("BYTEPIX", bytepix, "bytes per pixel (1, 2, 4, or 8)"));
        }
        for (i, (name, v, c)) in params.iter().enumerate() {
            h.push(Card::new(&format!("ZNAME{}", i + 1), *name, None)?);
            h.push(Card::new(&format!("ZVAL{}", i + 1), *v, Some(c))?);
        }
        if let Some(q) = &quant {
            let k = params.len() + 1;
            h.push(Card::new(&format!("ZNAME{k}"), "NOISEBIT", None)?);
            let lv = q.level as f64;
            let v = if lv.fract() == 0.0 && lv.abs() < 1e15 {
                Value::Int(lv as i64)
            } else {
                Value::Float(lv)
            };
            h.push(Card::new(
                &format!("ZVAL{k}"),
                v,
                Some("floating point quantization level"),
            )?);
            let method = match q.dither {
                Dither::None => "NO_DITHER",
                Dither::Subtractive1 => "SUBTRACTIVE_DITHER_1",
                Dither::Subtractive2 => "SUBTRACTIVE_DITHER_2",
            };
            h.push(Card::new("ZQUANTIZ", method, Some("quantization method"))?);
            if q.dither != Dither::None {
                h.push(Card::new(
                    "ZDITHER0",
                    q.seed,
                    Some("dithering offset when quantizing floats"),
                )?);
            }
        }
        let has_extname = cards.iter().any(|c| c.keyword() == "EXTNAME");
        let user: Vec<Card> = cards
            .iter()
            .filter(|c| !is_compression_reserved(c.keyword()))
            .cloned()
            .collect();
        let mut after = Vec::new();
        if !has_extname {
            after.push(Card::new(
                "EXTNAME",
                "COMPRESSED_IMAGE",
                Some("name of this binary table extension"),
            )?);
        }
        if any_blank {
            after.push(Card::new("ZBLANK", QUANTIZED_BLANK as i64, None)?);
        }
        if let Some(z) = bzero {
            after.push(Card::new("BSCALE", 1i64, None)?);
            after.push(Card::new("BZERO", z, None)?);
        }
        self.push_table(built, &user, &after)
    }
}

/// Keywords a user card may not set in a compressed image's table header.
fn is_compression_reserved(k: &str) -> bool {
    const FIXED: &[&str] = &[
        "ZIMAGE", "ZCMPTYPE", "ZMASKCMP", "ZQUANTIZ", "ZDITHER0", "ZBLANK", "ZSCALE", "ZZERO",
        "ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZEXTEND", "ZBLOCKED", "ZPCOUNT", "ZGCOUNT",
        "ZHECKSUM", "ZDATASUM", "BSCALE", "BZERO", "BLANK", "SIMPLE", "EXTEND",
    ];
    if FIXED.contains(&k) || crate::write_table::is_table_reserved(k) {
        return true;
    }
    ["ZNAXIS", "ZTILE", "ZNAME", "ZVAL"].iter().any(|p| {
        k.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    })
}
