//! Criterion benchmarks: header parsing (cards/s), opening a 500-HDU file, full read of a
//! 256 MiB float32 image, a 100x100 section of it; one float column of a 1M-row table, every
//! column of a 100k x 50 table, full decompression of 4096x4096 RICE_1 images (serial and
//! parallel tile decoding).
//!
//! The files live under /tmp/nd-fits-bench, made by `benches/compare.py` with astropy (which also
//! times astropy and fitsio on the same files): **run it first**. The image files are written here
//! with nd-fits if absent (set ND_FITS_BENCH_SIDE=1024 for a quick run on a smaller image); the
//! table and compressed-image cases are skipped with a message if their files are missing. Before
//! timing, each of those cases checks nd-fits' values against what astropy returned
//! (`/tmp/nd-fits-bench/expected/*.npy`, written by compare.py), byte for byte.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nd_core::{ArrayBuf, ArrayRead, DataType, Region};
use nd_fits::{Card, Fits, FitsWriter, Header};
use std::hint::black_box;
use std::path::PathBuf;

fn dir() -> PathBuf {
    let d = PathBuf::from("/tmp/nd-fits-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn side() -> u64 {
    std::env::var("ND_FITS_BENCH_SIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8192)
}

fn big_file() -> PathBuf {
    let n = side();
    let p = dir().join(format!("f32_{n}.fits"));
    if !p.exists() {
        let vals: Vec<f32> = (0..n * n).map(|i| (i % 1000) as f32 * 0.5).collect();
        let a = ArrayBuf::from_vec(vec![n, n], &vals).unwrap();
        let mut w = FitsWriter::create(&p);
        w.add_image(&a, &[]).unwrap();
        w.finish().unwrap();
    }
    p
}

fn many_file() -> PathBuf {
    let p = dir().join("many_500.fits");
    if !p.exists() {
        let mut w = FitsWriter::create(&p);
        w.add_empty_primary(&[]).unwrap();
        let a = ArrayBuf::from_vec(vec![2, 3], &[1i16; 6]).unwrap();
        for i in 1..500 {
            w.add_image(
                &a,
                &[Card::new("EXTNAME", format!("E{i}").as_str(), None).unwrap()],
            )
            .unwrap();
        }
        w.finish().unwrap();
    }
    p
}

fn header_bytes() -> (Vec<u8>, usize) {
    let mut h = Header::new();
    for i in 0..1000 {
        match i % 4 {
            0 => h
                .set(&format!("INT{i}"), i as i64, Some("an integer"))
                .unwrap(),
            1 => h
                .set(&format!("FLT{i}"), i as f64 * 1.5e-3, Some("a float"))
                .unwrap(),
            2 => h
                .set(&format!("STR{i}"), "some text value", Some("a string"))
                .unwrap(),
            _ => h
                .add_history("a history card with some text in it")
                .unwrap(),
        }
    }
    let n = h.len() + 1;
    (h.to_bytes(), n)
}

fn benches(c: &mut Criterion) {
    let (hb, ncards) = header_bytes();
    let mut g = c.benchmark_group("header");
    g.throughput(Throughput::Elements(ncards as u64));
    g.bench_function("parse_1000_cards", |b| {
        b.iter(|| black_box(Header::from_bytes(black_box(&hb)).unwrap()))
    });
    g.finish();

    let many = many_file();
    let mut g = c.benchmark_group("open");
    g.bench_function("open_500_hdus_walk_all", |b| {
        b.iter(|| {
            let f = Fits::open(&many).unwrap();
            black_box(f.len())
        })
    });
    g.finish();

    let big = big_file();
    let n = side();
    let fits = Fits::open(&big).unwrap();
    let img = fits.image(0).unwrap();
    assert_eq!(img.dtype(), &DataType::Float32);
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(n * n * 4));
    let full = Region::full(img.shape());
    let mut buf = vec![0u8; (n * n * 4) as usize];
    g.bench_function(format!("full_f32_{n}_into_buffer"), |b| {
        b.iter(|| img.read_region_into(&full, &mut buf).unwrap())
    });
    g.bench_function(format!("full_f32_{n}_read_all"), |b| {
        b.iter(|| black_box(img.read_all().unwrap()))
    });
    g.bench_function(format!("full_f32_{n}_open_and_read_all"), |b| {
        b.iter(|| {
            let f = Fits::open(&big).unwrap();
            black_box(f.image(0).unwrap().read_all().unwrap())
        })
    });
    g.finish();
    let mut g = c.benchmark_group("section");
    let r = Region::new(vec![n / 2..n / 2 + 100, n / 3..n / 3 + 100]);
    g.bench_function("section_100x100", |b| {
        b.iter(|| black_box(img.read_region(&r).unwrap()))
    });
    g.bench_function("open_and_section_100x100", |b| {
        b.iter(|| {
            let f = Fits::open(&big).unwrap();
            black_box(f.image(0).unwrap().read_region(&r).unwrap())
        })
    });
    g.finish();
}

/// A file written by compare.py, or `None` (with a message) if it is missing.
fn astropy_file(name: &str) -> Option<PathBuf> {
    let p = dir().join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping {}: missing; run `.venv/bin/python crates/nd-fits/benches/compare.py` first",
            p.display()
        );
        None
    }
}

