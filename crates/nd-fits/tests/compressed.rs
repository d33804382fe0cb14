//! Every tile-compressed image of testdata/fits/manifest.json is decoded and compared value for
//! value (floats bit for bit) with what astropy returned, whole and by a middle section.

use nd_core::{ArrayBuf, ArrayRead, CountingSource, DataType, MemSource, Region};
use nd_fits::{Algorithm, Error, Fits};
use serde_json::Value as J;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits")
}

fn manifest() -> serde_json::Map<String, J> {
    let text = std::fs::read_to_string(root().join("manifest.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        J::Object(m) => m,
        _ => panic!("manifest is not an object"),
    }
}

fn npy(rel: &str) -> ArrayBuf {
    let raw = std::fs::read(root().join(rel)).unwrap();
    let bytes = if rel.ends_with(".gz") {
        let mut v = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut v)
            .unwrap();
        v
    } else {
        raw
    };
    nd_core::npy::read_npy_bytes(&bytes).unwrap()
}

fn assert_same(got: &ArrayBuf, want: &ArrayBuf, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let mut bad = 0;
    match got.dtype() {
        DataType::Float32 => {
            let (a, b) = (
                got.as_slice::<f32>().unwrap(),
                want.as_slice::<f32>().unwrap(),
            );
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if !(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())) {
                    if bad < 5 {
                        eprintln!("{what}: element {i}: {x} != {y}");
                    }
                    bad += 1;
                }
            }
        }
        DataType::Float64 => {
            let (a, b) = (
                got.as_slice::<f64>().unwrap(),
                want.as_slice::<f64>().unwrap(),
            );
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if !(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())) {
                    if bad < 5 {
                        eprintln!("{what}: element {i}: {x} != {y}");
                    }
                    bad += 1;
                }
            }
        }
        _ => {
            let e = got.dtype().size();
            for (i, (x, y)) in got
                .bytes()
                .chunks(e)
                .zip(want.bytes().chunks(e))
                .enumerate()
            {
                if x != y {
                    if bad < 5 {
                        eprintln!("{what}: element {i}: bytes {x:?} != {y:?}");
                    }
                    bad += 1;
                }
            }
        }
    }
    assert_eq!(bad, 0, "{what}: {bad} values differ");
}

