//! Key-value stores for chunked formats (Zarr, exploded layouts).
//!
//! Keys are `/`-separated relative paths. Every key is validated by [`validate_key`] before it
//! touches storage: no empty key, no absolute path, no `.`/`..` segment, no backslash, no NUL,
//! no empty segment. A directory store therefore never reads or writes outside its root.

use crate::error::{Error, Result};
use crate::source::{ByteSource, FileSource, MemSource};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Validate a store key (see the module docs). A prefix for listing may be empty or end with `/`.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty key");
    }
    if key.starts_with('/') {
        return bad("absolute path");
    }
    if key.contains('\\') {
        return bad("backslash");
    }
    if key.contains('\0') {
        return bad("NUL byte");
    }
    if key.len() > 1 && key.as_bytes()[1] == b':' {
        return bad("drive letter");
    }
    for seg in key.split('/') {
        match seg {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("'.' or '..' segment"),
            _ => {}
        }
    }
    Ok(())
}

fn validate_prefix(prefix: &str) -> Result<()> {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() && (prefix.is_empty() || prefix == "/") {
        return Ok(());
    }
    validate_key(p)
}

/// Where [`Store::get_reusing`] put a value.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// In the caller's buffer.
    InBuffer,
    /// Shared bytes: a map of the file, or what the store holds or received.
    Shared(Bytes),
}

impl Fetched {
    /// The value: `buf` (the buffer given to [`Store::get_reusing`]) or the shared bytes.
    pub fn bytes<'a>(&'a self, buf: &'a [u8]) -> &'a [u8] {
        match self {
            Fetched::InBuffer => buf,
            Fetched::Shared(b) => b,
        }
    }
}

/// The size from which [`DirStore::get_reusing`] maps a file instead of reading it into the
/// caller's buffer: from here a map (no copy; the page cache's large folios mapped whole) costs
/// less than the copy a read makes, below it more (spec-notes/byte-source.md, "Zarr chunks:
/// read or map").
pub const MAP_VALUE_MIN: u64 = 2 << 20;

/// A key-value store.
pub trait Store: Send + Sync + Debug {
    /// The value of `key`, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Bytes>>;

    /// The value of `key` to be read whole once (a chunk to decode), `Ok(None)` when absent:
    /// either read into `buf` (its old contents replaced, its allocation reused: a reader that
    /// fetches value after value keeps one buffer per thread instead of a fresh allocation, and
    /// fresh pages to fault in, per value), or handed out as shared bytes without a copy.
    /// [`Fetched::bytes`] gives the value either way; `buf` is left alone unless the value is
    /// in it.
    ///
    /// The default hands out what [`Store::get`] returns. [`DirStore`] reads a file smaller than
    /// [`MAP_VALUE_MIN`] into `buf` and maps a larger one (spec-notes/byte-source.md).
    fn get_reusing(&self, key: &str, buf: &mut Vec<u8>) -> Result<Option<Fetched>> {
        let _ = buf;
        Ok(self.get(key)?.map(Fetched::Shared))
    }

    /// The value of `key` read straight into `out` when it holds exactly `out.len()` bytes:
    /// `Ok(Some(len))` with the value's length (`out` filled only when `len == out.len()`,
    /// otherwise left alone), `Ok(None)` when absent. How a Zarr chunk stored as it is (no
    /// codec, native byte order) lands in its place in the output without a buffer between.
    ///
    /// The default copies what [`Store::get`] returns; [`DirStore`] reads the file into `out`.
    fn get_sized_into(&self, key: &str, out: &mut [u8]) -> Result<Option<u64>> {
        Ok(self.get(key)?.map(|b| {
            if b.len() == out.len() {
                out.copy_from_slice(&b);
            }
            b.len() as u64
        }))
    }

    /// The value of `key` as a source to read parts of (`None` when absent): how a Zarr chunk
    /// stored as it is is read a cache-sized part at a time into its scattered place in the
    /// output.
    ///
    /// The default is the value [`Store::get`] returns, in memory; [`DirStore`] opens the file
    /// for positional reads.
    fn get_source(&self, key: &str) -> Result<Option<Box<dyn ByteSource>>> {
        Ok(self
            .get(key)?
            .map(|b| Box::new(MemSource::new(b)) as Box<dyn ByteSource>))
    }

