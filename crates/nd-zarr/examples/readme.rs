//! The README's example: write a Zarr v2 array into a directory store, read a region back.
use nd_core::{ArrayRead, DataType, DirStore, Region, Store};
use nd_zarr::{ArrayMetadataV2, Hierarchy, ZarrArray};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn Store> = Arc::new(DirStore::create("/tmp/data.zarr")?);
    let mut meta = ArrayMetadataV2::new(vec![100, 200], vec![32, 64], DataType::Float32)?;
    meta.compressor = serde_json::json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0});
    meta.fill_value = Some(f32::NAN.to_ne_bytes().to_vec());
    let a = ZarrArray::create(store.clone(), "images/raw", meta)?;
    let values = vec![0u8; 10 * 200 * 4];
    a.write(&Region::parse("0:10,:", &[100, 200])?, &values)?;
    nd_zarr::write_consolidated(store.clone())?;

    let h = Hierarchy::open(store)?; // one get: .zmetadata
    for path in h.arrays() {
        println!("{path}");
    }
    let cutout = h
        .array("images/raw")?
        .read_region(&Region::parse("5:15,100:110", &[100, 200])?)?;
    assert!(cutout.as_slice::<f32>()?[60].is_nan()); // rows 10.. were never written
    Ok(())
}