/// Assert that nd-fits returned exactly what astropy did (dtype, shape, bytes), if compare.py
/// left the expected array; false if there was nothing to check against.
fn check_astropy(what: &str, got: &ArrayBuf) -> bool {
    let p = dir().join("expected").join(format!("{what}.npy"));
    let Ok(exp) = nd_core::npy::read_npy(&p) else {
        eprintln!(
            "{what}: no {} to check against (run compare.py)",
            p.display()
        );
        return false;
    };
    assert_eq!(
        got.dtype(),
        exp.dtype(),
        "{what}: dtype differs from astropy"
    );
    assert_eq!(
        got.shape(),
        exp.shape(),
        "{what}: shape differs from astropy"
    );
    assert!(
        got.bytes() == exp.bytes(),
        "{what}: values differ from astropy"
    );
    true
}

fn tables(c: &mut Criterion) {
    if let Some(path) = astropy_file("table_1m.fits") {
        let fits = Fits::open(&path).unwrap();
        let t = fits.table(1).unwrap();
        if check_astropy("table_1m_FLUX", &t.column("FLUX").unwrap()) {
            eprintln!("table_1m FLUX: values equal astropy's");
        }
        let mut g = c.benchmark_group("table_1m");
        g.sample_size(20);
        g.throughput(Throughput::Elements(t.nrows()));
        g.bench_function("open_read_column_E", |b| {
            b.iter(|| {
                let f = Fits::open(&path).unwrap();
                black_box(f.table(1).unwrap().column("FLUX").unwrap())
            })
        });
        g.bench_function("read_column_E", |b| {
            b.iter(|| black_box(t.column("FLUX").unwrap()))
        });
        g.finish();
    }
    if let Some(path) = astropy_file("wide_100k_x50.fits") {
        let fits = Fits::open(&path).unwrap();
        let t = fits.table(1).unwrap();
        let n = t.nrows();
        let all: Vec<usize> = (0..t.columns().len()).collect();
        let cols = t.read_rows(0..n, &all).unwrap();
        let checked = cols
            .iter()
            .enumerate()
            .filter(|(i, a)| check_astropy(&format!("wide_C{i:02}"), a))
            .count();
        eprintln!(
            "wide_100k_x50: {checked} of {} columns checked equal to astropy's",
            cols.len()
        );
        let mut g = c.benchmark_group("wide_100k_x50");
        g.sample_size(20);
        g.throughput(Throughput::Bytes(n * t.row_len()));
        g.bench_function("open_read_all_columns", |b| {
            b.iter(|| {
                let f = Fits::open(&path).unwrap();
                let t = f.table(1).unwrap();
                black_box(t.read_rows(0..n, &all).unwrap())
            })
        });
        g.bench_function("read_all_columns", |b| {
            b.iter(|| black_box(t.read_rows(0..n, &all).unwrap()))
        });
        g.bench_function("read_columns_one_by_one", |b| {
            b.iter(|| {
                for &i in &all {
                    black_box(t.column(i).unwrap());
                }
            })
        });
        g.finish();
    }
}

fn rice(c: &mut Criterion) {
    let cases = [
        ("rice_i32_rows", "rice_i32_4096_rows.fits"),
        ("rice_i32_256", "rice_i32_4096_t256.fits"),
        ("rice_f32q_rows", "rice_f32q_4096_rows.fits"),
    ];
    let mut g = c.benchmark_group("rice_4096");
    g.sample_size(10);
    for (name, file) in cases {
        let Some(path) = astropy_file(file) else {
            continue;
        };
        let open = |parallel: bool| {
            let f = Fits::open(&path).unwrap();
            let mut img = f.compressed_image(1).unwrap();
            img.set_parallel(parallel);
            img
        };
        let img = open(true);
        let px: u64 = img.shape().iter().product();
        if check_astropy(name, &img.read_all().unwrap()) {
            eprintln!("{name}: values equal astropy's");
        }
        g.throughput(Throughput::Bytes(px * img.dtype().size() as u64));
        for (mode, parallel) in [("serial", false), ("parallel", true)] {
            g.bench_function(format!("{name}_open_decompress_{mode}"), |b| {
                b.iter(|| black_box(open(parallel).read_all().unwrap()))
            });
        }
    }
    g.finish();
}

criterion_group!(all, benches, tables, rice);
criterion_main!(all);
