//! Every table HDU of testdata/fits/manifest.json (written by testdata/gen_fits.py with astropy)
//! is read column by column and compared with what astropy returned: dtypes, shapes, values,
//! variable-length arrays element by element.

use nd_core::{ArrayBuf, CountingSource, DataType, MemSource};
use nd_fits::{Error, Fits};
use serde_json::Value as J;
use std::sync::Arc;

mod common;
use common::{manifest, npy, root};

/// Same dtype, shape and values (floats: bit-equal, or both NaN).
fn assert_same(got: &ArrayBuf, want: &ArrayBuf, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let eq_f64 = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
    match got.dtype() {
        DataType::Float32 | DataType::Complex64 => {
            let a: &[f32] = bytemuck::cast_slice(got.bytes());
            let b: &[f32] = bytemuck::cast_slice(want.bytes());
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    eq_f64(*x as f64, *y as f64),
                    "{what}: element {i}: {x} != {y}"
                );
            }
        }
        DataType::Float64 | DataType::Complex128 => {
            let a: &[f64] = bytemuck::cast_slice(got.bytes());
            let b: &[f64] = bytemuck::cast_slice(want.bytes());
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(eq_f64(*x, *y), "{what}: element {i}: {x} != {y}");
            }
        }
        _ => assert!(
            got.bytes() == want.bytes(),
            "{what}: values differ\n got {:?}\nwant {:?}",
            got.bytes(),
            want.bytes()
        ),
    }
}

fn shape_of(v: &J) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[test]
fn every_table_column_reads_as_astropy_reads_it() {
    let m = manifest();
    let (mut fixed, mut vla, mut tables) = (0, 0, 0);
    for (rel, entry) in &m {
        let path = root().join(entry["path"].as_str().unwrap());
        let fits = Fits::open(&path).unwrap();
        for h in entry["hdus"].as_array().unwrap() {
            let Some(t) = h.get("table") else { continue };
            let i = h["index"].as_u64().unwrap() as usize;
            let table = fits
                .table(i)
                .unwrap_or_else(|e| panic!("{rel} HDU {i}: {e}"));
            tables += 1;
            assert_eq!(table.nrows(), t["nrows"].as_u64().unwrap(), "{rel} HDU {i}");
            let cols = t["columns"].as_array().unwrap();
            assert_eq!(table.columns().len(), cols.len(), "{rel} HDU {i}: columns");
            for (ci, c) in cols.iter().enumerate() {
                let what = format!("{rel} HDU {i} column {ci} {}", c["name"]);
                let col = &table.columns()[ci];
                assert_eq!(col.name, c["name"].as_str().unwrap(), "{what}");
                if c.get("vla").is_some() {
                    let got = table
                        .vla_column(ci)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    if let Some(strs) = c.get("strings") {
                        let strs = strs.as_array().unwrap();
                        assert_eq!(got.len(), strs.len(), "{what}");
                        for (g, s) in got.iter().zip(strs) {
                            let b = g.bytes();
                            let n = b.iter().rposition(|&x| x != 0).map_or(0, |p| p + 1);
                            assert_eq!(
                                String::from_utf8_lossy(&b[..n]),
                                s.as_str().unwrap(),
                                "{what}"
                            );
                        }
                    } else {
                        let shapes = c["shapes"].as_array().unwrap();
                        assert_eq!(got.len(), shapes.len(), "{what}: rows");
                        let flat = npy(c["data"].as_str().unwrap());
                        let es = flat.dtype().size();
                        let mut pos = 0usize;
                        for (r, (g, s)) in got.iter().zip(shapes).enumerate() {
                            let s = shape_of(s);
                            let n = s.iter().product::<u64>() as usize;
                            let want = ArrayBuf::from_bytes(
                                flat.dtype().clone(),
                                s,
                                &flat.bytes()[pos * es..(pos + n) * es],
                            )
                            .unwrap();
                            pos += n;
                            assert_same(g, &want, &format!("{what} row {r}"));
                        }
                    }
                    vla += 1;
                    assert!(table.column(ci).is_err(), "{what}: VLA via column()");
                    continue;
                }
                let got = table.column(ci).unwrap_or_else(|e| panic!("{what}: {e}"));
                let want = npy(c["data"].as_str().unwrap());
                assert_eq!(got.shape(), &shape_of(&c["shape"])[..], "{what}: shape");
                assert_same(&got, &want, &what);
                // A range of rows equals the same rows of the whole column.
                let n = table.nrows();
                if n >= 3 {
                    let part = table.read_rows(1..n - 1, &[ci]).unwrap().remove(0);
                    let cell = got.bytes().len() / n as usize;
                    assert_eq!(
                        part.bytes(),
                        &got.bytes()[cell..cell * (n as usize - 1)],
                        "{what}: rows 1..n-1"
                    );
                }
                fixed += 1;
            }
            // By name too.
            if let Some(c) = table.columns().iter().find(|c| !c.is_variable()) {
                let name = c.name.to_ascii_lowercase();
                if !name.is_empty() {
                    assert!(table.column(name.as_str()).is_ok(), "{rel}: {name}");
                }
            }
        }
    }
    assert!(tables >= 20, "{tables} tables");
    assert!(fixed >= 150, "{fixed} fixed columns");
    assert!(vla >= 12, "{vla} VLA columns");
}

#[test]
fn narrow_column_reads_only_its_bytes() {
    let bytes = std::fs::read(root().join("astropy/stddata.fits")).unwrap();
    let src = Arc::new(CountingSource::new(MemSource::new(bytes)));
    let fits = Fits::from_source(src.clone()).unwrap();
    let t = fits.table(2).unwrap();
    let c = t.find_column("RA").unwrap().clone();
    assert!(c.width * 4 < t.row_len());
    src.reset();
    let a = t.column("RA").unwrap();
    assert_eq!(a.shape(), &[t.nrows()]);
    assert_eq!(src.bytes_read(), c.width * t.nrows());
    src.reset();
    t.read_rows(1..3, &["RA", "DEC"]).unwrap();
    assert_eq!(src.bytes_read(), 2 * 16);
}

