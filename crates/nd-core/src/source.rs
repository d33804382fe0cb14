//! Random-access byte sources: the one way every format reads bytes.
//!
//! The contract (see `spec-notes/byte-source.md`):
//! - `len` is fixed for the life of the source;
//! - reads are positional and thread-safe (`&self`, no shared cursor);
//! - a read past the end is an error ([`Error::OutOfBounds`]), never a short read;
//! - `read_range` may return a zero-copy view (memory, mmap);
//! - `read_ranges` is the hook for sources that coalesce or parallelise requests (remote).

use crate::error::{Error, Result};
use bytes::Bytes;
use std::fmt::Debug;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Random-access, thread-safe, read-only bytes.
pub trait ByteSource: Send + Sync + Debug {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// True when the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill `buf` with the bytes at `offset..offset + buf.len()`. Fails if that reaches past the end.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// The bytes of `range`, zero-copy where the source allows it.
    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let len = check_range(&range, self.len())?;
        let mut v = vec![0u8; len];
        self.read_exact_at(range.start, &mut v)?;
        Ok(Bytes::from(v))
    }

    /// The bytes of several ranges, in the order given. Sources with expensive requests override
    /// this to coalesce nearby ranges and fetch concurrently.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        ranges.iter().map(|r| self.read_range(r.clone())).collect()
    }

    /// A short human description (path or URL) for error messages.
    fn describe(&self) -> String {
        format!("{self:?}")
    }

    /// How many bytes a reader streaming through this source front to back should ask for at
    /// a time ([`crate::io::SourceReader`]): small for local files, where a read is a system
    /// call (the default, 256 KiB), larger where each read is a request (remote sources).
    fn stream_chunk(&self) -> usize {
        256 << 10
    }

    /// All the source's bytes as one zero-copy view, when it holds them so (a memory map,
    /// bytes in memory): a reader looking for the end of a header of unknown length can look
    /// through them in place instead of copying what it reads. `None` (the default) for a
    /// source that reads on request (positional reads, remote requests) or counts what is
    /// read.
    fn contiguous(&self) -> Option<Bytes> {
        None
    }
}

/// Check a range against a source length and return its length as `usize`.
pub fn check_range(range: &Range<u64>, size: u64) -> Result<usize> {
    let oob = || Error::OutOfBounds {
        offset: range.start,
        len: range.end.saturating_sub(range.start),
        size,
    };
    if range.start > range.end || range.end > size {
        return Err(oob());
    }
    usize::try_from(range.end - range.start).map_err(|_| oob())
}

/// Smart pointers to a source are sources.
macro_rules! forward_source {
    ($($ptr:ident),*) => {$(
        impl<T: ByteSource + ?Sized> ByteSource for $ptr<T> {
            fn len(&self) -> u64 {
                (**self).len()
            }
            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
                (**self).read_exact_at(offset, buf)
            }
            fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
                (**self).read_range(range)
            }
            fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
                (**self).read_ranges(ranges)
            }
            fn describe(&self) -> String {
                (**self).describe()
            }
            fn contiguous(&self) -> Option<Bytes> {
                (**self).contiguous()
            }
            fn stream_chunk(&self) -> usize {
                (**self).stream_chunk()
            }
        }
    )*};
}
forward_source!(Arc, Box);

/// Bytes held in memory. `read_range` is zero-copy.
#[derive(Clone, Debug, Default)]
pub struct MemSource {
    data: Bytes,
}

impl MemSource {
    /// A source over these bytes.
    pub fn new(data: impl Into<Bytes>) -> Self {
        MemSource { data: data.into() }
    }

    /// All the bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }
}

/// The `ByteSource` reads of a source whose bytes are all in `self.data: Bytes` (`read_range`
/// is a zero-copy slice).
macro_rules! in_memory_reads {
    () => {
        fn len(&self) -> u64 {
            self.data.len() as u64
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            let r = offset..offset.saturating_add(buf.len() as u64);
            check_range(&r, self.len())?;
            buf.copy_from_slice(&self.data[r.start as usize..r.end as usize]);
            Ok(())
        }
        fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
            check_range(&range, self.len())?;
            Ok(self.data.slice(range.start as usize..range.end as usize))
        }
    };
}

impl ByteSource for MemSource {
    in_memory_reads!();
    fn describe(&self) -> String {
        format!("<memory, {} bytes>", self.data.len())
    }
    fn contiguous(&self) -> Option<Bytes> {
        Some(self.data.clone())
    }
}

/// Open a file for reading, with its length.
fn open_file(path: &Path) -> Result<(File, u64)> {
    let io = |e| Error::io(path.display().to_string(), e);
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    Ok((file, len))
}

