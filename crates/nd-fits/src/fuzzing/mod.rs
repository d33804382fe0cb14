//! Entry points for the cargo-fuzz targets and the corpus replay tests. Never panic.

use crate::{Fits, Header};
use nd_core::{ArrayBuf, ArrayRead, MemSource, Region};
use std::sync::Arc;

mod structured;
pub use structured::{header_chain, tile_codec, tile_image};

/// Parse a header; if it parses, write it and parse it again: the cards must be the same.
pub fn header(data: &[u8]) {
    if let Ok((h, _)) = Header::from_bytes(data) {
        let bytes = h.to_bytes();
        let (h2, n) = Header::from_bytes(&bytes).expect("re-parse of a written header"); // ok: a fuzz invariant; the panic is the finding
        assert_eq!(n, bytes.len());
        let a: Vec<&str> = h.cards().iter().map(|c| c.raw()).collect();
        let b: Vec<&str> = h2.cards().iter().map(|c| c.raw()).collect();
        assert_eq!(a, b, "header round trip");
        assert_eq!(h2.to_bytes(), bytes);
    }
}

/// The decompressed size [`walk`] allows a gzip-compressed input
/// ([`nd_core::Limits::decompressed_bytes`]): 64 KiB, about four times the largest plain input
/// the campaign gives the target (14,400 bytes), so a gzip input costs at most a few times what
/// a plain one does. With the default (16 GiB) a 10 KB input of a thousand HDUs took the fuzzer
/// half a second to walk; larger gzip inputs now end in the limit's typed error.
pub const WALK_GZIP_LIMIT: u64 = 64 << 10;

/// Open a whole file from bytes and walk every HDU, verifying checksums and every structure
/// check of `nd verify`. Gzip input is limited to [`WALK_GZIP_LIMIT`] decompressed bytes.
pub fn walk(data: &[u8]) {
    let opts = crate::OpenOptions {
        limits: nd_core::Limits {
            decompressed_bytes: WALK_GZIP_LIMIT,
            ..nd_core::Limits::default()
        },
        ..crate::OpenOptions::default()
    };
    let Ok(f) = Fits::from_source_with(Arc::new(MemSource::new(data.to_vec())), opts) else {
        return;
    };
    let n = f.len();
    for i in 0..n {
        if let Ok(h) = f.hdu(i) {
            let _ = (h.shape(), h.name(), h.physical_dtype(), h.end_offset());
        }
    }
    let _ = crate::verify_checksums(&f);
    let _ = crate::verify(&f);
    let _ = f.walk_error();
}

/// Open a file and read a region of each image HDU; the region is chosen by the first bytes.
pub fn region(data: &[u8]) {
    let (sel, file) = data.split_at(data.len().min(8));
    let Ok(f) = Fits::from_source(Arc::new(MemSource::new(file.to_vec()))) else {
        return;
    };
    for i in 0..f.len().min(4) {
        for raw in [false, true] {
            let img = if raw { f.raw_image(i) } else { f.image(i) };
            let Ok(img) = img else { continue };
            let shape = img.shape().to_vec();
            let ranges = shape
                .iter()
                .enumerate()
                .map(|(k, &d)| {
                    let a = sel.get(2 * k % 8).copied().unwrap_or(0) as u64;
                    let b = sel.get((2 * k + 1) % 8).copied().unwrap_or(255) as u64;
                    let s = if d == 0 { 0 } else { a % d };
                    let e = (s + b % (d - s + 1)).min(d);
                    s..e
                })
                .collect();
            let r = Region::new(ranges);
            if let Ok(part) = img.read_region(&r) {
                if let Ok(all) = img.read_all() {
                    assert_part_of(
                        &all,
                        &shape,
                        &r,
                        &part,
                        "region differs from the whole read",
                    );
                }
            }
        }
    }
}

/// A region read must equal the same part of the whole read (a fuzzing invariant).
fn assert_part_of(all: &ArrayBuf, shape: &[u64], r: &Region, part: &ArrayBuf, what: &str) {
    let mut expect = vec![0u8; part.bytes().len()];
    let _ = nd_core::shape::copy_region(
        all.bytes(),
        shape,
        nd_core::Order::C,
        r,
        &mut expect,
        &r.shape(),
        &vec![0; shape.len()],
        all.dtype().size(),
    );
    assert_eq!(expect, part.bytes(), "{what}"); // ok: fuzzing invariant, the point of the target
}

