//! `Dataset::dimension_names` and `Dataset::attributes`: what xarray is given as dimension names
//! and attributes, for FITS (CTYPE, header cards), Zarr v3 (`dimension_names`, attributes,
//! written by zarr-python) and arrays that name none.

use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    p.to_str().unwrap().to_string()
}

#[test]
fn fits_ctype_names_in_numpy_order() {
    // CTYPE1 = 'RA---SIN', CTYPE2 = 'DEC--SIN', CTYPE3 = 'FREQ' (testdata/gen_example.py)
    let ds = nd::open(&testdata("example/cube.fits")).unwrap();
    assert_eq!(
        ds.dimension_names(&["SCI"]).unwrap(),
        vec![vec!["freq", "dec", "ra"]]
    );
    assert_eq!(
        ds.dimension_names(&["1"]).unwrap(),
        ds.dimension_names(&["SCI"]).unwrap()
    );
    assert!(ds.dimension_names(&["NOPE"]).is_err());
}

#[test]
fn one_length_per_name_within_a_group() {
    // ASDF names no dimensions; `base` [6, 20] binds dim_0 = 6 and dim_1 = 20, so `transposed`
    // [20, 6] and `rows` [3, 20] get names of their own where the lengths differ
    let ds = nd::open(&testdata("asdf/py/views.asdf")).unwrap();
    let names = ds.dimension_names(&["base", "transposed", "rows"]).unwrap();
    assert_eq!(names[0], vec!["dim_0", "dim_1"]);
    assert_eq!(names[1], vec!["dim_0_transposed", "dim_1_transposed"]);
    assert_eq!(names[2], vec!["dim_0_rows", "dim_1"]);
    // one dataset: arrays deeper in the tree are placed with the others
    let ds = nd::open(&testdata("asdf/py/masked.asdf")).unwrap();
    let sel: Vec<String> = ds.arrays().unwrap().into_iter().map(|e| e.path).collect();
    let sel: Vec<&str> = sel.iter().map(String::as_str).collect();
    let names = ds.dimension_names(&sel).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (s, n) in sel.iter().zip(&names) {
        for (d, len) in n.iter().zip(ds.array(s).unwrap().shape()) {
            assert_eq!(
                seen.entry(d.clone()).or_insert(*len),
                len,
                "{d} of {s}: {names:?}"
            );
        }
    }
}

#[test]
fn zarr_v3_dimension_names() {
    let ds = nd::open(&testdata("zarr/v3/stores/hier.zarr")).unwrap();
    assert_eq!(ds.dimension_names(&["g/a"]).unwrap(), vec![vec!["y", "x"]]);
}

#[test]
fn attributes_of_fits_and_zarr() {
    let ds = nd::open(&testdata("example/cube.fits")).unwrap();
    let a = ds.attributes("SCI").unwrap();
    assert_eq!(a["CTYPE1"], "RA---SIN");
    assert_eq!(a["CRVAL3"], 1.42e9);
    assert!(
        !a.contains_key("NAXIS1") && !a.contains_key("BITPIX"),
        "{a:?}"
    );
    let ds = nd::open(&testdata("zarr/v3/stores/hier.zarr")).unwrap();
    let a = ds.attributes("g/a").unwrap();
    assert_eq!(a["units"], "m");
    assert!(!a.contains_key("_ARRAY_DIMENSIONS"));
}