/// A local file read with positional reads (`pread`): no shared cursor, safe from many threads.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
    path: PathBuf,
}

impl FileSource {
    /// Open a file. Its length is taken once, at open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (file, len) = open_file(&path)?;
        Ok(FileSource { file, len, path })
    }

    /// A file already open for reading, of length `len` (taken by the caller), at `path`.
    pub fn from_file(file: File, len: u64, path: PathBuf) -> Self {
        FileSource { file, len, path }
    }

    /// The path opened.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&(offset..offset.saturating_add(buf.len() as u64)), self.len)?;
        crate::io::read_exact_at(&self.file, buf, offset)
            .map_err(|e| Error::io(format!("{} at offset {offset}", self.path.display()), e))
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// A memory-mapped local file. `read_range` returns views into the map without copying;
/// `read_exact_at` (a read into the caller's buffer: full reads of images and blocks) is a
/// positional read of the file (`pread`), not a copy out of the map, so the file's pages are
/// not faulted into the process as well as the caller's buffer (peak RSS stays at the output's
/// size, and no page-table set-up is paid for pages read once). A read of at most 16 KiB is a
/// copy out of the map instead: a system call per small read (a file of thousands of small
/// arrays) costs more than the few pages it faults in.
///
/// The map is made when first needed, not at open: the first few small reads (a FITS primary
/// header, an ASDF file's first lines) are `pread`s, and a file opened to read one cutout or
/// one header is never mapped at all. Mapping and unmapping a file costs two system calls and,
/// in a process with several threads, a flush of the other cores' address translations; small
/// reads cost one system call each. A file read in more places than that is mapped. If the
/// mapping fails, every read is a positional read.
///
/// The usual caveat of memory maps applies: if another process truncates the file while it is
/// mapped, reads may fault. Use [`FileSource`] for files that may change under you.
pub struct MmapSource {
    /// The map once made; `Err` (its message) when mapping failed: reads are then `pread`s.
    map: OnceLock<std::result::Result<Bytes, String>>,
    /// Small reads served by `pread` before the map was made.
    unmapped_reads: AtomicUsize,
    file: Arc<File>,
    len: u64,
    path: PathBuf,
}

impl Debug for MmapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmapSource")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("mapped", &self.mapped().is_some())
            .finish_non_exhaustive()
    }
}

/// The largest [`MmapSource::read_exact_at`] served by a copy out of the map (larger reads are
/// `pread`s of the file); also the largest range of [`MmapSource::read_ranges`] that may be
/// read with a `pread` instead of given as a view into the map.
const MAP_COPY_MAX: usize = 16 * 1024;

/// In [`MmapSource::read_ranges`], a small range starting at most this far from the previous
/// range's end is a view into the map (the page the previous range faulted in, or the kernel's
/// fault-around window, most likely holds it); a small range further away is read with a
/// `pread`: one system call (~1 µs) instead of a page fault that maps a window of the file into
/// the process and must be unmapped again (~5–10 µs).
const MAP_NEAR: u64 = 4 * 1024;

/// The size above which [`MmapSource::contiguous`] maps a file not mapped yet.
const MAP_VIEW_MIN: u64 = 64 * 1024;

/// How many small reads ([`MAP_COPY_MAX`] or less) an [`MmapSource`] serves with `pread`s
/// before it maps the file: enough for the headers of a FITS image or the first lines of an
/// ASDF file, few enough that a walk over many headers soon reads from the map.
const UNMAPPED_READS: usize = 8;

#[derive(Debug)]
struct MmapOwner(memmap2::Mmap);

impl AsRef<[u8]> for MmapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The whole of `file` mapped read-only, as bytes that unmap it when the last view is dropped.
/// The caveat of [`MmapSource`] holds: a file truncated by another process while mapped makes
/// a read of the lost part fault (SIGBUS).
pub(crate) fn map_file(file: &File) -> std::io::Result<Bytes> {
    // SAFETY: the map is read-only; see the caveat above about concurrent truncation.
    let map = unsafe { memmap2::Mmap::map(file) }?;
    Ok(Bytes::from_owner(MmapOwner(map)))
}

