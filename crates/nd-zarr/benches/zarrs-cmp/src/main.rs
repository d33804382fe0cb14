//! Time zarrs on the stores of nd-zarr's benchmark: prints JSON {case: median seconds}.
//! Usage: zarrs-cmp DIR  (DIR holds zstd.zarr, blosc_lz4.zarr, raw.zarr)

use std::sync::Arc;
use std::time::Instant;
use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;

fn median(mut f: impl FnMut(), n: usize) -> f64 {
    let mut ts: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(|a, b| a.total_cmp(b));
    ts[n / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: zarrs-cmp DIR")?);
    let mut out = serde_json::Map::new();
    let full = ArraySubset::new_with_ranges(&[0..1024, 0..512, 0..512]);
    let cut = ArraySubset::new_with_ranges(&[100..164, 200..264, 300..364]);
    let mut all: Vec<u16> = Vec::new();
    for name in ["zstd", "blosc_lz4", "raw"] {
        let store = Arc::new(FilesystemStore::new(dir.join(format!("{name}.zarr")))?);
        let a = Array::open(store, "/")?;
        let t = median(
            || {
                let v: Vec<u16> = a.retrieve_array_subset(&full).unwrap();
                std::hint::black_box(&v);
                if all.is_empty() {
                    all = v;
                }
            },
            5,
        );
        out.insert(format!("read_full/{name}"), t.into());
        let t = median(
            || {
                let v: Vec<u16> = a.retrieve_array_subset(&cut).unwrap();
                std::hint::black_box(v);
            },
            50,
        );
        out.insert(format!("read_cutout/{name}"), t.into());
    }
    for name in ["zstd", "blosc_lz4", "raw"] {
        let src = Arc::new(FilesystemStore::new(dir.join(format!("{name}.zarr")))?);
        let meta = Array::open(src, "/")?.metadata().clone();
        let wdir = dir.join(format!("zarrs_write_{name}.zarr"));
        let t = median(
            || {
                let _ = std::fs::remove_dir_all(&wdir);
                let store = Arc::new(FilesystemStore::new(&wdir).unwrap());
                let w = Array::new_with_metadata(store, "/", meta.clone()).unwrap();
                w.store_metadata().unwrap();
                w.store_array_subset(&full, &all).unwrap();
            },
            3,
        );
        let _ = std::fs::remove_dir_all(&wdir);
        out.insert(format!("write_full/{name}"), t.into());
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
