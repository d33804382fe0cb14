#![allow(dead_code)]
use nd_asdf::AsdfFile;
use nd_core::{ArrayRead, Region};
use std::path::{Path, PathBuf};

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub fn md5_hex(data: &[u8]) -> String {
    nd_asdf::blocks::md5(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compare every array python asdf returned (expected/index.json) with what we read.
/// Returns the number of arrays compared.
pub fn compare_expected(f: &AsdfFile, expected_dir: &Path, what: &str) -> usize {
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(expected_dir.join("index.json")).unwrap_or_else(|e| panic!("{what}: {e}")),
    )
    .unwrap();
    let ours: Vec<String> = f.arrays().into_iter().map(|(p, _)| p).collect();
    let mut n = 0;
    for (path, entry) in index.as_object().unwrap() {
        assert!(
            ours.contains(path),
            "{what}: python array {path} not listed by arrays(): {ours:?}"
        );
        let a = f
            .array(path)
            .unwrap_or_else(|e| panic!("{what} {path}: {e}"));
        let got = a
            .read_all()
            .unwrap_or_else(|e| panic!("{what} {path}: {e}"));
        if let Some(npy) = entry.get("npy").and_then(|v| v.as_str()) {
            let want = nd_core::npy::read_npy(expected_dir.join(npy)).unwrap();
            assert_eq!(got.shape(), want.shape(), "{what} {path}: shape");
            assert_eq!(got.dtype(), want.dtype(), "{what} {path}: dtype");
            assert!(got.bytes() == want.bytes(), "{what} {path}: values differ");
        } else {
            let shape: Vec<u64> = entry["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(got.shape(), &shape[..], "{what} {path}: shape");
            assert_eq!(
                md5_hex(got.bytes()),
                entry["md5"].as_str().unwrap(),
                "{what} {path}: md5 of values"
            );
        }
        if let Some(mask) = entry.get("mask").and_then(|v| v.as_str()) {
            let want = nd_core::npy::read_npy(expected_dir.join(mask)).unwrap();
            let got = a
                .read_mask(&Region::full(a.shape()))
                .unwrap()
                .expect("masked");
            let want: Vec<bool> = want.bytes().iter().map(|&b| b != 0).collect();
            assert_eq!(got, want, "{what} {path}: mask");
        } else {
            assert!(
                !a.is_masked()
                    || a.read_mask(&Region::full(a.shape()))
                        .unwrap()
                        .unwrap()
                        .iter()
                        .all(|m| !m),
                "{what} {path}: we see a mask python does not"
            );
        }
        n += 1;
    }
    n
}
