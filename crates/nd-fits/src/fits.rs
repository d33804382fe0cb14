//! The lazy HDU list: opening reads the first header only; later headers are read on demand,
//! walking from header to header by the data sizes the headers declare.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::header::{read_header, Header, Strictness, Warning, BLOCK};
use nd_core::{ByteSource, DataType, MemSource};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// The kind of an HDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HduKind {
    /// The primary HDU (an image, possibly empty).
    Primary,
    /// An IMAGE extension.
    Image,
    /// A BINTABLE extension.
    BinTable,
    /// An ASCII TABLE extension.
    Table,
    /// A tile-compressed image (a BINTABLE with ZIMAGE = T).
    CompressedImage,
    /// A primary HDU in the random-groups format (GROUPS = T, NAXIS1 = 0).
    RandomGroups,
    /// Any other extension type (its XTENSION value); skipped by size.
    Other(String),
}

impl HduKind {
    /// True for kinds whose data is an image array (primary and IMAGE).
    pub fn is_image(&self) -> bool {
        matches!(self, HduKind::Primary | HduKind::Image)
    }
}

/// One header-data unit: its header and where its data lies.
#[derive(Debug, Clone)]
pub struct Hdu {
    /// Position in the file (0 = primary).
    pub index: usize,
    /// What kind of HDU.
    pub kind: HduKind,
    /// The header.
    pub header: Header,
    /// Byte offset of the header.
    pub header_offset: u64,
    /// Byte offset of the data (just after the header's blocks).
    pub data_offset: u64,
    /// Size of the data in bytes, without padding (heap included).
    pub data_len: u64,
    /// BITPIX.
    pub bitpix: i64,
    /// NAXIS1..NAXISn in header (FITS) order.
    pub naxes: Vec<u64>,
}

impl Hdu {
    /// EXTNAME (trimmed), or `"PRIMARY"` for the primary HDU without one, or `""`.
    pub fn name(&self) -> String {
        if self.kind == HduKind::CompressedImage {
            // astropy shows the compressed image's own header: a later EXTNAME (the image's)
            // overrides the table's default 'COMPRESSED_IMAGE'.
            if let Some(Value::Str(s)) =
                self.header.cards_named("EXTNAME").last().map(|c| c.value())
            {
                return s.trim().to_string();
            }
        }
        match self.header.get_str("EXTNAME") {
            Some(s) => s.trim().to_string(),
            None if self.index == 0 => "PRIMARY".into(),
            None => String::new(),
        }
    }

    /// EXTVER (default 1).
    pub fn ver(&self) -> i64 {
        self.header.get_int("EXTVER").unwrap_or(1)
    }

    /// The data shape in numpy order (NAXISn reversed). For random groups: (GCOUNT, NAXISn..NAXIS2).
    pub fn shape(&self) -> Vec<u64> {
        if self.kind == HduKind::CompressedImage {
            // The image's shape (ZNAXISn), as astropy's CompImageHDU reports it.
            let n = self.header.get_int("ZNAXIS").unwrap_or(0).clamp(0, 999);
            return (1..=n)
                .rev()
                .map(|k| {
                    self.header
                        .get_int(&format!("ZNAXIS{k}"))
                        .unwrap_or(0)
                        .max(0) as u64
                })
                .collect();
        }
        if self.kind == HduKind::RandomGroups {
            let gcount = self.header.get_int("GCOUNT").unwrap_or(1).max(0) as u64;
            let mut s: Vec<u64> = self.naxes.iter().skip(1).rev().copied().collect();
            s.insert(0, gcount);
            return s;
        }
        self.naxes.iter().rev().copied().collect()
    }

    /// The stored element type (from BITPIX; BITPIX 8 is unsigned bytes), if BITPIX is valid.
    pub fn stored_dtype(&self) -> Option<DataType> {
        bitpix_dtype(self.bitpix)
    }

