//! cfitsio extended filenames (`f.fits[SCI,2][5:12,3:20]`) cut what astropy's `section` cuts:
//! `testdata/toolbox/extended.json` (written by `testdata/gen_toolbox.py`) holds astropy's values
//! for each name, on the plain file and the gzip, bzip2 and zip containers astropy reads.

use serde_json::Value as J;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/toolbox")
}

fn check(ds: &nd::Dataset, arr: &nd::Array, case: &J, what: &str) {
    let want_shape: Vec<u64> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(arr.shape(), &want_shape[..], "{what}: shape");
    // astropy's `section` gives float64 for strided cuts (same values); `hdu.data` float32
    assert_eq!(case["data_dtype"], "float32", "{what}");
    assert_eq!(nd::typestr(arr.dtype()), "<f4", "{what}: dtype");
    let got = arr.read_ndarray::<f32>().unwrap();
    let want = case["values"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        match w.as_f64() {
            None => assert!(g.is_nan(), "{what}: value {k} {g} (astropy: NaN)"),
            Some(w) => assert_eq!(f64::from(*g), w, "{what}: value {k}"),
        }
    }
    assert!(ds.extended().is_some(), "{what}");
}

#[test]
fn extended_filenames_cut_what_astropy_section_cuts() {
    let text = std::fs::read_to_string(root().join("extended.json")).unwrap();
    let doc: J = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let mut checked = 0;
    // the containers astropy reads (testdata/toolbox/containers.json): gzip, bzip2, one-member zips
    let files = [
        "ext.fits",
        "ext.fits.gz",
        "ext.fits.bz2",
        "ext.fits.zip",
        "ext_stored.fits.zip",
    ];
    for file in files {
        for case in cases {
            let name = format!(
                "{}{}",
                root().join(file).display(),
                case["name"].as_str().unwrap()
            );
            let ds = nd::open(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let arr = ds.selected().unwrap().unwrap();
            check(&ds, &arr, case, &name);
            // `pick` without a selector is the same array
            let again = ds.pick(None).unwrap();
            assert_eq!(again.shape(), arr.shape(), "{name}");
            checked += 1;
        }
    }
    assert_eq!(checked, files.len() * cases.len());
}

#[test]
fn a_section_alone_applies_to_a_selector_and_brackets_twice_are_refused() {
    let base = root().join("ext.fits");
    let ds = nd::open(&format!("{}[5:12,3:20]", base.display())).unwrap();
    // the section on SCI,2 given as a selector equals [SCI,2][5:12,3:20]
    let a = ds.pick(Some("SCI,2")).unwrap();
    let b = nd::open(&format!("{}[SCI,2][5:12,3:20]", base.display()))
        .unwrap()
        .selected()
        .unwrap()
        .unwrap();
    assert_eq!(a.shape(), &[18, 8]);
    assert_eq!(
        a.read_ndarray::<f32>().unwrap(),
        b.read_ndarray::<f32>().unwrap()
    );
    let ds = nd::open(&format!("{}[SCI]", base.display())).unwrap();
    let e = ds.pick(Some("2")).unwrap_err().to_string();
    assert!(e.contains("the brackets name the HDU already"), "{e}");
    // header of the bracketed HDU only
    let h = ds.header_text(None).unwrap();
    assert!(h.starts_with("XTENSION= 'IMAGE   '"), "{h}");
    assert!(h.contains("EXTNAME = 'SCI"), "{h}");
    assert!(!h.contains("SIMPLE  ="), "{h}");
    // info names what the brackets select, numpy order
    let info = ds.info_text();
    assert!(
        info.contains("Selected [SCI]: SCI <f4, shape [4, 6, 8]"),
        "{info}"
    );
    // mistakes name the file, the brackets and the axis
    let e = nd::open(&format!("{}[SCI,2][1:31,1:20]", base.display()))
        .unwrap()
        .selected()
        .unwrap_err()
        .to_string();
    assert!(e.contains("[SCI,2][1:31,1:20]"), "{e}");
    assert!(e.contains("NAXIS1 = 30): pixel 31 is outside"), "{e}");
    let e = nd::open(&format!("{}[NOPE]", base.display()))
        .unwrap()
        .selected()
        .unwrap_err()
        .to_string();
    assert!(e.contains("NOPE"), "{e}");
    // the brackets are for FITS only
    let z = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr/hier.zarr");
    let e = nd::open(&format!("{}[1]", z.display()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("brackets are for FITS files; this is zarr"),
        "{e}"
    );
}
