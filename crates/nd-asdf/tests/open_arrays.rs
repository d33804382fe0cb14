//! `AsdfFile::open_arrays` (one walk, each node parsed once) gives what listing with `arrays`
//! and opening each path with `array` gives: the same entries in the same order, the same arrays
//! (values and masks) or the same errors.
mod common;
use common::*;
use nd_asdf::AsdfFile;
use nd_core::{ArrayRead, MemSource, Region};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every `.asdf` file under `dir`, recursively.
fn asdf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            asdf_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "asdf") {
            out.push(p);
        }
    }
}

/// Shape, type, values and mask of an array, or its error as text.
type ReadBack = Result<(Vec<u64>, String, Vec<u8>, Option<Vec<bool>>), String>;

/// What an opened array reads back, to compare.
fn read_back(a: &nd_asdf::Result<nd_asdf::AsdfArray>) -> ReadBack {
    let a = a.as_ref().map_err(|e| e.to_string())?;
    let values = a.read_all().map_err(|e| e.to_string())?;
    let mask = a
        .read_mask(&Region::full(a.shape()))
        .map_err(|e| e.to_string())?;
    Ok((
        a.shape().to_vec(),
        a.dtype().to_string(),
        values.bytes().to_vec(),
        mask,
    ))
}

/// The checks of this file on one opened file; returns how many arrays opened.
fn agrees(f: &AsdfFile, what: &str) -> usize {
    let listed = f.arrays();
    let opened = f.open_arrays();
    assert_eq!(opened.len(), listed.len(), "{what}: entries");
    let mut ok = 0;
    for (o, (path, info)) in opened.iter().zip(&listed) {
        assert_eq!(&o.path, path, "{what}: path");
        assert_eq!(&o.info, info, "{what} {path}: info");
        if o.array.is_ok() {
            ok += 1;
        }
        if o.by_path {
            assert_eq!(
                read_back(&o.array),
                read_back(&f.array(path)),
                "{what} {path}: open_arrays and array differ"
            );
        }
    }
    ok
}

#[test]
fn open_arrays_agrees_with_array_on_every_test_file() {
    let mut files = Vec::new();
    asdf_files(&testdata().join("asdf"), &mut files);
    assert!(files.len() > 40, "{} files", files.len());
    let (mut arrays, mut opened) = (0, 0);
    for p in &files {
        let what = p.display().to_string();
        // files that do not open (deliberately broken ones) have nothing to list
        let Ok(f) = AsdfFile::open(p) else { continue };
        let n = f.open_arrays().len();
        arrays += n;
        opened += agrees(&f, &what);
        assert!(f.open_arrays().iter().all(|a| a.by_path) || what.contains("defects"));
    }
    // the corpus holds arrays of every storage (blocks, inline, external, Zarr, masks)
    assert!(
        arrays > 100 && opened > 100,
        "{arrays} arrays, {opened} opened"
    );
}

#[test]
fn paths_two_nodes_spell_alike_open_the_node_array_finds() {
    let text = "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n\
--- !core/asdf-1.1.0\n\
a: {b: !core/ndarray-1.0.0 {data: [1, 2], datatype: int64, shape: [2]}}\n\
a/b: !core/ndarray-1.0.0 {data: [3, 4, 5], datatype: int64, shape: [3]}\n\
1: !core/ndarray-1.0.0 {data: [6], datatype: int64, shape: [1]}\n\
'1': !core/ndarray-1.0.0 {data: [7, 8], datatype: int64, shape: [2]}\n\
bad: !core/ndarray-1.0.0 {source: 9, datatype: int64, byteorder: little, shape: [2]}\n\
...\n";
    let f = AsdfFile::from_source(Arc::new(MemSource::new(text.as_bytes().to_vec()))).unwrap();
    let got: Vec<(String, bool, Option<u64>)> = f
        .open_arrays()
        .into_iter()
        .map(|a| {
            let n = a.array.as_ref().ok().map(|a| a.shape()[0]);
            (a.path, a.by_path, n)
        })
        .collect();
    let want = [
        ("a/b", true, Some(2)),
        ("a/b", false, Some(3)),
        ("1", true, Some(1)),
        ("1", false, Some(2)),
        ("bad", true, None),
    ];
    let want: Vec<(String, bool, Option<u64>)> = want
        .iter()
        .map(|&(p, b, n)| (p.to_string(), b, n))
        .collect();
    assert_eq!(got, want);
    // `array` finds the first node spelled so, which the entries marked by_path are
    assert_eq!(f.array("a/b").unwrap().shape(), &[2]);
    assert_eq!(f.array("1").unwrap().shape(), &[1]);
    assert_eq!(agrees(&f, "spelled alike"), 4);
}
