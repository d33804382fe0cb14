//! Helpers shared by nd-fits' integration tests: the astropy-written testdata and its manifest,
//! expected arrays, and output directories for files the astropy check script reads.
#![allow(dead_code)] // each test binary uses a different subset

use nd_core::ArrayBuf;
use serde_json::Value as J;
use std::io::Read;
use std::path::{Path, PathBuf};

/// testdata/fits.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits")
}

/// testdata/fits/manifest.json: what astropy read from every file.
pub fn manifest() -> serde_json::Map<String, J> {
    let text = std::fs::read_to_string(root().join("manifest.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        J::Object(m) => m,
        _ => panic!("manifest is not an object"),
    }
}

/// An expected array written by astropy (`.npy`, or `.npy.gz`), relative to testdata/fits.
pub fn npy(rel: &str) -> ArrayBuf {
    let raw = std::fs::read(root().join(rel)).unwrap();
    let bytes = if rel.ends_with(".gz") {
        let mut v = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut v)
            .unwrap();
        v
    } else {
        raw
    };
    nd_core::npy::read_npy_bytes(&bytes).unwrap()
}

/// Where written files go: `ND_FITS_WRITE_OUT` (for `testdata/check_fits_written.py`), else a
/// temporary directory kept alive by the returned guard.
pub fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("ND_FITS_WRITE_OUT") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, PathBuf::from(d))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

/// An array of `shape` whose element `i` (C order) is `f(i)`.
pub fn arr<T: nd_core::Element + Copy>(shape: &[u64], f: impl Fn(usize) -> T) -> ArrayBuf {
    let n: u64 = shape.iter().product();
    let v: Vec<T> = (0..n as usize).map(f).collect();
    ArrayBuf::from_vec(shape.to_vec(), &v).unwrap()
}
