//! Image data: physical values exactly as astropy returns them, raw values, and region reads
//! that touch only the bytes a region covers.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::fits::{bitpix_dtype, Hdu, HduKind};
use crate::header::Header;
use nd_core::{ArrayBuf, ArrayRead, AttrValue, Attributes, ByteSource, DataType, Region};
use rayon::prelude::*;
use std::sync::Arc;

/// How stored values become physical values (astropy's rules, `uint=True`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scaling {
    /// Physical = stored (no BSCALE/BZERO/BLANK, or raw reads).
    None,
    /// BITPIX 8 with BZERO = -128, BSCALE = 1: signed bytes.
    Int8,
    /// BITPIX 16/32/64 with BZERO = 2^15 / 2^31 / 2^63, BSCALE = 1: unsigned integers.
    Unsigned,
    /// Float32 result: `f32(x) * f32(BSCALE) + f32(BZERO)` (each step rounded to f32, as numpy
    /// does), BLANK values to NaN.
    F32 {
        /// BSCALE, when not 1.
        scale: Option<f32>,
        /// BZERO, when not 0.
        zero: Option<f32>,
        /// BLANK, when present, an integer, and non-zero (astropy tests `if self._blank:`).
        blank: Option<i64>,
    },
    /// Float64 result: `f64(x) * BSCALE + BZERO`, BLANK values to NaN.
    F64 {
        /// BSCALE, when not 1.
        scale: Option<f64>,
        /// BZERO, when not 0.
        zero: Option<f64>,
        /// BLANK (see [`Scaling::F32`]).
        blank: Option<i64>,
    },
}

impl Scaling {
    /// astropy's choice for an image HDU header (`_get_scaled_image_data`, `_dtype_for_bitpix`).
    pub fn from_header(h: &Header, bitpix: i64, hdu: usize) -> Result<Scaling> {
        let num = |key: &str, default: i64| -> Result<Value> {
            match h.get(key) {
                None => Ok(Value::Int(default)),
                Some(v) if v.is_number() => Ok(v.clone()),
                Some(v) => Err(Error::Unsupported {
                    hdu,
                    msg: format!("{key} = {v:?} is not a number"),
                }),
            }
        };
        let bzero = num("BZERO", 0)?;
        let bscale = num("BSCALE", 1)?;
        // astropy ignores BLANK unless it is an integer and BITPIX > 0.
        let blank_val = match h.get("BLANK") {
            Some(v @ (Value::Int(_) | Value::BigInt(_))) if bitpix > 0 => Some(v.as_i128()),
            _ => None,
        };
        let trivial_scale = bzero.num_eq(0) && bscale.num_eq(1);
        if trivial_scale && blank_val.is_none() {
            return Ok(Scaling::None);
        }
        let one = bscale.num_eq(1);
        if !trivial_scale && one {
            let unsigned = match bitpix {
                16 => bzero.num_eq(1 << 15),
                32 => bzero.num_eq(1 << 31),
                64 => bzero.num_eq(1 << 63),
                _ => false,
            };
            if unsigned {
                return Ok(Scaling::Unsigned);
            }
            if bitpix == 8 && bzero.num_eq(-128) {
                return Ok(Scaling::Int8);
            }
        }
        // NaN substitution only for a truthy BLANK that fits the comparison.
        let blank = blank_val
            .flatten()
            .and_then(|b| i64::try_from(b).ok())
            .filter(|&b| b != 0);
        let scale_f = if one { None } else { bscale.as_f64() };
        let zero_f = if bzero.num_eq(0) {
            None
        } else {
            bzero.as_f64()
        };
        Ok(match bitpix {
            8 | 16 | -32 => Scaling::F32 {
                scale: scale_f.map(|s| s as f32),
                zero: zero_f.map(|z| z as f32),
                blank,
            },
            _ => Scaling::F64 {
                scale: scale_f,
                zero: zero_f,
                blank,
            },
        })
    }

