//! `nd diff` against astropy's fitsdiff (testdata/diff/expected.json, written by
//! testdata/gen_diff.py) and against nd's own conversions.

mod common;
use common::{arg, nd, ok, root};
use serde_json::Value;

fn json_of(args: &[&str]) -> (i32, Value) {
    let o = nd(args);
    assert!(
        o.code == 0 || o.code == 1,
        "nd {args:?}: exit {}: {}",
        o.code,
        o.stderr
    );
    (o.code, serde_json::from_str(&o.stdout).unwrap())
}

/// The nd diff arguments for fitsdiff's keyword arguments.
fn options(opts: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in opts {
        let flag = match k.as_str() {
            "rtol" => "--rtol",
            "atol" => "--atol",
            "numdiffs" => "--numdiffs",
            "ignore_keywords" => "--ignore-keyword",
            "ignore_comments" => "--ignore-comment",
            "ignore_hdus" => "--ignore-hdus",
            "ignore_fields" => "--ignore-fields",
            other => panic!("option {other}"),
        };
        let values = match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for x in values {
            out.push(flag.to_string());
            out.push(match x {
                Value::String(s) => s,
                other => other.to_string(),
            });
        }
    }
    out
}

fn counts(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["keyword"].as_str().unwrap().to_string(),
                Value::from(d["differences"].as_array().unwrap().len()),
            )
        })
        .collect()
}

#[test]
fn diff_agrees_with_fitsdiff_on_perturbed_pairs() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("diff/expected.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for (name, e) in expected.as_object().unwrap() {
        let (a, b) = (
            root().join(e["a"].as_str().unwrap()),
            root().join(e["b"].as_str().unwrap()),
        );
        let opts = options(e["options"].as_object().unwrap());
        let mut args = vec!["diff", arg(&a), arg(&b), "--json"];
        args.extend(opts.iter().map(String::as_str));
        let (code, j) = json_of(&args);
        let same = e["identical"].as_bool().unwrap();
        assert_eq!(j["identical"], e["identical"], "{name}");
        assert_eq!(code, i32::from(!same), "{name}: exit status");
        assert_eq!(j["count"], e["hdu_count"], "{name}: HDU count");
        let units = j["units"].as_array().unwrap();
        for h in e["hdus"].as_array().unwrap() {
            let u = units
                .iter()
                .find(|u| u["index"] == h["index"])
                .unwrap_or_else(|| panic!("{name}: HDU {} not reported", h["index"]));
            let (mine, theirs) = (&u["header"], &h["header"]);
            for k in ["card_count", "only_in_a", "only_in_b"] {
                assert_eq!(mine[k], theirs[k], "{name}: HDU {}: {k}", h["index"]);
            }
            let dups: serde_json::Map<String, Value> = mine["duplicates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["keyword"].as_str().unwrap().to_string(),
                        serde_json::json!([d["a"], d["b"]]),
                    )
                })
                .collect();
            assert_eq!(
                Value::Object(dups),
                theirs["duplicates"],
                "{name}: duplicates"
            );
            assert_eq!(
                Value::Object(counts(&mine["values"])),
                theirs["values"],
                "{name}: values"
            );
            assert_eq!(
                Value::Object(counts(&mine["comments"])),
                theirs["comments"],
                "{name}: comments"
            );
            assert_eq!(u["extnames"], h["extnames"], "{name}: extnames");
            if let Some(ed) = h["data"].as_object() {
                let d = &u["data"];
                if !ed["shapes"].is_null() {
                    assert!(!d["shapes"].is_null(), "{name}: shapes");
                    continue;
                }
                assert_eq!(d["total"], ed["total"], "{name}: differing pixels");
                for k in ["max_absolute", "max_relative"] {
                    let (x, y) = (d[k].as_f64().unwrap(), ed[k].as_f64().unwrap());
                    assert!(
                        (x - y).abs() <= 1e-6 * y.abs().max(1.0),
                        "{name}: {k} {x} vs {y}"
                    );
                }
                let first: Vec<Value> = d["first"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["index"].clone())
                    .collect();
                assert_eq!(Value::from(first), ed["first"], "{name}: first differences");
            }
            if let Some(et) = h["table"].as_object() {
                let t = &u["table"];
                for k in ["column_count", "rows", "total"] {
                    assert_eq!(t[k], et[k], "{name}: table {k}");
                }
                for k in ["only_in_a", "only_in_b"] {
                    assert_eq!(
                        t[k].as_array().unwrap().len(),
                        et[k].as_array().unwrap().len(),
                        "{name}: {k}"
                    );
                }
                let mut mine: Vec<(String, u64)> = t["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|c| {
                        let n = c["name"].as_str().unwrap().to_string();
                        c["first"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(move |f| (n.clone(), f["index"][0].as_u64().unwrap()))
                    })
                    .collect();
                let mut theirs: Vec<(String, u64)> = et["first"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| (f[0].as_str().unwrap().to_string(), f[1].as_u64().unwrap()))
                    .collect();
                mine.sort();
                theirs.sort();
                assert_eq!(mine, theirs, "{name}: first differing rows");
            }
        }
        // nothing reported that fitsdiff does not report
        for u in units {
            if u["identical"] == Value::Bool(false) {
                assert!(
                    e["hdus"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|h| h["index"] == u["index"]),
                    "{name}: HDU {} differs for nd only",
                    u["index"]
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} comparisons");
}

#[test]
fn a_fits_file_equals_its_zarr_and_asdf_conversions() {
    let t = tempfile::tempdir().unwrap();
    let files = [
        "fits/gen/mef.fits",
        "fits/gen/bt_all.fits",
        "fits/gen/sc_i16.fits",
        "fits/gen/c_rice_1.fits",
        "fits/gen/cards.fits",
        "fits/gen/blank_i16.fits",
        "fits/gen/ascii_w.fits",
        "fits/gen/dim4.fits",
        "fits/gen/checksum_ok.fits",
        "example/cube.fits",
        "diff/tab_a.fits",
    ];
    for (i, f) in files.iter().enumerate() {
        let src = root().join(f);
        for ext in ["zarr", "asdf"] {
            let dst = t.path().join(format!("c{i}.{ext}"));
            ok(&["convert", "-q", arg(&src), arg(&dst)]);
            let (code, j) = json_of(&["diff", arg(&src), arg(&dst), "--json"]);
            assert_eq!(code, 0, "{f} vs its {ext} conversion: {j}");
            assert_eq!(j["mode"], "converted");
        }
        let (code, j) = json_of(&[
            "diff",
            arg(&t.path().join(format!("c{i}.zarr"))),
            arg(&t.path().join(format!("c{i}.asdf"))),
            "--json",
        ]);
        assert_eq!(code, 0, "{f}: zarr vs asdf: {j}");
    }
    // and a conversion of a perturbed file differs from the original as fitsdiff counts it
    let pix_b = t.path().join("pix_b.asdf");
    ok(&[
        "convert",
        "-q",
        arg(&root().join("diff/pix_b.fits")),
        arg(&pix_b),
    ]);
    let (code, j) = json_of(&[
        "diff",
        arg(&root().join("diff/pix_a.fits")),
        arg(&pix_b),
        "--json",
    ]);
    assert_eq!(code, 1);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("diff/expected.json")).unwrap())
            .unwrap();
    let sci = j["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "SCI")
        .unwrap();
    assert_eq!(
        sci["data"]["total"],
        expected["pix"]["hdus"][0]["data"]["total"]
    );
    // header cards changed after conversion are found among the carried cards
    let hdr_b = t.path().join("hdr_b.zarr");
    ok(&[
        "convert",
        "-q",
        arg(&root().join("diff/hdr_b.fits")),
        arg(&hdr_b),
    ]);
    let (code, j) = json_of(&[
        "diff",
        arg(&root().join("diff/hdr_a.fits")),
        arg(&hdr_b),
        "--json",
    ]);
    assert_eq!(code, 1);
    let file = &j["units"].as_array().unwrap()[0];
    assert_eq!(file["header"]["only_in_a"], serde_json::json!(["INSTRUME"]));
    assert_eq!(file["header"]["only_in_b"], serde_json::json!(["FILTER"]));
}

