//! Entry points for the cargo-fuzz targets and the corpus replay tests. Never panic.

use crate::{Fits, Header};
use nd_core::{ArrayRead, MemSource, Region};
use std::sync::Arc;

/// Parse a header; if it parses, write it and parse it again: the cards must be the same.
pub fn header(data: &[u8]) {
    if let Ok((h, _)) = Header::from_bytes(data) {
        let bytes = h.to_bytes();
        let (h2, n) = Header::from_bytes(&bytes).expect("re-parse of a written header");
        assert_eq!(n, bytes.len());
        let a: Vec<&str> = h.cards().iter().map(|c| c.raw()).collect();
        let b: Vec<&str> = h2.cards().iter().map(|c| c.raw()).collect();
        assert_eq!(a, b, "header round trip");
        assert_eq!(h2.to_bytes(), bytes);
    }
}

/// Open a whole file from bytes and walk every HDU, verifying checksums.
pub fn walk(data: &[u8]) {
    let Ok(f) = Fits::from_source(Arc::new(MemSource::new(data.to_vec()))) else {
        return;
    };
    let n = f.len();
    for i in 0..n {
        if let Ok(h) = f.hdu(i) {
            let _ = (h.shape(), h.name(), h.physical_dtype(), h.end_offset());
        }
    }
    let _ = crate::verify_checksums(&f);
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
                    // The region must equal the same part of the whole read.
                    let e = img.dtype().size();
                    let mut expect = vec![0u8; part.bytes().len()];
                    let _ = nd_core::shape::copy_region(
                        all.bytes(),
                        &shape,
                        nd_core::Order::C,
                        &r,
                        &mut expect,
                        &r.shape(),
                        &vec![0; shape.len()],
                        e,
                    );
                    assert_eq!(expect, part.bytes(), "region differs from the whole read");
                }
            }
        }
    }
}