#[test]
fn bad_tables_are_typed_errors() {
    // A row wider than NAXIS1: rewrite NAXIS1 of a generated table to something smaller.
    let bytes = std::fs::read(root().join("gen/bt_raw.fits")).unwrap();
    let text = String::from_utf8_lossy(&bytes[2880..2880 * 2]).to_string();
    let pos = text.find("NAXIS1  =").unwrap();
    let mut bad = bytes.clone();
    let card = format!("{:<80}", "NAXIS1  =                   10");
    bad[2880 + pos..2880 + pos + 80].copy_from_slice(card.as_bytes());
    let f = Fits::from_source(Arc::new(MemSource::new(bad))).unwrap();
    match f.table(1) {
        Err(Error::Table { hdu: 1, column, .. }) => assert!(column.is_some()),
        other => panic!("{other:?}"),
    }
    // A descriptor pointing outside the heap.
    let bytes = std::fs::read(root().join("gen/bt_vla_raw.fits")).unwrap();
    let f = Fits::from_source(Arc::new(MemSource::new(bytes.clone()))).unwrap();
    let hdu = f.hdu(1).unwrap().clone();
    let mut bad = bytes.clone();
    let at = hdu.data_offset as usize + 4; // row 0, column P: offset word
    bad[at..at + 4].copy_from_slice(&1_000_000i32.to_be_bytes());
    let f = Fits::from_source(Arc::new(MemSource::new(bad))).unwrap();
    let t = f.table(1).unwrap();
    match t.vla_column("P") {
        Err(Error::Table {
            hdu: 1,
            row: Some(0),
            column: Some(c),
            ..
        }) => assert_eq!(c, "P"),
        other => panic!("{other:?}"),
    }
    // Negative count.
    let mut bad = bytes.clone();
    let at = hdu.data_offset as usize + 32 + 24; // row 1 (32-byte rows), column S count
    bad[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
    let f = Fits::from_source(Arc::new(MemSource::new(bad))).unwrap();
    let t = f.table(1).unwrap();
    assert!(matches!(
        t.vla_column("S"),
        Err(Error::Table { row: Some(1), .. })
    ));
    // Every truncation of the table files: never a panic.
    for rel in ["gen/bt_all.fits", "gen/bt_vla.fits", "gen/ascii_raw.fits"] {
        let bytes = std::fs::read(root().join(rel)).unwrap();
        for cut in (0..bytes.len()).step_by(97) {
            let Ok(f) = Fits::from_source(Arc::new(MemSource::new(bytes[..cut].to_vec()))) else {
                continue;
            };
            if let Ok(t) = f.table(1) {
                for c in t.columns().to_vec() {
                    let _ = t.column(c.index);
                    let _ = t.vla_column(c.index);
                }
            }
        }
    }
}

/// A binary table whose TFORMn widths (4E: 16 bytes) do not fill NAXIS1 (20), from
/// testdata/gen_fits_defects.py: nd steps through the rows NAXIS1 bytes apart and reads the
/// stored values (astropy steps 16 bytes apart and misreads row 1), says so in a reading note,
/// and `verify` reports cfitsio's BAD_ROW_WIDTH as the one error fitsverify finds
/// (testdata/fits/fitsverify.json; spec-notes/differential.md).
#[test]
fn binary_table_row_longer_than_its_columns() {
    let fits = Fits::open(root().join("defects/broken_row_width.fits")).unwrap();
    let t = fits.table(1).unwrap();
    assert_eq!((t.row_len(), t.columns_width()), (20, 16));
    let notes = t.reading_notes();
    assert!(
        notes.len() == 1 && notes[0].contains("sum to 16 bytes, NAXIS1 = 20"),
        "{notes:?}"
    );
    // the rows hold the floats 0..10 (five a row): the column is the first four of each row
    let a = t.column("A").unwrap();
    assert_eq!(
        a.as_slice::<f32>().unwrap(),
        [0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0]
    );
    let issues = nd_fits::verify(&fits);
    let errors: Vec<_> = issues
        .iter()
        .filter(|i| i.severity == nd_fits::Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{issues:?}");
    assert!(errors[0].msg.contains("NAXIS1 = 20"), "{}", errors[0].msg);
}

/// TDIMn as astropy applies it (differential fuzzing, spec-notes/differential.md):
/// `broken_tdim_forms.fits` has TDIM2 = ' (2,2)' (a leading blank: astropy's TDIM_RE does not
/// match, so the column keeps its TFORM shape); `broken_tdim_short.fits` has TDIM1 = '(2,1)' on a
/// 4E column: nd gives the first two elements of each stored row (astropy steps through the rows
/// by the TDIM size and returns [0, 1, 2, 3], the second row misread).
#[test]
fn tdim_applied_as_astropy_matches_it() {
    let fits = Fits::open(root().join("defects/broken_tdim_forms.fits")).unwrap();
    let b = fits.table(1).unwrap().column("B").unwrap();
    assert_eq!(b.shape(), [2, 4]);
    let fits = Fits::open(root().join("defects/broken_tdim_short.fits")).unwrap();
    let a = fits.table(1).unwrap().column("A").unwrap();
    assert_eq!(a.shape(), [2, 1, 2]);
    assert_eq!(a.as_slice::<f32>().unwrap(), [0.0, 1.0, 4.0, 5.0]);
}
