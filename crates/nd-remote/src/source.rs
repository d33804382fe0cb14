//! [`RemoteSource`]: a `ByteSource` over one remote object, with a block cache, sequential
//! read-ahead, coalesced batched reads, and a pinned object identity.

use crate::backend::{block_on, Pin, Remote};
use crate::error::{Error, Result};
use crate::multirange::{range_header_len, MultiOutcome, MAX_RANGE_HEADER};
use crate::options::RemoteOptions;
use crate::stats::Stats;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use nd_core::io::coalesce;
use nd_core::ByteSource;
use object_store::path::Path;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A random-access view of one remote object (HTTP URL or object in a bucket).
///
/// - The length, ETag and modification time are taken from the first response (a ranged GET
///   of the first block, which also fills the cache: opening a FITS or ASDF file costs one
///   request). Every later response is checked against them (`If-Match` is sent too): an
///   object that changes while it is read is [`Error::Changed`], never mixed data.
/// - Reads shorter than the block size go through an LRU block cache; a run of misses that
///   continues the previous one doubles the read-ahead (up to `max_readahead_blocks`), so a
///   sequential header walk costs O(log n) requests.
/// - Longer reads fetch exactly their bytes, split into `part_size` parts fetched concurrently.
/// - `read_ranges` over HTTP(S) merges ranges closer than `multi_range_gap` and sends them as
///   multi-range requests (up to `max_ranges_per_request` ranges each, concurrently); a server
///   that refuses them is detected on the first answer, and then, as on S3, GCS and Azure,
///   ranges closer than `coalesce_gap` are merged and the merged ranges fetched concurrently (at
///   most `max_in_flight` at a time). What it fetched is kept (up to half the
///   cache size), so a caller can prefetch the byte runs of a region in one batch and then let
///   the format read them one by one for free.
pub struct RemoteSource {
    remote: Arc<Remote>,
    path: Path,
    url: String,
    pin: Pin,
    block: u64,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSource")
            .field("url", &self.url)
            .field("len", &self.pin.size)
            .field("block", &self.block)
            .finish()
    }
}

#[derive(Default)]
struct Cache {
    blocks: HashMap<u64, (Bytes, u64)>,
    tick: u64,
    used: u64,
    /// The block after the last fetched run (sequential-read detection).
    next_seq: u64,
    /// Current read-ahead, in blocks.
    readahead: u64,
    /// Byte ranges fetched by `read_ranges`, kept so that the reads which follow a batch
    /// (the format's own row-by-row reads after a caller prefetched the runs) cost nothing.
    extents: std::collections::VecDeque<(Range<u64>, Bytes)>,
    extent_bytes: u64,
}

/// Most extents kept (each lookup scans them).
const MAX_EXTENTS: usize = 4096;

impl Cache {
    fn extent(&self, r: &Range<u64>) -> Option<Bytes> {
        self.extents.iter().rev().find_map(|(e, b)| {
            (e.start <= r.start && r.end <= e.end)
                .then(|| b.slice((r.start - e.start) as usize..(r.end - e.start) as usize))
        })
    }

    fn add_extent(&mut self, r: Range<u64>, b: Bytes, cap: u64) {
        if b.len() as u64 > cap {
            return;
        }
        self.extent_bytes += b.len() as u64;
        self.extents.push_back((r, b));
        while self.extent_bytes > cap || self.extents.len() > MAX_EXTENTS {
            match self.extents.pop_front() {
                Some((_, old)) => self.extent_bytes -= old.len() as u64,
                None => break,
            }
        }
    }
}

