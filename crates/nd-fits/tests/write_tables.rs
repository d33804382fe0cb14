//! Binary tables written by nd-fits, read back by nd-fits (values equal), and left with their
//! intended values (.npy / .json) for astropy: set ND_FITS_WRITE_OUT=<dir> and run
//! `.venv/bin/python testdata/check_fits_written.py <dir>`. The committed copies in
//! testdata/fits/written (tables.*) are read back here too.

use nd_core::{ArrayBuf, DataType};
use nd_fits::{Card, ColumnData, ColumnValues, Error, Fits, FitsWriter, TableScale};
use serde_json::{json, Value as J};
use std::path::Path;

mod common;
use common::{arr, out_dir};

const N: usize = 7;

fn bools(shape: &[u64], f: impl Fn(usize) -> bool) -> ArrayBuf {
    let n: u64 = shape.iter().product();
    let v: Vec<u8> = (0..n as usize).map(|i| f(i) as u8).collect();
    ArrayBuf::from_bytes(DataType::Bool, shape.to_vec(), &v).unwrap()
}

/// Fixed-width columns whose astropy values equal the array written (dtype and all).
fn plain_columns() -> Vec<(ColumnData, ArrayBuf)> {
    let n = N as u64;
    let mut v = Vec::new();
    let mut add = |name: &str, a: ArrayBuf| v.push((ColumnData::array(name, a.clone()), a));
    add("LOG", bools(&[n], |i| i % 3 == 0));
    add("U8", arr(&[n], |i| (i * 40) as u8));
    add("I8", arr(&[n], |i| (i as i64 * 40 - 128) as i8));
    add("I16V", arr(&[n, 3], |i| (i as i64 * 3001 - 32768) as i16));
    add("U16", arr(&[n], |i| (i * 10000) as u16 + 5));
    add("U32", arr(&[n], |i| (i as u32).wrapping_mul(700_000_001)));
    add("I64", arr(&[n], |i| (i as i64 - 3) * 1_000_000_000_007));
    add("U64", arr(&[n], |i| u64::MAX - i as u64 * 12_345_678_901));
    add(
        "F32",
        arr(&[n], |i| {
            if i == 2 {
                f32::NAN
            } else {
                i as f32 * 0.25 - 1.0
            }
        }),
    );
    add("F64M", arr(&[n, 4], |i| (i as f64).sqrt() * 1e-3));
    let c64: Vec<f32> = (0..N).flat_map(|i| [i as f32, -(i as f32) / 2.0]).collect();
    add(
        "C64",
        ArrayBuf::from_bytes(DataType::Complex64, vec![n], bytemuck::cast_slice(&c64)).unwrap(),
    );
    let c128: Vec<f64> = (0..N * 2).flat_map(|i| [i as f64 / 3.0, 1e10]).collect();
    add(
        "C128",
        ArrayBuf::from_bytes(
            DataType::Complex128,
            vec![n, 2],
            bytemuck::cast_slice(&c128),
        )
        .unwrap(),
    );
    v
}

fn npy_name(base: &str, hdu: usize, col: &str) -> String {
    format!("{base}.{hdu}.{col}.npy")
}

