//! Checking a Zarr v3 array's stored chunks: every chunk (shard) of the grid present or absent
//! (fill), decodable to its size; for a sharded array every shard's index consistent (entries
//! inside the shard, clear of the index, not overlapping each other) and every inner chunk
//! decodable; and the keys under the array that are neither its `zarr.json` nor a chunk of its
//! grid (stray keys).

use super::array::ZarrArrayV3;
use super::codec::Sharding;
use super::meta::ZARR_JSON;
use super::shard::IndexLocation;
use crate::error::Result;
use nd_core::Region;
use rayon::prelude::*;

/// How many defects an [`ArrayCheck`] keeps the text of (all are counted).
pub const MAX_DEFECTS_KEPT: usize = 20;

/// What checking every stored chunk of an array found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArrayCheck {
    /// Chunks (shards) of the grid that are stored and decode.
    pub present: u64,
    /// Chunks (shards) of the grid that are absent (they read as the fill value).
    pub missing: u64,
    /// Sharded arrays: inner chunks that decode.
    pub inner_decoded: u64,
    /// Sharded arrays: inner chunks the index marks empty (they read as the fill value).
    pub inner_empty: u64,
    /// Every defect found (chunks that do not decode, inconsistent indexes).
    pub defect_count: u64,
    /// The first [`MAX_DEFECTS_KEPT`] defects: `(key, what is wrong)`.
    pub defects: Vec<(String, String)>,
}

impl ArrayCheck {
    fn defect(&mut self, key: &str, why: impl Into<String>) {
        self.defect_count += 1;
        if self.defects.len() < MAX_DEFECTS_KEPT {
            self.defects.push((key.to_string(), why.into()));
        }
    }

    fn merge(mut self, o: ArrayCheck) -> ArrayCheck {
        self.present += o.present;
        self.missing += o.missing;
        self.inner_decoded += o.inner_decoded;
        self.inner_empty += o.inner_empty;
        self.defect_count += o.defect_count;
        for d in o.defects {
            if self.defects.len() < MAX_DEFECTS_KEPT {
                self.defects.push(d);
            }
        }
        self
    }
}

impl ZarrArrayV3 {
    /// Read and decode every stored chunk (shard) of the grid, checking shard indexes; chunks
    /// are checked in parallel (memory: one stored chunk and one decoded chunk per thread).
    /// A store error reading a chunk is a defect of that chunk, not an error of the call.
    ///
    /// # Errors
    /// Only when the chunk grid itself cannot be walked.
    pub fn verify(&self) -> Result<ArrayCheck> {
        let grid = nd_core::ChunkGrid::new(
            self.metadata().shape.clone(),
            self.metadata().chunk_shape.clone(),
        )?;
        let pieces = grid.pieces(&Region::full(&self.metadata().shape))?;
        let check = |p: &nd_core::ChunkPiece| self.verify_chunk(&p.chunk);
        let out = pieces
            .par_iter()
            .map(check)
            .reduce(ArrayCheck::default, ArrayCheck::merge);
        Ok(out)
    }

    fn verify_chunk(&self, chunk: &[u64]) -> ArrayCheck {
        let mut c = ArrayCheck::default();
        let key = self.chunk_key(chunk);
        let data = match self.store().get(&key) {
            Ok(None) => {
                c.missing = 1;
                return c;
            }
            Ok(Some(d)) => d,
            Err(e) => {
                c.defect(&key, format!("cannot be read: {e}"));
                return c;
            }
        };
        match self.chain().sharding_only() {
            Some(s) => self.verify_shard(s, &key, &data, &mut c),
            None => {
                let mut buf = vec![0u8; self.metadata().chunk_bytes()];
                match self.chain().decode_into(&self.ctx(&key), &data, &mut buf) {
                    Ok(()) => c.present = 1,
                    Err(e) => c.defect(&key, e.to_string()),
                }
            }
        }
        c
    }