impl RemoteSource {
    /// Open the object at `url`: one ranged GET of the first block (or a HEAD for an empty
    /// object).
    pub fn open(url: &str, opts: &RemoteOptions) -> Result<RemoteSource> {
        let remote = Arc::new(Remote::open(url, opts)?);
        let path = remote.path.clone();
        if path.as_ref().is_empty() {
            return Err(Error::Url {
                url: remote.url.clone(),
                reason: "no object path".into(),
            });
        }
        let block = opts.block_size;
        let r = remote.clone();
        let p = path.clone();
        let first = block_on(async move {
            match r.get(&p, Some(0..block), None).await {
                Ok((bytes, meta)) => Ok((Some(bytes), meta)),
                // An empty object cannot answer a range request (416): ask its size.
                Err(e @ Error::Request { .. }) => match r.head(&p).await {
                    Ok(meta) if meta.size == 0 => Ok((None, meta)),
                    _ => Err(e),
                },
                Err(e) => Err(e),
            }
        })??;
        let (bytes, meta) = first;
        let pin = Pin::from_meta(&meta);
        let url = remote.url_of(&path);
        let mut cache = Cache {
            readahead: 1,
            next_seq: 1,
            ..Default::default()
        };
        if let Some(b) = bytes {
            cache.used = b.len() as u64;
            cache.blocks.insert(0, (b, 0));
        }
        Ok(RemoteSource {
            remote,
            path,
            url,
            pin,
            block,
            cache: Mutex::new(cache),
        })
    }

    /// The counters this source reports to.
    pub fn stats(&self) -> &Stats {
        &self.remote.opts.stats
    }

    /// The object's ETag at open time, when the server sent one.
    pub fn e_tag(&self) -> Option<&str> {
        self.pin.e_tag.as_deref()
    }

    /// The object's version at open time (versioned buckets).
    pub fn version(&self) -> Option<&str> {
        self.pin.version.as_deref()
    }

    /// Whether batched reads use HTTP multi-range requests: `Ok(())` while they do (HTTP(S)
    /// with `multi_range` on, and the server has not refused one), else why not.
    pub fn multi_range_status(&self) -> std::result::Result<(), String> {
        if self.remote.multi_range() {
            return Ok(());
        }
        if let Some(n) = self
            .remote
            .multi_range_note
            .lock()
            .ok()
            .and_then(|n| n.clone())
        {
            return Err(n);
        }
        Err(if self.remote.is_http {
            "multi-range requests are off (RemoteOptions::multi_range)".into()
        } else {
            "not an HTTP(S) source: the object store API has no multi-range read".into()
        })
    }