    /// The type astropy returns for this image's data (after BSCALE/BZERO/BLANK), if an image.
    pub fn physical_dtype(&self) -> Option<DataType> {
        if self.kind == HduKind::CompressedImage {
            let zbitpix = self.header.get_int("ZBITPIX")?;
            bitpix_dtype(zbitpix)?;
            return crate::image::Scaling::from_header(&self.header, zbitpix, self.index)
                .ok()
                .map(|s| s.physical_dtype(zbitpix));
        }
        if !self.kind.is_image() {
            return None;
        }
        crate::image::Scaling::from_header(&self.header, self.bitpix, self.index)
            .ok()
            .map(|s| s.physical_dtype(self.bitpix))
    }

    /// Byte offset just past this HDU (data padded to whole blocks).
    pub fn end_offset(&self) -> u64 {
        self.data_offset.saturating_add(
            self.data_len
                .div_ceil(BLOCK as u64)
                .saturating_mul(BLOCK as u64),
        )
    }
}

/// The element type of a BITPIX value.
pub fn bitpix_dtype(bitpix: i64) -> Option<DataType> {
    Some(match bitpix {
        8 => DataType::UInt8,
        16 => DataType::Int16,
        32 => DataType::Int32,
        64 => DataType::Int64,
        -32 => DataType::Float32,
        -64 => DataType::Float64,
        _ => return None,
    })
}

/// Options for opening a FITS file.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Header strictness.
    pub strictness: Strictness,
}

#[derive(Debug, Default)]
struct Walk {
    count: usize,
    next: u64,
    done: bool,
    /// Why the walk stopped early (HDU index, offset, message).
    stopped: Option<(usize, u64, String)>,
}

const SEGMENTS: usize = 40;

/// Append-only storage handing out `&Hdu` that stay valid: segment k holds 16·2^k HDUs.
struct HduStore {
    segs: Vec<OnceLock<Box<[OnceLock<Hdu>]>>>,
}

impl HduStore {
    fn new() -> Self {
        HduStore {
            segs: (0..SEGMENTS).map(|_| OnceLock::new()).collect(),
        }
    }
    fn locate(i: usize) -> (usize, usize) {
        let j = i / 16 + 1;
        let seg = (usize::BITS - 1 - j.leading_zeros()) as usize;
        (seg, i - 16 * ((1usize << seg) - 1))
    }
    fn get(&self, i: usize) -> Option<&Hdu> {
        let (s, o) = Self::locate(i);
        self.segs.get(s)?.get()?.get(o)?.get()
    }
    fn set(&self, i: usize, hdu: Hdu) -> Result<()> {
        let (s, o) = Self::locate(i);
        let seg = self
            .segs
            .get(s)
            .ok_or_else(|| Error::Invalid("too many HDUs".into()))?
            .get_or_init(|| (0..(16usize << s)).map(|_| OnceLock::new()).collect());
        if let Some(slot) = seg.get(o) {
            let _ = slot.set(hdu);
        }
        Ok(())
    }
}

/// A FITS file opened for reading: a lazy list of HDUs over a byte source.
pub struct Fits {
    source: Arc<dyn ByteSource>,
    opts: OpenOptions,
    store: HduStore,
    walk: Mutex<Walk>,
    gzipped: bool,
}

impl std::fmt::Debug for Fits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fits")
            .field("source", &self.source.describe())
            .field("gzipped", &self.gzipped)
            .finish()
    }
}

impl Fits {
    /// Open a local file (memory-mapped). Gzip-compressed files (magic bytes 1f 8b) are
    /// decompressed into memory. Reads the primary header only.
    pub fn open(path: impl AsRef<Path>) -> Result<Fits> {
        Fits::open_with(path, OpenOptions::default())
    }

