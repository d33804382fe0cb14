//! The inputs and outputs users have (issue 19), against what astropy, numpy and python asdf
//! wrote or read (`testdata/gen_toolbox.py`, `testdata/gen_asdf.py`): `.npy`/`.npz` sources,
//! bzip2 and zip FITS, whole tables exported, masked ASDF arrays with their masks, `nd info`'s
//! astropy view, `.fits.gz` output.

use serde_json::Value as J;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn tb(name: &str) -> String {
    data().join("toolbox").join(name).display().to_string()
}

fn f32s(ds: &nd::Dataset, sel: &str) -> Vec<f32> {
    ds.array(sel)
        .unwrap()
        .read_ndarray::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

fn same_f32(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn npy_and_npz_are_sources_as_numpy_loads_them() {
    let fits = nd::open(&tb("ext.fits")).unwrap();
    let cube = f32s(&fits, "SCI");
    let npy = nd::open(&tb("arrays.npy")).unwrap();
    assert_eq!(npy.format(), nd::Format::Npy);
    assert_eq!(npy.array("data").unwrap().shape(), &[4, 6, 8]);
    assert!(same_f32(&f32s(&npy, "data"), &cube));
    assert!(
        same_f32(&f32s(&npy, ""), &cube),
        "the one array without a selector"
    );
    for f in ["arrays.npz", "arrays_z.npz"] {
        let z = nd::open(&tb(f)).unwrap();
        assert_eq!(z.format(), nd::Format::Npy, "{f}");
        let names: Vec<String> = z.arrays().unwrap().into_iter().map(|a| a.path).collect();
        assert_eq!(names, ["cube", "flags"], "{f}");
        // arrays_z holds the cube as big-endian float64: read as native values
        let c: Vec<f64> = z
            .array("cube")
            .unwrap()
            .read_ndarray::<f64>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert!(
            c.iter()
                .zip(&cube)
                .all(|(a, b)| *a == f64::from(*b) || (a.is_nan() && b.is_nan())),
            "{f}"
        );
        let flags = z.array("flags").unwrap();
        assert_eq!(flags.dtype(), &nd::DataType::Bool);
        let buf = flags.as_read().read_all().unwrap();
        let want: Vec<u8> = (0..24).map(|i| u8::from(i % 3 == 0)).collect();
        assert_eq!(buf.bytes(), &want[..], "{f}");
        let e = z.array("nope").unwrap_err().to_string();
        assert!(e.contains("holds cube, flags"), "{e}");
    }
}

#[test]
fn bzip2_is_refused_over_the_limit_with_the_limit_named() {
    let small = nd::Limits {
        decompressed_bytes: 10_000,
        ..nd::Limits::default()
    };
    let e = nd::OpenOptions::new()
        .limits(small)
        .open(&tb("ext.fits.bz2"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ext.fits.bz2") && e.contains("decompressed_bytes"),
        "{e}"
    );
    let e = nd::OpenOptions::new()
        .limits(small)
        .open(&tb("ext.fits.zip"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("decompressed_bytes"), "{e}");
}

#[test]
fn masks_of_masked_asdf_arrays_are_what_python_asdf_gives() {
    let mut checked = 0;
    for name in ["masked", "masked_inline", "mask_values"] {
        let file = data().join(format!("asdf/py/{name}.asdf"));
        let ds = nd::open(file.to_str().unwrap()).unwrap();
        let exp = data().join(format!("asdf/py/expected/{name}"));
        let index: J =
            serde_json::from_str(&std::fs::read_to_string(exp.join("index.json")).unwrap())
                .unwrap();
        for (path, entry) in index.as_object().unwrap() {
            let Some(m) = entry.get("mask").and_then(|m| m.as_str()) else {
                continue;
            };
            let want = nd_core_npy(&exp.join(m));
            let mask = ds
                .mask(path)
                .unwrap()
                .unwrap_or_else(|| panic!("{name} {path}: no mask"));
            assert_eq!(mask.dtype(), &nd::DataType::Bool);
            let got = mask.as_read().read_all().unwrap();
            assert_eq!(got.bytes(), want.bytes(), "{name} {path}");
            // `PATH/mask` opens the same booleans
            let again = ds.array(&format!("{path}/mask")).unwrap();
            assert_eq!(again.as_read().read_all().unwrap().bytes(), want.bytes());
            checked += 1;
        }
    }
    assert!(checked >= 13, "{checked} masks checked");
    let ds = nd::open(
        data()
            .join("asdf/py/compressed_zlib.asdf")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let first = ds.arrays().unwrap()[0].path.clone();
    assert!(ds.mask(&first).unwrap().is_none());
}

fn nd_core_npy(p: &Path) -> nd::ArrayBuf {
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    ds.array("data").unwrap().as_read().read_all().unwrap()
}

#[test]
fn masked_arrays_export_to_npz_with_their_mask() {
    let file = data().join("asdf/py/masked.asdf");
    let ds = nd::open(file.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.npz").display().to_string();
    let target = nd::export::array_output(&out, None, false, &[]).unwrap();
    let arr = ds.array("masked").unwrap();
    let mask = ds.mask("masked").unwrap().unwrap();
    let notes = nd::export::write_masked(&arr, Some(&mask), &target, 1 << 20).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    // read back through nd's own .npz reader: data and mask equal python asdf's
    let back = nd::open(&out).unwrap();
    let exp = data().join("asdf/py/expected/masked");
    assert_eq!(
        back.array("data")
            .unwrap()
            .as_read()
            .read_all()
            .unwrap()
            .bytes(),
        nd_core_npy(&exp.join("0.npy")).bytes()
    );
    assert_eq!(
        back.array("mask")
            .unwrap()
            .as_read()
            .read_all()
            .unwrap()
            .bytes(),
        nd_core_npy(&exp.join("0.mask.npy")).bytes()
    );
    // .npy keeps the data and says the mask is not there
    let npy = dir.path().join("m.npy").display().to_string();
    let t = nd::export::array_output(&npy, None, false, &[]).unwrap();
    let notes = nd::export::write_masked(&arr, Some(&mask), &t, 1 << 20).unwrap();
    assert!(notes[0].contains("write .npz"), "{notes:?}");
}

#[test]
fn masks_convert_to_a_sibling_zarr_array() {
    let file = data().join("asdf/py/masked.asdf");
    let ds = nd::open(file.to_str().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.zarr").display().to_string();
    nd::convert::convert(&ds, &out, &nd::convert::ConvertOptions::default()).unwrap();
    let z = nd::open(&out).unwrap();
    let exp = data().join("asdf/py/expected/masked");
    for (path, n) in [("masked", 0), ("masked_int", 1)] {
        let m = z.array(&format!("{path}_mask")).unwrap();
        assert_eq!(m.dtype(), &nd::DataType::Bool);
        assert_eq!(
            m.as_read().read_all().unwrap().bytes(),
            nd_core_npy(&exp.join(format!("{n}.mask.npy"))).bytes(),
            "{path}"
        );
        assert_eq!(
            z.attributes(&format!("{path}_mask")).unwrap()["mask_of"],
            path
        );
    }
    // FITS output leaves the masks with a note
    let fits = dir.path().join("m.fits").display().to_string();
    let notes = nd::convert::convert(&ds, &fits, &nd::convert::ConvertOptions::default()).unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("mask of masked is not written")),
        "{notes:?}"
    );
}

/// One row of astropy's `info()` as nd prints it.
fn astropy_row(r: &[J]) -> (String, String) {
    let dims = match &r[5] {
        J::String(s) => s.clone(),
        J::Array(a) if a.is_empty() => "()".into(),
        J::Array(a) if a.len() == 1 => format!("({},)", a[0]),
        J::Array(a) => format!(
            "({})",
            a.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => panic!("{other}"),
    };
    let head = format!(
        "{:>4}  {:<20} {:>4}  {:<12} {:>5}   {:<14} {}",
        r[0].to_string(),
        r[1].as_str().unwrap(),
        r[2].to_string(),
        r[3].as_str().unwrap(),
        r[4].to_string(),
        dims,
        r[6].as_str().unwrap()
    );
    (head.trim_end().to_string(), dims)
}

#[test]
fn info_shows_fits_as_astropy_info_does() {
    let rows: serde_json::Map<String, J> =
        serde_json::from_str(&std::fs::read_to_string(data().join("toolbox/info.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for (rel, hdus) in rows {
        let text = nd::open(data().join(&rel).to_str().unwrap())
            .unwrap()
            .info_text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("Dimensions") && lines[1].contains("Format"));
        for (k, r) in hdus.as_array().unwrap().iter().enumerate() {
            let (want, _) = astropy_row(r.as_array().unwrap());
            let got = lines[2 + k].trim_end();
            // astropy prints random groups' counts after the format
            assert!(
                got.starts_with(&want),
                "{rel} HDU {k}:\n got  {got:?}\n want {want:?}"
            );
            checked += 1;
        }
        assert!(text.contains("FITS order (NAXIS1 first)"), "{text}");
    }
    assert!(checked >= 20, "{checked} rows");
}

#[test]
fn fits_gz_output_is_gzip_compressed_fits() {
    let src = nd::open(&tb("ext.fits")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.fits.gz").display().to_string();
    nd::convert::convert(&src, &out, &nd::convert::ConvertOptions::default()).unwrap();
    let head = std::fs::read(&out).unwrap();
    assert_eq!(&head[..2], &[0x1f, 0x8b]);
    let back = nd::open(&out).unwrap();
    assert!(back.info_text().contains("(gzip)"));
    assert!(same_f32(&f32s(&back, "SCI,1"), &f32s(&src, "SCI,1")));
    assert!(same_f32(&f32s(&back, "SCI,2"), &f32s(&src, "SCI,2")));
    // nothing but the output is left beside it
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // a second run replaces it only with force
    let e = nd::convert::convert(&src, &out, &nd::convert::ConvertOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("exists"), "{e}");
    let force = nd::convert::ConvertOptions {
        force: true,
        ..Default::default()
    };
    nd::convert::convert(&src, &out, &force).unwrap();
}

#[test]
fn an_extended_filename_converts_its_cutout_with_the_wcs_moved() {
    let cube = data().join("example/cube.fits").display().to_string();
    let src = nd::open(&format!("{cube}[SCI][11:30,21:40:2,*]")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.fits").display().to_string();
    nd::convert::convert(&src, &out, &nd::convert::ConvertOptions::default()).unwrap();
    let back = nd::open(&out).unwrap();
    let a = back.array("0").unwrap();
    assert_eq!(a.shape(), &[32, 10, 20]);
    let want: Vec<f32> = src
        .selected()
        .unwrap()
        .unwrap()
        .read_ndarray::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let got: Vec<f32> = a.read_ndarray::<f32>().unwrap().iter().copied().collect();
    assert!(same_f32(&got, &want));
    // numpy [:, 20:39:2, 10:30] of the source cube
    let full = nd::open(&cube)
        .unwrap()
        .array("SCI")
        .unwrap()
        .read_ndarray::<f32>()
        .unwrap();
    let direct: Vec<f32> = full
        .slice(nd::ndarray::s![.., 20..39;2, 10..30])
        .iter()
        .copied()
        .collect();
    assert!(same_f32(&got, &direct));
    let meta = back.metadata().unwrap();
    let cards = meta["hdus"][0]["cards"].as_array().unwrap();
    let card = |k: &str| {
        cards
            .iter()
            .find(|c| c["keyword"] == k)
            .map(|c| c["value"].as_f64().unwrap())
            .unwrap()
    };
    // CRPIX1 32.5 → 32.5 - 11 + 1 = 22.5; axis 2 from 21 step 2: (32.5 - 21) / 2 + 1 = 6.75
    assert_eq!(card("CRPIX1"), 22.5);
    assert_eq!(card("CRPIX2"), 6.75);
    assert_eq!(card("CDELT2"), 2e-4);
    assert_eq!(card("CRPIX3"), 1.0);
}

/// The bytes of field `name` of every record of a structured `.npy`.
fn field_bytes(buf: &nd::ArrayBuf, name: &str) -> (nd::DataType, Vec<Vec<u8>>) {
    let nd::DataType::Struct(st) = buf.dtype() else {
        panic!("not structured: {:?}", buf.dtype())
    };
    let f = st.fields.iter().find(|f| f.name == name).unwrap();
    let rows = buf
        .bytes()
        .chunks_exact(st.itemsize)
        .map(|r| r[f.offset..f.offset + f.size()].to_vec())
        .collect();
    (f.dtype.clone(), rows)
}

fn trim(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    &b[..end]
}

#[test]
fn whole_tables_export_as_astropy_reads_each_field() {
    let listing: serde_json::Map<String, J> =
        serde_json::from_str(&std::fs::read_to_string(data().join("toolbox/tables.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut fields = 0;
    for (name, t) in &listing {
        let ds = nd::open(data().join(t["file"].as_str().unwrap()).to_str().unwrap()).unwrap();
        let hdu = t["hdu"].to_string();
        let table = ds.pick_table(Some(&hdu)).unwrap().unwrap();
        let out = dir.path().join(format!("{name}.npy")).display().to_string();
        let notes = nd::table_export::export(&table, &out, None, false, &[], 1 << 10).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        let got = nd::open(&out)
            .unwrap()
            .array("data")
            .unwrap()
            .as_read()
            .read_all()
            .unwrap();
        assert_eq!(got.shape(), &[t["rows"].as_u64().unwrap()], "{name}");
        let want = nd::open(&tb(&format!("tables/{name}.npz"))).unwrap();
        for col in t["columns"].as_array().unwrap() {
            let cname = col[0].as_str().unwrap();
            let (dt, rows) = field_bytes(&got, cname);
            let w = want.array(cname).unwrap().as_read().read_all().unwrap();
            let per = w.bytes().len() / rows.len().max(1);
            for (r, cell) in rows.iter().enumerate() {
                let exp = &w.bytes()[r * per..(r + 1) * per];
                if let nd::DataType::Bytes(_) = dt {
                    // astropy strips trailing blanks; compare each string of the cell
                    let n = w.dtype().size();
                    let cells: Vec<&[u8]> = exp.chunks(n).map(trim).collect();
                    let ours: Vec<&[u8]> = cell.chunks(dt.size()).map(trim).collect();
                    assert_eq!(ours, cells, "{name} {cname} row {r}");
                } else {
                    assert_eq!(&dt, w.dtype(), "{name} {cname}");
                    assert_eq!(&cell[..], exp, "{name} {cname} row {r}");
                }
            }
            fields += 1;
        }
    }
    assert!(fields >= 30, "{fields} fields");
}

#[test]
fn tables_export_as_csv_and_parquet() {
    let ds = nd::open(data().join("fits/astropy/tb.fits").to_str().unwrap()).unwrap();
    let table = ds.pick_table(Some("1")).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tb.csv").display().to_string();
    nd::table_export::export(&table, &csv, None, false, &[], 1 << 20).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    // astropy: c1 [1, 2], c2 ['abc', 'xy'], c3 (TSCAL 3, TZERO 0.4) [3.7, 6.7], c4 [False, True]
    let want = nd::open(&tb("tables/tb.npz")).unwrap();
    let c3: Vec<f64> = want
        .array("c3")
        .unwrap()
        .read_ndarray::<f64>()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "c1,c2,c3,c4");
    assert_eq!(lines[1], format!("1,abc,{:?},False", c3[0]));
    assert_eq!(lines[2], format!("2,xy,{:?},True", c3[1]));
    let c4 = want.array("c4").unwrap().as_read().read_all().unwrap();
    assert_eq!(c4.bytes(), &[0, 1]);
    // a table with multi-value cells and complex values: CSV leaves complex out, names cells
    let all = nd::open(data().join("fits/gen/bt_all.fits").to_str().unwrap()).unwrap();
    let t = all.pick_table(Some("1")).unwrap().unwrap();
    let notes = nd::table_export::export(&t, &csv, None, true, &[], 1 << 20).unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("'C' holds complex"), "{notes:?}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("L1,L3[0],L3[1],L3[2],X1[0],X13[0],"),
        "{header}"
    );
    assert!(
        header.contains(",TD[5],") && !header.contains(",C,"),
        "{header}"
    );
    assert_eq!(text.lines().count(), 8);
    // Parquet: read back with the parquet crate's Arrow reader
    let pq = dir.path().join("tb.parquet").display().to_string();
    nd::table_export::export(&table, &pq, None, false, &[], 1 << 20).unwrap();
    let bytes = std::fs::read(&pq).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn a_c_order_npy_is_read_in_place_region_by_region() {
    // big-endian and Fortran-order files as numpy writes them, against the little-endian C one
    let dir = tempfile::tempdir().unwrap();
    let src = nd::open(&tb("arrays.npy")).unwrap();
    let cube = f32s(&src, "data");
    let header = |descr: &str, fortran: bool| {
        let mut d = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': (4, 6, 8), }}",
            if fortran { "True" } else { "False" }
        );
        while (10 + d.len() + 1) % 64 != 0 {
            d.push(' ');
        }
        d.push('\n');
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(d.as_bytes());
        h
    };
    let mut be = header(">f4", false);
    for v in &cube {
        be.extend_from_slice(&v.to_be_bytes());
    }
    let mut f = header("<f4", true);
    for x in 0..8 {
        for y in 0..6 {
            for z in 0..4 {
                f.extend_from_slice(&cube[(z * 6 + y) * 8 + x].to_le_bytes());
            }
        }
    }
    for (name, bytes) in [("be.npy", be), ("f.npy", f)] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let ds = nd::open(p.to_str().unwrap()).unwrap();
        assert!(same_f32(&f32s(&ds, "data"), &cube), "{name}");
        let a = ds.array("data").unwrap();
        let r = a.region("1:3,2:5,3:4").unwrap();
        let got: Vec<f32> = a
            .read_region_ndarray::<f32>(&r)
            .unwrap()
            .iter()
            .copied()
            .collect();
        let mut want = Vec::new();
        for z in 1..3 {
            for y in 2..5 {
                want.push(cube[(z * 6 + y) * 8 + 3]);
            }
        }
        assert!(same_f32(&got, &want), "{name}");
    }
    // a file shorter than its header says is refused when opened
    let p = dir.path().join("short.npy");
    let mut short = header("<f4", false);
    short.extend_from_slice(&[0; 12]);
    std::fs::write(&p, short).unwrap();
    let e = nd::open(p.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("truncated .npy"), "{e}");
}
