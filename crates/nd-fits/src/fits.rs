//! The lazy HDU list: opening reads the first header only; later headers are read on demand,
//! walking from header to header by the data sizes the headers declare.

use crate::error::{Error, Result};
use crate::hdu::read_hdu;
use crate::header::{Header, Strictness, Warning};
use nd_codecs::gzip_source::GzipSource;
use nd_core::{ByteSource, Limits};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

pub use crate::hdu::{Hdu, HduKind};
pub use crate::scale::bitpix_dtype;

/// Options for opening a FITS file.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Header strictness.
    pub strictness: Strictness,
    /// Bounds on what the file may make the reader allocate: [`Limits::decompressed_bytes`] for
    /// a gzip-compressed file.
    pub limits: Limits,
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

/// A segment of [`HduStore`]: its slots, each set once.
type Segment = Box<[OnceLock<Box<Hdu>>]>;

/// Append-only storage handing out `&Hdu` that stay valid: segment k holds 16·2^k HDUs, each
/// boxed, so that the slots a segment makes before they are used (up to half of them) take a
/// pointer each rather than an `Hdu`.
struct HduStore {
    segs: Vec<OnceLock<Segment>>,
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
        self.segs.get(s)?.get()?.get(o)?.get().map(|h| &**h)
    }
    fn set(&self, i: usize, hdu: Hdu) -> Result<()> {
        let (s, o) = Self::locate(i);
        let seg = self
            .segs
            .get(s)
            .ok_or_else(|| Error::Invalid("too many HDUs".into()))?
            .get_or_init(|| (0..(16usize << s)).map(|_| OnceLock::new()).collect());
        if let Some(slot) = seg.get(o) {
            let _ = slot.set(Box::new(hdu));
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
    /// Open a local file (memory-mapped). Gzip-compressed files (magic bytes 1f 8b) are indexed
    /// in one inflation pass and then read at random through the index (bounded memory, see
    /// [`GzipSource`]). Reads the primary header only.
    pub fn open(path: impl AsRef<Path>) -> Result<Fits> {
        Fits::open_with(path, OpenOptions::default())
    }

    /// [`Fits::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Fits> {
        let mut src = nd_core::open_local(path.as_ref())?;
        if nd_codecs::gzip_source::is_gzip(&*src)? {
            // Compressed bytes are read once front to back and then in pieces: positional reads
            // keep them out of the process's memory, where a map would keep every page touched.
            src = Arc::new(nd_core::FileSource::open(path.as_ref())?);
        }
        Fits::from_source_with(src, opts)
    }

    /// Read from any byte source (gzip detected by magic bytes).
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<Fits> {
        Fits::from_source_with(source, OpenOptions::default())
    }

    /// [`Fits::from_source`] with options.
    pub fn from_source_with(source: Arc<dyn ByteSource>, opts: OpenOptions) -> Result<Fits> {
        let (source, gzipped): (Arc<dyn ByteSource>, bool) =
            if nd_codecs::gzip_source::is_gzip(&*source)? {
                (Arc::new(GzipSource::new(source, &opts.limits)?), true)
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

    /// Warnings of every header read so far (with the HDU index); their cards are parsed for
    /// it.
    pub fn warnings(&self) -> Vec<(usize, Warning)> {
        self.collect_warnings(Header::warnings)
    }

    /// [`Fits::warnings`] without parsing cards: of a header whose cards were not parsed yet,
    /// only what the block scan found (see [`Header::warnings_so_far`]).
    pub fn warnings_so_far(&self) -> Vec<(usize, Warning)> {
        self.collect_warnings(Header::warnings_so_far)
    }

    fn collect_warnings(&self, of: fn(&Header) -> &[Warning]) -> Vec<(usize, Warning)> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(h) = self.store.get(i) {
            out.extend(of(&h.header).iter().map(|w| (i, w.clone())));
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
                msg: format!("not a tile-compressed image ({})", hdu.kind),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_over_the_decompressed_limit_is_refused() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fits");
        let a = nd_core::ArrayBuf::from_vec(vec![40, 40], &[7u16; 1600]).unwrap();
        let mut w = crate::write::FitsWriter::create(&p);
        w.add_image(&a, &[]).unwrap();
        w.finish().unwrap();
        let raw = std::fs::read(&p).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        let src: Arc<dyn ByteSource> = Arc::new(nd_core::MemSource::new(gz.finish().unwrap()));
        let opts = |max: u64| OpenOptions {
            limits: Limits {
                decompressed_bytes: max,
                ..Limits::default()
            },
            ..OpenOptions::default()
        };
        let f = Fits::from_source_with(src.clone(), opts(raw.len() as u64)).unwrap();
        assert!(f.is_gzipped());
        match Fits::from_source_with(src, opts(raw.len() as u64 - 1)) {
            Err(Error::Core(nd_core::Error::LimitExceeded { limit, max, at, .. })) => {
                assert_eq!(limit, "decompressed_bytes");
                assert_eq!(max, raw.len() as u64 - 1);
                assert!(at.starts_with("gunzip <memory"), "{at}");
            }
            r => panic!("{r:?}"),
        }
    }

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
