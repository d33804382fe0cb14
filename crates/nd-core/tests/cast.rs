//! `nd_core::cast` against numpy: every numeric (source, target) pair of testdata/cast (written by
//! testdata/gen_cast.py with numpy's `astype`) must convert bit for bit as numpy did, NaN matching
//! any NaN. Where numpy is undefined (float NaN/inf/out of range to an integer; the `.defined.npy`
//! masks) the result must follow nd's saturating rule instead.

use half::f16;
use nd_core::cast::cast_into;
use nd_core::npy::read_npy;
use nd_core::{ArrayBuf, DataType, Scalar};
use num_complex::{Complex32, Complex64};
use std::path::PathBuf;

const ALL: [&str; 14] = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cast")
}

/// A conversion target as the test sees it: its expected values read straight from numpy's file,
/// and its comparison.
trait Target: Scalar {
    fn expected(buf: &ArrayBuf) -> Vec<Self>;
    fn same(a: Self, b: Self) -> bool;
    /// For integer targets: the value, the type's minimum and maximum.
    fn int(self) -> Option<(i128, i128, i128)> {
        None
    }
}

macro_rules! int_target {
    ($($t:ty),*) => {$(
        impl Target for $t {
            fn expected(buf: &ArrayBuf) -> Vec<Self> {
                buf.as_slice::<$t>().unwrap().to_vec()
            }
            fn same(a: Self, b: Self) -> bool {
                a == b
            }
            fn int(self) -> Option<(i128, i128, i128)> {
                Some((self as i128, <$t>::MIN as i128, <$t>::MAX as i128))
            }
        }
    )*};
}
int_target!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_target {
    ($($t:ty),*) => {$(
        impl Target for $t {
            fn expected(buf: &ArrayBuf) -> Vec<Self> {
                buf.as_slice::<$t>().unwrap().to_vec()
            }
            fn same(a: Self, b: Self) -> bool {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
        }
    )*};
}
float_target!(f16, f32, f64);

macro_rules! complex_target {
    ($($t:ty),*) => {$(
        impl Target for $t {
            fn expected(buf: &ArrayBuf) -> Vec<Self> {
                buf.as_slice::<$t>().unwrap().to_vec()
            }
            fn same(a: Self, b: Self) -> bool {
                Target::same(a.re, b.re) && Target::same(a.im, b.im)
            }
        }
    )*};
}
complex_target!(Complex32, Complex64);

impl Target for bool {
    fn expected(buf: &ArrayBuf) -> Vec<Self> {
        buf.bytes()
            .iter()
            .map(|&b| {
                assert!(b <= 1, "numpy wrote bool byte {b}");
                b == 1
            })
            .collect()
    }
    fn same(a: Self, b: Self) -> bool {
        a == b
    }
}

/// The real parts of a float or complex source, as f64 (exact), for the saturating rule.
fn real_parts(src: &ArrayBuf) -> Option<Vec<f64>> {
    Some(match src.dtype() {
        DataType::Float16 => src
            .as_slice::<f16>()
            .unwrap()
            .iter()
            .map(|v| v.to_f64())
            .collect(),
        DataType::Float32 => src
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DataType::Float64 => src.as_slice::<f64>().unwrap().to_vec(),
        DataType::Complex64 => src
            .as_slice::<Complex32>()
            .unwrap()
            .iter()
            .map(|v| v.re as f64)
            .collect(),
        DataType::Complex128 => src
            .as_slice::<Complex64>()
            .unwrap()
            .iter()
            .map(|v| v.re)
            .collect(),
        _ => return None,
    })
}

#[derive(Default, Debug)]
struct Counts {
    pairs: usize,
    /// Values compared with numpy.
    numpy: usize,
    /// Values where numpy is undefined, checked against the saturating rule.
    saturated: usize,
}

fn check_pair<T: Target>(s: &str, src: &ArrayBuf, d: &str, counts: &mut Counts) {
    let expected = read_npy(dir().join(format!("{s}__to__{d}.npy"))).unwrap();
    assert_eq!(expected.dtype(), &T::DTYPE, "{s} -> {d}");
    assert_eq!(expected.len(), src.len(), "{s} -> {d}");
    let expected = T::expected(&expected);
    let mask_path = dir().join(format!("{s}__to__{d}.defined.npy"));
    let reals = real_parts(src);
    let mask = if mask_path.exists() {
        let m = read_npy(&mask_path).unwrap();
        assert_eq!(m.dtype(), &DataType::Bool);
        Some(bool::expected(&m))
    } else {
        None
    };
    let undefined_possible = reals.is_some() && T::DTYPE.is_integer();
    assert_eq!(mask.is_some(), undefined_possible, "{s} -> {d}: mask file");

    let mut got = vec![T::default(); src.len()];
    cast_into(src.dtype(), src.bytes(), &mut got).unwrap();
    for i in 0..got.len() {
        let defined = mask.as_ref().is_none_or(|m| m[i]);
        if defined {
            assert!(
                T::same(got[i], expected[i]),
                "{s} -> {d} [{i}]: nd {:?}, numpy {:?}",
                got[i],
                expected[i]
            );
            counts.numpy += 1;
        } else {
            // numpy is undefined here: nd saturates (NaN -> 0)
            let v = reals.as_ref().unwrap()[i];
            let (g, min, max) = got[i].int().unwrap();
            let want = if v.is_nan() {
                0
            } else if v > 0.0 {
                assert!(v >= max as f64 + 1.0, "{s} -> {d} [{i}]: {v} is in range");
                max
            } else {
                assert!(v <= min as f64 - 1.0, "{s} -> {d} [{i}]: {v} is in range");
                min
            };
            assert_eq!(g, want, "{s} -> {d} [{i}]: {v} saturates");
            counts.saturated += 1;
        }
    }
    counts.pairs += 1;
}

fn check_source(s: &str) -> Counts {
    let src = read_npy(dir().join(format!("{s}.npy"))).unwrap();
    assert!(src.len() > 4, "{s}");
    let mut counts = Counts::default();
    for d in ALL {
        match d {
            "bool" => check_pair::<bool>(s, &src, d, &mut counts),
            "int8" => check_pair::<i8>(s, &src, d, &mut counts),
            "int16" => check_pair::<i16>(s, &src, d, &mut counts),
            "int32" => check_pair::<i32>(s, &src, d, &mut counts),
            "int64" => check_pair::<i64>(s, &src, d, &mut counts),
            "uint8" => check_pair::<u8>(s, &src, d, &mut counts),
            "uint16" => check_pair::<u16>(s, &src, d, &mut counts),
            "uint32" => check_pair::<u32>(s, &src, d, &mut counts),
            "uint64" => check_pair::<u64>(s, &src, d, &mut counts),
            "float16" => check_pair::<f16>(s, &src, d, &mut counts),
            "float32" => check_pair::<f32>(s, &src, d, &mut counts),
            "float64" => check_pair::<f64>(s, &src, d, &mut counts),
            "complex64" => check_pair::<Complex32>(s, &src, d, &mut counts),
            "complex128" => check_pair::<Complex64>(s, &src, d, &mut counts),
            other => unreachable!("{other}"),
        }
    }
    assert_eq!(counts.pairs, ALL.len());
    if real_parts(&src).is_some() {
        assert!(counts.saturated > 0, "{s}: no undefined cases tested");
    }
    eprintln!("{s}: {counts:?}");
    counts
}

macro_rules! source_tests {
    ($($name:ident => $s:literal),*) => {$(
        #[test]
        fn $name() {
            check_source($s);
        }
    )*};
}
source_tests!(
    from_bool => "bool",
    from_int8 => "int8",
    from_int16 => "int16",
    from_int32 => "int32",
    from_int64 => "int64",
    from_uint8 => "uint8",
    from_uint16 => "uint16",
    from_uint32 => "uint32",
    from_uint64 => "uint64",
    from_float16 => "float16",
    from_float32 => "float32",
    from_float64 => "float64",
    from_complex64 => "complex64",
    from_complex128 => "complex128"
);

/// The fixture holds exactly the sources, pairs and masks the tests read (no stale or missing files).
#[test]
fn fixture_is_complete() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut want = Vec::new();
    for s in ALL {
        want.push(format!("{s}.npy"));
        for d in ALL {
            want.push(format!("{s}__to__{d}.npy"));
            let fc = s.starts_with("float") || s.starts_with("complex");
            if fc && d.contains("int") {
                want.push(format!("{s}__to__{d}.defined.npy"));
            }
        }
    }
    want.sort();
    assert_eq!(names, want);
}

/// Each source file's values read back unchanged as their own type (the same-type copy) and
/// through an unaligned buffer.
#[test]
fn same_type_and_unaligned() {
    for s in ALL {
        let src = read_npy(dir().join(format!("{s}.npy"))).unwrap();
        let mut shifted = vec![0u8; 1];
        shifted.extend_from_slice(src.bytes());
        let mut a = vec![0f64; src.len()];
        let mut b = vec![0f64; src.len()];
        cast_into(src.dtype(), src.bytes(), &mut a).unwrap();
        cast_into(src.dtype(), &shifted[1..], &mut b).unwrap();
        assert!(a.iter().zip(&b).all(|(x, y)| Target::same(*x, *y)), "{s}");
    }
}
