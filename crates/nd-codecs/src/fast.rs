//! Typed decode loops for the filters' common cases: items in the host's byte order, bool and
//! f16 excluded. Each function returns `None` (or `false`) when it does not handle the
//! combination, and the caller falls back to the element-by-element path (`numeric::Val`), whose
//! results these loops reproduce exactly (numpy casts: ints wrap, int→float and float→float
//! round to nearest even; float→int is left to the generic path, which reproduces x86's
//! out-of-range results).
//!
//! Lengths are checked by the callers: `src` holds a whole number of source items and `dst`
//! exactly as many destination items.

use crate::numeric::{Kind, NumType};
use bytemuck::Pod;

/// Whether items of `t` are in the host's byte order (single bytes always are).
pub(crate) fn native(t: &NumType) -> bool {
    t.size() == 1 || t.big == cfg!(target_endian = "big")
}

/// `dst[i] = f(src[i])` over typed items: slices cast in place when aligned, unaligned loads and
/// stores otherwise.
fn map_slice<A: Pod, B: Pod>(src: &[u8], dst: &mut [u8], mut f: impl FnMut(A) -> B) {
    let aligned = dst.as_ptr().align_offset(std::mem::align_of::<B>()) == 0;
    if let (Ok(s), true) = (bytemuck::try_cast_slice::<u8, A>(src), aligned) {
        if let Ok(d) = bytemuck::try_cast_slice_mut::<u8, B>(dst) {
            for (x, y) in s.iter().zip(d.iter_mut()) {
                *y = f(*x);
            }
            return;
        }
    }
    let (na, nb) = (std::mem::size_of::<A>(), std::mem::size_of::<B>());
    for (x, y) in src.chunks_exact(na).zip(dst.chunks_exact_mut(nb)) {
        let v = f(bytemuck::pod_read_unaligned(x));
        y.copy_from_slice(bytemuck::bytes_of(&v));
    }
}

/// `match $k` with one arm per listed kind, each running `$body` with `$t` the listed Rust type;
/// `None` for other kinds.
macro_rules! typed_kind {
    ($k:expr, $t:ident, $body:expr, $($kind:ident => $ty:ty),+) => {
        match $k {
            $(Kind::$kind => {
                type $t = $ty;
                $body
            })+
            _ => None,
        }
    };
}

/// Run `$body` with `$t` the Rust type of an integer kind; `None` for other kinds.
macro_rules! int_kind {
    ($k:expr, $t:ident, $body:expr) => {
        typed_kind!($k, $t, $body, I8 => i8, I16 => i16, I32 => i32, I64 => i64,
            U8 => u8, U16 => u16, U32 => u32, U64 => u64)
    };
}

/// Run `$body` with `$t` the Rust type of f32 / f64; `None` for other kinds.
macro_rules! float_kind {
    ($k:expr, $t:ident, $body:expr) => {
        typed_kind!($k, $t, $body, F32 => f32, F64 => f64)
    };
}

/// Run `$body` with `$t` the Rust type of any integer or f32 / f64 kind.
macro_rules! num_kind {
    ($k:expr, $t:ident, $body:expr) => {
        match $k {
            Kind::F32 | Kind::F64 => float_kind!($k, $t, $body),
            _ => int_kind!($k, $t, $body),
        }
    };
}

/// astype: numpy's cast from `from` items to `to` items.
pub(crate) fn cast(from: &NumType, to: &NumType, src: &[u8], dst: &mut [u8]) -> Option<()> {
    if !native(from) || !native(to) || (from.is_float() && !to.is_float()) {
        return None;
    }
    num_kind!(
        from.kind,
        A,
        num_kind!(to.kind, B, {
            map_slice::<A, B>(src, dst, |x| x as B);
            Some(())
        })
    )
}

/// delta: cumulative sum of `astype` items accumulated in `dtype` (wrapping integers, or the
/// same float type on both sides).
pub(crate) fn delta(astype: &NumType, dtype: &NumType, src: &[u8], dst: &mut [u8]) -> Option<()> {
    if !native(astype) || !native(dtype) {
        return None;
    }
    if dtype.is_float() {
        if astype.kind != dtype.kind {
            return None;
        }
        return float_kind!(dtype.kind, D, {
            // the first item as is (keeps -0.0), then running sums in D's precision
            let mut acc: Option<D> = None;
            map_slice::<D, D>(src, dst, |x| {
                let next = match acc {
                    None => x,
                    Some(a) => a + x,
                };
                acc = Some(next);
                next
            });
            Some(())
        });
    }
    if astype.is_float() {
        return None;
    }
    int_kind!(
        astype.kind,
        A,
        int_kind!(dtype.kind, D, {
            let mut acc: D = 0;
            map_slice::<A, D>(src, dst, |x| {
                acc = acc.wrapping_add(x as D);
                acc
            });
            Some(())
        })
    )
}

/// fixedscaleoffset with integer `astype` and float `dtype`: `dtype(enc / scale + offset)` in f64.
pub(crate) fn scale_offset(
    astype: &NumType,
    dtype: &NumType,
    scale: f64,
    offset: f64,
    src: &[u8],
    dst: &mut [u8],
) -> Option<()> {
    if !native(astype) || !native(dtype) || astype.is_float() {
        return None;
    }
    int_kind!(
        astype.kind,
        A,
        float_kind!(dtype.kind, D, {
            map_slice::<A, D>(src, dst, |e| (e as f64 / scale + offset) as D);
            Some(())
        })
    )
}

/// Byte unshuffle for element sizes 2, 4 and 8 (sequential writes, one read stream per byte
/// plane); `false` for other sizes. `data.len()` is a multiple of the size.
pub(crate) fn unshuffle(es: usize, data: &[u8], out: &mut [u8]) -> bool {
    let count = data.len() / es.max(1);
    let p = |j: usize| data.get(j * count..(j + 1) * count).unwrap_or(&[]);
    match es {
        2 => {
            for ((d, a), b) in out.chunks_exact_mut(2).zip(p(0)).zip(p(1)) {
                d.copy_from_slice(&[*a, *b]);
            }
        }
        4 => {
            let planes = p(0).iter().zip(p(1)).zip(p(2)).zip(p(3));
            for (d, (((a, b), c), e)) in out.chunks_exact_mut(4).zip(planes) {
                d.copy_from_slice(&[*a, *b, *c, *e]);
            }
        }
        8 => {
            let lo = p(0).iter().zip(p(1)).zip(p(2)).zip(p(3));
            let hi = p(4).iter().zip(p(5)).zip(p(6)).zip(p(7));
            for (d, ((((a, b), c), e), (((f, g), h), i))) in out.chunks_exact_mut(8).zip(lo.zip(hi))
            {
                d.copy_from_slice(&[*a, *b, *c, *e, *f, *g, *h, *i]);
            }
        }
        _ => return false,
    }
    true
}