    /// A byte range of the value of `key` (`None` when the key is absent).
    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Option<Bytes>> {
        match self.get(key)? {
            None => Ok(None),
            Some(b) => {
                crate::source::check_range(&range, b.len() as u64)?;
                Ok(Some(b.slice(range.start as usize..range.end as usize)))
            }
        }
    }

    /// The last `len` bytes of the value of `key` (`None` when the key is absent): how a Zarr v3
    /// shard index at the end of a shard is read without knowing the shard's size. A value
    /// shorter than `len` is [`Error::OutOfBounds`].
    ///
    /// The default gets the whole value and slices it; stores that can do better (a file's
    /// length, an HTTP suffix range) override it.
    fn get_suffix(&self, key: &str, len: u64) -> Result<Option<Bytes>> {
        match self.get(key)? {
            None => Ok(None),
            Some(b) => {
                let size = b.len() as u64;
                if len > size {
                    return Err(Error::OutOfBounds {
                        offset: 0,
                        len,
                        size,
                    });
                }
                Ok(Some(b.slice((size - len) as usize..)))
            }
        }
    }

    /// Several values at once (remote stores fetch them concurrently).
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Bytes>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// Set `key` to `value` (atomically for directory stores).
    fn set(&self, key: &str, value: &[u8]) -> Result<()>;

    /// Delete `key` (no error if absent).
    fn delete(&self, key: &str) -> Result<()>;

    /// Every key under `prefix` (recursively), sorted. `""` lists the whole store.
    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>>;

    /// The direct children of a directory prefix: `(keys, sub-prefixes)`, each relative to the
    /// store root, sub-prefixes ending with `/`.
    fn list_dir(&self, prefix: &str) -> Result<(Vec<String>, Vec<String>)> {
        let p = normalise_dir(prefix);
        let mut keys = Vec::new();
        let mut dirs = std::collections::BTreeSet::new();
        for k in self.list_prefix(&p)? {
            let rest = &k[p.len()..];
            match rest.find('/') {
                Some(i) => {
                    dirs.insert(format!("{p}{}/", &rest[..i]));
                }
                None => keys.push(k),
            }
        }
        Ok((keys, dirs.into_iter().collect()))
    }

    /// True when the store accepts writes.
    fn is_writable(&self) -> bool {
        true
    }

    /// A short description (path or URL) for error messages.
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

fn normalise_dir(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

/// An in-memory store.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<String, Bytes>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> Error {
    Error::Unsupported("store lock poisoned".into())
}

impl Store for MemStore {
    fn get(&self, key: &str) -> Result<Option<Bytes>> {
        validate_key(key)?;
        Ok(self.map.read().map_err(|_| poisoned())?.get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        validate_key(key)?;
        self.map
            .write()
            .map_err(|_| poisoned())?
            .insert(key.to_string(), Bytes::copy_from_slice(value));
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.map.write().map_err(|_| poisoned())?.remove(key);
        Ok(())
    }
    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let p = prefix.trim_start_matches('/');
        Ok(self
            .map
            .read()
            .map_err(|_| poisoned())?
            .range(p.to_string()..)
            .take_while(|(k, _)| k.starts_with(p))
            .map(|(k, _)| k.clone())
            .collect())
    }
    fn describe(&self) -> String {
        "<memory store>".into()
    }
}

/// A store in a local directory: one file per key. Writes go to a temporary file in the same
/// directory and are renamed into place, so a reader never sees a half-written value; each is
/// synced to disk before its rename, except in a store being built inside a
/// [`TempDir`](crate::io::TempDir) ([`DirStore::staging`]), which its commit syncs once.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    writable: bool,
    /// Sync each value before renaming it into place (not in a staging store).
    sync_each: bool,
}

