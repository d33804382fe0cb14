//! Every store of testdata/zarr (written by zarr-python 2.18, see testdata/gen_zarr.py) reads
//! value-for-value as zarr-python read it (testdata/zarr/expected/*.npy).

mod common;

use common::{cases, testdata};
use nd_core::{ArrayRead, DataType, DirStore, Region, Store};
use nd_zarr::{Hierarchy, ZarrArray};
use serde_json::Value;
use std::sync::Arc;

/// Compare decoded values with what zarr-python returned; NaN equals NaN (bitwise comparison
/// would also do, but zarr-python may produce a different NaN payload from the fill value).
fn same(dtype: &DataType, a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // f32 widens to f64 exactly: equal as f64 exactly when equal as f32
    let floats = |size: usize, read: fn(&[u8]) -> f64| {
        a.chunks_exact(size)
            .zip(b.chunks_exact(size))
            .all(|(x, y)| {
                let (x, y) = (read(x), read(y));
                x == y || (x.is_nan() && y.is_nan())
            })
    };
    match dtype {
        DataType::Float32 | DataType::Complex64 => {
            floats(4, |x| f32::from_ne_bytes(x.try_into().unwrap()) as f64)
        }
        DataType::Float64 | DataType::Complex128 => {
            floats(8, |x| f64::from_ne_bytes(x.try_into().unwrap()))
        }
        _ => a == b,
    }
}

