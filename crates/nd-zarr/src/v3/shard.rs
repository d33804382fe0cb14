//! The shard index of `sharding_indexed`: one `(offset, nbytes)` pair of little-endian u64 per
//! inner chunk, in C order of the inner chunk grid, both `2^64 - 1` for an empty inner chunk;
//! stored (after its own codecs) at the start or the end of the shard.

use std::ops::Range;

/// Where the index of a shard is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLocation {
    /// The first bytes of the shard.
    Start,
    /// The last bytes of the shard (zarr-python 3's default).
    End,
}

/// How a read of a sharded array fetches the inner chunks of one shard: their byte ranges are
/// merged with [`nd_core::io::coalesce`] when the gap between them is at most `coalesce_gap`
/// and the merged request stays within `max_request`; the merged ranges are fetched (in
/// parallel), then each inner chunk is a slice of one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardFetch {
    /// Largest gap (unneeded bytes) read to save a request.
    pub coalesce_gap: u64,
    /// Largest merged request, in bytes (a single inner chunk larger than this is still one
    /// request).
    pub max_request: u64,
}

impl ShardFetch {
    /// zarr-python 3.3's defaults: gaps up to 1 MiB, requests up to 16 MiB.
    pub const DEFAULT: ShardFetch = ShardFetch {
        coalesce_gap: 1 << 20,
        max_request: 16 << 20,
    };

    /// One request per inner chunk (no merging).
    pub const UNMERGED: ShardFetch = ShardFetch {
        coalesce_gap: 0,
        max_request: 0,
    };
}

impl Default for ShardFetch {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The `(offset, nbytes)` value that marks an empty inner chunk.
pub const EMPTY: u64 = u64::MAX;

/// A decoded shard index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIndex {
    /// `offset, nbytes` for each inner chunk, C order.
    entries: Vec<u64>,
}

impl ShardIndex {
    /// From the decoded index values (native u64s, two per inner chunk).
    ///
    /// # Errors
    /// An odd number of values, or an entry where only one of offset and nbytes is `2^64 - 1`.
    pub fn from_values(entries: Vec<u64>) -> Result<ShardIndex, String> {
        if !entries.len().is_multiple_of(2) {
            return Err(format!("{} index values (not pairs)", entries.len()));
        }
        for (i, p) in entries.chunks_exact(2).enumerate() {
            if (p[0] == EMPTY) != (p[1] == EMPTY) {
                return Err(format!(
                    "inner chunk {i}: offset {} and nbytes {} (only one marks an empty chunk)",
                    p[0], p[1]
                ));
            }
        }
        Ok(ShardIndex { entries })
    }

    /// Number of inner chunks.
    pub fn len(&self) -> usize {
        self.entries.len() / 2
    }

    /// True when the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The byte range of inner chunk `i` (C-order position) within the shard, `Ok(None)` when
    /// the chunk is empty.
    ///
    /// # Errors
    /// `i` out of range, or a range that overflows or does not fit before `limit` (the shard
    /// size, when known).
    pub fn range(&self, i: usize, limit: Option<u64>) -> Result<Option<Range<u64>>, String> {
        let (off, n) = match self.entries.get(2 * i..2 * i + 2) {
            Some(p) => (p[0], p[1]),
            None => {
                return Err(format!(
                    "inner chunk {i} is outside an index of {}",
                    self.len()
                ))
            }
        };
        if off == EMPTY {
            return Ok(None);
        }
        let end = off
            .checked_add(n)
            .ok_or_else(|| format!("inner chunk {i}: offset {off} + nbytes {n} overflows"))?;
        if let Some(size) = limit {
            if end > size {
                return Err(format!(
                    "inner chunk {i}: bytes {off}..{end} are past the end of the shard ({size} bytes)"
                ));
            }
        }
        Ok(Some(off..end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries() {
        let ix = ShardIndex::from_values(vec![0, 10, EMPTY, EMPTY, 10, 5]).unwrap();
        assert_eq!(ix.len(), 3);
        assert_eq!(ix.range(0, Some(15)).unwrap(), Some(0..10));
        assert_eq!(ix.range(1, Some(15)).unwrap(), None);
        assert!(ix.range(2, Some(14)).is_err());
        assert!(ix.range(3, None).is_err());
        assert!(ShardIndex::from_values(vec![EMPTY, 3]).is_err());
        assert!(ShardIndex::from_values(vec![1]).is_err());
        let ix = ShardIndex::from_values(vec![u64::MAX - 1, 5]).unwrap();
        assert!(ix.range(0, None).is_err());
    }
}