#[test]
fn diff_streams_within_a_small_budget_and_reports_errors_with_exit_2() {
    let (a, b) = (
        root().join("diff/pix_a.fits"),
        root().join("diff/pix_b.fits"),
    );
    let (_, full) = json_of(&["diff", arg(&a), arg(&b), "--json"]);
    // a budget far below the image: many slabs, the same answer
    let (_, small) = json_of(&["diff", arg(&a), arg(&b), "--json", "--budget-mib", "1"]);
    assert_eq!(full, small);
    let q = nd(&["diff", "-q", arg(&a), arg(&b)]);
    assert_eq!((q.code, q.stdout.as_str()), (1, ""));
    let missing = nd(&["diff", arg(&a), "no-such-file.fits"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no-such-file.fits"),
        "{}",
        missing.stderr
    );
    let bad = nd(&["diff", arg(&a), arg(&b), "--rtol", "-1"]);
    assert_eq!(bad.code, 2);
    // the text report speaks fitsdiff's words, indices 1-based in FITS axis order
    let text = nd(&["diff", arg(&a), arg(&b)]).stdout;
    assert!(text.contains("Data differs at [4, 3]:"), "{text}");
    assert!(text.contains("12 different pixels found"), "{text}");
}

/// The README's `nd diff` examples, run as written (from the repository root).
#[test]
fn readme_diff_examples_run() {
    let readme = std::fs::read_to_string(root().join("../README.md")).unwrap();
    let repo = root().join("..");
    let t = tempfile::tempdir().unwrap();
    let mef_zarr = t.path().join("mef.zarr");
    let cases: [(&str, i32); 3] = [
        ("nd diff testdata/diff/pix_a.fits testdata/diff/pix_b.fits", 1),
        (
            "nd diff testdata/diff/hdr_a.fits testdata/diff/hdr_b.fits -k OBSERVER -k 'CRVAL*' --rtol 1e-6",
            1,
        ),
        ("nd diff testdata/diff/tab_a.fits testdata/diff/tab_b.fits --json", 1),
    ];
    for (line, code) in cases {
        assert!(readme.contains(line), "README lacks `{line}`");
        let words: Vec<String> = line
            .split_whitespace()
            .skip(1)
            .map(|w| w.trim_matches('\'').to_string())
            .collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nd"))
            .args(&words)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{line}");
    }
    assert!(readme.contains("nd diff testdata/fits/gen/mef.fits mef.zarr"));
    ok(&[
        "convert",
        "-q",
        arg(&root().join("fits/gen/mef.fits")),
        arg(&mef_zarr),
    ]);
    ok(&[
        "diff",
        arg(&root().join("fits/gen/mef.fits")),
        arg(&mef_zarr),
    ]);
}
