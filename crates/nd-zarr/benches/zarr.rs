//! nd-zarr alone on a 512 MiB uint16 array, chunks 64x256x256 (zstd-1, blosc-lz4 + shuffle,
//! uncompressed): full reads (into a reused and into a fresh buffer), a 64^3 cutout across chunk
//! boundaries, full writes. The comparison with zarr-python and zarrs on the same stores is
//! `python3 bench/run.py --tasks zarr_zstd,zarr_blosc,zarr_raw,zarr_cutout,zarr_write`
//! (interleaved rounds, one process per reader).
//!
//! The stores are bench/gen.py's (`zstd.zarr`, `blosc.zarr`, `raw.zarr`, written once by
//! zarr-python 2.18) in $ND_BENCH_DATA (default /tmp/nd-bench, the driver's directory).
//!
//! Run: cargo bench -p nd-zarr --bench zarr

use criterion::{BenchmarkId, Criterion};
use nd_core::{DirStore, Region, Store};
use nd_zarr::ZarrArray;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const CASES: [&str; 3] = ["zstd", "blosc", "raw"];

fn bench_dir() -> PathBuf {
    std::env::var_os("ND_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/nd-bench"))
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
            // as `nd convert` writes a store: under a temporary name, synced once at the commit
            b.iter(|| {
                let building = nd_core::io::TempDir::new(&dir).unwrap();
                let store: Arc<dyn Store> = Arc::new(DirStore::staging(&building).unwrap());
                let w = ZarrArray::create(store, "", meta.clone()).unwrap();
                w.write(&Region::full(&meta.shape), all.bytes()).unwrap();
                building.commit(true).unwrap();
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
}

fn main() {
    let dir = bench_dir();
    let stores: Vec<String> = CASES.iter().map(|c| format!("{c}.zarr")).collect();
    let st = Command::new(python())
        .arg(workspace().join("bench/gen.py"))
        .arg(&dir)
        .arg("--only")
        .arg(stores.join(","))
        .status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!(
            "cannot generate the benchmark stores (bench/gen.py needs {} with zarr 2.18)",
            python().display()
        );
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
