//! A read-only store over a zip file (`.zarr.zip`, as zarr-python's `ZipStore` writes it:
//! entries stored or deflated, ZIP64 when large). Values are read straight from the byte source
//! (memory-mapped for local files): a stored entry costs no copy.

use bytes::Bytes;
use nd_core::{validate_key, ByteSource, Error, Result, Store};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Offset of the local file header.
    header: u64,
    compressed: u64,
    uncompressed: u64,
    method: u16,
}

/// A read-only zip store.
#[derive(Debug)]
pub struct ZipStore {
    src: Arc<dyn ByteSource>,
    entries: BTreeMap<String, Entry>,
    name: String,
}

fn bad(what: impl Into<String>) -> Error {
    Error::Unsupported(format!("zip: {}", what.into()))
}

fn u16_at(b: &[u8], i: usize) -> Result<u16> {
    b.get(i..i + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]])) // ok: slice of length 2
        .ok_or_else(|| bad(format!("truncated record at byte {i}")))
}

fn u32_at(b: &[u8], i: usize) -> Result<u32> {
    b.get(i..i + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])) // ok: slice of length 4
        .ok_or_else(|| bad(format!("truncated record at byte {i}")))
}

fn u64_at(b: &[u8], i: usize) -> Result<u64> {
    b.get(i..i + 8)
        .map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
        .ok_or_else(|| bad(format!("truncated record at byte {i}")))
}

/// Largest central directory accepted (256 MiB: several million entries).
const MAX_CD: u64 = 256 << 20;

impl ZipStore {
    /// Open a local zip file (memory-mapped when possible).
    pub fn open(path: impl AsRef<Path>) -> Result<ZipStore> {
        let p = path.as_ref();
        let src = nd_core::open_local(p)?;
        Self::from_source(src, p.display().to_string())
    }

    /// Read the central directory of a zip held by a byte source.
    pub fn from_source(src: Arc<dyn ByteSource>, name: String) -> Result<ZipStore> {
        let len = src.len();
        let tail_len = len.min(22 + 65535);
        let tail = src.read_range(len - tail_len..len)?;
        let eocd = (0..tail.len().saturating_sub(21))
            .rev()
            .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
            .ok_or_else(|| bad("no end of central directory record"))?;
        let tail_start = len - tail_len;
        let mut count = u64::from(u16_at(&tail, eocd + 10)?);
        let mut cd_size = u64::from(u32_at(&tail, eocd + 12)?);
        let mut cd_off = u64::from(u32_at(&tail, eocd + 16)?);
        if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF {
            // ZIP64: the locator sits just before the end record
            let loc = eocd
                .checked_sub(20)
                .filter(|&l| tail[l..].starts_with(b"PK\x06\x07"))
                .ok_or_else(|| bad("ZIP64 locator missing"))?;
            let z64 = u64_at(&tail, loc + 8)?;
            if z64.checked_add(56).is_none_or(|e| e > len) {
                return Err(bad("ZIP64 record out of range"));
            }
            let rec = src.read_range(z64..z64 + 56)?;
            if !rec.starts_with(b"PK\x06\x06") {
                return Err(bad("bad ZIP64 end record"));
            }
            count = u64_at(&rec, 32)?;
            cd_size = u64_at(&rec, 40)?;
            cd_off = u64_at(&rec, 48)?;
        }
        let _ = tail_start;
        if cd_size > MAX_CD || cd_off.checked_add(cd_size).is_none_or(|e| e > len) {
            return Err(bad("central directory out of range"));
        }
        let cd = src.read_range(cd_off..cd_off + cd_size)?;
        let mut entries = BTreeMap::new();
        let mut i = 0usize;
        for _ in 0..count {
            if !cd.get(i..).is_some_and(|r| r.starts_with(b"PK\x01\x02")) {
                return Err(bad(format!(
                    "bad central directory entry at {}",
                    cd_off + i as u64
                )));
            }
            let method = u16_at(&cd, i + 10)?;
            let mut compressed = u64::from(u32_at(&cd, i + 20)?);
            let mut uncompressed = u64::from(u32_at(&cd, i + 24)?);
            let nlen = usize::from(u16_at(&cd, i + 28)?);
            let elen = usize::from(u16_at(&cd, i + 30)?);
            let clen = usize::from(u16_at(&cd, i + 32)?);
            let mut header = u64::from(u32_at(&cd, i + 42)?);
            let name_bytes = cd
                .get(i + 46..i + 46 + nlen)
                .ok_or_else(|| bad("truncated entry name"))?;
            let extra = cd
                .get(i + 46 + nlen..i + 46 + nlen + elen)
                .ok_or_else(|| bad("truncated extra field"))?;
            // ZIP64 extra field: the 0xFFFFFFFF fields, in order
            let mut e = 0;
            while e + 4 <= extra.len() {
                let id = u16_at(extra, e)?;
                let sz = usize::from(u16_at(extra, e + 2)?);
                if id == 1 {
                    let mut k = e + 4;
                    for field in [&mut uncompressed, &mut compressed, &mut header] {
                        if *field == 0xFFFF_FFFF {
                            *field = u64_at(extra, k)?;
                            k += 8;
                        }
                    }
                }
                e += 4 + sz;
            }
            i += 46 + nlen + elen + clen;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            if name.ends_with('/') {
                continue; // a directory entry
            }
            validate_key(&name)?;
            entries.insert(
                name,
                Entry {
                    header,
                    compressed,
                    uncompressed,
                    method,
                },
            );
        }
        Ok(ZipStore { src, entries, name })
    }