/// Open a file and read every column (fixed and variable-length) of every table HDU, and a few
/// row ranges; every problem must be a typed error.
pub fn table(data: &[u8]) {
    let Ok(f) = Fits::from_source(Arc::new(MemSource::new(data.to_vec()))) else {
        return;
    };
    for i in 0..f.len().min(6) {
        let Ok(t) = f.table(i) else { continue };
        let n = t.nrows();
        for c in t.columns().to_vec() {
            if c.is_variable() {
                let _ = t.vla_column(c.index);
            } else if let Ok(all) = t.column(c.index) {
                // A range of rows equals the same rows of the whole column.
                if n >= 2 {
                    if let Ok(mut part) = t.read_rows(1..n, &[c.index]) {
                        let part = part.remove(0);
                        let cell = all.bytes().len() / n as usize;
                        assert_eq!(part.bytes(), &all.bytes()[cell..], "row range");
                    }
                }
            }
        }
    }
}

/// RICE_1 decoding of arbitrary bytes (first byte: BYTEPIX and block size), then a round trip
/// of values taken from the input.
pub fn rice(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let bytepix = [1usize, 2, 4][(sel % 3) as usize];
    let blocksize = [16usize, 32, 7, 1][((sel >> 2) % 4) as usize];
    let n = ((sel >> 4) as usize + 1) * 37;
    let mut out = vec![0i32; n];
    let _ = crate::tile::rice::decode(rest, bytepix, blocksize, &mut out);
    let vals: Vec<i64> = rest
        .chunks(bytepix)
        .map(|c| {
            let mut v = 0i64;
            for &b in c {
                v = (v << 8) | b as i64;
            }
            match bytepix {
                1 => v as u8 as i64,
                2 => v as u16 as i16 as i64,
                _ => v as u32 as i32 as i64,
            }
        })
        .collect();
    if let Ok(enc) = crate::tile::rice::encode(&vals, bytepix, blocksize) {
        let mut back = vec![0i32; vals.len()];
        crate::tile::rice::decode(&enc, bytepix, blocksize, &mut back).expect("decode own stream"); // ok: a fuzz invariant; the panic is the finding
        let back: Vec<i64> = back.iter().map(|&v| v as i64).collect();
        assert_eq!(back, vals, "RICE round trip");
    }
}

/// PLIO_1 decoding of arbitrary 16-bit words, then a round trip of values from the input.
pub fn plio(data: &[u8]) {
    let words: Vec<i16> = data
        .chunks_exact(2)
        .map(|c| i16::from_be_bytes([c[0], c[1]]))
        .collect();
    let n = data.first().map_or(10, |&b| b as usize * 8 + 1);
    let mut out = vec![0i32; n];
    let _ = crate::tile::plio::decode(&words, &mut out);
    let px: Vec<i32> = data
        .iter()
        .map(|&b| (b as i32 % 5) * 1000 * (b as i32 / 5))
        .collect();
    if let Ok(ll) = crate::tile::plio::encode(&px) {
        let mut back = vec![0i32; px.len()];
        crate::tile::plio::decode(&ll, &mut back).expect("decode own list"); // ok: a fuzz invariant; the panic is the finding
        assert_eq!(back, px, "PLIO round trip");
    }
}

/// Open a file and decode every tile-compressed image in it (all algorithms, quantization),
/// whole and by a small region that must equal the same part of the whole.
pub fn gzip_tile(data: &[u8]) {
    let Ok(f) = Fits::from_source(Arc::new(MemSource::new(data.to_vec()))) else {
        return;
    };
    for i in 0..f.len().min(6) {
        let Ok(img) = f.compressed_image(i) else {
            continue;
        };
        let shape = img.shape().to_vec();
        if shape.iter().product::<u64>() > 1 << 22 {
            continue;
        }
        if let Ok(all) = img.read_all() {
            let r = Region::new(shape.iter().map(|&d| d / 2..d).collect());
            if let Ok(part) = img.read_region(&r) {
                assert_part_of(
                    &all,
                    &shape,
                    &r,
                    &part,
                    "tile region differs from the whole",
                );
            }
        }
    }
}

/// HCOMPRESS_1 decoding of arbitrary bytes (first byte: bit 0 turns smoothing on). The tile
/// size is taken from the stream's own header when it is small, so that the fuzzer reaches the
/// bit planes; every result has one value per pixel, each an i32, and smoothing changes nothing
/// when the stream's scale is at most 1.
pub fn hcompress(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let smooth = sel & 1 == 1;
    let dim = |at: usize| -> usize {
        rest.get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .map_or(4, |v| v.clamp(1, 300) as usize)
    };
    let (nx, ny) = (dim(2), dim(6));
    let Ok(out) = crate::tile::hcompress::decode(rest, nx, ny, 0, smooth) else {
        return;
    };
    assert_eq!(out.len(), nx * ny, "one value per pixel");
    assert!(
        out.iter().all(|&v| v == v as i32 as i64),
        "values are 32-bit"
    );
    let scale = rest
        .get(10..14)
        .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if scale <= 1 {
        let other = crate::tile::hcompress::decode(rest, nx, ny, 0, !smooth);
        assert_eq!(other.as_ref().ok(), Some(&out), "smoothing with scale <= 1");
    }
}
