//! A hierarchy shaped like an anndata store (testdata/zarr/anndata.zarr, written by zarr-python
//! 2.18, see testdata/gen_zarr.py): an array nd cannot read never hides its siblings. Every
//! node is listed; the unreadable ones say why; every other array reads as zarr-python reads it
//! (testdata/zarr/anndata.json and expected/anndata/*.npy).

mod common;

use common::testdata;
use nd_core::{ArrayRead, DirStore, Store};
use nd_zarr::{Hierarchy, NodeKind};
use serde_json::Value;
use std::sync::Arc;

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(testdata().join("anndata.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

fn hierarchies() -> Vec<Hierarchy> {
    let store: Arc<dyn Store> =
        Arc::new(DirStore::open_read_only(testdata().join("anndata.zarr")).unwrap());
    let consolidated = Hierarchy::open(store.clone()).unwrap();
    assert!(consolidated.is_consolidated());
    vec![consolidated, Hierarchy::open_walk(store).unwrap()]
}

#[test]
fn every_node_is_listed_and_unreadable_arrays_say_why() {
    let want = expected();
    for h in hierarchies() {
        let mut paths: Vec<&str> = h.nodes().map(|n| n.path.as_str()).collect();
        paths.sort_unstable();
        let mut want_paths: Vec<&str> = want.keys().map(String::as_str).collect();
        want_paths.sort_unstable();
        assert_eq!(paths, want_paths);
        for n in h.nodes() {
            let kind = if n.kind == NodeKind::Array {
                "array"
            } else {
                "group"
            };
            assert_eq!(kind, want[&n.path]["kind"], "{}", n.path);
        }
        let reason = |p: &str| h.node(p).unwrap().error.clone().unwrap_or_default();
        assert!(
            reason("obs/pickled").contains("pickle"),
            "{}",
            reason("obs/pickled")
        );
        assert!(
            reason("obs/weird").contains("nd-test-unknown-codec"),
            "{}",
            reason("obs/weird")
        );
        // opening one says the same, as a typed error
        let e = h.open_array("obs/weird").err().unwrap().to_string();
        assert!(e.contains("nd-test-unknown-codec"), "{e}");
        assert!(h.open_array("obs/pickled").is_err());
    }
}

#[test]
fn the_numeric_siblings_read_as_zarr_python_reads_them() {
    let want = expected();
    for h in hierarchies() {
        let mut checked = 0;
        for (path, w) in &want {
            let (Some(npy), Some("<f4" | "<f8" | "<i8" | "|i1")) =
                (w["npy"].as_str(), w["dtype"].as_str())
            else {
                continue;
            };
            let exp = nd_core::npy::read_npy(testdata().join(npy)).unwrap();
            let got = h.open_array(path).unwrap().read_all().unwrap();
            assert_eq!(got.shape(), exp.shape(), "{path}");
            assert_eq!(got.bytes(), exp.bytes(), "{path}");
            checked += 1;
        }
        assert_eq!(checked, 5);
    }
}

#[test]
fn object_arrays_read_as_numpy_strings_as_zarr_python_astype_gives() {
    // vlen-utf8 and json2 as `zarr_array[:].astype(str)`, vlen-bytes as `.astype(bytes)`:
    // the same width (longest element) and the same values
    let want = expected();
    for h in hierarchies() {
        let mut checked = Vec::new();
        for (path, w) in &want {
            let (Some(npy), Some("|O")) = (w["npy"].as_str(), w["dtype"].as_str()) else {
                continue;
            };
            let exp = nd_core::npy::read_npy(testdata().join(npy)).unwrap();
            let a = h.open_array(path).unwrap();
            assert_eq!(a.dtype(), exp.dtype(), "{path}");
            let got = a.read_all().unwrap();
            assert_eq!(got.shape(), exp.shape(), "{path}");
            assert_eq!(got.bytes(), exp.bytes(), "{path}");
            // a region in the middle reads the same as the whole
            if a.shape()[0] > 2 {
                let r = nd_core::Region::new(
                    std::iter::once(1..a.shape()[0] - 1)
                        .chain(a.shape()[1..].iter().map(|&n| 0..n))
                        .collect(),
                );
                let part = a.read_region(&r).unwrap();
                let row = got.bytes().len() / a.shape()[0] as usize;
                assert_eq!(
                    part.bytes(),
                    &got.bytes()[row..got.bytes().len() - row],
                    "{path}"
                );
            }
            checked.push(path.as_str());
        }
        checked.sort_unstable();
        assert_eq!(
            checked,
            [
                "obs/_index",
                "obs/cell_type/categories",
                "obs/note",
                "uns/names",
                "var/_index",
                "var/gene_ids",
                "var/symbol_json"
            ]
        );
    }
}

#[test]
fn object_array_cases_read_as_numpy_strings() {
    // testdata/zarr/cases_object.json: 2-d, F order, missing chunks (fill 0 and a string fill),
    // edge chunks, vlen-bytes, json2, a bytes filter after the object codec
    let text = std::fs::read_to_string(testdata().join("cases_object.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 8);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            DirStore::open_read_only(testdata().join(c["store"].as_str().unwrap())).unwrap(),
        );
        let exp = nd_core::npy::read_npy(testdata().join(c["npy"].as_str().unwrap())).unwrap();
        let a = nd_zarr::ObjectArray::open(store.clone(), "").unwrap();
        assert_eq!(a.dtype(), exp.dtype(), "{name}");
        assert_eq!(a.read_all().unwrap().bytes(), exp.bytes(), "{name}");
        // through the hierarchy too
        let h = Hierarchy::open(store).unwrap();
        let b = h.open_array("").unwrap();
        assert_eq!(b.read_all().unwrap().bytes(), exp.bytes(), "{name}");
    }
}

#[test]
fn an_object_array_with_too_many_chunks_is_refused_before_reading() {
    // opening reads every chunk; a grid from untrusted metadata must not make that unbounded
    let store: Arc<dyn Store> = Arc::new(nd_core::MemStore::new());
    store
        .set(
            ".zarray",
            br#"{"zarr_format": 2, "shape": [1000000000000], "chunks": [1], "dtype": "|O",
                "compressor": null, "fill_value": 0, "order": "C",
                "filters": [{"id": "vlen-utf8"}]}"#,
        )
        .unwrap();
    let t = std::time::Instant::now();
    let e = nd_zarr::ObjectArray::open(store.clone(), "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("chunks"), "{e}");
    assert!(t.elapsed().as_secs() < 5);
    // listed in the hierarchy (without reading), refused when opened
    let h = Hierarchy::open(store).unwrap();
    assert!(h.node("").unwrap().object.is_some());
    assert!(h.open_array("").is_err());
}