    /// The declared uncompressed size of member `key` (from the central directory), to check
    /// against a limit before [`Store::get`] inflates it.
    pub fn uncompressed_len(&self, key: &str) -> Option<u64> {
        self.entries.get(key).map(|e| e.uncompressed)
    }

    fn data_range(&self, key: &str, e: &Entry) -> Result<std::ops::Range<u64>> {
        let len = self.src.len();
        if e.header.checked_add(30).is_none_or(|x| x > len) {
            return Err(bad(format!("{key}: local header out of range")));
        }
        let h = self.src.read_range(e.header..e.header + 30)?;
        if !h.starts_with(b"PK\x03\x04") {
            return Err(bad(format!("{key}: bad local header")));
        }
        let start = e.header + 30 + u64::from(u16_at(&h, 26)?) + u64::from(u16_at(&h, 28)?);
        let end = start
            .checked_add(e.compressed)
            .filter(|&x| x <= len)
            .ok_or_else(|| bad(format!("{key}: data out of range")))?;
        Ok(start..end)
    }
}

impl Store for ZipStore {
    fn get(&self, key: &str) -> Result<Option<Bytes>> {
        validate_key(key)?;
        let Some(e) = self.entries.get(key) else {
            return Ok(None);
        };
        let range = self.data_range(key, e)?;
        let raw = self.src.read_range(range)?;
        match e.method {
            0 if raw.len() as u64 == e.uncompressed => Ok(Some(raw)),
            0 => Err(bad(format!(
                "{key}: stored size differs from its declared size"
            ))),
            8 => {
                // deflate expands at most ~1032:1: do not trust a larger declared size
                let limit = e
                    .uncompressed
                    .min((raw.len() as u64).saturating_mul(1032) + 1024);
                let mut out = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
                flate2::read::DeflateDecoder::new(&raw[..])
                    .take(limit + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| Error::io(format!("zip {key}"), e))?;
                if out.len() as u64 != e.uncompressed {
                    return Err(bad(format!(
                        "{key}: inflated size differs from its declared size"
                    )));
                }
                Ok(Some(Bytes::from(out)))
            }
            m => Err(bad(format!("{key}: compression method {m}"))),
        }
    }

    fn set(&self, _key: &str, _value: &[u8]) -> Result<()> {
        Err(Error::ReadOnly(self.name.clone().into()))
    }

    fn delete(&self, _key: &str) -> Result<()> {
        Err(Error::ReadOnly(self.name.clone().into()))
    }

    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let p = prefix.trim_start_matches('/');
        Ok(self
            .entries
            .range(p.to_string()..)
            .take_while(|(k, _)| k.starts_with(p))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn is_writable(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