#[test]
fn every_compressed_image_reads_as_astropy_reads_it() {
    let m = manifest();
    let mut done = 0;
    let mut hcompress = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for (rel, entry) in &m {
        let fits = Fits::open(root().join(entry["path"].as_str().unwrap())).unwrap();
        for h in entry["hdus"].as_array().unwrap() {
            let Some(c) = h.get("comp") else { continue };
            let i = h["index"].as_u64().unwrap() as usize;
            let what = format!("{rel} HDU {i}");
            let img = fits
                .compressed_image(i)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let hdu = fits.hdu(i).unwrap();
            let shape: Vec<u64> = c["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(img.shape(), &shape[..], "{what}: shape");
            assert_eq!(hdu.shape(), shape, "{what}: Hdu::shape");
            assert_eq!(
                img.dtype().to_string(),
                c["dtype"].as_str().unwrap(),
                "{what}"
            );
            assert_eq!(hdu.physical_dtype().as_ref(), Some(img.dtype()), "{what}");
            // The image header: astropy's keywords in astropy's order (commentary aside).
            let want_keys: Vec<&str> = c["header"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k[0].as_str().unwrap())
                .filter(|k| !matches!(*k, "COMMENT" | "HISTORY" | ""))
                .collect();
            let got_keys: Vec<&str> = img
                .image_header()
                .cards()
                .iter()
                .map(|c| c.keyword())
                .filter(|k| !matches!(*k, "COMMENT" | "HISTORY" | ""))
                .collect();
            assert_eq!(got_keys, want_keys, "{what}: image header keywords");
            if img.algorithm() == Algorithm::Hcompress {
                hcompress += 1;
            }
            kinds.insert(format!("{:?} {}", img.algorithm(), img.dtype()));
            let got = img.read_all().unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_same(&got, &npy(c["data"].as_str().unwrap()), &what);
            // fits.image(i) gives the same.
            let via_image = fits.image(i).unwrap().read_all().unwrap();
            assert_eq!(via_image.bytes(), got.bytes(), "{what}: via image()");
            if let Some(s) = c.get("section") {
                let region = Region::new(
                    s["region"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r[0].as_u64().unwrap()..r[1].as_u64().unwrap())
                        .collect(),
                );
                let part = img.read_region(&region).unwrap();
                assert_same(
                    &part,
                    &npy(s["data"].as_str().unwrap()),
                    &format!("{what} section"),
                );
            }
            done += 1;
        }
    }
    eprintln!(
        "compressed images checked: {done}; HCOMPRESS among them: {hcompress}; kinds {kinds:?}"
    );
    assert!(done >= 40, "{done}");
    assert!(hcompress >= 8, "{hcompress} HCOMPRESS images");
}

#[test]
fn a_region_decodes_only_its_tiles() {
    let bytes = std::fs::read(root().join("gen/c_rice_1.fits")).unwrap();
    let src = Arc::new(CountingSource::new(MemSource::new(bytes)));
    let fits = Fits::from_source(src.clone()).unwrap();
    // Find an HDU with (8, 16) tiles.
    let n = fits.len();
    let mut checked = false;
    for i in 1..n {
        let img = fits.compressed_image(i).unwrap();
        if img.tile_shape() != [8, 16] {
            continue;
        }
        let region = Region::new(vec![9..12, 17..20]);
        let tiles = img.tiles_for(&region).unwrap();
        assert_eq!(tiles, vec![3]);
        src.reset();
        let part = img.read_region(&region).unwrap();
        let whole = img.read_all().unwrap();
        let e = img.dtype().size();
        for r in 0..3usize {
            let w = &whole.bytes()[((9 + r) * 30 + 17) * e..((9 + r) * 30 + 20) * e];
            assert_eq!(&part.bytes()[r * 3 * e..(r + 1) * 3 * e], w);
        }
        checked = true;
        break;
    }
    assert!(checked);
    // One tile's bytes only (after the descriptors, read at open).
    let img = fits.compressed_image(1).unwrap();
    src.reset();
    let _ = img.read_region(&Region::new(vec![0..1, 0..1])).unwrap();
    assert_eq!(src.reads(), 1);
}

#[test]
fn corrupt_tiles_are_typed_errors() {
    let bytes = std::fs::read(root().join("gen/c_rice_1.fits")).unwrap();
    let fits = Fits::open(root().join("gen/c_rice_1.fits")).unwrap();
    let hdu = fits.hdu(1).unwrap().clone();
    let t = fits.table(1).unwrap();
    let (heap_off, heap_len) = t.heap();
    // Garbage in the heap: RICE decoding must fail with a typed error or give some values.
    for seed in 0..20u64 {
        let mut bad = bytes.clone();
        let start = (hdu.data_offset + heap_off) as usize;
        for k in 0..heap_len as usize {
            bad[start + k] = (k as u64 * 2654435761 + seed * 97) as u8;
        }
        let f = Fits::from_source(Arc::new(MemSource::new(bad))).unwrap();
        match f
            .compressed_image(1)
            .and_then(|img| img.read(&Region::full(img.shape())))
        {
            Ok(_) => {}
            Err(Error::Table {
                hdu: 1,
                row: Some(_),
                column: Some(_),
                ..
            }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    // A descriptor pointing outside the heap.
    let mut bad = bytes.clone();
    let at = hdu.data_offset as usize + 4;
    bad[at..at + 4].copy_from_slice(&(i32::MAX).to_be_bytes());
    let f = Fits::from_source(Arc::new(MemSource::new(bad))).unwrap();
    match f.compressed_image(1) {
        Err(Error::Table {
            hdu: 1,
            row: Some(0),
            column: Some(c),
            ..
        }) => {
            assert_eq!(c, "COMPRESSED_DATA")
        }
        other => panic!("{other:?}"),
    }
    // Truncations of every compressed file: no panic.
    for rel in ["gen/c_gzip_2.fits", "gen/c_float.fits", "gen/c_plio_1.fits"] {
        let bytes = std::fs::read(root().join(rel)).unwrap();
        for cut in (0..bytes.len()).step_by(1013) {
            let Ok(f) = Fits::from_source(Arc::new(MemSource::new(bytes[..cut].to_vec()))) else {
                continue;
            };
            for i in 1..f.len() {
                if let Ok(img) = f.compressed_image(i) {
                    let _ = img.read_all();
                }
            }
        }
    }
}
