//! `Dataset::table`: FITS tables by rows and columns (the values are checked against astropy by
//! nd-fits' tests and python/tests/test_table.py; here the facade's contract: row ranges equal
//! the whole column's, variable-length columns apart, errors for what is out of range).

use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    p.to_str().unwrap().to_string()
}

#[test]
fn columns_rows_and_variable_length_cells() {
    let ds = nd::open(&testdata("fits/gen/bt_vla.fits")).unwrap();
    let t = ds.table("1").unwrap();
    assert_eq!(t.nrows(), 5);
    let cols = t.columns();
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["VJ", "VD", "VA", "VL", "VE", "VB", "VI", "VK", "FIX"]
    );
    assert!(cols[0].variable && !cols[8].variable);
    // the fixed column, rows 1..4, equals the whole column's rows 1..4
    let all = ds.array("1/FIX").unwrap().read_ndarray::<i32>().unwrap();
    let part = t.read_rows(1..4, &[8]).unwrap();
    let got: Vec<i32> = part[0]
        .bytes()
        .chunks_exact(4)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(got, &all.as_slice().unwrap()[1..4]);
    let cells = t.read_variable(0, 0..5).unwrap();
    assert_eq!(cells.len(), 5);
    assert!(
        t.read_rows(0..5, &[0]).is_err(),
        "a VLA column is not fixed-width"
    );
    assert!(t.read_rows(0..6, &[8]).is_err());
    assert!(t.read_variable(8, 0..1).is_err());
    assert!(ds.table("0").is_err(), "the primary HDU is not a table");
    let img = nd::open(&testdata("example/cube.fits")).unwrap();
    assert!(img.table("1").is_err());
}
