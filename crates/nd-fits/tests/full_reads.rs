//! Large reads take the positional path (each piece read straight into the output and converted
//! there, pieces in parallel); small regions take the batched `read_ranges` path. Both must give
//! the values computed here from the stored big-endian bytes (a brute-force oracle), from a file
//! (memory map + positional reads) and from memory, and a data unit cut short must be the same
//! typed error either way.

use nd_core::{ArrayRead, MemSource, Region};
use nd_fits::{Error, Fits};
use std::sync::Arc;

/// A FITS file: one primary image with `cards` after the mandatory ones, data `data` (already
/// big-endian), padded to the 2880-byte block.
fn fits_bytes(bitpix: i64, shape: &[u64], cards: &[String], data: &[u8]) -> Vec<u8> {
    let mut h: Vec<String> = vec![
        format!("{:<8}= {:>20}", "SIMPLE", "T"),
        format!("{:<8}= {:>20}", "BITPIX", bitpix),
        format!("{:<8}= {:>20}", "NAXIS", shape.len()),
    ];
    for (i, n) in shape.iter().rev().enumerate() {
        h.push(format!("{:<8}= {:>20}", format!("NAXIS{}", i + 1), n));
    }
    h.extend(cards.iter().cloned());
    h.push("END".into());
    let mut out: Vec<u8> = h
        .iter()
        .flat_map(|c| format!("{c:<80}").into_bytes())
        .collect();
    out.resize(out.len().div_ceil(2880) * 2880, b' ');
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

fn card(key: &str, v: f64) -> String {
    format!("{key:<8}= {v:>20}")
}

/// Read the whole image (positional path) and a few thin regions (batched path) from memory and
/// from a file; each must equal `want(flat index)` byte for byte (NaN included).
fn check_all<T: nd_core::Element>(bytes: &[u8], shape: &[u64], want: impl Fn(usize) -> T) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.fits");
    std::fs::write(&path, bytes).unwrap();
    let from_file = Fits::open(&path).unwrap();
    let from_mem = Fits::from_source(Arc::new(MemSource::new(bytes.to_vec()))).unwrap();
    let n: u64 = shape.iter().product();
    let expect: Vec<T> = (0..n as usize).map(&want).collect();
    for f in [&from_file, &from_mem] {
        let img = f.image(0).unwrap();
        let full = img.read(&Region::full(shape)).unwrap();
        assert!(
            full.bytes() == bytemuck::cast_slice::<T, u8>(&expect),
            "full read"
        );
        // one row (a few KiB: batched), a band of rows (large: positional), a column (batched)
        let w = shape[1];
        for r in [
            Region::new(vec![7..8, 0..w]),
            Region::new(vec![3..shape[0] - 2, 0..w]),
            Region::new(vec![0..shape[0], 5..6]),
        ] {
            let got = img.read_region(&r).unwrap();
            let mut exp = Vec::new();
            for y in r.ranges[0].clone() {
                for x in r.ranges[1].clone() {
                    exp.push(want((y * w + x) as usize));
                }
            }
            assert!(
                got.bytes() == bytemuck::cast_slice::<T, u8>(&exp),
                "region {r:?}"
            );
        }
    }
}

#[test]
fn float32_full_read_in_parallel_pieces() {
    // 1100 x 1024 float32 = 4.3 MiB: two pieces, read in parallel
    let shape = [1100u64, 1024];
    let val = |i: usize| (i as f32) * 0.25 - 1000.0;
    let data: Vec<u8> = (0..1100 * 1024)
        .flat_map(|i| val(i).to_be_bytes())
        .collect();
    check_all::<f32>(&fits_bytes(-32, &shape, &[], &data), &shape, val);
}

#[test]
fn unsigned_int16_is_converted_in_place() {
    let shape = [700u64, 300];
    let val = |i: usize| (i * 37 % 65536) as u16;
    let data: Vec<u8> = (0..700 * 300)
        .flat_map(|i| ((val(i) ^ 0x8000) as i16).to_be_bytes())
        .collect();
    let cards = [card("BSCALE", 1.0), card("BZERO", 32768.0)];
    check_all::<u16>(&fits_bytes(16, &shape, &cards, &data), &shape, val);
}

#[test]
fn scaled_int16_with_blank_goes_through_scratch() {
    let shape = [600u64, 512];
    let raw = |i: usize| ((i * 7919) % 60000) as i32 - 30000;
    let data: Vec<u8> = (0..600 * 512)
        .flat_map(|i| (raw(i) as i16).to_be_bytes())
        .collect();
    let cards = [
        card("BSCALE", 0.5),
        card("BZERO", 100.0),
        format!("{:<8}= {:>20}", "BLANK", raw(11)),
    ];
    let blank = raw(11);
    let val = |i: usize| {
        if raw(i) == blank {
            f32::NAN.to_bits()
        } else {
            (raw(i) as f32 * 0.5 + 100.0).to_bits()
        }
    };
    let bytes = fits_bytes(16, &shape, &cards, &data);
    check_all::<f32>(&bytes, &shape, |i| f32::from_bits(val(i)));
}

#[test]
fn truncated_data_unit_is_the_same_error_on_both_paths() {
    let shape = [1000u64, 1000];
    let data = vec![0u8; 1000 * 1000 * 4];
    let mut bytes = fits_bytes(-32, &shape, &[], &data);
    bytes.truncate(bytes.len() - 2880 * 10 - 5000);
    let f = Fits::from_source(Arc::new(MemSource::new(bytes))).unwrap();
    let img = f.image(0).unwrap();
    // full read: positional path
    let e = img.read(&Region::full(&shape)).unwrap_err();
    assert!(matches!(e, Error::Truncated { hdu: 0, .. }), "{e}");
    // last row alone: batched path
    let e = img
        .read(&Region::new(vec![999..1000, 0..1000]))
        .unwrap_err();
    assert!(matches!(e, Error::Truncated { hdu: 0, .. }), "{e}");
    // rows before the cut still read
    assert!(img.read(&Region::new(vec![0..10, 0..1000])).is_ok());
}