impl MmapSource {
    /// Open a file to be read through a memory map (made when first needed). Its length is
    /// taken once, at open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (file, len) = open_file(&path)?;
        Ok(MmapSource {
            map: OnceLock::new(),
            unmapped_reads: AtomicUsize::new(0),
            file: Arc::new(file),
            len,
            path,
        })
    }

    /// All the mapped bytes (the file is mapped now if it was not yet).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be mapped.
    pub fn bytes(&self) -> Result<&Bytes> {
        self.map().map_err(|e| {
            Error::io(
                format!("mmap {}", self.path.display()),
                std::io::Error::other(e.to_string()),
            )
        })
    }

    /// The map, made now if it was not yet; `Err` with the reason when mapping failed.
    fn map(&self) -> std::result::Result<&Bytes, &str> {
        self.map
            .get_or_init(|| {
                if self.len == 0 {
                    return Ok(Bytes::new());
                }
                map_file(&self.file).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The map if it has been made (and mapping did not fail).
    fn mapped(&self) -> Option<&Bytes> {
        self.map.get().and_then(|m| m.as_ref().ok())
    }

    /// Whether a small read should be a `pread` rather than make the map: the map is not made
    /// yet and fewer than [`UNMAPPED_READS`] small reads were served that way (counts this one).
    fn read_unmapped(&self) -> bool {
        self.map.get().is_none()
            && self.unmapped_reads.fetch_add(1, Ordering::Relaxed) < UNMAPPED_READS
    }

    /// `range` (checked against the length) read with a `pread` into a new buffer.
    fn pread_range(&self, range: &Range<u64>) -> Result<Bytes> {
        let len = check_range(range, self.len)?;
        self.pread_runs([(range.start, len)], len)
    }

    /// The bytes of `runs` (`(offset, len)`, `total` bytes in all) one after another in a new
    /// buffer, read with `pread`s into it (not zeroed first: see `io::read_runs_new`).
    fn pread_runs(
        &self,
        runs: impl IntoIterator<Item = (u64, usize)>,
        total: usize,
    ) -> Result<Bytes> {
        crate::io::read_runs_new(&self.file, runs, total)
            .map(Bytes::from)
            .map_err(|(at, e)| Error::io(format!("{} at offset {at}", self.path.display()), e))
    }

    fn pread(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        crate::io::read_exact_at(&self.file, buf, offset)
            .map_err(|e| Error::io(format!("{} at offset {offset}", self.path.display()), e))
    }
}

impl ByteSource for MmapSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(&(offset..offset.saturating_add(buf.len() as u64)), self.len)?;
        if buf.len() <= MAP_COPY_MAX && (self.mapped().is_some() || !self.read_unmapped()) {
            if let Ok(map) = self.map() {
                // within the map: checked above
                let at = usize::try_from(offset).unwrap_or(usize::MAX);
                if let Some(src) = map.get(at..at.saturating_add(buf.len())) {
                    buf.copy_from_slice(src);
                    return Ok(());
                }
            }
        }
        self.pread(offset, buf)
    }
    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let len = check_range(&range, self.len)?;
        if let Some(map) = self.mapped() {
            return Ok(map.slice(range.start as usize..range.end as usize));
        }
        if len <= MAP_COPY_MAX && self.read_unmapped() {
            return self.pread_range(&range);
        }
        match self.map() {
            Ok(map) => Ok(map.slice(range.start as usize..range.end as usize)),
            Err(_) => self.pread_range(&range),
        }
    }
    /// Views into the map, except small ranges far from the one before (the rows of a cutout,
    /// the headers of large blocks): those are read with `pread`s into one buffer, so a sparse
    /// read does not fault a window of the file into the process for each range (nor make the
    /// map when every range is such).
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let mut sparse = Vec::with_capacity(ranges.len());
        let mut sparse_bytes = 0usize;
        let mut prev_end: Option<u64> = None;
        for r in ranges {
            let len = check_range(r, self.len)?;
            let near = prev_end.is_some_and(|e| r.start >= e && r.start - e <= MAP_NEAR);
            let read = len <= MAP_COPY_MAX && !near;
            if read {
                sparse_bytes += len;
            }
            sparse.push(read);
            prev_end = Some(r.end);
        }
        if sparse_bytes == 0 {
            return ranges.iter().map(|r| self.read_range(r.clone())).collect();
        }
        let runs = ranges.iter().zip(&sparse).filter(|(_, &s)| s);
        // lengths checked above
        let read = self.pread_runs(
            runs.map(|(r, _)| (r.start, (r.end - r.start) as usize)),
            sparse_bytes,
        )?;
        let mut at = 0usize;
        let mut out = Vec::with_capacity(ranges.len());
        for (r, s) in ranges.iter().zip(sparse) {
            if s {
                let len = (r.end - r.start) as usize;
                out.push(read.slice(at..at + len));
                at += len;
            } else if r.is_empty() {
                out.push(Bytes::new());
            } else {
                out.push(match self.map() {
                    Ok(map) => map.slice(r.start as usize..r.end as usize),
                    Err(_) => self.pread_range(r)?,
                });
            }
        }
        Ok(out)
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    /// The map, made now if it was not yet and the file is larger than 64 KiB (a smaller one
    /// is read as well with a few `pread`s as mapped and unmapped); `None` when mapping failed.
    fn contiguous(&self) -> Option<Bytes> {
        if self.mapped().is_none() && self.len <= MAP_VIEW_MIN {
            return None;
        }
        self.map().ok().cloned()
    }
}

