//! The typed decode loops of delta, fixedscaleoffset, astype and shuffle give the same bytes as
//! the element-by-element path (which the numcodecs fixtures pin), for every type pair, aligned
//! and unaligned buffers, and arbitrary bit patterns (NaNs compared as NaNs: the generic path
//! goes through f64 and quiets signalling NaNs, the typed one keeps them).

use nd_codecs::{AsType, Codec, Delta, FixedScaleOffset, Shuffle};
use proptest::prelude::*;
use serde_json::json;

const TYPES: [&str; 10] = [
    "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8",
];

fn size(t: &str) -> usize {
    t[2..].parse().unwrap()
}

/// The whole items of `size` bytes at the start of `seed`: their count and bytes.
fn items(seed: &[u8], size: usize) -> (usize, &[u8]) {
    let n = seed.len() / size;
    (n, &seed[..n * size])
}

/// Same bytes, or the same floats with NaN equal to NaN.
fn same(t: &str, a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    // f32 widens to f64 exactly, keeping distinct bit patterns distinct
    let floats = |size: usize, read: fn(&[u8]) -> f64| {
        a.chunks_exact(size)
            .zip(b.chunks_exact(size))
            .all(|(x, y)| {
                let (x, y) = (read(x), read(y));
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
            })
    };
    match t {
        "<f4" => floats(4, |x| f32::from_le_bytes(x.try_into().unwrap()) as f64),
        "<f8" => floats(8, |x| f64::from_le_bytes(x.try_into().unwrap())),
        _ => false,
    }
}

/// Run `fast` and `slow` on `data` (from offset 0 and 1 of a larger buffer, so both aligned and
/// unaligned slices are seen) and compare.
fn check(
    to: &str,
    out_len: usize,
    data: &[u8],
    fast: impl Fn(&[u8], &mut [u8]) -> nd_codecs::Result<usize>,
    slow: impl Fn(&[u8], &mut [u8]) -> nd_codecs::Result<usize>,
) -> Result<(), TestCaseError> {
    for shift in [0usize, 1] {
        let mut src = vec![0u8; data.len() + shift];
        src[shift..].copy_from_slice(data);
        let mut a = vec![0u8; out_len + shift];
        let mut b = vec![0u8; out_len];
        let na = fast(&src[shift..], &mut a[shift..]).unwrap();
        let nb = slow(&src[shift..], &mut b).unwrap();
        prop_assert_eq!(na, nb);
        prop_assert!(same(to, &a[shift..], &b), "shift {}", shift);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn astype_typed_equals_generic(from in 0usize..10, to in 0usize..10, seed in prop::collection::vec(any::<u8>(), 0..800)) {
        let (f, t) = (TYPES[from], TYPES[to]);
        let (n, data) = items(&seed, size(f));
        let c = AsType::from_config(&json!({"id": "astype", "encode_dtype": f, "decode_dtype": t})).unwrap();
        check(t, n * size(t), data, |d, o| c.decode_into(d, o), |d, o| c.decode_into_generic(d, o))?;
    }

    #[test]
    fn delta_typed_equals_generic(a in 0usize..10, d in 0usize..10, seed in prop::collection::vec(any::<u8>(), 0..800)) {
        let (at, dt) = (TYPES[a], TYPES[d]);
        let (n, data) = items(&seed, size(at));
        let c = Delta::from_config(&json!({"id": "delta", "dtype": dt, "astype": at})).unwrap();
        check(dt, n * size(dt), data, |x, o| c.decode_into(x, o), |x, o| c.decode_into_generic(x, o))?;
    }

    #[test]
    fn fixedscaleoffset_typed_equals_generic(a in 0usize..8, d in 8usize..10, scale in prop_oneof![Just(json!(100)), (1e-3f64..1e4).prop_map(|x| json!(x))],
                                             offset in prop_oneof![Just(json!(-7)), (-1e6f64..1e6).prop_map(|x| json!(x))],
                                             seed in prop::collection::vec(any::<u8>(), 0..800)) {
        let (at, dt) = (TYPES[a], TYPES[d]);
        let (n, data) = items(&seed, size(at));
        let c = FixedScaleOffset::from_config(&json!({"id": "fixedscaleoffset", "scale": scale, "offset": offset, "dtype": dt, "astype": at})).unwrap();
        check(dt, n * size(dt), data, |x, o| c.decode_into(x, o), |x, o| c.decode_into_generic(x, o))?;
    }

    #[test]
    fn shuffle_typed_equals_generic(es in prop::sample::select(vec![2usize, 4, 8]), seed in prop::collection::vec(any::<u8>(), 0..800)) {
        let (_, data) = items(&seed, es);
        let c = Shuffle { elementsize: es };
        check("|u1", data.len(), data, |x, o| c.decode_into(x, o), |x, o| c.decode_into_generic(x, o))?;
    }
}
