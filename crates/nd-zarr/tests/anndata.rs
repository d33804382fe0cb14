//! A hierarchy shaped like an anndata store (testdata/zarr/anndata.zarr, written by zarr-python
//! 2.18, see testdata/gen_zarr.py): an array nd cannot read never hides its siblings. Every
//! node is listed; the unreadable ones say why; every other array reads as zarr-python reads it
//! (testdata/zarr/anndata.json and expected/anndata/*.npy).

mod common;

use common::testdata;
use nd_core::{DirStore, Store};
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