    /// The URL (without user info or query).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drop every cached block.
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.blocks.clear();
            c.used = 0;
        }
    }

    /// Fetch `ranges` (absolute, already checked) concurrently, in order.
    fn fetch(&self, ranges: Vec<Range<u64>>) -> Result<Vec<Bytes>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let remote = self.remote.clone();
        let path = self.path.clone();
        let pin = self.pin.clone();
        let n = self.remote.opts.max_in_flight;
        block_on(async move {
            let (remote, path, pin) = (&remote, &path, &pin);
            futures::stream::iter(ranges)
                .map(|r| async move { remote.get(path, Some(r), Some(pin)).await.map(|x| x.0) })
                .buffered(n)
                .try_collect::<Vec<Bytes>>()
                .await
        })?
    }

    /// Split `r` into parts of at most `part_size`.
    fn parts(&self, r: Range<u64>) -> Vec<Range<u64>> {
        let part = self.remote.opts.part_size.max(1);
        let mut v = Vec::new();
        let mut s = r.start;
        while s < r.end {
            let e = (s + part).min(r.end);
            v.push(s..e);
            s = e;
        }
        v
    }

    fn check(&self, r: &Range<u64>) -> Result<()> {
        if r.start > r.end || r.end > self.pin.size {
            return Err(Error::OutOfBounds {
                url: self.url.clone(),
                range: r.clone(),
                size: self.pin.size,
            });
        }
        Ok(())
    }

    fn block_range(&self, b: u64) -> Range<u64> {
        let s = b * self.block;
        s..(s + self.block).min(self.pin.size)
    }

    /// Cached blocks covering `r`, or `None` when one is missing (touches them in the LRU).
    fn cached(&self, c: &mut Cache, r: &Range<u64>) -> Option<Vec<Bytes>> {
        let (b0, b1) = (r.start / self.block, (r.end - 1) / self.block);
        let mut v = Vec::with_capacity((b1 - b0 + 1) as usize);
        c.tick += 1;
        let tick = c.tick;
        for b in b0..=b1 {
            let e = c.blocks.get_mut(&b)?;
            e.1 = tick;
            v.push(e.0.clone());
        }
        Some(v)
    }

    /// The bytes of `r` from whole blocks starting at block `r.start / block`.
    fn assemble(&self, r: &Range<u64>, blocks: &[Bytes]) -> Bytes {
        let first = (r.start / self.block) * self.block;
        let lo = (r.start - first) as usize;
        let len = (r.end - r.start) as usize;
        if let [one] = blocks {
            return one.slice(lo..lo + len);
        }
        let mut out = BytesMut::with_capacity(len);
        let mut skip = lo;
        for b in blocks {
            if out.len() == len {
                break;
            }
            let take = (b.len() - skip).min(len - out.len());
            out.extend_from_slice(&b[skip..skip + take]);
            skip = 0;
        }
        out.freeze()
    }

    /// A read shorter than a block: through the cache, with read-ahead.
    fn read_small(&self, r: Range<u64>) -> Result<Bytes> {
        let (b0, b1) = (r.start / self.block, (r.end - 1) / self.block);
        let nblocks = self.pin.size.div_ceil(self.block);
        let runs: Vec<Range<u64>> = {
            let mut c = self.cache.lock().map_err(|_| poisoned())?;
            if let Some(bl) = self.cached(&mut c, &r) {
                return Ok(self.assemble(&r, &bl));
            }
            let missing: Vec<u64> = (b0..=b1).filter(|b| !c.blocks.contains_key(b)).collect();
            // Runs of consecutive missing blocks.
            let mut runs: Vec<Range<u64>> = Vec::new();
            for b in missing {
                match runs.last_mut() {
                    Some(last) if last.end == b => last.end = b + 1,
                    _ => runs.push(b..b + 1),
                }
            }
            // Sequential read-ahead: a miss continuing the last fetched run doubles it.
            let max_ra = self.remote.opts.max_readahead_blocks.max(1);
            c.readahead = if runs.first().is_some_and(|f| f.start == c.next_seq) {
                (c.readahead * 2).min(max_ra)
            } else {
                1
            };
            if let Some(last) = runs.last_mut() {
                let want = last.start + c.readahead.max(last.end - last.start);
                while last.end < want.min(nblocks) && !c.blocks.contains_key(&last.end) {
                    last.end += 1;
                }
                c.next_seq = last.end;
            }
            runs
        };
        let byte_runs: Vec<Range<u64>> = runs
            .iter()
            .map(|b| b.start * self.block..(b.end * self.block).min(self.pin.size))
            .collect();
        let fetched = self.fetch(byte_runs)?;
        let mut c = self.cache.lock().map_err(|_| poisoned())?;
        c.tick += 1;
        let tick = c.tick;
        for (run, data) in runs.iter().zip(fetched) {
            for b in run.clone() {
                let br = self.block_range(b);
                let lo = ((b - run.start) * self.block) as usize;
                let piece = data.slice(lo..lo + (br.end - br.start) as usize);
                c.used += piece.len() as u64;
                if let Some((old, _)) = c.blocks.insert(b, (piece, tick)) {
                    c.used -= old.len() as u64;
                }
            }
        }
        // The blocks of this read, before eviction can touch them.
        let mine: Vec<Bytes> = (b0..=b1)
            .filter_map(|b| c.blocks.get(&b).map(|e| e.0.clone()))
            .collect();
        self.evict(&mut c);
        drop(c);
        if mine.len() as u64 != b1 - b0 + 1 {
            return Err(Error::Runtime("block cache lost a block".into()));
        }
        Ok(self.assemble(&r, &mine))
    }

    fn evict(&self, c: &mut Cache) {
        let cap = self.remote.opts.cache_size;
        while c.used > cap && c.blocks.len() > 1 {
            let Some((&oldest, _)) = c.blocks.iter().min_by_key(|(_, e)| e.1) else {
                break;
            };
            if let Some((b, _)) = c.blocks.remove(&oldest) {
                c.used -= b.len() as u64;
            }
        }
    }

    /// A read of a block or more: exactly its bytes, in concurrent parts.
    fn read_large(&self, r: Range<u64>) -> Result<Bytes> {
        let parts = self.parts(r.clone());
        let mut got = self.fetch(parts)?;
        if got.len() == 1 {
            return Ok(got.remove(0));
        }
        let mut out = BytesMut::with_capacity((r.end - r.start) as usize);
        for g in got {
            out.extend_from_slice(&g);
        }
        Ok(out.freeze())
    }

    /// Read `r` (checked, non-empty) by the rules above.
    fn read(&self, r: Range<u64>) -> Result<Bytes> {
        if let Some(b) = self.cache.lock().map_err(|_| poisoned())?.extent(&r) {
            return Ok(b);
        }
        if r.end - r.start < self.block {
            self.read_small(r)
        } else {
            self.read_large(r)
        }
    }

    /// The bytes of each of `merged` (sorted, disjoint): split into `part_size` parts, fetched
    /// concurrently, with multi-range requests when `multi`. Parts a multi-range answer did not
    /// cover (or all of them, when the server refused) are fetched the ordinary way, coalesced
    /// with `coalesce_gap`.
    fn fetch_merged(&self, merged: &[Range<u64>], multi: bool) -> Result<Vec<Bytes>> {
        // Each merged range, in parts; remember which parts make which merged range.
        let mut parts = Vec::new();
        let mut spans = Vec::with_capacity(merged.len());
        for m in merged {
            let p = self.parts(m.clone());
            spans.push(parts.len()..parts.len() + p.len());
            parts.extend(p);
        }
        let mut fetched: Vec<Bytes> = if multi && parts.len() > 1 {
            let got = self.fetch_multi(&parts)?;
            let missing: Vec<Range<u64>> = parts
                .iter()
                .zip(&got)
                .filter(|(_, g)| g.is_none())
                .map(|(p, _)| p.clone())
                .collect();
            let (again_ranges, again) = if missing.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                let m2 = coalesce(
                    missing,
                    self.remote.opts.coalesce_gap,
                    self.remote.opts.part_size,
                );
                let d2 = self.fetch_merged(&m2, false)?;
                (m2, d2)
            };
            let mut v = Vec::with_capacity(parts.len());
            for (p, g) in parts.iter().zip(got) {
                v.push(match g {
                    Some(b) => b,
                    None => slice_from(&again_ranges, &again, p)?,
                });
            }
            v
        } else {
            self.fetch(parts)?
        };
        let mut data: Vec<Bytes> = Vec::with_capacity(merged.len());
        for s in spans {
            if s.len() == 1 {
                data.push(std::mem::take(&mut fetched[s.start]));
            } else {
                let mut b = BytesMut::new();
                for f in &fetched[s] {
                    b.extend_from_slice(f);
                }
                data.push(b.freeze());
            }
        }
        Ok(data)
    }

    /// Fetch `ranges` (sorted, disjoint) with multi-range requests: packed into groups (at most
    /// `max_ranges_per_request` ranges, a `Range` header under 7,000 bytes, at most `part_size`
    /// bytes), groups fetched concurrently. `None` for a range no answer covered, or for every
    /// range of a group the server refused (then the source stops sending multi-range
    /// requests). While the server's support is unknown, the first group goes alone.
    fn fetch_multi(&self, ranges: &[Range<u64>]) -> Result<Vec<Option<Bytes>>> {
        let opts = &self.remote.opts;
        let mut groups: Vec<Range<usize>> = Vec::new();
        let (mut start, mut hlen, mut bytes) = (0usize, 0usize, 0u64);
        for (i, r) in ranges.iter().enumerate() {
            let l = range_header_len(r);
            let b = r.end - r.start;
            if i > start
                && (i - start >= opts.max_ranges_per_request
                    || hlen + l > MAX_RANGE_HEADER
                    || bytes + b > opts.part_size)
            {
                groups.push(start..i);
                (start, hlen, bytes) = (i, 0, 0);
            }
            hlen += l;
            bytes += b;
        }
        if start < ranges.len() {
            groups.push(start..ranges.len());
        }
        let remote = self.remote.clone();
        let path = self.path.clone();
        let pin = self.pin.clone();
        let n = opts.max_in_flight;
        let one = |g: Range<usize>| {
            let (remote, path, pin) = (&remote, &path, &pin);
            let rs = &ranges[g];
            async move {
                if rs.len() == 1 {
                    let b = remote.get(path, Some(rs[0].clone()), Some(pin)).await?.0;
                    return Ok::<_, Error>(vec![Some(b)]);
                }
                if !remote.multi_range() {
                    return Ok(vec![None; rs.len()]);
                }
                match remote.get_multi(rs, pin).await? {
                    MultiOutcome::Parts(p) => {
                        remote.multi_range_works();
                        Ok(p)
                    }
                    MultiOutcome::Unsupported(why) => {
                        remote.multi_range_refused(why);
                        Ok(vec![None; rs.len()])
                    }
                }
            }
        };
        block_on(async {
            let mut groups = groups.into_iter();
            let mut out: Vec<Option<Bytes>> = Vec::with_capacity(ranges.len());
            if !self.remote.multi_range_known() {
                if let Some(g) = groups.next() {
                    out.extend(one(g).await?);
                }
            }
            let rest: Vec<Vec<Option<Bytes>>> = futures::stream::iter(groups)
                .map(one)
                .buffered(n)
                .try_collect()
                .await?;
            out.extend(rest.into_iter().flatten());
            Ok(out)
        })?
    }

    /// Batched read: cached ranges from the cache, the rest coalesced and fetched concurrently.
    fn read_many(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        for r in ranges {
            self.check(r)?;
        }
        let mut out: Vec<Option<Bytes>> = vec![None; ranges.len()];
        let mut todo: Vec<(usize, Range<u64>)> = Vec::new();
        {
            let mut c = self.cache.lock().map_err(|_| poisoned())?;
            for (i, r) in ranges.iter().enumerate() {
                if r.start == r.end {
                    out[i] = Some(Bytes::new());
                } else if let Some(b) = c.extent(r) {
                    out[i] = Some(b);
                } else if let Some(bl) = self.cached(&mut c, r) {
                    out[i] = Some(self.assemble(r, &bl));
                } else {
                    todo.push((i, r.clone()));
                }
            }
        }
        if !todo.is_empty() {
            let opts = &self.remote.opts;
            let multi = self.remote.multi_range();
            let gap = if multi {
                opts.coalesce_gap.min(opts.multi_range_gap)
            } else {
                opts.coalesce_gap
            };
            let merged = coalesce(
                todo.iter().map(|(_, r)| r.clone()).collect(),
                gap,
                opts.part_size,
            );
            let data = self.fetch_merged(&merged, multi)?;
            {
                // Keep what was fetched (up to half the cache size) for the reads that follow.
                let mut c = self.cache.lock().map_err(|_| poisoned())?;
                let cap = self.remote.opts.cache_size / 2;
                for (m, d) in merged.iter().zip(&data) {
                    c.add_extent(m.clone(), d.clone(), cap);
                }
            }
            for (i, r) in todo {
                out[i] = Some(slice_from(&merged, &data, &r)?);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

fn poisoned() -> Error {
    Error::Runtime("block cache lock poisoned".into())
}

/// The bytes of `r` out of the fetched `merged` ranges (sorted, disjoint) and their `data`.
fn slice_from(merged: &[Range<u64>], data: &[Bytes], r: &Range<u64>) -> Result<Bytes> {
    // the merged range holding r: the last one starting at or before r.start
    let k = merged
        .partition_point(|m| m.start <= r.start)
        .saturating_sub(1);
    match (merged.get(k), data.get(k)) {
        (Some(m), Some(d)) if m.start <= r.start && r.end <= m.end => {
            Ok(d.slice((r.start - m.start) as usize..(r.end - m.start) as usize))
        }
        _ => Err(Error::Runtime(format!(
            "internal: bytes {}..{} not in the fetched ranges",
            r.start, r.end
        ))),
    }
}

impl ByteSource for RemoteSource {
    fn len(&self) -> u64 {
        self.pin.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> nd_core::Result<()> {
        let r = offset..offset.saturating_add(buf.len() as u64);
        self.check(&r)?;
        if buf.is_empty() {
            return Ok(());
        }
        let b = self.read(r)?;
        buf.copy_from_slice(&b);
        Ok(())
    }

    fn read_range(&self, range: Range<u64>) -> nd_core::Result<Bytes> {
        self.check(&range)?;
        if range.start == range.end {
            return Ok(Bytes::new());
        }
        Ok(self.read(range)?)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> nd_core::Result<Vec<Bytes>> {
        Ok(self.read_many(ranges)?)
    }

    fn describe(&self) -> String {
        self.url.clone()
    }

    /// A streaming reader's reads are requests: as large as one round of concurrent parts.
    fn stream_chunk(&self) -> usize {
        let o = &self.remote.opts;
        usize::try_from(o.part_size.saturating_mul(o.max_in_flight as u64))
            .unwrap_or(usize::MAX)
            .max(256 << 10)
    }
}
