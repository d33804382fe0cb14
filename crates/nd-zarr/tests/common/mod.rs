//! Shared test helpers: the committed Zarr test data.
#![allow(dead_code)] // each test binary uses part of the helpers

use serde_json::Value;
use std::path::{Path, PathBuf};

/// `testdata/zarr` of the workspace.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr")
}

/// The cases of `testdata/zarr/cases.json` (written by testdata/gen_zarr.py).
pub fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(testdata().join("cases.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}