    /// [`Fits::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Fits> {
        let src = nd_core::open_local(path.as_ref())?;
        Fits::from_source_with(src, opts)
    }

    /// Read from any byte source (gzip detected by magic bytes).
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<Fits> {
        Fits::from_source_with(source, OpenOptions::default())
    }

    /// [`Fits::from_source`] with options.
    pub fn from_source_with(source: Arc<dyn ByteSource>, opts: OpenOptions) -> Result<Fits> {
        let mut magic = [0u8; 2];
        let gz = source.len() >= 2 && {
            source.read_exact_at(0, &mut magic)?;
            magic == [0x1f, 0x8b]
        };
        let (source, gzipped): (Arc<dyn ByteSource>, bool) = if gz {
            (Arc::new(MemSource::new(gunzip(&*source)?)), true)
        } else {
            (source, false)
        };
        let fits = Fits {
            source,
            opts,
            store: HduStore::new(),
            walk: Mutex::new(Walk::default()),
            gzipped,
        };
        // The primary header must be readable.
        fits.hdu(0)?;
        Ok(fits)
    }

    /// The byte source the HDUs are read from (decompressed bytes for gzip files).
    pub fn source(&self) -> &Arc<dyn ByteSource> {
        &self.source
    }

    /// True when the file was gzip-compressed.
    pub fn is_gzipped(&self) -> bool {
        self.gzipped
    }

    /// The HDU at `index`, reading headers up to it if not read yet.
    pub fn hdu(&self, index: usize) -> Result<&Hdu> {
        if let Some(h) = self.store.get(index) {
            return Ok(h);
        }
        let mut w = self
            .walk
            .lock()
            .map_err(|_| Error::Invalid("HDU walk lock poisoned".into()))?;
        while w.count <= index && !w.done {
            self.step(&mut w)?;
        }
        if let Some(h) = self.store.get(index) {
            return Ok(h);
        }
        if let Some((hdu, offset, msg)) = &w.stopped {
            if index >= *hdu {
                return Err(Error::Header {
                    hdu: *hdu,
                    offset: *offset,
                    msg: msg.clone(),
                });
            }
        }
        Err(Error::NoSuchHdu {
            index,
            count: w.count,
        })
    }

    /// Read one more header. Errors on the primary header are returned; errors on later headers
    /// end the walk (astropy warns and stops) and are kept in `stopped`.
    fn step(&self, w: &mut Walk) -> Result<()> {
        let size = self.source.len();
        if w.next >= size {
            w.done = true;
            if w.count == 0 {
                return Err(Error::Header {
                    hdu: 0,
                    offset: 0,
                    msg: "empty file: no primary header".into(),
                });
            }
            return Ok(());
        }
        match read_hdu(&*self.source, w.count, w.next, self.opts.strictness) {
            Ok(hdu) => {
                w.next = hdu.end_offset();
                self.store.set(w.count, hdu)?;
                w.count += 1;
                Ok(())
            }
            Err(e) if w.count == 0 => Err(e),
            Err(e) => {
                w.done = true;
                // Keep the bare message: `walk_error` / `hdu` wrap it in `Error::Header` again.
                w.stopped = Some(match e {
                    Error::Header { hdu, offset, msg } if hdu == w.count => (hdu, offset, msg),
                    other => (w.count, w.next, other.to_string()),
                });
                Ok(())
            }
        }
    }

    /// Number of HDUs (walks every header).
    pub fn len(&self) -> usize {
        let Ok(mut w) = self.walk.lock() else {
            return 0;
        };
        while !w.done {
            if self.step(&mut w).is_err() {
                break;
            }
        }
        w.count
    }

    /// Always false: a FITS file has at least the primary HDU.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every HDU (walks every header).
    pub fn hdus(&self) -> Result<Vec<&Hdu>> {
        let n = self.len();
        (0..n).map(|i| self.hdu(i)).collect()
    }

    /// Why the walk stopped before the end of the file, if it did (trailing junk or a damaged
    /// header after the primary HDU): the error for the HDU that could not be read.
    pub fn walk_error(&self) -> Option<Error> {
        self.len();
        let w = self.walk.lock().ok()?;
        w.stopped.as_ref().map(|(hdu, offset, msg)| Error::Header {
            hdu: *hdu,
            offset: *offset,
            msg: msg.clone(),
        })
    }

    /// Warnings of every header read so far (with the HDU index).
    pub fn warnings(&self) -> Vec<(usize, Warning)> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(h) = self.store.get(i) {
            out.extend(h.header.warnings().iter().map(|w| (i, w.clone())));
            i += 1;
        }
        out
    }

    /// The first HDU whose EXTNAME matches `extname` (case-insensitive, trimmed; `"PRIMARY"` is
    /// the primary HDU) and, if given, whose EXTVER (default 1) is `extver`.
    pub fn find(&self, extname: &str, extver: Option<i64>) -> Result<&Hdu> {
        let want = extname.trim();
        let mut i = 0;
        loop {
            let h = match self.hdu(i) {
                Ok(h) => h,
                Err(Error::NoSuchHdu { .. }) => break,
                Err(e) => return Err(e),
            };
            if h.name().eq_ignore_ascii_case(want) && extver.is_none_or(|v| v == h.ver()) {
                return Ok(h);
            }
            i += 1;
        }
        Err(Error::NotFound {
            name: extname.to_string(),
            ver: extver,
        })
    }

    /// The image of HDU `index` with astropy's physical values (BSCALE/BZERO/BLANK applied).
    /// Tile-compressed HDUs are images too (decoded as [`Fits::compressed_image`]).
    pub fn image(&self, index: usize) -> Result<crate::image::FitsImage> {
        let hdu = self.hdu(index)?;
        if hdu.kind == HduKind::CompressedImage {
            let c = self.compressed_image(index)?;
            return Ok(crate::image::FitsImage::from_compressed(c, hdu));
        }
        crate::image::FitsImage::new(self.source.clone(), hdu, false)
    }

    /// The image of HDU `index` with the stored values (no scaling; BITPIX 8 as u8).
    pub fn raw_image(&self, index: usize) -> Result<crate::image::FitsImage> {
        crate::image::FitsImage::new(self.source.clone(), self.hdu(index)?, true)
    }

    /// The table of HDU `index` (BINTABLE or ASCII TABLE; a compressed image's underlying
    /// binary table too).
    pub fn table(&self, index: usize) -> Result<crate::table::Table> {
        crate::table::Table::new(self.source.clone(), self.hdu(index)?)
    }

    /// The tile-compressed image of HDU `index` (ZIMAGE = T): astropy's `CompImageHDU` data
    /// and header.
    pub fn compressed_image(&self, index: usize) -> Result<crate::tile::CompressedImage> {
        let hdu = self.hdu(index)?;
        if hdu.kind != HduKind::CompressedImage {
            return Err(Error::Unsupported {
                hdu: index,
                msg: format!("not a tile-compressed image ({:?})", hdu.kind),
            });
        }
        let t = crate::table::Table::new(self.source.clone(), hdu)?;
        crate::tile::CompressedImage::new(t, hdu)
    }

    /// The raw group parameters and data of a random-groups HDU.
    pub fn random_groups(&self, index: usize) -> Result<crate::image::RandomGroups> {
        crate::image::RandomGroups::read(&*self.source, self.hdu(index)?)
    }
}