impl DirStore {
    /// Open an existing directory for reading and writing.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if !root.is_dir() {
            return Err(Error::io(
                root.display().to_string(),
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            ));
        }
        Ok(DirStore {
            root,
            writable: true,
            sync_each: true,
        })
    }

    /// A store written into `dir`, a directory being built under a temporary name. Values are
    /// still written under a temporary name and renamed (a reader never sees half a value) but
    /// not synced one by one: nobody sees the store before [`TempDir::commit`] renames it into
    /// place, and the commit first syncs every file and directory of the tree, so the finished
    /// store is as durable as with a sync per value, for one pass instead of a blocking sync in
    /// the writer's path per chunk.
    ///
    /// [`TempDir::commit`]: crate::io::TempDir::commit
    ///
    /// # Errors
    /// [`Error::Io`] when the directory is gone.
    pub fn staging(dir: &crate::io::TempDir) -> Result<Self> {
        let mut s = Self::open(dir.path())?;
        s.sync_each = false;
        Ok(s)
    }

    /// Open an existing directory read-only.
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Self> {
        let mut s = Self::open(root)?;
        s.writable = false;
        Ok(s)
    }

    /// Create the directory (and parents) if needed and open it for writing.
    pub fn create(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        std::fs::create_dir_all(root).map_err(|e| Error::io(root.display().to_string(), e))?;
        Self::open(root)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// The value of `key` as a positional byte source, `None` when absent.
    fn open_source(&self, key: &str) -> Result<Option<crate::source::FileSource>> {
        let p = self.path_of(key)?;
        match crate::source::FileSource::open(&p) {
            Ok(s) => Ok(Some(s)),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The file of `key` opened for reading, its length and its path; `None` when there is no
    /// such file (absent, or a directory).
    fn open_value(&self, key: &str) -> Result<Option<(std::fs::File, u64, PathBuf)>> {
        let p = self.path_of(key)?;
        let io = |e: std::io::Error| Error::io(p.display().to_string(), e);
        let f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let meta = f.metadata().map_err(io)?;
        if meta.is_dir() {
            return Ok(None);
        }
        Ok(Some((f, meta.len(), p)))
    }

    fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::ReadOnly(self.root.clone()))
        }
    }
}

impl Store for DirStore {
    fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let p = self.path_of(key)?;
        match std::fs::read(&p) {
            Ok(v) => Ok(Some(Bytes::from(v))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if p.is_dir() => {
                let _ = e;
                Ok(None)
            }
            Err(e) => Err(Error::io(p.display().to_string(), e)),
        }
    }

    fn get_reusing(&self, key: &str, buf: &mut Vec<u8>) -> Result<Option<Fetched>> {
        use std::io::Read;
        let Some((mut f, len, p)) = self.open_value(key)? else {
            return Ok(None);
        };
        let io = |e: std::io::Error| Error::io(p.display().to_string(), e);
        if len >= MAP_VALUE_MIN {
            return Ok(Some(Fetched::Shared(
                crate::source::map_file(&f)
                    .map_err(|e| Error::io(format!("mmap {}", p.display()), e))?,
            )));
        }
        buf.clear();
        // the file's length as the size hint (read_to_end still reads to the end, should the
        // file have grown); no zeroing of the reused capacity
        buf.try_reserve(usize::try_from(len).unwrap_or(usize::MAX))
            .map_err(|_| io(std::io::Error::from(std::io::ErrorKind::OutOfMemory)))?;
        f.read_to_end(buf).map_err(io)?;
        Ok(Some(Fetched::InBuffer))
    }

    fn get_sized_into(&self, key: &str, out: &mut [u8]) -> Result<Option<u64>> {
        use std::io::Read;
        let Some((mut f, len, p)) = self.open_value(key)? else {
            return Ok(None);
        };
        let io = |e: std::io::Error| Error::io(p.display().to_string(), e);
        if len == out.len() as u64 {
            f.read_exact(out).map_err(io)?;
        }
        Ok(Some(len))
    }