/// Open a local file the fast way: memory-mapped, falling back to positional reads if mapping fails.
pub fn open_local(path: impl AsRef<Path>) -> Result<Arc<dyn ByteSource>> {
    let path = path.as_ref();
    match MmapSource::open(path) {
        Ok(m) => Ok(Arc::new(m)),
        Err(_) => Ok(Arc::new(FileSource::open(path)?)),
    }
}

/// A wrapper that counts the reads and bytes that pass through it, and records every range asked for.
/// Used by tests to prove that a cutout reads only what it needs.
#[derive(Debug)]
pub struct CountingSource<S> {
    inner: S,
    reads: AtomicU64,
    bytes: AtomicU64,
    log: std::sync::Mutex<Vec<Range<u64>>>,
}

impl<S: ByteSource> CountingSource<S> {
    /// Wrap a source.
    pub fn new(inner: S) -> Self {
        CountingSource {
            inner,
            reads: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            log: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Number of ranges read so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Number of bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Every range read so far, in order.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forget the counts.
    pub fn reset(&self) {
        self.reads.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn record(&self, r: Range<u64>) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(r.end - r.start, Ordering::Relaxed);
        if let Ok(mut l) = self.log.lock() {
            l.push(r);
        }
    }
}

impl<S: ByteSource> ByteSource for CountingSource<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact_at(offset, buf)?;
        self.record(offset..offset + buf.len() as u64);
        Ok(())
    }
    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let b = self.inner.read_range(range.clone())?;
        self.record(range);
        Ok(b)
    }
    fn stream_chunk(&self) -> usize {
        self.inner.stream_chunk()
    }
    fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let b = self.inner.read_ranges(ranges)?;
        for r in ranges {
            self.record(r.clone());
        }
        Ok(b)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A source that streams in its own step, as remote sources do.
    #[derive(Debug)]
    struct Stepped(MemSource);

    impl ByteSource for Stepped {
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.0.read_exact_at(offset, buf)
        }
        fn stream_chunk(&self) -> usize {
            8 << 20
        }
    }

    #[test]
    fn smart_pointers_forward_every_method() {
        let mem = MemSource::new(vec![1u8, 2, 3]);
        let arc: Arc<dyn ByteSource> = Arc::new(mem.clone());
        let boxed: Box<dyn ByteSource> = Box::new(mem);
        assert_eq!(arc.contiguous().as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(boxed.contiguous().as_deref(), Some(&[1u8, 2, 3][..]));
        let stepped = Arc::new(Stepped(MemSource::new(vec![0u8; 4])));
        // through the pointer types themselves (`Arc<T>: ByteSource`), not only `dyn`
        assert_eq!(ByteSource::stream_chunk(&stepped), 8 << 20);
        assert_eq!(
            ByteSource::stream_chunk(&Box::new(Stepped(MemSource::new(vec![])))),
            8 << 20
        );
        assert!(ByteSource::contiguous(&stepped).is_none());
    }

    fn sample_file() -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        f.flush().unwrap();
        f
    }

    #[test]
    fn sources_agree_and_refuse_past_end() {
        let f = sample_file();
        let want: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let sources: Vec<Box<dyn ByteSource>> = vec![
            Box::new(MemSource::new(want.clone())),
            Box::new(FileSource::open(f.path()).unwrap()),
            Box::new(MmapSource::open(f.path()).unwrap()),
        ];
        for s in &sources {
            assert_eq!(s.len(), 10_000);
            let b = s.read_range(100..300).unwrap();
            assert_eq!(&b[..], &want[100..300]);
            let mut buf = [0u8; 7];
            s.read_exact_at(9_993, &mut buf).unwrap();
            assert_eq!(&buf, &want[9_993..]);
            assert!(matches!(
                s.read_exact_at(9_994, &mut buf),
                Err(Error::OutOfBounds { .. })
            ));
            assert!(s.read_range(9_000..10_001).is_err());
            #[allow(clippy::reversed_empty_ranges)]
            let backwards = 10..5;
            assert!(s.read_range(backwards).is_err());
            assert!(s.read_range(u64::MAX - 1..u64::MAX).is_err());
            let many = s.read_ranges(&[0..10, 50..60]).unwrap();
            assert_eq!(&many[1][..], &want[50..60]);
        }
    }

    #[test]
    fn mmap_read_range_is_zero_copy() {
        let f = sample_file();
        let m = MmapSource::open(f.path()).unwrap();
        let whole = m.bytes().unwrap().as_ptr() as usize;
        let b = m.read_range(1234..2000).unwrap();
        assert_eq!(
            b.as_ptr() as usize,
            whole + 1234,
            "read_range must point into the map"
        );
        let mem = MemSource::new(vec![1u8; 100]);
        let b = mem.read_range(10..20).unwrap();
        assert_eq!(b.as_ptr() as usize, mem.bytes().as_ptr() as usize + 10);
    }

    #[test]
    fn mmap_maps_only_once_read_in_many_places() {
        let f = sample_file();
        let want: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let m = MmapSource::open(f.path()).unwrap();
        // the first small reads are positional reads: no map yet
        for i in 0..UNMAPPED_READS as u64 {
            let r = i * 1000..i * 1000 + 100;
            assert_eq!(
                &m.read_range(r.clone()).unwrap()[..],
                &want[r.start as usize..r.end as usize]
            );
        }
        let sparse = m
            .read_ranges(&[0..10, 5_000..5_010, 9_990..10_000])
            .unwrap();
        assert_eq!(&sparse[2][..], &want[9_990..]);
        assert!(m.mapped().is_none(), "sparse small reads need no map");
        // the next small read maps the file; reads are views from then on
        let b = m.read_range(200..300).unwrap();
        let whole = m.mapped().expect("mapped after the first reads").as_ptr() as usize;
        assert_eq!(b.as_ptr() as usize, whole + 200);
        let mut buf = [0u8; 50];
        m.read_exact_at(7_000, &mut buf).unwrap();
        assert_eq!(&buf[..], &want[7_000..7_050]);
        // a large read maps a fresh source at once
        let mut big = tempfile::NamedTempFile::new().unwrap();
        big.write_all(&[7u8; 100_000]).unwrap();
        big.flush().unwrap();
        let m = MmapSource::open(big.path()).unwrap();
        let b = m.read_range(1_000..100_000).unwrap();
        assert_eq!(
            b.as_ptr() as usize,
            m.mapped().unwrap().as_ptr() as usize + 1_000
        );
    }

    #[test]
    fn mmap_read_ranges_reads_sparse_small_ranges_and_maps_the_rest() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let want: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&want).unwrap();
        f.flush().unwrap();
        let m = MmapSource::open(f.path()).unwrap();
        let map =
            m.bytes().unwrap().as_ptr() as usize..m.bytes().unwrap().as_ptr() as usize + 100_000;
        // (range, a view into the map?)
        let cases = [
            (0..10, false),           // the first, small: read
            (20..30, true),           // near the one before: the same page
            (9_000..9_100, false),    // small and far: read
            (20_000..60_000, true),   // large: a view
            (70_000..70_005, false),  // small and far again
            (70_005..70_005, true),   // empty, right after
            (99_990..100_000, false), // the last bytes
        ];
        let ranges: Vec<Range<u64>> = cases.iter().map(|c| c.0.clone()).collect();
        let got = m.read_ranges(&ranges).unwrap();
        assert_eq!(got.len(), cases.len());
        for ((r, view), b) in cases.iter().zip(&got) {
            assert_eq!(&b[..], &want[r.start as usize..r.end as usize], "{r:?}");
            if !b.is_empty() {
                assert_eq!(map.contains(&(b.as_ptr() as usize)), *view, "{r:?}");
            }
        }
        assert!(matches!(
            m.read_ranges(&[0..10, 99_999..100_001]),
            Err(Error::OutOfBounds { .. })
        ));
    }

    #[test]
    fn counting_source_reports_exactly_what_was_asked() {
        let c = CountingSource::new(MemSource::new(vec![0u8; 1000]));
        let mut buf = [0u8; 17];
        c.read_exact_at(3, &mut buf).unwrap();
        c.read_range(100..164).unwrap();
        c.read_ranges(&[200..201, 300..310]).unwrap();
        assert_eq!(c.reads(), 4);
        assert_eq!(c.bytes_read(), 17 + 64 + 1 + 10);
        assert_eq!(c.ranges(), vec![3..20, 100..164, 200..201, 300..310]);
        assert!(c.read_range(990..1001).is_err());
        assert_eq!(c.reads(), 4, "failed reads are not counted");
        c.reset();
        assert_eq!(c.bytes_read(), 0);
    }
}
