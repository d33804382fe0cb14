//! Read and write a 512 MiB uint16 array, chunks 64x256x256 (zstd-1, blosc-lz4 + shuffle,
//! uncompressed): full reads, a 64^3 cutout across chunk boundaries, full writes.
//!
//! The stores are generated once by zarr-python 2.18 into $ND_ZARR_BENCH_DIR (default
//! /tmp/nd-zarr-bench) with benches/zarr_python_bench.py; the same script times zarr-python on
//! them in this run (before the criterion benches, so they do not compete for the 2 cores), and
//! so does the zarrs comparison binary (benches/zarrs-cmp, its own workspace) when built.
//! A table of medians and ratios is printed at the end.
//!
//! Run: cargo bench -p nd-zarr --bench zarr

use criterion::{BenchmarkId, Criterion};
use nd_core::{DirStore, Region, Store};
use nd_zarr::ZarrArray;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const CASES: [&str; 3] = ["zstd", "blosc_lz4", "raw"];

fn bench_dir() -> PathBuf {
    std::env::var_os("ND_ZARR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/nd-zarr-bench"))
}

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// The Python with zarr 2.18: $ND_PYTHON, else the workspace's .venv.
fn python() -> PathBuf {
    std::env::var_os("ND_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/zarr_python_bench.py")
}

fn run_json(cmd: &mut Command) -> Option<Value> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find('{')?;
    serde_json::from_str(&text[start..]).ok()
}

fn open(name: &str) -> ZarrArray {
    let store: Arc<dyn Store> =
        Arc::new(DirStore::open_read_only(bench_dir().join(format!("{name}.zarr"))).unwrap());
    ZarrArray::open(store, "").unwrap()
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_full");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for name in CASES {
        let a = open(name);
        let region = Region::full(&a.metadata().shape);
        // a reused, already touched output buffer: decoding cost only
        let mut out =
            nd_core::AlignedBuf::zeroed(a.metadata().shape.iter().product::<u64>() as usize * 2);
        out.as_mut_slice().fill(1);
        g.bench_function(BenchmarkId::new("reused_buffer", name), |b| {
            b.iter(|| a.read_into(&region, out.as_mut_slice()).unwrap())
        });
        // a fresh buffer per read (what zarr-python and zarrs do): includes first-touch page faults
        g.bench_function(BenchmarkId::new("fresh_buffer", name), |b| {
            b.iter(|| nd_core::ArrayRead::read_all(&a).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read_cutout");
    for name in CASES {
        let a = open(name);
        let region = Region::new(vec![100..164, 200..264, 300..364]);
        let mut out = vec![0u8; 64 * 64 * 64 * 2];
        g.bench_function(name, |b| b.iter(|| a.read_into(&region, &mut out).unwrap()));
    }
    g.finish();

    let mut g = c.benchmark_group("write_full");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    let src = open("raw");
    let all = nd_core::ArrayRead::read_all(&src).unwrap();
    for name in CASES {
        let meta = open(name).metadata().clone();
        let dir = bench_dir().join(format!("nd_write_{name}.zarr"));
        g.bench_function(name, |b| {
            b.iter(|| {
                let store: Arc<dyn Store> = Arc::new(DirStore::create(&dir).unwrap());
                let w = ZarrArray::create(store, "", meta.clone()).unwrap();
                w.write(&Region::full(&meta.shape), all.bytes()).unwrap();
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
}

fn median_of(id: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let p = dir.join("criterion").join(id).join("new/estimates.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64().map(|ns| ns / 1e9)
}

fn main() {
    let dir = bench_dir();
    let st = Command::new(python())
        .arg(script())
        .arg("gen")
        .arg(&dir)
        .status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!(
            "cannot generate the benchmark stores (needs {} with zarr 2.18)",
            python().display()
        );
        return;
    }
    let py = run_json(Command::new(python()).arg(script()).arg("time").arg(&dir));
    let zarrs_bin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/zarrs-cmp/target/release/zarrs-cmp");
    let zs = if zarrs_bin.exists() {
        run_json(Command::new(&zarrs_bin).arg(&dir))
    } else {
        eprintln!("zarrs comparison not built (see benches/zarrs-cmp/README)");
        None
    };
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();

    println!("\nmedian seconds (nd-zarr | zarr-python 2.18 | zarrs) and speed-ups");
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "case", "nd-zarr", "zarr-py", "zarrs", "vs py", "vs zarrs"
    );
    for kind in ["read_full", "read_cutout", "write_full"] {
        for name in CASES {
            let key = format!("{kind}/{name}");
            let ours = if kind == "read_full" {
                median_of(&format!("{kind}/fresh_buffer/{name}"))
            } else {
                median_of(&key)
            };
            let p = py.as_ref().and_then(|v| v[&key].as_f64());
            let z = zs.as_ref().and_then(|v| v[&key].as_f64());
            let f = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
            let r = |o: Option<f64>, t: Option<f64>| match (o, t) {
                (Some(o), Some(t)) => format!("{:.2}x", t / o),
                _ => "-".into(),
            };
            println!(
                "{key:<24} {:>9} {:>9} {:>9} {:>8} {:>8}",
                f(ours),
                f(p),
                f(z),
                r(ours, p),
                r(ours, z)
            );
        }
    }
    for name in CASES {
        let key = format!("read_full/reused_buffer/{name}");
        if let Some(t) = median_of(&key) {
            println!("{key:<36} {t:.4} s");
        }
    }
}
