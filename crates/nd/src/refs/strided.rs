//! Strided views of ASDF blocks as chunks: the codec [`super::ND_ASDF_STRIDED`].
//!
//! A reference is one contiguous byte range, and a strided view (`strides`, `offset`, negative
//! strides, Fortran order, every n-th element) has gaps or runs backwards. A chunk is the byte
//! range spanning its elements; the codec gathers them into C order. Its configuration:
//! `{"id": "nd_asdf_strided", "shape": chunk shape, "strides": byte strides, "itemsize": n,
//! "axis": k}`. The array is split along `axis` (the one with the largest stride, so that a
//! chunk spans as few bytes as possible); the last chunk along it references only its elements'
//! span, and the codec infers how many slices it holds from the range's length (zero-filling the
//! rest, which zarr crops).

use crate::error::{Error, Result};
use serde_json::{json, Value};

/// One chunk of a strided view: its key and its byte range relative to the block's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StridedRef {
    /// Chunk key (`0.3.0`).
    pub key: String,
    /// First byte of the span, relative to the block's data.
    pub offset: u64,
    /// Length of the span.
    pub length: u64,
}

/// The chunks of a strided view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StridedPlan {
    /// Chunk shape.
    pub chunks: Vec<u64>,
    /// The codec configuration.
    pub config: Value,
    /// One reference per chunk (none for an empty array).
    pub refs: Vec<StridedRef>,
}

/// The bytes spanned by the elements of `shape` under `strides` (0 for an empty shape), or
/// `None` on overflow.
fn span(shape: &[u64], strides: &[i64], elem: u64) -> Option<u128> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape
        .iter()
        .zip(strides)
        .try_fold(u128::from(elem), |acc, (&n, &s)| {
            acc.checked_add(u128::from(n - 1).checked_mul(u128::from(s.unsigned_abs()))?)
        })
}

/// The offset of element (0, …, 0) from the lowest byte the elements of `shape` touch.
fn base(shape: &[u64], strides: &[i64]) -> Option<u128> {
    shape
        .iter()
        .zip(strides)
        .filter(|(_, &s)| s < 0)
        .try_fold(0u128, |acc, (&n, &s)| {
            acc.checked_add(
                u128::from(n.saturating_sub(1)).checked_mul(u128::from(s.unsigned_abs()))?,
            )
        })
}

/// Plan the chunks of a view of `shape` (elements of `elem` bytes) at byte `offset` of its
/// block with byte `strides`: one chunk when the array's values take at most `chunk_bytes`,
/// else runs of slices along the axis of the largest stride. `None` on arithmetic overflow.
pub(crate) fn plan(
    shape: &[u64],
    strides: &[i64],
    offset: u64,
    elem: u64,
    chunk_bytes: u64,
) -> Option<StridedPlan> {
    if strides.len() != shape.len() || elem == 0 {
        return None;
    }
    let total = shape.iter().try_fold(elem, |a, &d| a.checked_mul(d))?;
    // the split axis: the largest stride among axes longer than 1
    let axis = (0..shape.len())
        .filter(|&i| shape[i] > 1)
        .max_by_key(|&i| (strides[i].unsigned_abs(), std::cmp::Reverse(i)));
    let (axis, c) = match axis {
        Some(a) if total > chunk_bytes => {
            let slice = total / shape[a];
            (a, (chunk_bytes / slice.max(1)).clamp(1, shape[a]))
        }
        _ => (0, shape.first().copied().unwrap_or(1).max(1)),
    };
    let mut chunks: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
    if !chunks.is_empty() {
        chunks[axis] = c;
    }
    let config = json!({
        "id": super::ND_ASDF_STRIDED,
        "shape": chunks,
        "strides": strides,
        "itemsize": elem,
        "axis": axis,
    });
    let mut refs = Vec::new();
    if !shape.contains(&0) {
        let n = shape.first().map_or(1, |_| shape[axis]);
        let count = n.div_ceil(c);
        for k in 0..count {
            let mut cnt = shape.to_vec();
            let mut key = vec![0u64; shape.len()];
            if !shape.is_empty() {
                cnt[axis] = c.min(n - k * c);
                key[axis] = k;
            }
            let s_axis = strides.get(axis).copied().unwrap_or(0);
            let first = i128::from(offset)
                + i128::from(k)
                    .checked_mul(i128::from(c))?
                    .checked_mul(i128::from(s_axis))?;
            let lo = first - i128::try_from(base(&cnt, strides)?).ok()?;
            let len = span(&cnt, strides, elem)?;
            refs.push(StridedRef {
                key: if key.is_empty() {
                    "0".into()
                } else {
                    key.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
                },
                offset: u64::try_from(lo).ok()?,
                length: u64::try_from(len).ok()?,
            });
        }
    }
    Some(StridedPlan {
        chunks,
        config,
        refs,
    })
}