fn strings() -> Vec<String> {
    [
        "",
        "a",
        "hello world",
        "trail  ",
        "  lead",
        "x",
        "0123456789abcdef",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn tables_round_trip_and_expected_values() {
    let (_keep, dir) = out_dir();
    let base = "tables";
    let path = dir.join(format!("{base}.fits"));
    let n = N as u64;
    let mut cols: Vec<ColumnData> = Vec::new();
    let mut spec = serde_json::Map::new();
    let plain = plain_columns();
    for (c, a) in &plain {
        // astropy (8.0.2) reads `B` with TZERO = -128 as float64, not int8: the same values.
        let a = if a.dtype() == &DataType::Int8 {
            let v: Vec<f64> = a
                .as_slice::<i8>()
                .unwrap()
                .iter()
                .map(|&x| x as f64)
                .collect();
            ArrayBuf::from_vec(a.shape().to_vec(), &v).unwrap()
        } else {
            a.clone()
        };
        nd_core::npy::write_npy(dir.join(npy_name(base, 1, &c.name)), &a).unwrap();
        spec.insert(c.name.clone(), json!({"npy": npy_name(base, 1, &c.name)}));
        cols.push(c.clone());
    }
    // A 2x3 int32 cell with TDIM, TNULL and a unit.
    let j = arr(&[n, 2, 3], |i| i as i32 * 7 - 20);
    nd_core::npy::write_npy(dir.join(npy_name(base, 1, "J23")), &j).unwrap();
    spec.insert(
        "J23".into(),
        json!({"npy": npy_name(base, 1, "J23"), "tnull": -999, "unit": "count", "tdim": "(3,2)"}),
    );
    cols.push(
        ColumnData::array("J23", j.clone())
            .with_null(-999)
            .with_unit("count"),
    );
    // Bits.
    let bits = bools(&[n, 11], |i| (i * 7) % 5 < 2);
    nd_core::npy::write_npy(dir.join(npy_name(base, 1, "BITS")), &bits).unwrap();
    spec.insert("BITS".into(), json!({"npy": npy_name(base, 1, "BITS")}));
    cols.push(ColumnData::new("BITS", ColumnValues::Bits(bits.clone())));
    // Strings (astropy strips trailing spaces).
    let s = strings();
    let stripped: Vec<String> = s.iter().map(|x| x.trim_end().to_string()).collect();
    spec.insert("STR".into(), json!({"strings": stripped}));
    cols.push(ColumnData::new("STR", ColumnValues::Strings(s.clone())));
    // A (n, 2) array of 4-byte strings: TDIM (4,2).
    let sb: Vec<u8> = (0..N * 2)
        .flat_map(|i| {
            let t = format!("{:<4}", &"abcdefgh"[i % 5..i % 5 + (i % 4)]);
            t.into_bytes()
        })
        .collect();
    let sarr = ArrayBuf::from_bytes(DataType::Bytes(4), vec![n, 2], &sb).unwrap();
    let snested: Vec<Vec<String>> = sb
        .chunks(8)
        .map(|r| {
            r.chunks(4)
                .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
                .collect()
        })
        .collect();
    spec.insert("S2".into(), json!({"strings": snested}));
    cols.push(ColumnData::array("S2", sarr));
    // Scaled: floats stored as int16 with TSCAL/TZERO; NaN → TNULL.
    let fv: Vec<f64> = (0..N)
        .map(|i| {
            if i == 4 {
                f64::NAN
            } else {
                100.0 + i as f64 * 1.234
            }
        })
        .collect();
    let scaled_expect: Vec<f64> = fv
        .iter()
        .map(|&v| {
            let q = if v.is_nan() {
                -32768.0
            } else {
                ((v - 100.0) / 0.01f64).round_ties_even()
            };
            q * 0.01 + 100.0
        })
        .collect();
    let se = ArrayBuf::from_vec(vec![n], &scaled_expect).unwrap();
    nd_core::npy::write_npy(dir.join(npy_name(base, 1, "SCALED")), &se).unwrap();
    spec.insert("SCALED".into(), json!({"npy": npy_name(base, 1, "SCALED")}));
    cols.push(
        ColumnData::array("SCALED", ArrayBuf::from_vec(vec![n], &fv).unwrap())
            .with_null(-32768)
            .with_scale(TableScale {
                stored: DataType::Int16,
                scale: 0.01,
                zero: 100.0,
            }),
    );
    // Variable-length columns.
    let vf32: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[r as u64 % 4], |i| (r * 10 + i) as f32 * 0.5))
        .collect();
    let vf64: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[(r as u64 * 3) % 5], |i| -(r as f64) - i as f64 / 8.0))
        .collect();
    let vi16: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[r as u64], |i| (i as i16 - 3) * 1000))
        .collect();
    let vi32: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[2], |i| (r * 100 + i) as i32 - 50))
        .collect();
    let vi64: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[(r % 3) as u64], |i| (1i64 << 40) * (r as i64 + i as i64)))
        .collect();
    let vu8: Vec<ArrayBuf> = (0..N)
        .map(|r| arr(&[(r % 2 * 5) as u64], |i| (r * 30 + i) as u8))
        .collect();
    let vbool: Vec<ArrayBuf> = (0..N)
        .map(|r| bools(&[(r % 4) as u64], |i| (r + i) % 2 == 0))
        .collect();
    let vstr: Vec<String> = (0..N)
        .map(|r| "xyz".repeat(r % 3) + ["", "a", "bc"][r % 3])
        .collect();
    let var = |name: &str, dtype: DataType, rows: &Vec<ArrayBuf>, q: bool| {
        ColumnData::new(
            name,
            ColumnValues::Var {
                dtype,
                rows: rows.clone(),
                q,
            },
        )
    };
    cols.push(var("VF32", DataType::Float32, &vf32, false));
    cols.push(var("VF64", DataType::Float64, &vf64, true));
    cols.push(var("VI16", DataType::Int16, &vi16, false));
    cols.push(var("VI32", DataType::Int32, &vi32, true));
    cols.push(var("VI64", DataType::Int64, &vi64, false));
    cols.push(var("VU8", DataType::UInt8, &vu8, false));
    cols.push(var("VBOOL", DataType::Bool, &vbool, false));
    cols.push(ColumnData::new(
        "VSTR",
        ColumnValues::VarStrings {
            rows: vstr.clone(),
            q: false,
        },
    ));
    fn jrows(rows: &[ArrayBuf]) -> J {
        J::Array(
            rows.iter()
                .map(|a| match a.dtype() {
                    DataType::Float32 => json!(a.as_slice::<f32>().unwrap()),
                    DataType::Float64 => json!(a.as_slice::<f64>().unwrap()),
                    DataType::Int16 => json!(a.as_slice::<i16>().unwrap()),
                    DataType::Int32 => json!(a.as_slice::<i32>().unwrap()),
                    DataType::Int64 => json!(a.as_slice::<i64>().unwrap()),
                    DataType::UInt8 => json!(a.as_slice::<u8>().unwrap()),
                    DataType::Bool => json!(a.bytes().iter().map(|&b| b != 0).collect::<Vec<_>>()),
                    d => panic!("{d}"),
                })
                .collect(),
        )
    }
    for (name, rows, dt) in [
        ("VF32", &vf32, "float32"),
        ("VF64", &vf64, "float64"),
        ("VI16", &vi16, "int16"),
        ("VI32", &vi32, "int32"),
        ("VI64", &vi64, "int64"),
        ("VU8", &vu8, "uint8"),
        ("VBOOL", &vbool, "bool"),
    ] {
        spec.insert(name.into(), json!({"vla": jrows(rows), "dtype": dt}));
    }
    spec.insert("VSTR".into(), json!({"vla_strings": vstr}));

    let mut w = FitsWriter::create(&path);
    w.set_checksums(true);
    w.add_bintable(
        &cols,
        &[
            Card::new("EXTNAME", "EVERYTHING", None).unwrap(),
            Card::new("TFIELDS", 99i64, None).unwrap(), // ignored: structural
            Card::new("OBSERVER", "nd", Some("who")).unwrap(),
        ],
    )
    .unwrap();
    // A table of zero rows, and one with a single string column.
    w.add_bintable(
        &[
            ColumnData::array(
                "EMPTY_F",
                ArrayBuf::zeros(DataType::Float64, vec![0]).unwrap(),
            ),
            ColumnData::new(
                "EMPTY_V",
                ColumnValues::Var {
                    dtype: DataType::Int32,
                    rows: vec![],
                    q: false,
                },
            ),
        ],
        &[Card::new("EXTNAME", "NOROWS", None).unwrap()],
    )
    .unwrap();
    w.finish().unwrap();
    let mut hdus = serde_json::Map::new();
    hdus.insert(
        "1".into(),
        json!({"kind": "table", "columns": spec, "extname": "EVERYTHING"}),
    );
    hdus.insert(
        "2".into(),
        json!({"kind": "table", "nrows": 0, "columns": {}, "extname": "NOROWS"}),
    );
    std::fs::write(
        dir.join(format!("{base}.json")),
        serde_json::to_string_pretty(&json!({ "hdus": hdus })).unwrap(),
    )
    .unwrap();

    // Our reader: every column back.
    let f = Fits::open(&path).unwrap();
    for r in nd_fits::verify_checksums(&f).unwrap() {
        assert_eq!(r.checksum, nd_fits::ChecksumStatus::Valid, "HDU {}", r.hdu);
    }
    check_tables(&f, &dir, base);
}

