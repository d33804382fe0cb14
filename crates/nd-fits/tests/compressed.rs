//! Every tile-compressed image of testdata/fits/manifest.json is decoded and compared value for
//! value (floats bit for bit) with what astropy returned, whole and by a middle section.

use nd_core::{ArrayBuf, ArrayRead, CountingSource, DataType, MemSource, Region};
use nd_fits::{Algorithm, Error, Fits};
use std::sync::Arc;

mod common;
use common::{manifest, npy, root};

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

/// The compressed bytes of tile 0 of HDU `i` of gen/c_hcompress_2.fits, and the tile shape.
fn hcompress_tile(i: usize) -> (Vec<u8>, Vec<u64>) {
    let fits = Fits::open(root().join("gen/c_hcompress_2.fits")).unwrap();
    let img = fits.compressed_image(i).unwrap();
    assert_eq!(img.algorithm(), Algorithm::Hcompress);
    let t = fits.table(i).unwrap();
    let c = t.find_column("COMPRESSED_DATA").unwrap().clone();
    let bytes = t.vla_rows(&c, 0..1).unwrap().remove(0).bytes().to_vec();
    (bytes, img.tile_shape().to_vec())
}

fn tile_dims(shape: &[u64]) -> (usize, usize) {
    let d: Vec<usize> = shape
        .iter()
        .filter(|&&n| n != 1)
        .map(|&n| n as usize)
        .collect();
    (d[0], d[1])
}

#[test]
fn hcompress_truncated_streams_are_errors() {
    use nd_fits::tile::hcompress::decode;
    // int16 lossless, float32 dithered (33 bit planes), full-range int32, smoothed lossy.
    for i in [1, 6, 14, 15] {
        let (b, shape) = hcompress_tile(i);
        let (nx, ny) = tile_dims(&shape);
        let whole = decode(&b, nx, ny, 0, i == 15).unwrap();
        assert_eq!(whole.len(), nx * ny);
        for cut in 0..b.len() {
            assert!(
                decode(&b[..cut], nx, ny, 0, i == 15).is_err(),
                "HDU {i}: {cut} of {} bytes decoded",
                b.len()
            );
        }
        // Trailing bytes are ignored, as cfitsio ignores them.
        let mut longer = b.clone();
        longer.extend_from_slice(&[0xFF; 9]);
        assert_eq!(decode(&longer, nx, ny, 0, i == 15).unwrap(), whole);
    }
}

#[test]
fn hcompress_hostile_headers_and_bytes_never_panic() {
    use nd_fits::tile::hcompress::decode;
    let (b, shape) = hcompress_tile(1);
    let (nx, ny) = tile_dims(&shape);
    let patch = |at: usize, v: &[u8]| {
        let mut x = b.clone();
        x[at..at + v.len()].copy_from_slice(v);
        x
    };
    let err = |x: &[u8], what: &str| {
        let e = decode(x, nx, ny, 0, true).unwrap_err();
        assert!(e.contains(what), "{e}");
    };
    err(&patch(0, &[0xDD, 0x98]), "magic");
    err(&patch(2, &0i32.to_be_bytes()), "dimensions");
    err(&patch(2, &(-16i32).to_be_bytes()), "dimensions");
    err(&patch(2, &i32::MAX.to_be_bytes()), "pixels");
    err(&patch(6, &i32::MAX.to_be_bytes()), "pixels");
    err(&patch(22, &[65]), "bit planes");
    err(&patch(24, &[255]), "bit planes");
    // The tile's dimensions transposed: astropy accepts any with the right product.
    let t = patch(
        2,
        &[(ny as u32).to_be_bytes(), (nx as u32).to_be_bytes()].concat(),
    );
    let _ = decode(&t, nx, ny, 0, false);
    // Extreme scales and sums, and 64 bit planes everywhere: wrapping arithmetic, no panic.
    for scale in [i32::MAX, i32::MIN, -1, 1 << 30] {
        let x = patch(10, &scale.to_be_bytes());
        let x = [&x[..14], &i64::MIN.to_be_bytes()[..], &x[22..]].concat();
        let _ = decode(&x, nx, ny, 0, true);
        let x = patch(22, &[64, 64, 64]);
        let _ = decode(&x, nx, ny, 0, true);
    }
    // Every byte of the stream replaced by a few values: an error or some values, never a panic.
    for (at, &orig) in b.iter().enumerate() {
        for v in [0x00, 0xFF, 0x0F, 0xF0, orig ^ 0x10] {
            let x = patch(at, &[v]);
            if let Ok(out) = decode(&x, nx, ny, 0, at % 2 == 0) {
                assert_eq!(out.len(), nx * ny);
            }
        }
    }
    // Degenerate tiles astropy never writes (1 x N, N x 1, 1 x 1, 2 x 3) with arbitrary bit
    // streams behind a valid header.
    let mut seed = 12345u64;
    for (sx, sy) in [(1usize, 1usize), (1, 7), (7, 1), (2, 3), (3, 2), (5, 5)] {
        for planes in [[0u8, 0, 0], [3, 2, 1], [64, 64, 64], [1, 0, 0]] {
            for _ in 0..50 {
                let mut x = vec![0xDD, 0x99];
                x.extend_from_slice(&(sx as i32).to_be_bytes());
                x.extend_from_slice(&(sy as i32).to_be_bytes());
                x.extend_from_slice(&3i32.to_be_bytes());
                x.extend_from_slice(&1000i64.to_be_bytes());
                x.extend_from_slice(&planes);
                for _ in 0..(seed % 40) {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    x.push((seed >> 56) as u8);
                }
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                if let Ok(out) = decode(&x, sx, sy, 0, true) {
                    assert_eq!(out.len(), sx * sy);
                }
            }
        }
    }
    // An all-zero image of one pixel: its value is the sum.
    let mut one = vec![0xDD, 0x99, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
    one.extend_from_slice(&(-77i64).to_be_bytes());
    one.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(decode(&one, 1, 1, 0, false).unwrap(), vec![-77]);
}