/// Decode one chunk of an `nd_asdf_strided` configuration: the elements the byte range `data`
/// spans, gathered into C order (the stored bytes of each element, unchanged), the slices past
/// the range's end along `axis` zero-filled. At most `max_len` bytes out.
pub(crate) fn decode(config: &Value, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let bad = |what: &str| Error::input(format!("codec {:?}: {what}", super::ND_ASDF_STRIDED));
    let list = |k: &str| {
        config[k]
            .as_array()
            .ok_or_else(|| bad(&format!("`{k}` must be a list")))
    };
    let shape: Vec<u64> = list("shape")?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<_>>()
        .ok_or_else(|| bad("`shape` must hold sizes"))?;
    let strides: Vec<i64> = list("strides")?
        .iter()
        .map(Value::as_i64)
        .collect::<Option<_>>()
        .ok_or_else(|| bad("`strides` must hold integers"))?;
    let elem = config["itemsize"]
        .as_u64()
        .filter(|&e| e > 0)
        .ok_or_else(|| bad("`itemsize` must be a positive integer"))?;
    let axis = config["axis"].as_u64().unwrap_or(0) as usize;
    if strides.len() != shape.len() || (!shape.is_empty() && axis >= shape.len()) {
        return Err(bad("`shape`, `strides` and `axis` do not agree"));
    }
    let out_len = shape
        .iter()
        .try_fold(elem, |a, &d| a.checked_mul(d))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= max_len)
        .ok_or_else(|| bad("decoded chunk larger than allowed"))?;
    let mut out = vec![0u8; out_len];
    if out_len == 0 {
        return Ok(out);
    }
    // how many slices along `axis` the range holds: all, or as many as its length spans
    let mut cnt = shape.clone();
    let full = span(&shape, &strides, elem).ok_or_else(|| bad("overflow"))?;
    let len = data.len() as u128;
    if len != full && !shape.is_empty() {
        let step = u128::from(strides[axis].unsigned_abs());
        let mut one = shape.clone();
        one[axis] = 1;
        let rest = span(&one, &strides, elem).ok_or_else(|| bad("overflow"))?;
        let v = (step > 0 && len >= rest && (len - rest).is_multiple_of(step))
            .then(|| (len - rest) / step + 1)
            .filter(|&v| v < u128::from(shape[axis]))
            .ok_or_else(|| {
                bad(&format!(
                    "a chunk of {} bytes is not the span of whole slices of the view",
                    data.len()
                ))
            })?;
        cnt[axis] = v as u64;
    }
    let b = base(&cnt, &strides).ok_or_else(|| bad("overflow"))?;
    let b = i128::try_from(b).map_err(|_| bad("overflow"))?;
    let e = elem as usize;
    // odometer over the C-order index of the chunk (the valid slices only)
    let nd = shape.len();
    let mut idx = vec![0u64; nd];
    let mut pos = b;
    let mut row_len = vec![0u64; nd + 1];
    row_len[nd] = 1;
    for i in (0..nd).rev() {
        row_len[i] = row_len[i + 1] * shape[i];
    }
    if cnt.contains(&0) {
        return Ok(out);
    }
    loop {
        let lin: u64 = idx.iter().zip(&row_len[1..]).map(|(&i, &r)| i * r).sum();
        let at = usize::try_from(pos).map_err(|_| bad("element outside the chunk"))?;
        let src = data
            .get(at..at + e)
            .ok_or_else(|| bad("element outside the chunk's bytes"))?;
        let o = lin as usize * e;
        out[o..o + e].copy_from_slice(src);
        // next index within cnt
        let mut d = nd;
        loop {
            if d == 0 {
                return Ok(out);
            }
            d -= 1;
            idx[d] += 1;
            pos += i128::from(strides[d]);
            if idx[d] < cnt[d] {
                break;
            }
            pos -= i128::from(strides[d]) * i128::from(idx[d]);
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of `plan`'s chunks decoded from `block`, in the array's C order.
    fn gather(
        block: &[u8],
        shape: &[u64],
        strides: &[i64],
        off: u64,
        chunk_bytes: u64,
    ) -> Vec<Vec<u8>> {
        let p = plan(shape, strides, off, 1, chunk_bytes).unwrap();
        p.refs
            .iter()
            .map(|r| {
                let data = &block[r.offset as usize..(r.offset + r.length) as usize];
                decode(&p.config, data, 1 << 20).unwrap()
            })
            .collect()
    }

    #[test]
    fn views_decode_to_numpys_elements() {
        let block: Vec<u8> = (0..120u8).collect();
        // numpy: np.arange(120, dtype=u1).reshape(6, 20)[::-2, 3::5] — offset 5*20+3, strides (-40, 5)
        let got = gather(&block, &[3, 4], &[-40, 5], 103, 1 << 20);
        assert_eq!(
            got,
            vec![vec![103, 108, 113, 118, 63, 68, 73, 78, 23, 28, 33, 38]]
        );
        // the same split into chunks of one row (4 bytes each): three chunks, the last short
        let p = plan(&[3, 4], &[-40, 5], 103, 1, 4).unwrap();
        assert_eq!(p.chunks, vec![1, 4]);
        assert_eq!(p.refs.len(), 3);
        let got = gather(&block, &[3, 4], &[-40, 5], 103, 4);
        assert_eq!(got[1], vec![63, 68, 73, 78]);
        // 2 rows per chunk: the second chunk holds one row, zero-filled after it
        let got = gather(&block, &[3, 4], &[-40, 5], 103, 8);
        assert_eq!(got[1], vec![23, 28, 33, 38, 0, 0, 0, 0]);
        // Fortran order (a transpose): split along the axis of the largest stride
        let p = plan(&[20, 6], &[1, 20], 0, 1, 40).unwrap();
        assert_eq!(p.chunks, vec![20, 2]);
        let got = gather(&block, &[20, 6], &[1, 20], 0, 40);
        assert_eq!(&got[0][..4], &[0, 20, 1, 21]);
        assert_eq!(&got[2][..4], &[80, 100, 81, 101]);
        // zero strides repeat one element
        assert_eq!(
            gather(&block, &[2, 3], &[0, 1], 7, 100),
            vec![vec![7, 8, 9, 7, 8, 9]]
        );
        // 0-d
        assert_eq!(gather(&block, &[], &[], 9, 100), vec![vec![9]]);
    }

    #[test]
    fn bad_ranges_are_errors() {
        let p = plan(&[3, 4], &[-40, 5], 103, 1, 8).unwrap();
        assert!(
            decode(&p.config, &[0; 17], 1 << 20).is_err(),
            "not whole slices"
        );
        assert!(
            decode(&p.config, &[0; 200], 1 << 20).is_err(),
            "longer than the chunk"
        );
        assert!(decode(&p.config, &[0; 56], 4).is_err(), "over the limit");
        assert!(decode(
            &json!({"id": "nd_asdf_strided", "shape": [2], "strides": [1, 2], "itemsize": 1}),
            &[0; 2],
            8
        )
        .is_err());
    }
}