    /// The type of the physical values.
    pub fn physical_dtype(&self, bitpix: i64) -> DataType {
        match self {
            Scaling::None => bitpix_dtype(bitpix).unwrap_or(DataType::UInt8),
            Scaling::Int8 => DataType::Int8,
            Scaling::Unsigned => match bitpix {
                16 => DataType::UInt16,
                32 => DataType::UInt32,
                _ => DataType::UInt64,
            },
            Scaling::F32 { .. } => DataType::Float32,
            Scaling::F64 { .. } => DataType::Float64,
        }
    }
}

#[inline(always)]
fn map_elems<const S: usize, const D: usize>(
    src: &[u8],
    dst: &mut [u8],
    f: impl Fn([u8; S]) -> [u8; D],
) {
    for (s, d) in src.chunks_exact(S).zip(dst.chunks_exact_mut(D)) {
        let a: [u8; S] = s.try_into().unwrap_or([0; S]);
        d.copy_from_slice(&f(a));
    }
}

#[inline(always)]
fn to_f32<const S: usize>(
    src: &[u8],
    dst: &mut [u8],
    get: impl Fn([u8; S]) -> (f32, i64),
    scale: Option<f32>,
    zero: Option<f32>,
    blank: Option<i64>,
) {
    map_elems::<S, 4>(src, dst, |a| {
        let (mut v, raw) = get(a);
        if let Some(s) = scale {
            v *= s;
        }
        if let Some(z) = zero {
            v += z;
        }
        if blank == Some(raw) {
            v = f32::NAN;
        }
        v.to_ne_bytes()
    })
}

#[inline(always)]
fn to_f64<const S: usize>(
    src: &[u8],
    dst: &mut [u8],
    get: impl Fn([u8; S]) -> (f64, i64),
    scale: Option<f64>,
    zero: Option<f64>,
    blank: Option<i64>,
) {
    map_elems::<S, 8>(src, dst, |a| {
        let (mut v, raw) = get(a);
        if let Some(s) = scale {
            v *= s;
        }
        if let Some(z) = zero {
            v += z;
        }
        if blank == Some(raw) {
            v = f64::NAN;
        }
        v.to_ne_bytes()
    })
}

/// Convert stored big-endian values of `bitpix` into physical native values.
pub(crate) fn convert(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { convert_avx2(bitpix, scaling, src, dst) };
            return;
        }
    }
    convert_generic(bitpix, scaling, src, dst)
}

/// The same loops compiled with AVX2 enabled, so that byte swaps vectorise (vpshufb).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_avx2(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    convert_generic(bitpix, scaling, src, dst)
}

