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

/// `nd export t.fits 1/NAME -o v.npz` of a variable-length column: member `arr_I` is row I's
/// array as astropy gives it (testdata/fits/manifest.json: each row's shape, the values
/// concatenated in `expected/…npy`, the strings of a `PA` column).
#[test]
fn variable_length_columns_export_to_npz_as_astropy_reads_them() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testdata("fits/manifest.json")).unwrap())
            .unwrap();
    let columns = manifest["gen/bt_vla.fits"]["hdus"][1]["table"]["columns"]
        .as_array()
        .unwrap();
    let ds = nd::open(&testdata("fits/gen/bt_vla.fits")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (k, col) in columns.iter().enumerate() {
        let sel = format!("1/#{}", k + 1);
        let found = ds.variable_column(Some(&sel)).unwrap();
        if col["vla"].as_bool() != Some(true) {
            assert!(found.is_none(), "{sel} is fixed-width");
            continue;
        }
        let (table, index) = found.unwrap();
        assert_eq!(index, k);
        let out = dir.path().join(format!("c{k}.npz"));
        let out = out.to_str().unwrap();
        let target = nd::export::array_output(out, None, false, &[]).unwrap();
        nd::table_export::export_variable(&table, index, &target, 1 << 20).unwrap();
        let npz = nd::open(out).unwrap();
        let members: Vec<String> = npz.arrays().unwrap().into_iter().map(|a| a.path).collect();
        let want: Vec<String> = (0..5).map(|i| format!("arr_{i}")).collect();
        assert_eq!(members, want, "{sel}");
        if let Some(strings) = col["strings"].as_array() {
            for (i, s) in strings.iter().enumerate() {
                let a = npz.array(&format!("arr_{i}")).unwrap();
                assert!(a.shape().is_empty(), "{sel} row {i}: one 0-d string");
                let bytes = a.as_read().read_all().unwrap().bytes().to_vec();
                let text = String::from_utf8_lossy(&bytes);
                assert_eq!(
                    text.trim_end_matches('\0'),
                    s.as_str().unwrap(),
                    "{sel} row {i}"
                );
            }
        } else {
            let exp = nd::open(&testdata(&format!(
                "fits/{}",
                col["data"].as_str().unwrap()
            )))
            .unwrap();
            let flat = exp
                .array("")
                .unwrap()
                .as_read()
                .read_all()
                .unwrap()
                .bytes()
                .to_vec();
            let mut got = Vec::new();
            for (i, shape) in col["shapes"].as_array().unwrap().iter().enumerate() {
                let a = npz.array(&format!("arr_{i}")).unwrap();
                let shape: Vec<u64> = shape
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect();
                assert_eq!(a.shape(), &shape[..], "{sel} row {i}");
                got.extend(a.as_read().read_all().unwrap().bytes().to_vec());
            }
            assert_eq!(got, flat, "{sel}: the values, row after row");
        }
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "the eight variable-length columns of bt_vla.fits"
    );
    // a fixed-width selector or an .npy output is not this path
    let (table, index) = ds.variable_column(Some("1/VJ")).unwrap().unwrap();
    let npy = dir.path().join("c.npy");
    let target = nd::export::array_output(npy.to_str().unwrap(), None, false, &[]).unwrap();
    assert!(nd::table_export::export_variable(&table, index, &target, 1 << 20).is_err());
}
