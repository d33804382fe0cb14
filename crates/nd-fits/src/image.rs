//! Image data: physical values exactly as astropy returns them, raw values, and region reads
//! that touch only the bytes a region covers.

use crate::error::{Error, Result};
use crate::hdu::{header_attributes, Hdu, HduKind};
use crate::header::Header;
use crate::scale::{bitpix_dtype, convert, convert_in_place, converts_in_place};
use nd_core::{ArrayBuf, ArrayRead, Attributes, ByteSource, DataType, Region};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};

pub use crate::scale::Scaling;
use nd_core::io::{read_converting, region_runs};

/// Pieces larger than this are split, and reads of many pieces run in parallel.
const PIECE: u64 = 4 << 20;

/// Regions whose pieces average at least this many stored bytes are read piece by piece with
/// positional reads straight into the output (see `FitsImage::read_into`); smaller pieces (a
/// cutout's short rows) go through `read_ranges`, so a remote source can coalesce them.
const DIRECT_MIN: u64 = 64 << 10;

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
    /// The header the attributes come from (its cards are parsed when they are first asked
    /// for, not to read values); `None` for a compressed image, whose attributes are set.
    header: Option<Header>,
    attrs: OnceLock<Attributes>,
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
            header: None,
            attrs: OnceLock::from(c.attributes()),
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
                k => format!("{k} extensions"),
            };
            return Err(Error::Unsupported {
                hdu: hdu.index,
                msg: format!("HDU is not an image: {what}"),
            });
        }
        if hdu.naxes.is_empty() {
            return Err(Error::NoData { hdu: hdu.index });
        }
        // A data unit cut short by the end of the file opens: regions before the cut read (as
        // astropy's `section` does), reads reaching past it fail with `Error::Truncated`.
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
            header: Some(hdu.header.clone()),
            attrs: OnceLock::new(),
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
        region_runs(&self.shape, nd_core::Order::C, region, |off, n| {
            let s = self.data_offset + off * e;
            v.push(s..s + n * e);
            Ok::<(), Error>(())
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
        region_runs(&self.shape, nd_core::Order::C, region, |off, n| {
            let mut o = off;
            let mut left = n;
            while left > 0 {
                let m = left.min(max_elems);
                pieces.push((self.data_offset + o * es, m));
                o += m;
                left -= m;
            }
            total += n;
            Ok::<(), Error>(())
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
        let stored_bytes = total * es;
        if !pieces.is_empty() && stored_bytes >= DIRECT_MIN * pieces.len() as u64 {
            // Large pieces (a full read, wide regions): each piece is read with positional
            // reads straight into its place in the output and converted there — in place when
            // the conversion is a byte swap (a part at a time, while it is in cache:
            // `read_converting`), else from a per-thread scratch buffer of one piece (measured:
            // parts gain nothing there). No map of the file is touched, so only the output is
            // charged to the process; pieces run in parallel.
            let in_place = converts_in_place(&self.scaling) && es == ed as u64;
            let direct = |job: &mut (u64, u64, &mut [u8])| -> Result<()> {
                let (fo, n, dst) = job;
                let end = *fo + *n * es;
                if in_place {
                    return read_converting(&*self.source, *fo, dst, ed, |part| {
                        convert_in_place(self.bitpix, &self.scaling, part)
                    })
                    .map_err(|e| trunc(e, end));
                }
                nd_core::scratch::with_scratch(|buf: &mut Vec<u8>| {
                    buf.resize((*n * es) as usize, 0);
                    self.source
                        .read_exact_at(*fo, buf)
                        .map_err(|e| trunc(e, end))?;
                    convert(self.bitpix, &self.scaling, buf, dst);
                    Ok(())
                })
            };
            return if jobs.len() > 1 {
                jobs.par_iter_mut().try_for_each(direct)
            } else {
                jobs.iter_mut().try_for_each(direct)
            };
        }
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
            s => Some(format!("FITS BITPIX {} scaled: {s}", self.bitpix)),
        }
    }
    fn attributes(&self) -> Attributes {
        self.attrs
            .get_or_init(|| {
                self.header
                    .as_ref()
                    .map(header_attributes)
                    .unwrap_or_default()
            })
            .clone()
    }
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
