//! The chunk grid of a contiguous C-order array stored uncompressed at one byte offset of a
//! file: every chunk a run of whole rows (or planes), so that each chunk is one byte range.
//!
//! Zarr v2 readers (zarr-python 2 and 3) decode an edge chunk as a full-size chunk and crop it,
//! so the byte range of the last chunk along the split axis is as long as a full chunk. Inside
//! the array that range runs into the next slice's bytes (harmless: cropped). Past the end of
//! the array it runs into the file's padding or the next HDU / block; when the file ends first,
//! a smaller chunk that fits is chosen, and failing that the last chunk is given inline.

/// One chunk: its key and the byte range it is (absolute file offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkRef {
    /// The Zarr v2 chunk key (`i.j.k`; `0` for a 0-d array).
    pub key: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes (a full chunk).
    pub length: u64,
    /// Bytes of this range that belong to the array (less than `length` only for the last
    /// chunk when it must be given inline: the caller reads these and pads with zeros).
    pub inline_valid: Option<u64>,
}

/// The chunk shape and chunk references of one contiguous array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Chunk shape (numpy order).
    pub chunks: Vec<u64>,
    /// Every chunk, in C order of the chunk grid.
    pub refs: Vec<ChunkRef>,
}

/// Most chunk references one array may produce (a guard against an absurd grid).
pub(crate) const MAX_CHUNKS: u64 = 10_000_000;

