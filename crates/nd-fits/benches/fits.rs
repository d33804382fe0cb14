//! Criterion benchmarks: header parsing (cards/s), opening a 500-HDU file, full read of a
//! 256 MiB float32 image, a 100x100 section of it.
//!
//! The big files live under /tmp/nd-fits-bench (made by `benches/compare.py` with astropy, which
//! also times astropy and fitsio on the same files); if absent they are written here with nd-fits.
//! Set ND_FITS_BENCH_SIDE=1024 for a quick run on a smaller image.

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

criterion_group!(all, benches);
criterion_main!(all);