fn check_tables(f: &Fits, dir: &Path, base: &str) {
    let t = f.table(1).unwrap();
    assert_eq!(t.nrows(), N as u64);
    assert_eq!(t.header().get_str("OBSERVER"), Some("nd"));
    assert_eq!(
        t.header().get_int("TFIELDS"),
        Some(t.columns().len() as i64)
    );
    let spec: J =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{base}.json"))).unwrap())
            .unwrap();
    let cols = spec["hdus"]["1"]["columns"].as_object().unwrap();
    let mut checked = 0;
    for (name, s) in cols {
        if let Some(npy) = s.get("npy").and_then(|v| v.as_str()) {
            let want = nd_core::npy::read_npy(dir.join(npy)).unwrap();
            let got = t.column(name.as_str()).unwrap();
            assert_eq!(got.shape(), want.shape(), "{name}");
            if name == "F32" || name == "SCALED" {
                assert_eq!(got.dtype(), want.dtype(), "{name}");
                let bits = |a: &ArrayBuf| -> Vec<u64> {
                    match a.dtype() {
                        DataType::Float32 => a
                            .as_slice::<f32>()
                            .unwrap()
                            .iter()
                            .map(|v| v.to_bits() as u64)
                            .collect(),
                        _ => a
                            .as_slice::<f64>()
                            .unwrap()
                            .iter()
                            .map(|v| v.to_bits())
                            .collect(),
                    }
                };
                assert_eq!(bits(&got), bits(&want), "{name}");
            } else {
                assert_eq!(got.dtype(), want.dtype(), "{name}");
                assert_eq!(got.bytes(), want.bytes(), "{name}");
            }
            if let Some(u) = s.get("unit").and_then(|v| v.as_str()) {
                assert_eq!(
                    t.find_column(name.as_str()).unwrap().unit.as_deref(),
                    Some(u)
                );
            }
            if let Some(nl) = s.get("tnull").and_then(|v| v.as_i64()) {
                assert_eq!(
                    t.find_column(name.as_str()).unwrap().null,
                    Some(nd_fits::Value::Int(nl))
                );
            }
        } else if let Some(strs) = s.get("strings") {
            let got = t.column(name.as_str()).unwrap();
            let item = match got.dtype() {
                DataType::Bytes(k) => *k,
                d => panic!("{name}: {d}"),
            };
            let got_s: Vec<String> = got
                .bytes()
                .chunks(item)
                .map(|c| {
                    String::from_utf8_lossy(c)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect();
            let want: Vec<String> = match strs {
                J::Array(v) => v
                    .iter()
                    .flat_map(|x| match x {
                        J::Array(inner) => inner
                            .iter()
                            .map(|y| y.as_str().unwrap().to_string())
                            .collect(),
                        J::String(s) => vec![s.clone()],
                        _ => panic!(),
                    })
                    .collect(),
                _ => panic!(),
            };
            assert_eq!(got_s, want, "{name}");
        } else if let Some(rows) = s.get("vla").and_then(|v| v.as_array()) {
            let got = t.vla_column(name.as_str()).unwrap();
            assert_eq!(got.len(), rows.len(), "{name}");
            for (g, w) in got.iter().zip(rows) {
                let w = w.as_array().unwrap();
                assert_eq!(g.len(), w.len(), "{name}");
                let gv: Vec<f64> = match g.dtype() {
                    DataType::Float32 => g
                        .as_slice::<f32>()
                        .unwrap()
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                    DataType::Float64 => g.as_slice::<f64>().unwrap().to_vec(),
                    DataType::Int16 => g
                        .as_slice::<i16>()
                        .unwrap()
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                    DataType::Int32 => g
                        .as_slice::<i32>()
                        .unwrap()
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                    DataType::Int64 => g
                        .as_slice::<i64>()
                        .unwrap()
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                    DataType::UInt8 | DataType::Bool => {
                        g.bytes().iter().map(|&v| v as f64).collect()
                    }
                    d => panic!("{d}"),
                };
                let wv: Vec<f64> = w
                    .iter()
                    .map(|x| {
                        x.as_f64()
                            .unwrap_or_else(|| x.as_bool().unwrap() as u8 as f64)
                    })
                    .collect();
                assert_eq!(gv, wv, "{name}");
            }
        } else if let Some(rows) = s.get("vla_strings").and_then(|v| v.as_array()) {
            let got = t.vla_column(name.as_str()).unwrap();
            for (g, w) in got.iter().zip(rows) {
                let gs = String::from_utf8_lossy(g.bytes())
                    .trim_end_matches('\0')
                    .to_string();
                assert_eq!(gs, w.as_str().unwrap(), "{name}");
            }
        } else {
            panic!("{name}: no expectation");
        }
        checked += 1;
    }
    assert_eq!(checked, t.columns().len());
    let e = f.table(2).unwrap();
    assert_eq!(e.nrows(), 0);
    assert_eq!(e.columns().len(), 2);
    assert_eq!(e.column("EMPTY_F").unwrap().shape(), &[0]);
    assert!(e.vla_column("EMPTY_V").unwrap().is_empty());
}

#[test]
fn committed_tables_read_back() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits/written");
    if !dir.join("tables.fits").exists() {
        panic!("testdata/fits/written/tables.fits missing");
    }
    let f = Fits::open(dir.join("tables.fits")).unwrap();
    check_tables(&f, &dir, "tables");
}

#[test]
fn mismatched_rows_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = FitsWriter::create(dir.path().join("x.fits"));
    let e = w
        .add_bintable(
            &[
                ColumnData::array("A", arr(&[3], |i| i as i32)),
                ColumnData::array("B", arr(&[4], |i| i as i32)),
            ],
            &[],
        )
        .unwrap_err();
    match e {
        Error::Table {
            hdu, column, msg, ..
        } => {
            assert_eq!(hdu, 1);
            assert_eq!(column.as_deref(), Some("B"));
            assert!(msg.contains('4') && msg.contains('3'), "{msg}");
        }
        e => panic!("{e}"),
    }
    // Bad inputs are typed errors too.
    assert!(w
        .add_bintable(
            &[ColumnData::new(
                "S",
                ColumnValues::Strings(vec!["é".into()])
            )],
            &[]
        )
        .is_err());
    assert!(w
        .add_bintable(
            &[ColumnData::array("F", arr(&[2], |i| i as f32)).with_null(0)],
            &[]
        )
        .is_err());
    assert!(w
        .add_bintable(
            &[ColumnData::new(
                "V",
                ColumnValues::Var {
                    dtype: DataType::Int32,
                    rows: vec![arr(&[2], |i| i as i16)],
                    q: false
                }
            )],
            &[]
        )
        .is_err());
    assert!(w
        .add_bintable(
            &[
                ColumnData::array("NAN", arr(&[2], |_| f64::NAN)).with_scale(TableScale {
                    stored: DataType::Int16,
                    scale: 1.0,
                    zero: 0.0
                })
            ],
            &[]
        )
        .is_err());
}
