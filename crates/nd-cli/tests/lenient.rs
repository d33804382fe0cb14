//! Files with real-world defects that astropy reads with a warning (`testdata/fits/defects/`,
//! written by `testdata/gen_fits_defects.py`, which records what astropy 8.0.2 does in
//! `lenient.json`): `nd info` lists every HDU astropy lists and warns, on stderr and in
//! `--json`; a truncated image reads as far as astropy's `section` reads it.

mod common;
use common::{arg, nd, root};

fn lenient() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("fits/defects/lenient.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn defective_files_are_listed_with_warnings_as_astropy_lists_them() {
    let entries = lenient();
    assert_eq!(entries.len(), 3);
    for e in &entries {
        let path = root().join("fits").join(e["path"].as_str().unwrap());
        let p = arg(&path);
        let o = nd(&["info", "--json", p]);
        assert_eq!(o.code, 0, "{p}: {}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        let hdus = v["hdus"].as_array().unwrap();
        assert_eq!(hdus.len() as u64, e["n_hdus"].as_u64().unwrap(), "{p}");
        let warnings: Vec<&str> = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(!warnings.is_empty(), "{p}");
        for w in &warnings {
            assert!(o.stderr.contains(w), "{p}: {w} not on stderr: {}", o.stderr);
            assert!(!w.contains("{") && !w.contains("Some("), "{p}: {w}");
        }
        // astropy warns "File may have been truncated" exactly where nd does
        let astropy_truncated = !e["warnings"].as_array().unwrap().is_empty();
        let nd_truncated = warnings
            .iter()
            .any(|w| w.contains("may have been truncated"));
        assert_eq!(astropy_truncated, nd_truncated, "{p}: {warnings:?}");
        if let Some(c) = e.get("column") {
            let name = c["name"].as_str().unwrap();
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(&format!("column {name} ")) && w.contains("astropy reads")),
                "{p}: {warnings:?}"
            );
            // nd reads the TFORM width: astropy's value cut to it
            let o = nd(&["export", p, &format!("{}/{name}", c["hdu"]), "-o", "-"]);
            assert_eq!(o.code, 0, "{}", o.stderr);
            let a = nd_core::npy::read_npy_bytes(&o.stdout_bytes).unwrap();
            let width = a.dtype().size();
            let bytes = a.bytes();
            for (k, s) in c["astropy"].as_array().unwrap().iter().enumerate() {
                let s = s.as_str().unwrap().as_bytes();
                let cell = &bytes[k * width..(k + 1) * width];
                let cell: Vec<u8> = cell.iter().copied().take_while(|&b| b != 0).collect();
                let want: Vec<u8> = s[..s.len().min(width)].to_vec();
                let want = String::from_utf8(want).unwrap();
                assert_eq!(
                    String::from_utf8(cell).unwrap(),
                    want.trim_end(),
                    "{p} row {k}"
                );
                assert!(s.len() > width || k > 0, "{p}: astropy widened nothing");
            }
        }
    }
}

#[test]
fn a_truncated_image_reads_up_to_the_cut_as_astropy_section_does() {
    let mut checked = 0;
    for e in lenient() {
        let Some(sections) = e.get("sections").and_then(|s| s.as_object()) else {
            continue;
        };
        let path = root().join("fits").join(e["path"].as_str().unwrap());
        let p = arg(&path);
        for (hdu, s) in sections {
            let rows = s["rows"].as_u64().unwrap();
            assert!(rows > 0, "{p}: astropy reads no row");
            let region = format!("0:{rows},:");
            let o = nd(&["export", p, hdu, "--region", &region, "-o", "-"]);
            assert_eq!(o.code, 0, "{p} {hdu} {region}: {}", o.stderr);
            let a = nd_core::npy::read_npy_bytes(&o.stdout_bytes).unwrap();
            let got = a.as_slice::<f32>().unwrap();
            let want: Vec<f32> = s["data"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap() as f32)
                })
                .collect();
            assert_eq!(got, want.as_slice(), "{p} {hdu}");
            // one more row, and the whole HDU, reach past the cut: refused, naming where
            for region in [format!("0:{},:", rows + 1), ":,:".to_string()] {
                let o = nd(&["export", p, hdu, "--region", &region, "-o", "-"]);
                assert_eq!(o.code, 2, "{p} {hdu} {region}");
                assert!(
                    o.stderr.contains(&format!("HDU {hdu}:"))
                        && o.stderr.contains("file ends at byte"),
                    "{}",
                    o.stderr
                );
            }
            // astropy's `data` fails too
            assert_eq!(e["data_reads"][hdu], false);
            checked += 1;
        }
    }
    assert_eq!(checked, 1);
}
