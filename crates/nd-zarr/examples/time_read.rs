//! Quick timing of full reads of bench/gen.py's Zarr stores (see benches/zarr.rs), for profiling:
//! cargo run --release -p nd-zarr --example time_read [DIR]

use nd_core::{DirStore, Region, Store};
use nd_zarr::ZarrArray;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/nd-bench".into());
    for name in ["zstd", "blosc", "raw"] {
        let store: Arc<dyn Store> =
            Arc::new(DirStore::open_read_only(format!("{dir}/{name}.zarr")).unwrap());
        let a = ZarrArray::open(store, "").unwrap();
        let region = Region::full(&a.metadata().shape);
        let mut out = nd_core::AlignedBuf::zeroed(512 << 20);
        let mut ts: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                a.read_into(&region, out.as_mut_slice()).unwrap();
                t.elapsed().as_secs_f64()
            })
            .collect();
        ts.sort_by(|a, b| a.total_cmp(b));
        let cut = Region::new(vec![100..164, 200..264, 300..364]);
        let mut small = vec![0u8; 64 * 64 * 64 * 2];
        let mut tc: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                a.read_into(&cut, &mut small).unwrap();
                t.elapsed().as_secs_f64()
            })
            .collect();
        tc.sort_by(|a, b| a.total_cmp(b));
        let wdir = format!("{dir}/time_write_{name}.zarr");
        let meta = a.metadata().clone();
        let mut tw: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let store: Arc<dyn Store> = Arc::new(DirStore::create(&wdir).unwrap());
                let w = ZarrArray::create(store, "", meta.clone()).unwrap();
                w.write(&region, out.as_slice()).unwrap();
                t.elapsed().as_secs_f64()
            })
            .collect();
        tw.sort_by(|a, b| a.total_cmp(b));
        let _ = std::fs::remove_dir_all(&wdir);
        println!(
            "{name:<10} full median {:.3} s min {:.3} s | cutout median {:.4} s | write median {:.3} s",
            ts[3], ts[0], tc[10], tw[1]
        );
    }
}