    fn verify_shard(&self, s: &Sharding, key: &str, shard: &[u8], c: &mut ArrayCheck) {
        let ctx = self.ctx(key);
        let size = shard.len() as u64;
        if size < s.index_bytes {
            c.defect(
                key,
                format!(
                    "shard of {size} bytes cannot hold its {}-byte index (truncated?)",
                    s.index_bytes
                ),
            );
            return;
        }
        let ir = s.index_range(Some(size)).unwrap_or(0..0);
        let index = match s.decode_index(&ctx, &shard[ir.start as usize..ir.end as usize]) {
            Ok(ix) => ix,
            Err(e) => {
                c.defect(key, e.to_string());
                return;
            }
        };
        let mut used: Vec<(std::ops::Range<u64>, usize)> = Vec::new();
        let mut scratch = vec![0u8; s.inner.decoded_len()];
        let mut bad = false;
        for pos in 0..index.len() {
            let r = match index.range(pos, Some(size)) {
                Ok(None) => {
                    c.inner_empty += 1;
                    continue;
                }
                Ok(Some(r)) => r,
                Err(e) => {
                    c.defect(key, format!("shard index: {e}"));
                    bad = true;
                    continue;
                }
            };
            if r.start < ir.end && r.end > ir.start && r.end > r.start {
                let at = match s.location {
                    IndexLocation::Start => "start",
                    IndexLocation::End => "end",
                };
                c.defect(
                    key,
                    format!(
                        "shard index: inner chunk {pos} (bytes {r0}..{r1}) overlaps the index (bytes {ir0}..{ir1}, at the {at})", r0 = r.start, r1 = r.end, ir0 = ir.start, ir1 = ir.end
                    ),
                );
                bad = true;
                continue;
            }
            match s
                .inner
                .decode_into(&ctx, &shard[r.start as usize..r.end as usize], &mut scratch)
            {
                Ok(()) => c.inner_decoded += 1,
                Err(e) => {
                    c.defect(key, format!("inner chunk {pos}: {e}"));
                    bad = true;
                }
            }
            used.push((r, pos));
        }
        used.sort_by_key(|(r, _)| (r.start, r.end));
        for w in used.windows(2) {
            let ((a, i), (b, j)) = (&w[0], &w[1]);
            if b.start < a.end && b.end > b.start {
                c.defect(
                    key,
                    format!(
                        "shard index: inner chunks {i} (bytes {a0}..{a1}) and {j} (bytes {b0}..{b1}) overlap",
                        a0 = a.start, a1 = a.end,
                        b0 = b.start, b1 = b.end
                    ),
                );
                bad = true;
            }
        }
        if !bad {
            c.present = 1;
        }
    }

    /// The keys under the array's path that are neither its `zarr.json` nor the key of a chunk
    /// (shard) inside its grid: a chunk past the shape (an array shrunk without its chunks),
    /// another encoding's key, leftovers of other tools. Keys are relative to the store.
    ///
    /// # Errors
    /// The store cannot list (plain HTTP servers).
    pub fn stray_keys(&self) -> Result<Vec<String>> {
        let prefix = if self.path().is_empty() {
            String::new()
        } else {
            format!("{}/", self.path())
        };
        let keys = self
            .store()
            .list_prefix(&prefix)
            .map_err(crate::error::store_err(&prefix))?;
        let meta = self.metadata();
        let rank = meta.shape.len();
        let grid = nd_core::ChunkGrid::new(meta.shape.clone(), meta.chunk_shape.clone())?;
        let counts = grid.grid_shape();
        Ok(keys
            .into_iter()
            .filter(|k| {
                let rel = &k[prefix.len()..];
                if rel == ZARR_JSON {
                    return false;
                }
                match meta.chunk_key_encoding.chunk_of(rel, rank) {
                    Some(idx) => idx.iter().zip(&counts).any(|(i, n)| i >= n),
                    None => true,
                }
            })
            .collect())
    }
}
