//! Benchmarks: opening a 5000-block file (and touching every array), reading a 256 MiB array
//! (uncompressed and zlib), and a cutout of a Zarr-in-ASDF mosaic. The files are written once into
//! $ND_ASDF_BENCH_DIR (default /tmp/nd-asdf-bench) so that `benches/python_asdf.py` times python
//! asdf on the very same files. Size of the big array: $ND_ASDF_BENCH_MB (default 256).
use criterion::{criterion_group, criterion_main, Criterion};
use nd_asdf::{ArrayOptions, AsdfArrayWriter, AsdfFile, AsdfWriter, Compression};
use nd_core::{ArrayBuf, ArrayRead, ArrayWrite, DataType, Region};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(std::env::var("ND_ASDF_BENCH_DIR").unwrap_or("/tmp/nd-asdf-bench".into()))
}

fn setup() -> (PathBuf, u64) {
    let d = dir();
    std::fs::create_dir_all(&d).unwrap();
    let mb: u64 = std::env::var("ND_ASDF_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let n = mb * (1 << 20) / 8;
    let rows = n / 4096;
    if !d.join("many.asdf").exists() {
        let mut w = AsdfWriter::new();
        for i in 0..5000 {
            let a = ArrayBuf::from_vec(vec![10], &[i as f64; 10]).unwrap();
            w.add_array(&format!("arrays/a{i}"), &a, ArrayOptions::default())
                .unwrap();
        }
        w.write(d.join("many.asdf")).unwrap();
    }
    if !d.join("big.asdf").exists() {
        let aw = AsdfArrayWriter::create(
            d.join("big.asdf"),
            AsdfWriter::new(),
            "data",
            &DataType::Float64,
            &[rows, 4096],
        )
        .unwrap();
        let slab = 256u64;
        for r0 in (0..rows).step_by(slab as usize) {
            let r1 = (r0 + slab).min(rows);
            let v: Vec<f64> = (r0 * 4096..r1 * 4096)
                .map(|i| (i % 10007) as f64 * 0.5)
                .collect();
            aw.write_region(
                &Region::new(vec![r0..r1, 0..4096]),
                bytemuck::cast_slice(&v),
            )
            .unwrap();
        }
        aw.finish().unwrap();
    }
    if !d.join("big_zlib.asdf").exists() {
        let v: Vec<f64> = (0..rows * 4096).map(|i| (i % 10007) as f64 * 0.5).collect();
        let a = ArrayBuf::from_vec(vec![rows, 4096], &v).unwrap();
        drop(v);
        let mut w = AsdfWriter::new();
        w.add_array(
            "data",
            &a,
            ArrayOptions {
                compression: Some(Compression::Zlib),
                ..Default::default()
            },
        )
        .unwrap();
        w.write(d.join("big_zlib.asdf")).unwrap();
    }
    if !d.join("mosaic.asdf").exists() {
        let v: Vec<f32> = (0..4096u64 * 4096).map(|i| (i % 1013) as f32).collect();
        let a = ArrayBuf::from_vec(vec![4096, 4096], &v).unwrap();
        let mut w = AsdfWriter::new();
        w.add_zarr(
            "mosaic",
            &a,
            &[256, 256],
            &serde_json::json!({"id": "zlib", "level": 1}),
            Some(0.0),
        )
        .unwrap();
        w.write(d.join("mosaic.asdf")).unwrap();
    }
    (d, rows)
}

fn benches(c: &mut Criterion) {
    let (d, _) = setup();
    let mut g = c.benchmark_group("asdf");
    g.sample_size(10);
    g.bench_function("open_5000_blocks_touch_all", |b| {
        b.iter(|| {
            let f = AsdfFile::open(d.join("many.asdf")).unwrap();
            let mut s = 0.0;
            for i in 0..5000 {
                let a = f
                    .array(&format!("arrays/a{i}"))
                    .unwrap()
                    .read_all()
                    .unwrap();
                s += a.as_slice::<f64>().unwrap()[0];
            }
            s
        })
    });
    g.bench_function("open_5000_blocks", |b| {
        b.iter(|| AsdfFile::open(d.join("many.asdf")).unwrap().arrays().len())
    });
    g.bench_function("read_256MiB_uncompressed", |b| {
        b.iter(|| {
            AsdfFile::open(d.join("big.asdf"))
                .unwrap()
                .array("data")
                .unwrap()
                .read_all()
                .unwrap()
                .len()
        })
    });
    g.bench_function("read_256MiB_zlib", |b| {
        b.iter(|| {
            AsdfFile::open(d.join("big_zlib.asdf"))
                .unwrap()
                .array("data")
                .unwrap()
                .read_all()
                .unwrap()
                .len()
        })
    });
    g.bench_function("zarr_mosaic_cutout_1000x1000", |b| {
        b.iter(|| {
            let f = AsdfFile::open(d.join("mosaic.asdf")).unwrap();
            let a = f.array("mosaic").unwrap();
            a.read_region(&Region::new(vec![1500..2500, 700..1700]))
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(b, benches);
criterion_main!(b);