    fn get_source(&self, key: &str) -> Result<Option<Box<dyn ByteSource>>> {
        Ok(self
            .open_value(key)?
            .map(|(f, len, p)| Box::new(FileSource::from_file(f, len, p)) as Box<dyn ByteSource>))
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Option<Bytes>> {
        let Some(src) = self.open_source(key)? else {
            return Ok(None);
        };
        Ok(Some(src.read_range(range)?))
    }

    fn get_suffix(&self, key: &str, len: u64) -> Result<Option<Bytes>> {
        let Some(src) = self.open_source(key)? else {
            return Ok(None);
        };
        let size = src.len();
        if len > size {
            return Err(Error::OutOfBounds {
                offset: 0,
                len,
                size,
            });
        }
        Ok(Some(src.read_range(size - len..size)?))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.check_writable()?;
        let p = self.path_of(key)?;
        write_renamed(&p, value, self.sync_each)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.check_writable()?;
        let p = self.path_of(key)?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(p.display().to_string(), e)),
        }
    }

    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let p = prefix.trim_start_matches('/');
        // Walk from the deepest directory the prefix names.
        let dir_part = match p.rfind('/') {
            Some(i) => &p[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir_part)
        };
        let mut out = Vec::new();
        let mut stack = vec![(start, dir_part.to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(Error::io(dir.display().to_string(), e)),
            };
            for ent in rd {
                let ent = ent.map_err(|e| Error::io(dir.display().to_string(), e))?;
                let name = match ent.file_name().into_string() {
                    Ok(n) => n,
                    Err(_) => continue,
                };
                if crate::io::is_temp_name(&name) {
                    continue;
                }
                let key = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                let ft = ent
                    .file_type()
                    .map_err(|e| Error::io(ent.path().display().to_string(), e))?;
                if ft.is_dir() {
                    if key.starts_with(p) || p.starts_with(&format!("{key}/")) {
                        stack.push((ent.path(), key));
                    }
                } else if ft.is_file() && key.starts_with(p) {
                    out.push(key);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn is_writable(&self) -> bool {
        self.writable
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// Write a file atomically: a temporary file beside it ([`crate::io::TempFile`]), synced, then
/// renamed over it. Parent directories are created.
pub fn write_atomic(path: &Path, value: &[u8]) -> Result<()> {
    write_renamed(path, value, true)
}

/// [`write_atomic`], syncing the data before the rename only with `sync` (a file inside a
/// [`TempDir`](crate::io::TempDir), which its commit syncs, need not).
fn write_renamed(path: &Path, value: &[u8], sync: bool) -> Result<()> {
    crate::io::wait_for_cleanup();
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    let mut t = crate::io::TempFile::create(path)?;
    t.file_mut()
        .write_all(value)
        .map_err(|e| Error::io(t.path().display().to_string(), e))?;
    if sync {
        t.persist()
    } else {
        t.persist_unsynced()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "./a",
            "a\\b",
            "C:/x",
            "a/",
            "a/.",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            ".zarray",
            "0.0.1",
            "a/b/.zattrs",
            "c/0/1",
            "..a",
            "a..b",
        ] {
            validate_key(good).unwrap();
        }
    }

    fn exercise(s: &dyn Store) {
        assert_eq!(s.get("x").unwrap(), None);
        s.set("x", b"hello").unwrap();
        s.set("g/a/.zarray", b"{}").unwrap();
        s.set("g/a/0.0", b"c").unwrap();
        s.set("g/b/.zarray", b"{}").unwrap();
        s.set("g/.zgroup", b"{}").unwrap();
        assert_eq!(&s.get("x").unwrap().unwrap()[..], b"hello");
        assert_eq!(&s.get_range("x", 1..3).unwrap().unwrap()[..], b"el");
        assert!(s.get_range("x", 3..9).is_err());
        assert_eq!(&s.get_suffix("x", 2).unwrap().unwrap()[..], b"lo");
        assert_eq!(&s.get_suffix("x", 0).unwrap().unwrap()[..], b"");
        assert!(s.get_suffix("x", 6).is_err());
        assert_eq!(s.get_suffix("nothing", 2).unwrap(), None);
        // get_reusing gives the value, in the buffer (its old contents replaced) or shared;
        // absent keys and prefixes leave the buffer alone
        let mut buf = b"old contents, longer".to_vec();
        let got = s.get_reusing("x", &mut buf).unwrap().unwrap();
        assert_eq!(got.bytes(&buf), b"hello");
        if matches!(got, Fetched::InBuffer) {
            assert_eq!(buf, b"hello");
        }
        let before = buf.clone();
        // get_sized_into fills `out` only with a value of exactly its length
        let mut out = [7u8; 5];
        assert_eq!(s.get_sized_into("x", &mut out).unwrap(), Some(5));
        assert_eq!(&out, b"hello");
        let mut out = [7u8; 4];
        assert_eq!(s.get_sized_into("x", &mut out).unwrap(), Some(5));
        assert_eq!(out, [7u8; 4]);
        let mut out = [7u8; 6];
        assert_eq!(s.get_sized_into("x", &mut out).unwrap(), Some(5));
        assert_eq!(out, [7u8; 6]);
        assert_eq!(s.get_sized_into("nothing", &mut out).unwrap(), None);
        assert_eq!(s.get_sized_into("g/a", &mut out).unwrap(), None);
        assert!(s.get_sized_into("../x", &mut out).is_err());
        assert!(s.get_reusing("nothing", &mut buf).unwrap().is_none());
        assert!(s.get_reusing("g/a", &mut buf).unwrap().is_none());
        assert_eq!(buf, before);
        let got = s.get_reusing("g/a/0.0", &mut buf).unwrap().unwrap();
        assert_eq!(got.bytes(&buf), b"c");
        assert!(s.get_reusing("../x", &mut buf).is_err());
        assert_eq!(
            s.list_prefix("g/a/").unwrap(),
            vec!["g/a/.zarray".to_string(), "g/a/0.0".to_string()]
        );
        assert_eq!(s.list_prefix("").unwrap().len(), 5);
        let (keys, dirs) = s.list_dir("g").unwrap();
        assert_eq!(keys, vec!["g/.zgroup".to_string()]);
        assert_eq!(dirs, vec!["g/a/".to_string(), "g/b/".to_string()]);
        s.delete("x").unwrap();
        s.delete("x").unwrap();
        assert_eq!(s.get("x").unwrap(), None);
        assert!(s.get("../x").is_err());
        assert!(s.set("/tmp/evil", b"").is_err());
        assert!(s.list_prefix("../").is_err());
    }

    #[test]
    fn mem_store() {
        exercise(&MemStore::new());
    }

    #[test]
    fn dir_store() {
        let d = tempfile::tempdir().unwrap();
        let s = DirStore::create(d.path().join("root")).unwrap();
        exercise(&s);
        // nothing written outside the root, no temp files left behind
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        let ro = DirStore::open_read_only(s.root()).unwrap();
        assert!(matches!(ro.set("y", b"1"), Err(Error::ReadOnly(_))));
    }

    #[test]
    fn dir_store_reads_small_values_into_the_buffer_and_maps_large_ones() {
        let d = tempfile::tempdir().unwrap();
        let s = DirStore::create(d.path()).unwrap();
        let small = vec![5u8; (MAP_VALUE_MIN - 1) as usize];
        let big: Vec<u8> = (0..MAP_VALUE_MIN + 3).map(|i| (i % 251) as u8).collect();
        s.set("small", &small).unwrap();
        s.set("big", &big).unwrap();
        let mut buf = b"old".to_vec();
        let got = s.get_reusing("small", &mut buf).unwrap().unwrap();
        assert!(matches!(got, Fetched::InBuffer));
        assert_eq!(buf, small);
        let got = s.get_reusing("big", &mut buf).unwrap().unwrap();
        assert!(matches!(got, Fetched::Shared(_)));
        assert_eq!(got.bytes(&buf), &big[..]);
        assert_eq!(buf, small, "a mapped value leaves the buffer alone");
    }
}
