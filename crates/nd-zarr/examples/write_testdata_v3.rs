//! Write testdata/zarr/v3/written/: Zarr v3 stores written by nd-zarr, for
//! testdata/check_zarr3_written.py to read with zarr-python 3 and compare with what zarr-python
//! read from its own stores (testdata/zarr/v3/expected/):
//!
//! - `rewritten.zarr`: every readable zarr-python 3 fixture re-written with its own metadata
//!   (every codec chain: transposes, big endian, sharded with the index at the start or the
//!   end, nested shards, a compressor outside the shard, fill values, chunk key encodings);
//! - `matrix.zarr`: every fixed-size data type, unsharded and sharded, the compressors
//!   nd writes (none, zstd, gzip, blosc, crc32c, gzip + crc32c) in rotation, with dimension
//!   names; plus float64 with each of them both ways;
//!
//! each a group with attributes and consolidated metadata. `written.json` lists the arrays and
//! the `.npy` file of expected values. The `write_v3` test rewrites everything into a temporary
//! directory and checks that the files are still these, byte for byte.
//!
//! Run: cargo run -p nd-zarr --example write_testdata_v3

use nd_core::{ArrayRead, DirStore, Region, Store};
use nd_zarr::v3::{self, ArrayMetadataV3, ZarrArrayV3};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The bytes→bytes codecs of the matrix, by name.
fn compressors() -> Vec<(&'static str, Vec<Value>)> {
    let zstd = json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}});
    let gzip = json!({"name": "gzip", "configuration": {"level": 6}});
    vec![
        ("none", vec![]),
        ("zstd", vec![zstd]),
        ("gzip", vec![gzip.clone()]),
        ("blosc", vec![Value::Null]), // blosc needs the type size: filled in per type
        ("crc32c", vec![v3::crc32c_codec()]),
        ("gzip_crc32c", vec![gzip, v3::crc32c_codec()]),
    ]
}

fn blosc(dt: &nd_core::DataType) -> Res<Value> {
    let v2 = json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0});
    Ok(v3::compressor_from_v2(&v2, dt)?.ok_or("blosc")?)
}

/// Write every store under `out` (replacing it).
pub fn write_all(out: &Path) -> Res<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr/v3");
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json"))?)?;
    let cases: Vec<&Value> = manifest["cases"]
        .as_array()
        .ok_or("cases")?
        .iter()
        // variable-length (`string`/`bytes`) arrays: nd reads them as fixed-width strings and
        // does not write those types
        .filter(|c| c.get("error").is_none() && c.get("zarr_python_dtype").is_none())
        .collect();
    let open = |c: &Value| -> Res<ZarrArrayV3> {
        let src: Arc<dyn Store> = Arc::new(DirStore::open_read_only(
            root.join(c["store"].as_str().ok_or("store")?),
        )?);
        Ok(ZarrArrayV3::open(src, c["path"].as_str().unwrap_or(""))?)
    };
    let attrs = |v: Value| v.as_object().cloned().unwrap_or_default();
    let mut written = Vec::new();

    // every fixture with its own metadata
    let store: Arc<dyn Store> = Arc::new(DirStore::create(out.join("rewritten.zarr"))?);
    v3::create_group(
        store.as_ref(),
        "",
        Some(&attrs(
            json!({"title": "written by nd-zarr", "list": [1, 2.5, null]}),
        )),
    )?;
    for c in &cases {
        let name = c["name"].as_str().ok_or("name")?;
        let a = open(c)?;
        let path = name.replace('.', "_");
        let w = ZarrArrayV3::create(store.clone(), &path, a.metadata().clone())?;
        w.write(&Region::full(a.shape()), a.read_all()?.bytes())?;
        written
            .push(json!({"name": name, "store": "rewritten.zarr", "path": path, "npy": c["npy"]}));
    }
    v3::write_consolidated(store.as_ref())?;

    // data types x compressors, unsharded and sharded
    let store: Arc<dyn Store> = Arc::new(DirStore::create(out.join("matrix.zarr"))?);
    v3::create_group(store.as_ref(), "", Some(&attrs(json!({"title": "matrix"}))))?;
    let comps = compressors();
    let types: Vec<&&Value> = cases
        .iter()
        .filter(|c| {
            let n = c["name"].as_str().unwrap_or("");
            n.starts_with("dtypes.") && !n.starts_with("dtypes.be_")
        })
        .collect();
    let mut jobs: Vec<(&Value, usize, bool)> = Vec::new();
    for (i, c) in types.iter().enumerate() {
        jobs.push((c, i % comps.len(), false));
        jobs.push((c, (i + 3) % comps.len(), true));
        if c["name"] == "dtypes.float64" {
            for k in 0..comps.len() {
                jobs.push((c, k, false));
                jobs.push((c, k, true));
            }
        }
    }
    for (c, k, sharded) in jobs {
        let a = open(c)?;
        let dt = a.dtype().clone();
        let (cname, mut b2b) = comps[k].clone();
        if cname == "blosc" {
            b2b = vec![blosc(&dt)?];
        }
        // (7, 5): chunks (3, 2), shards (6, 4) of 2x2 inner chunks
        let (chunks, codecs) = if sharded {
            (vec![6, 4], v3::sharded_chain_json(&dt, &[3, 2], &b2b))
        } else {
            (vec![3, 2], v3::chain_json(&dt, &b2b))
        };
        let mut meta = ArrayMetadataV3::new(a.shape().to_vec(), chunks, dt, codecs)?;
        meta.dimension_names = Some(vec![Some("y".into()), Some("x".into())]);
        let tname = c["name"]
            .as_str()
            .ok_or("name")?
            .trim_start_matches("dtypes.");
        let path = format!("{tname}/{cname}{}", if sharded { "_sharded" } else { "" });
        if store.get(&format!("{path}/zarr.json"))?.is_some() {
            continue;
        }
        let mut w = ZarrArrayV3::create(store.clone(), &path, meta)?;
        w.set_attributes(attrs(json!({"codec": cname, "sharded": sharded})))?;
        w.write(&Region::full(a.shape()), a.read_all()?.bytes())?;
        written.push(json!({"name": format!("matrix.{}", path.replace('/', ".")),
            "store": "matrix.zarr", "path": path, "npy": c["npy"],
            "dimension_names": ["y", "x"]}));
    }
    v3::write_consolidated(store.as_ref())?;

    std::fs::write(
        out.join("written.json"),
        serde_json::to_string_pretty(&Value::Array(written))? + "\n",
    )?;
    Ok(())
}

#[allow(dead_code)] // the write_v3 test includes this file for write_all
fn main() -> Res<()> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr/v3/written");
    write_all(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}