#[inline(always)]
fn convert_generic(bitpix: i64, scaling: &Scaling, src: &[u8], dst: &mut [u8]) {
    match (scaling, bitpix) {
        (Scaling::None, 8) => dst.copy_from_slice(src),
        (Scaling::None, 16) => map_elems::<2, 2>(src, dst, |a| u16::from_be_bytes(a).to_ne_bytes()),
        (Scaling::None, 32 | -32) => {
            map_elems::<4, 4>(src, dst, |a| u32::from_be_bytes(a).to_ne_bytes())
        }
        (Scaling::None, _) => map_elems::<8, 8>(src, dst, |a| u64::from_be_bytes(a).to_ne_bytes()),
        (Scaling::Int8, _) => map_elems::<1, 1>(src, dst, |a| [a[0] ^ 0x80]),
        (Scaling::Unsigned, 16) => {
            map_elems::<2, 2>(src, dst, |a| (u16::from_be_bytes(a) ^ 0x8000).to_ne_bytes())
        }
        (Scaling::Unsigned, 32) => map_elems::<4, 4>(src, dst, |a| {
            (u32::from_be_bytes(a) ^ 0x8000_0000).to_ne_bytes()
        }),
        (Scaling::Unsigned, _) => map_elems::<8, 8>(src, dst, |a| {
            (u64::from_be_bytes(a) ^ 0x8000_0000_0000_0000).to_ne_bytes()
        }),
        (&Scaling::F32 { scale, zero, blank }, 8) => {
            to_f32::<1>(src, dst, |a| (a[0] as f32, a[0] as i64), scale, zero, blank)
        }
        (&Scaling::F32 { scale, zero, blank }, 16) => to_f32::<2>(
            src,
            dst,
            |a| {
                let v = i16::from_be_bytes(a);
                (v as f32, v as i64)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F32 { scale, zero, .. }, _) => {
            to_f32::<4>(src, dst, |a| (f32::from_be_bytes(a), 0), scale, zero, None)
        }
        (&Scaling::F64 { scale, zero, blank }, 32) => to_f64::<4>(
            src,
            dst,
            |a| {
                let v = i32::from_be_bytes(a);
                (v as f64, v as i64)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F64 { scale, zero, blank }, 64) => to_f64::<8>(
            src,
            dst,
            |a| {
                let v = i64::from_be_bytes(a);
                (v as f64, v)
            },
            scale,
            zero,
            blank,
        ),
        (&Scaling::F64 { scale, zero, .. }, _) => {
            to_f64::<8>(src, dst, |a| (f64::from_be_bytes(a), 0), scale, zero, None)
        }
    }
}

/// Call `f(first_element, n_elements)` for each contiguous run of `region` in a C-order array of
/// `shape` (element units), in C order of the region. Runs never touch each other (full inner
/// axes are merged into one run).
pub fn region_runs(
    shape: &[u64],
    region: &Region,
    mut f: impl FnMut(u64, u64) -> Result<()>,
) -> Result<()> {
    region.check_within(shape)?;
    if region.is_empty() || shape.is_empty() {
        return Ok(());
    }
    let nd = shape.len();
    // k: smallest axis such that every axis after it is covered fully.
    let mut k = nd - 1;
    while k > 0 && region.ranges[k].start == 0 && region.ranges[k].end == shape[k] {
        k -= 1;
    }
    let mut strides = vec![1u64; nd];
    for i in (0..nd - 1).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let ext_k = region.ranges[k].end - region.ranges[k].start;
    let run = ext_k * strides[k];
    let mut idx: Vec<u64> = region.ranges[..k].iter().map(|r| r.start).collect();
    loop {
        let mut off = region.ranges[k].start * strides[k];
        for (i, &v) in idx.iter().enumerate() {
            off += v * strides[i];
        }
        f(off, run)?;
        let mut ax = k;
        loop {
            if ax == 0 {
                return Ok(());
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < region.ranges[ax].end {
                break;
            }
            idx[ax] = region.ranges[ax].start;
        }
    }
}

/// Pieces larger than this are split, and reads of many pieces run in parallel.
const PIECE: u64 = 4 << 20;

/// A FITS image (primary or IMAGE extension) as an nd array: physical values as astropy returns
/// them (or stored values for [`crate::Fits::raw_image`]). Reads fetch only the bytes a region covers.
#[derive(Debug, Clone)]
pub struct FitsImage {
    source: Arc<dyn ByteSource>,
    hdu: usize,
    data_offset: u64,
    shape: Vec<u64>,
    bitpix: i64,
    stored: DataType,
    dtype: DataType,
    scaling: Scaling,
    attrs: Attributes,
    /// Set for tile-compressed HDUs: reads go through the tile decoder.
    comp: Option<Arc<crate::tile::CompressedImage>>,
}

impl FitsImage {
    pub(crate) fn from_compressed(c: crate::tile::CompressedImage, hdu: &Hdu) -> FitsImage {
        FitsImage {
            source: c.table().source().clone(),
            hdu: hdu.index,
            data_offset: hdu.data_offset,
            shape: c.shape().to_vec(),
            bitpix: c.zbitpix(),
            stored: bitpix_dtype(c.zbitpix()).unwrap_or(DataType::UInt8),
            dtype: c.dtype().clone(),
            scaling: Scaling::None,
            attrs: c.attributes(),
            comp: Some(Arc::new(c)),
        }
    }

    /// The tile-compressed image behind this image, for compressed HDUs.
    pub fn compressed(&self) -> Option<&crate::tile::CompressedImage> {
        self.comp.as_deref()
    }

    pub(crate) fn new(source: Arc<dyn ByteSource>, hdu: &Hdu, raw: bool) -> Result<FitsImage> {
        if !hdu.kind.is_image() {
            let what = match &hdu.kind {
                HduKind::RandomGroups => "random groups (use Fits::random_groups)".to_string(),
                HduKind::BinTable | HduKind::Table => "table data (not implemented yet)".into(),
                HduKind::CompressedImage => "tile-compressed image (use Fits::image)".into(),
                k => format!("{k:?} extensions"),
            };
            return Err(Error::Unsupported {
                hdu: hdu.index,
                msg: format!("HDU is not an image: {what}"),
            });
        }
        if hdu.naxes.is_empty() {
            return Err(Error::NoData { hdu: hdu.index });
        }
        let size = source.len();
        if hdu.data_offset.saturating_add(hdu.data_len) > size {
            return Err(Error::Truncated {
                hdu: hdu.index,
                offset: hdu.data_offset,
                needed: hdu.data_len,
                size,
            });
        }
        let stored = bitpix_dtype(hdu.bitpix).ok_or_else(|| Error::Header {
            hdu: hdu.index,
            offset: hdu.header_offset,
            msg: format!("invalid BITPIX {}", hdu.bitpix),
        })?;
        let scaling = if raw {
            Scaling::None
        } else {
            Scaling::from_header(&hdu.header, hdu.bitpix, hdu.index)?
        };
        let dtype = scaling.physical_dtype(hdu.bitpix);
        Ok(FitsImage {
            source,
            hdu: hdu.index,
            data_offset: hdu.data_offset,
            shape: hdu.shape(),
            bitpix: hdu.bitpix,
            stored,
            dtype,
            scaling,
            attrs: header_attributes(&hdu.header),
            comp: None,
        })
    }

    /// Index of the HDU.
    pub fn hdu_index(&self) -> usize {
        self.hdu
    }

    /// The stored element type (BITPIX).
    pub fn stored_dtype(&self) -> &DataType {
        &self.stored
    }

    /// How stored values become the values delivered.
    pub fn scaling(&self) -> &Scaling {
        &self.scaling
    }

    /// Byte offset of the data in the (decompressed) file.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The byte ranges of the file a region read fetches (absolute offsets), in order.
    pub fn byte_runs(&self, region: &Region) -> Result<Vec<std::ops::Range<u64>>> {
        let e = self.stored.size() as u64;
        let mut v = Vec::new();
        region_runs(&self.shape, region, |off, n| {
            let s = self.data_offset + off * e;
            v.push(s..s + n * e);
            Ok(())
        })?;
        Ok(v)
    }

    fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        if let Some(c) = &self.comp {
            return c.read_region_into(region, out).map_err(Error::from);
        }
        nd_core::array::check_out_len(region, &self.dtype, out)?;
        let es = self.stored.size() as u64;
        let ed = self.dtype.size();
        // Collect (file offset, element count) pieces, splitting large runs.
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let max_elems = (PIECE / es).max(1);
        let mut total = 0u64;
        region_runs(&self.shape, region, |off, n| {
            let mut o = off;
            let mut left = n;
            while left > 0 {
                let m = left.min(max_elems);
                pieces.push((self.data_offset + o * es, m));
                o += m;
                left -= m;
            }
            total += n;
            Ok(())
        })?;
        // Split the output into the pieces' destinations.
        let mut jobs: Vec<(u64, u64, &mut [u8])> = Vec::with_capacity(pieces.len());
        let mut rest = out;
        for &(fo, n) in &pieces {
            let (head, tail) = rest.split_at_mut(n as usize * ed);
            jobs.push((fo, n, head));
            rest = tail;
        }
        let trunc = |e: nd_core::Error, end: u64| match e {
            nd_core::Error::OutOfBounds { size, .. } => Error::Truncated {
                hdu: self.hdu,
                offset: self.data_offset,
                needed: end - self.data_offset,
                size,
            },
            e => Error::Core(e),
        };
        // Batches of pieces (at most PIECE stored bytes, or one larger piece) are fetched with one
        // `read_ranges` call, so that a source with costly requests (remote) can coalesce and
        // fetch them concurrently; memory and mmap sources answer it without copying.
        let mut batches: Vec<Vec<(u64, u64, &mut [u8])>> = Vec::new();
        let mut cur: Vec<(u64, u64, &mut [u8])> = Vec::new();
        let mut cur_bytes = 0u64;
        for job in jobs {
            let b = job.1 * es;
            if !cur.is_empty() && cur_bytes + b > PIECE {
                batches.push(std::mem::take(&mut cur));
                cur_bytes = 0;
            }
            cur_bytes += b;
            cur.push(job);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }
        let work = |batch: &mut Vec<(u64, u64, &mut [u8])>| -> Result<()> {
            let ranges: Vec<std::ops::Range<u64>> =
                batch.iter().map(|(fo, n, _)| *fo..*fo + *n * es).collect();
            let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
            let got = self
                .source
                .read_ranges(&ranges)
                .map_err(|e| trunc(e, end))?;
            if got.len() != batch.len() {
                return Err(Error::Invalid(
                    "byte source returned the wrong number of ranges".into(),
                ));
            }
            for ((_, _, dst), bytes) in batch.iter_mut().zip(&got) {
                convert(self.bitpix, &self.scaling, bytes, dst);
            }
            Ok(())
        };
        if batches.len() > 1 && total * es >= 2 * PIECE {
            batches.par_iter_mut().try_for_each(work)
        } else {
            batches.iter_mut().try_for_each(work)
        }
    }

    /// Read a region into a new typed buffer.
    pub fn read(&self, region: &Region) -> Result<ArrayBuf> {
        region.check_within(&self.shape)?;
        let mut buf = ArrayBuf::zeros(self.dtype.clone(), region.shape())?;
        self.read_into(region, buf.bytes_mut())?;
        Ok(buf)
    }
}

impl ArrayRead for FitsImage {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        if let Some(c) = &self.comp {
            return c.chunk_shape();
        }
        // A slab of whole rows of about 4 MiB.
        let mut c = self.shape.clone();
        if let Some(first) = c.first_mut() {
            let row: u64 = self.shape[1..]
                .iter()
                .fold(1u64, |a, &d| a.saturating_mul(d))
                .max(1)
                .saturating_mul(self.dtype.size() as u64);
            *first = (PIECE / row).clamp(1, (*first).max(1));
        }
        c
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        self.read_into(region, out).map_err(Into::into)
    }
    fn codec(&self) -> Option<String> {
        if let Some(c) = &self.comp {
            return c.codec();
        }
        match &self.scaling {
            Scaling::None => None,
            s => Some(format!("FITS BITPIX {} scaled: {s:?}", self.bitpix)),
        }
    }
    fn attributes(&self) -> Attributes {
        self.attrs.clone()
    }
}

/// Keywords that describe the data layout (not carried as attributes).
pub(crate) const STRUCTURAL: &[&str] = &[
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "XTENSION", "BSCALE", "BZERO",
    "BLANK", "CHECKSUM", "DATASUM", "GROUPS",
];

pub(crate) fn is_structural(k: &str) -> bool {
    STRUCTURAL.contains(&k)
        || (k.starts_with("NAXIS") && k[5..].bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn header_attributes(h: &Header) -> Attributes {
    let mut a = Attributes::new();
    for c in h.cards() {
        let k = c.keyword();
        if is_structural(k) {
            continue;
        }
        let v = match c.value() {
            Value::Undefined => AttrValue::Null,
            Value::Bool(b) => AttrValue::Bool(*b),
            Value::Int(i) => AttrValue::Int(*i),
            Value::BigInt(s) => AttrValue::Str(s.clone()),
            Value::Float(f) => AttrValue::Float(*f),
            Value::Complex(r, i) => {
                AttrValue::List(vec![AttrValue::Float(*r), AttrValue::Float(*i)])
            }
            Value::Str(s) | Value::Text(s) | Value::Invalid(s) => AttrValue::Str(s.clone()),
        };
        if c.is_commentary() {
            let key = if k.is_empty() { "COMMENT" } else { k };
            match a
                .entry(key.to_string())
                .or_insert_with(|| AttrValue::List(vec![]))
            {
                AttrValue::List(l) => l.push(v),
                other => *other = AttrValue::List(vec![v]),
            }
        } else {
            a.entry(k.to_string()).or_insert(v);
        }
    }
    a
}

/// The raw contents of a random-groups HDU: per-group parameters and group arrays (stored
/// values, native byte order, no PSCAL/PZERO/BSCALE applied).
#[derive(Debug, Clone)]
pub struct RandomGroups {
    /// Parameters, shape (GCOUNT, PCOUNT).
    pub params: ArrayBuf,
    /// Group data, shape (GCOUNT, NAXISn, ..., NAXIS2).
    pub data: ArrayBuf,
}

impl RandomGroups {
    pub(crate) fn read(src: &dyn ByteSource, hdu: &Hdu) -> Result<RandomGroups> {
        if hdu.kind != HduKind::RandomGroups {
            return Err(Error::Unsupported {
                hdu: hdu.index,
                msg: "not a random-groups HDU".into(),
            });
        }
        let size = src.len();
        if hdu.data_offset.saturating_add(hdu.data_len) > size {
            return Err(Error::Truncated {
                hdu: hdu.index,
                offset: hdu.data_offset,
                needed: hdu.data_len,
                size,
            });
        }
        let dt = bitpix_dtype(hdu.bitpix).unwrap_or(DataType::UInt8);
        let e = dt.size();
        let pcount = hdu.header.get_int("PCOUNT").unwrap_or(0).max(0) as u64;
        let shape = hdu.shape();
        let gcount = shape.first().copied().unwrap_or(0);
        let per: u64 = shape[1..].iter().fold(1u64, |a, &d| a.saturating_mul(d));
        let bytes = src.read_range(hdu.data_offset..hdu.data_offset + hdu.data_len)?;
        let mut params = ArrayBuf::zeros(dt.clone(), vec![gcount, pcount])?;
        let mut data = ArrayBuf::zeros(dt.clone(), shape.clone())?;
        let gbytes = ((pcount + per) as usize) * e;
        let pb = pcount as usize * e;
        for (g, grp) in bytes
            .chunks_exact(gbytes.max(1))
            .enumerate()
            .take(gcount as usize)
        {
            let pd = &mut params.bytes_mut()[g * pb..(g + 1) * pb];
            convert(hdu.bitpix, &Scaling::None, &grp[..pb], pd);
            let db = per as usize * e;
            let dd = &mut data.bytes_mut()[g * db..(g + 1) * db];
            convert(hdu.bitpix, &Scaling::None, &grp[pb..], dd);
        }
        Ok(RandomGroups { params, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_full_axes() {
        let shape = [4u64, 5, 6];
        let mut v = Vec::new();
        region_runs(&shape, &Region::new(vec![1..3, 0..5, 0..6]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(30, 60)]);
        v.clear();
        region_runs(&shape, &Region::new(vec![1..3, 2..4, 1..3]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(43, 2), (49, 2), (73, 2), (79, 2)]);
        v.clear();
        region_runs(&shape, &Region::new(vec![1..3, 2..4, 0..6]), |o, n| {
            v.push((o, n));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, vec![(42, 12), (72, 12)]);
    }

    #[test]
    fn conversions() {
        let src = [0x80u8, 0x00, 0x7f, 0xff];
        let mut d = [0u8; 4];
        convert(16, &Scaling::Unsigned, &src, &mut d);
        assert_eq!(bytemuck::cast_slice::<u8, u16>(&d), &[0, 0xffff]);
        let mut f = [0u8; 8];
        convert(
            16,
            &Scaling::F32 {
                scale: Some(2.0),
                zero: Some(1.0),
                blank: Some(32767),
            },
            &src,
            &mut f,
        );
        let fv: &[f32] = bytemuck::cast_slice(&f);
        assert_eq!(fv[0], -65535.0);
        assert!(fv[1].is_nan());
    }
}
