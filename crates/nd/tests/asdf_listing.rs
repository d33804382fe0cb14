//! ASDF: an array opened after a listing (handed over by the listing, which keeps no copy), the
//! same array opened again (from the tree) and the array opened without a listing are the same
//! array: shape, type, values, codec and mask.

use std::path::PathBuf;

fn py(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/asdf/py")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn same(what: &str, a: &nd::Array, b: &nd::Array) {
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    assert_eq!(a.dtype(), b.dtype(), "{what}: dtype");
    assert_eq!(a.as_read().codec(), b.as_read().codec(), "{what}: codec");
    let (x, y) = (a.as_read().read_all(), b.as_read().read_all());
    match (x, y) {
        (Ok(x), Ok(y)) => assert_eq!(x.bytes(), y.bytes(), "{what}: values"),
        (x, y) => assert_eq!(x.is_err(), y.is_err(), "{what}: read"),
    }
}

#[test]
fn listed_arrays_open_as_unlisted_ones_once_and_again() {
    let files = [
        "many_blocks.asdf",
        "views.asdf",
        "views_shared.asdf",
        "masked.asdf",
        "masked_inline.asdf",
        "dtypes.asdf",
        "inline.asdf",
        "zarr_internal.asdf",
        "compressed_zlib.asdf",
    ];
    let mut opened = 0;
    for f in files {
        let path = py(f);
        let listed = nd::open(&path).unwrap();
        let fresh = nd::open(&path).unwrap();
        let entries = listed.arrays().unwrap();
        assert!(!entries.is_empty(), "{f}: no arrays");
        for e in &entries {
            let what = format!("{f} {}", e.path);
            let first = listed.array(&e.path).unwrap();
            let again = listed.array(&e.path).unwrap();
            let plain = fresh.array(&e.path).unwrap();
            assert_eq!(first.shape(), &e.shape[..], "{what}: listed shape");
            same(&what, &first, &plain);
            same(&what, &again, &plain);
            assert_eq!(
                listed.mask(&e.path).unwrap().map(|m| m.shape().to_vec()),
                fresh.mask(&e.path).unwrap().map(|m| m.shape().to_vec()),
                "{what}: mask"
            );
            opened += 1;
        }
        // a second listing lists the same arrays, and hands them over again
        let again: Vec<String> = listed
            .arrays()
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        let first: Vec<String> = entries.into_iter().map(|e| e.path).collect();
        assert_eq!(again, first, "{f}: second listing");
        for p in &again {
            same(
                &format!("{f} {p} (second listing)"),
                &listed.array(p).unwrap(),
                &fresh.array(p).unwrap(),
            );
        }
    }
    assert!(opened > 20, "{opened} arrays compared");
}