#[test]
fn every_case_reads_as_zarr_python_reads_it() {
    let root = testdata();
    let mut checked = 0;
    let mut failures = Vec::new();
    for c in cases() {
        let name = c["name"].as_str().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(DirStore::open_read_only(root.join(c["store"].as_str().unwrap())).unwrap());
        let expected = nd_core::npy::read_npy(root.join(c["npy"].as_str().unwrap())).unwrap();
        let result = ZarrArray::open(store, c["path"].as_str().unwrap()).and_then(|a| {
            let got = a.read_all().map_err(nd_zarr::Error::Core)?;
            Ok((a, got))
        });
        match result {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok((a, got)) => {
                assert_eq!(got.shape(), expected.shape(), "{name}");
                assert_eq!(a.dtype().size(), expected.dtype().size(), "{name}");
                if !same(a.dtype(), got.bytes(), expected.bytes()) {
                    failures.push(format!("{name}: values differ"));
                }
                // a cutout through the middle reads the same values as the full read
                let shape = a.shape().to_vec();
                if !shape.is_empty() && !shape.contains(&0) {
                    let region = Region::new(
                        shape
                            .iter()
                            .map(|&n| n / 3..(2 * n).div_ceil(3).max(n / 3 + 1))
                            .collect(),
                    );
                    let part = a.read_region(&region).unwrap();
                    let elem = a.dtype().size();
                    let mut want = vec![0u8; part.bytes().len()];
                    nd_core::shape::copy_region(
                        expected.bytes(),
                        &shape,
                        nd_core::Order::C,
                        &region,
                        &mut want,
                        &region.shape(),
                        &vec![0; shape.len()],
                        elem,
                    )
                    .unwrap();
                    if !same(a.dtype(), part.bytes(), &want) {
                        failures.push(format!("{name}: cutout {region:?} differs"));
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 80, "only {checked} cases checked");
}

#[test]
fn hierarchy_matches_zarr_python() {
    let root = testdata();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("hier.json")).unwrap()).unwrap();
    let want = want.as_object().unwrap();
    let store: Arc<dyn Store> = Arc::new(DirStore::open_read_only(root.join("hier.zarr")).unwrap());
    let consolidated = Hierarchy::open(store.clone()).unwrap();
    assert!(consolidated.is_consolidated());
    let walked = Hierarchy::open_walk(store).unwrap();
    for h in [&consolidated, &walked] {
        let paths: Vec<&str> = h.nodes().map(|n| n.path.as_str()).collect();
        let mut want_paths: Vec<&str> = want.keys().map(|k| k.as_str()).collect();
        want_paths.sort();
        assert_eq!(paths, want_paths);
        for n in h.nodes() {
            let w = &want[&n.path];
            let kind = if n.kind == nd_zarr::NodeKind::Array {
                "array"
            } else {
                "group"
            };
            assert_eq!(w["kind"], kind, "{}", n.path);
            assert_eq!(
                &Value::Object(n.attributes.clone()),
                &w["attrs"],
                "{}",
                n.path
            );
            if n.kind == nd_zarr::NodeKind::Array {
                let a = h.array(&n.path).unwrap();
                let got = a.read_all().unwrap();
                let npy = root.join(format!("expected/hier_{}.npy", n.path.replace('/', "_")));
                let expected = nd_core::npy::read_npy(npy).unwrap();
                assert_eq!(got.shape(), expected.shape());
                assert!(same(a.dtype(), got.bytes(), expected.bytes()), "{}", n.path);
            }
        }
    }
    assert_eq!(consolidated.arrays(), vec!["g1/arr", "g1/g2/deep", "top"]);
    assert_eq!(
        consolidated.groups(),
        vec!["", "empty_group", "g1", "g1/g2"]
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let store = Arc::new(nd_core::MemStore::new());
    let good = std::fs::read(testdata().join("stores/zstd.zarr/.zarray")).unwrap();
    store.set(".zarray", &good).unwrap();
    store.set("0.0", b"not zstd").unwrap();
    let a = ZarrArray::open(store.clone(), "").unwrap();
    let e = a
        .read_region(&Region::parse("0:2,0:2", a.shape()).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("0.0"), "{e}");
    // a chunk of the wrong decoded size
    let raw = std::fs::read(testdata().join("stores/raw.zarr/.zarray")).unwrap();
    store.set(".zarray", &raw).unwrap();
    store.set("0.0", &[0u8; 10]).unwrap();
    let a = ZarrArray::open(store.clone(), "").unwrap();
    let e = a.read_all().unwrap_err();
    assert!(e.to_string().contains("0.0"), "{e}");
    // a path that escapes the store
    assert!(matches!(
        ZarrArray::open(store.clone(), "../x"),
        Err(nd_zarr::Error::Store { .. })
    ));
    // consolidated metadata naming a key outside the store
    let zm =
        br#"{"zarr_consolidated_format": 1, "metadata": {"../a/.zgroup": {"zarr_format": 2}}}"#;
    assert!(Hierarchy::from_consolidated(store.clone(), zm).is_err());
    // impossible shapes
    store
        .set(".zarray", br#"{"zarr_format": 2, "shape": [4], "chunks": [0], "dtype": "<i2", "compressor": null, "filters": null, "fill_value": 0, "order": "C"}"#)
        .unwrap();
    assert!(matches!(
        ZarrArray::open(store, ""),
        Err(nd_zarr::Error::Metadata { .. })
    ));
}

#[test]
fn zip_stores_as_zarr_python_writes_them() {
    for name in ["zipstore", "zipstore_deflate"] {
        let zs =
            nd_zarr::ZipStore::open(testdata().join(format!("stores/{name}.zarr.zip"))).unwrap();
        let store: Arc<dyn Store> = Arc::new(zs);
        assert!(store.set("x", b"1").is_err());
        let expected =
            nd_core::npy::read_npy(testdata().join(format!("expected/{name}.npy"))).unwrap();
        for h in [
            Hierarchy::open(store.clone()).unwrap(),
            Hierarchy::open_walk(store.clone()).unwrap(),
        ] {
            assert_eq!(h.arrays(), vec!["sub/a"]);
            assert_eq!(h.node("").unwrap().attributes["kind"], name);
            let got = h.array("sub/a").unwrap().read_all().unwrap();
            assert_eq!(got.bytes(), expected.bytes(), "{name}");
        }
    }
    // damaged zips are errors, not panics
    let bytes = std::fs::read(testdata().join("stores/zipstore.zarr.zip")).unwrap();
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        let src = Arc::new(nd_core::MemSource::new(bytes[cut..].to_vec()));
        if let Ok(z) = nd_zarr::ZipStore::from_source(src, "cut".into()) {
            let store: Arc<dyn Store> = Arc::new(z);
            if let Ok(h) = Hierarchy::open(store) {
                if let Ok(a) = h.array("sub/a") {
                    let _ = a.read_all();
                }
            }
        }
    }
}

/// Chunks stored as they are (no codec, native byte order) are read from the file straight into
/// their place: a legacy store's nested keys are found, a chunk the size of the output lands in
/// it, and a chunk of the wrong size is an error naming its key (as through the codec path).
#[test]
fn raw_chunks_read_into_place() {
    let src = testdata().join("stores/raw.zarr");
    // what zarr-python read (20×30 uint16)
    let reference = nd_core::npy::read_npy(testdata().join("expected/raw.npy")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nested.zarr");
    std::fs::create_dir(&root).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // `1.2` becomes `1/2`: a legacy array (no dimension_separator) with nested keys
        let to = root.join(name.replace('.', "/").replace("/zarray", ".zarray"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&name), to).unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(DirStore::open_read_only(&root).unwrap());
    let a = ZarrArray::open(store.clone(), "").unwrap();
    assert_eq!(a.read_all().unwrap().bytes(), reference.bytes());
    // one whole chunk: the output is the chunk, read into it directly
    let one = Region::parse("7:14,8:16", a.shape()).unwrap();
    let want: Vec<u8> = (7..14)
        .flat_map(|i| reference.bytes()[(i * 30 + 8) * 2..(i * 30 + 16) * 2].to_vec())
        .collect();
    assert_eq!(a.read_region(&one).unwrap().bytes(), &want[..]);
    // a chunk one byte short
    let chunk = root.join("1/1");
    let bytes = std::fs::read(&chunk).unwrap();
    std::fs::write(&chunk, &bytes[1..]).unwrap();
    let a = ZarrArray::open(store, "").unwrap();
    let e = a.read_region(&one).unwrap_err();
    assert!(e.to_string().contains("1/1"), "{e}");
}
