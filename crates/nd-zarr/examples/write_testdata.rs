//! Write testdata/zarr/written/: every testdata case (see testdata/gen_zarr.py) re-written by
//! nd-zarr with the same metadata and the values zarr-python read, plus a hierarchy with groups,
//! attributes and consolidated metadata. testdata/check_zarr_written.py then reads them all with
//! zarr-python and compares with testdata/zarr/expected/.
//!
//! Run: cargo run -p nd-zarr --example write_testdata

use nd_core::{ArrayRead, DataType, DirStore, Region, Store};
use nd_zarr::{ArrayMetadataV2, ZarrArray};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Cases not re-written: the blosc matrix is covered by a few representatives (size budget).
fn skip(name: &str) -> bool {
    name.starts_with("blosc_")
        && !matches!(
            name,
            "blosc_lz4_shuffle" | "blosc_zstd_bitshuffle" | "blosc_blosclz_auto" | "blosc_u1"
        )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr");
    let out = root.join("written");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(root.join("cases.json"))?)?;
    let mut written = Vec::new();
    for c in cases.as_array().ok_or("cases.json")? {
        let name = c["name"].as_str().ok_or("name")?;
        if skip(name) {
            continue;
        }
        let src: Arc<dyn Store> = Arc::new(DirStore::open_read_only(
            root.join(c["store"].as_str().ok_or("store")?),
        )?);
        let a = ZarrArray::open(src, c["path"].as_str().unwrap_or(""))?;
        let values = a.read_all()?;
        let dst: Arc<dyn Store> = Arc::new(DirStore::create(out.join(format!("{name}.zarr")))?);
        let w = ZarrArray::create(dst, "", a.metadata().clone())?;
        w.write(&Region::full(a.shape()), values.bytes())?;
        written.push(json!({"name": name, "store": format!("{name}.zarr"), "npy": c["npy"]}));
    }

    // A hierarchy: nested groups with attributes, arrays in them, consolidated metadata.
    let hp = out.join("hier.zarr");
    let store: Arc<dyn Store> = Arc::new(DirStore::create(&hp)?);
    let attrs = |v: Value| v.as_object().cloned().unwrap_or_default();
    nd_zarr::create_group(
        store.as_ref(),
        "",
        Some(&attrs(
            json!({"title": "written by nd-zarr", "n": 3, "list": [1, 2.5, null]}),
        )),
    )?;
    nd_zarr::create_group(store.as_ref(), "a/b", Some(&attrs(json!({"level": 2}))))?;
    let mut m = ArrayMetadataV2::new(vec![10, 12], vec![4, 5], DataType::Float64)?;
    m.compressor =
        json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1, "blocksize": 0});
    m.fill_value = Some(f64::NAN.to_ne_bytes().to_vec());
    let mut arr = ZarrArray::create(store.clone(), "a/b/data", m)?;
    arr.set_attributes(attrs(json!({"units": "K"})))?;
    let vals: Vec<u8> = (0..120)
        .flat_map(|i| (i as f64 * 0.5).to_ne_bytes())
        .collect();
    // leave the last row of chunks missing (NaN)
    arr.write(&Region::new(vec![0..8, 0..12]), &vals[..8 * 12 * 8])?;
    let mut m = ArrayMetadataV2::new(vec![7], vec![3], DataType::Int32)?;
    m.dimension_separator = Some('/');
    m.compressor = json!({"id": "zlib", "level": 1});
    m.fill_value = Some((-1i32).to_ne_bytes().to_vec());
    let top = ZarrArray::create(store.clone(), "top", m)?;
    let vals: Vec<u8> = (0..7i32).flat_map(|i| (i * 10).to_ne_bytes()).collect();
    top.write(&Region::full(&[7]), &vals)?;
    nd_zarr::write_consolidated(store)?;

    std::fs::write(
        out.join("written.json"),
        serde_json::to_string_pretty(&Value::Array(written))?,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}