/// Plan the chunks of an array of `shape` (numpy order) with elements of `elem` bytes stored
/// C-contiguously at `start` in a file of `file_len` bytes; chunks are at most `target` bytes
/// (or one row/plane of the innermost axes when that is larger).
///
/// Returns `None` when the grid would exceed [`MAX_CHUNKS`] or the array does not lie within
/// the file.
pub(crate) fn plan_contiguous(
    shape: &[u64],
    elem: u64,
    start: u64,
    file_len: u64,
    target: u64,
) -> Option<Plan> {
    let elem = elem.max(1);
    let nbytes = shape.iter().try_fold(elem, |a, &d| a.checked_mul(d))?;
    if start.checked_add(nbytes)? > file_len {
        return None;
    }
    if shape.is_empty() {
        return Some(Plan {
            chunks: vec![],
            refs: vec![ChunkRef {
                key: "0".into(),
                offset: start,
                length: elem,
                inline_valid: None,
            }],
        });
    }
    if shape.contains(&0) {
        return Some(Plan {
            chunks: shape.iter().map(|&d| d.max(1)).collect(),
            refs: vec![],
        });
    }
    if nbytes <= target {
        let key = vec!["0"; shape.len()].join(".");
        return Some(Plan {
            chunks: shape.to_vec(),
            refs: vec![ChunkRef {
                key,
                offset: start,
                length: nbytes,
                inline_valid: None,
            }],
        });
    }
    // the split axis: the first whose inner slices fit the target (the last axis at worst)
    let mut k = shape.len() - 1;
    let mut inner = elem; // bytes of one index along axis k (everything after it)
    for (i, _) in shape.iter().enumerate() {
        let after: u64 = shape[i + 1..].iter().product::<u64>() * elem;
        if after <= target {
            k = i;
            inner = after;
            break;
        }
    }
    let len_k = shape[k];
    let c_max = (target / inner).clamp(1, len_k);
    let avail = file_len - start - nbytes; // bytes after the array in the file
    let fits = |c: u64| len_k.is_multiple_of(c) || (c - len_k % c) * inner <= avail;
    // a smaller chunk that fits, but not so small that the grid explodes
    let floor = (c_max / 8).max(1);
    let (c, inline_last) = match (floor..=c_max).rev().find(|&c| fits(c)) {
        Some(c) => (c, false),
        None => (c_max, true),
    };
    let per_axis = len_k.div_ceil(c);
    let outer: u64 = shape[..k].iter().product();
    if outer.checked_mul(per_axis)? > MAX_CHUNKS {
        return None;
    }
    let mut chunks = vec![1u64; k];
    chunks.push(c);
    chunks.extend_from_slice(&shape[k + 1..]);
    let total = outer * per_axis;
    let mut refs = Vec::with_capacity(total as usize);
    let mut idx = vec![0u64; shape.len()];
    for o in 0..outer {
        // the outer index in C order
        let mut rem = o;
        for a in (0..k).rev() {
            idx[a] = rem % shape[a];
            rem /= shape[a];
        }
        for j in 0..per_axis {
            idx[k] = j;
            let key = idx.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let offset = start + (o * len_k + j * c) * inner;
            let last = o + 1 == outer && j + 1 == per_axis;
            let valid = (len_k - j * c).min(c) * inner;
            refs.push(ChunkRef {
                key,
                offset,
                length: c * inner,
                inline_valid: (last && inline_last && valid < c * inner).then_some(valid),
            });
        }
    }
    Some(Plan { chunks, refs })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: every element of the array lies in exactly one chunk, at the byte the
    /// chunk's range gives it, and every range lies within the file.
    fn check(shape: &[u64], elem: u64, start: u64, file_len: u64, target: u64) -> Plan {
        let p = plan_contiguous(shape, elem, start, file_len, target).unwrap();
        let n: u64 = shape.iter().product();
        for r in &p.refs {
            if r.inline_valid.is_none() {
                assert!(r.offset + r.length <= file_len, "{r:?} past the file");
            }
            assert!(r.length <= target.max(elem), "{r:?} longer than the target");
        }
        let keys: std::collections::HashMap<&str, &ChunkRef> =
            p.refs.iter().map(|r| (r.key.as_str(), r)).collect();
        for flat in 0..n {
            let mut idx = vec![0u64; shape.len()];
            let mut rem = flat;
            for a in (0..shape.len()).rev() {
                idx[a] = rem % shape[a];
                rem /= shape[a];
            }
            let key: Vec<String> = idx
                .iter()
                .zip(&p.chunks)
                .map(|(i, c)| (i / c).to_string())
                .collect();
            let r = keys[key.join(".").as_str()];
            // position within the chunk, C order over the chunk shape
            let mut within = 0;
            for (&i, &c) in idx.iter().zip(&p.chunks) {
                within = within * c + i % c;
            }
            assert_eq!(r.offset + within * elem, start + flat * elem, "{idx:?}");
        }
        p
    }

    #[test]
    fn small_array_is_one_chunk() {
        let p = check(&[3, 4], 2, 2880, 5760, 1 << 20);
        assert_eq!(p.chunks, vec![3, 4]);
        assert_eq!(p.refs.len(), 1);
        assert_eq!((p.refs[0].offset, p.refs[0].length), (2880, 24));
    }

    #[test]
    fn rows_split_with_edge_in_padding() {
        // 10 rows of 100 bytes, target 300 bytes: 3 rows a chunk, the last chunk overhangs by
        // 2 rows (200 bytes), which the padding holds
        let p = check(&[10, 25], 4, 100, 100 + 1000 + 200, 300);
        assert_eq!(p.chunks, vec![3, 25]);
        assert_eq!(p.refs.len(), 4);
        assert_eq!(p.refs[3].key, "3.0");
        assert_eq!(p.refs[3].inline_valid, None);
    }

    #[test]
    fn edge_at_end_of_file_picks_a_divisor() {
        // no bytes after the array: 3 does not divide 10, 2 does
        let p = check(&[10, 25], 4, 0, 1000, 300);
        assert_eq!(p.chunks, vec![2, 25]);
        assert_eq!(p.refs.len(), 5);
    }

    #[test]
    fn edge_at_end_of_file_inline_when_nothing_fits() {
        // 1-D prime length, no room: chunks of 16 elements, the last one inline
        let p = check(&[997], 1, 0, 997, 16);
        assert_eq!(p.chunks, vec![16]);
        let last = p.refs.last().unwrap();
        assert_eq!(last.inline_valid, Some(997 % 16));
        assert!(p.refs[..p.refs.len() - 1]
            .iter()
            .all(|r| r.inline_valid.is_none()));
    }

    #[test]
    fn planes_split_when_a_plane_is_too_big() {
        // planes of 8 × 10 × 4 = 320 bytes > 100: split axis 1, rows of 40 bytes, 2 a chunk
        let p = check(&[3, 8, 10], 4, 0, 3 * 320, 100);
        assert_eq!(p.chunks, vec![1, 2, 10]);
        assert_eq!(p.refs.len(), 12);
        assert_eq!(p.refs[5].key, "1.1.0");
    }

    #[test]
    fn rows_larger_than_target_are_single_rows_or_elements() {
        let p = check(&[4, 1000], 8, 0, 32000, 100);
        assert_eq!(p.chunks, vec![1, 10]);
    }

    #[test]
    fn empty_scalar_and_outside() {
        let p = plan_contiguous(&[0, 5], 4, 0, 10, 100).unwrap();
        assert_eq!(p.chunks, vec![1, 5]);
        assert!(p.refs.is_empty());
        let p = plan_contiguous(&[], 8, 16, 24, 100).unwrap();
        assert_eq!(p.refs[0].key, "0");
        assert!(plan_contiguous(&[10], 4, 0, 39, 100).is_none());
        assert!(plan_contiguous(&[u64::MAX, 4], 4, 0, 39, 100).is_none());
    }
}
