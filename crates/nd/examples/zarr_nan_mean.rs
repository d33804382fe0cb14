//! The NaN-aware mean of every numeric array in a Zarr hierarchy (or any dataset), out of core:
//! memory stays within the budget whatever the arrays' sizes.
//!
//! ```sh
//! cargo run -p nd --example zarr_nan_mean -- path/or/url/to/store.zarr
//! ```

fn main() -> Result<(), nd::Error> {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/zarr/hier.zarr");
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| default.to_string());
    let ds = nd::open(&path)?;
    let budget = nd::WorkOptions {
        budget: 64 << 20,
        ..nd::WorkOptions::default()
    };
    for entry in ds.arrays()? {
        let array = ds.array(&entry.path)?;
        if !array.dtype().is_numeric() {
            println!("{:<24} {:>12}  (not numeric)", entry.path, entry.dtype);
            continue;
        }
        let s = array.stats(&budget)?;
        println!(
            "{:<24} {:>12}  mean {:<12.6} ({} values, {} NaN)",
            entry.path, entry.dtype, s.mean, s.count, s.nan_count
        );
    }
    Ok(())
}