fn gunzip(src: &dyn ByteSource) -> Result<Vec<u8>> {
    use std::io::Read;
    let all = src.read_range(0..src.len())?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&all[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::io(format!("gunzip {}", src.describe()), e))?;
    Ok(out)
}

fn int_kw(h: &Header, key: &str, default: Option<i64>, hdu: usize, offset: u64) -> Result<i64> {
    match h.get(key) {
        Some(Value::Int(v)) => Ok(*v),
        Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
        None => default.ok_or_else(|| Error::Header {
            hdu,
            offset,
            msg: format!("missing mandatory keyword {key}"),
        }),
        Some(v) => Err(Error::Header {
            hdu,
            offset,
            msg: format!("keyword {key} has value {v:?}, an integer is required"),
        }),
    }
}

/// Read the header at `offset` and compute where its data is.
pub(crate) fn read_hdu(
    src: &dyn ByteSource,
    index: usize,
    offset: u64,
    strict: Strictness,
) -> Result<Hdu> {
    let (header, hlen) = read_header(src, offset, index, strict)?;
    hdu_from_header(header, index, offset, hlen)
}

pub(crate) fn hdu_from_header(header: Header, index: usize, offset: u64, hlen: u64) -> Result<Hdu> {
    let herr = |msg: String| Error::Header {
        hdu: index,
        offset,
        msg,
    };
    let first = header.cards().first().map(|c| c.keyword().to_string());
    let kind = if index == 0 {
        if first.as_deref() != Some("SIMPLE") {
            return Err(herr(format!(
                "not a FITS file: the first keyword is {:?}, not SIMPLE",
                first.unwrap_or_default()
            )));
        }
        HduKind::Primary
    } else {
        match header.get("XTENSION") {
            Some(Value::Str(x)) => match x.trim().to_ascii_uppercase().as_str() {
                "IMAGE" => HduKind::Image,
                "BINTABLE" | "A3DTABLE" => {
                    if header.get_bool("ZIMAGE") == Some(true) {
                        HduKind::CompressedImage
                    } else {
                        HduKind::BinTable
                    }
                }
                "TABLE" => HduKind::Table,
                other => HduKind::Other(other.to_string()),
            },
            _ => return Err(herr("extension header without XTENSION".into())),
        }
    };
    let bitpix = int_kw(&header, "BITPIX", None, index, offset)?;
    if bitpix_dtype(bitpix).is_none() {
        return Err(herr(format!("invalid BITPIX {bitpix}")));
    }
    let naxis = int_kw(&header, "NAXIS", None, index, offset)?;
    if !(0..=999).contains(&naxis) {
        return Err(herr(format!("invalid NAXIS {naxis}")));
    }
    let mut naxes = Vec::with_capacity(naxis as usize);
    for k in 1..=naxis {
        let v = int_kw(&header, &format!("NAXIS{k}"), Some(0), index, offset)?;
        if v < 0 {
            return Err(herr(format!("negative NAXIS{k} = {v}")));
        }
        naxes.push(v as u64);
    }
    let (pdef, gdef) = (0, 1);
    let pcount = int_kw(&header, "PCOUNT", Some(pdef), index, offset)?;
    let gcount = int_kw(&header, "GCOUNT", Some(gdef), index, offset)?;
    if pcount < 0 || gcount < 0 {
        return Err(herr(format!("negative PCOUNT {pcount} or GCOUNT {gcount}")));
    }
    let groups = index == 0 && header.get_bool("GROUPS") == Some(true) && naxes.first() == Some(&0);
    let kind = if groups { HduKind::RandomGroups } else { kind };
    let too_big = || herr("data size overflows".into());
    let data_len = if naxis == 0 {
        0
    } else {
        let axes: &[u64] = if groups { &naxes[1..] } else { &naxes };
        let prod = axes
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(too_big)?;
        // astropy applies PCOUNT and GCOUNT to every HDU, the primary one included.
        let (p, g) = (pcount as u64, gcount as u64);
        prod.checked_add(p)
            .and_then(|x| x.checked_mul(g))
            .and_then(|x| x.checked_mul(bitpix.unsigned_abs() / 8))
            .ok_or_else(too_big)?
    };
    let data_offset = offset.checked_add(hlen).ok_or_else(too_big)?;
    data_offset.checked_add(data_len).ok_or_else(too_big)?;
    Ok(Hdu {
        index,
        kind,
        header,
        header_offset: offset,
        data_offset,
        data_len,
        bitpix,
        naxes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_locate() {
        assert_eq!(HduStore::locate(0), (0, 0));
        assert_eq!(HduStore::locate(15), (0, 15));
        assert_eq!(HduStore::locate(16), (1, 0));
        assert_eq!(HduStore::locate(47), (1, 31));
        assert_eq!(HduStore::locate(48), (2, 0));
        let s = HduStore::new();
        assert!(s.get(100).is_none());
    }
}
