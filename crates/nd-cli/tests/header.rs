//! `nd header` against astropy's fitsheader and fits.setval / delval / add_history
//! (testdata/header/, written by testdata/gen_diff.py).

mod common;
use common::{arg, nd, ok, root};
use serde_json::Value;
use std::path::Path;

#[test]
fn header_prints_what_fitsheader_prints() {
    let dir = root().join("header");
    let q: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("queries.json")).unwrap()).unwrap();
    let files: Vec<String> = q["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let mut n = 0;
    for (name, args) in q["queries"].as_object().unwrap() {
        let mut a: Vec<String> = vec!["header".into()];
        a.extend(
            args.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string()),
        );
        a.extend(files.iter().cloned());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nd"))
            .args(&a)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let expected = std::fs::read_to_string(dir.join(format!("fitsheader_{name}.txt"))).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected, "{name}");
        n += 1;
    }
    assert_eq!(n, 4);
    // a quoted glob is expanded by nd, in name order, as the shell would
    let glob = dir.join("h*.fits");
    let via_glob = ok(&["header", "-t", "-k", "OBJECT", arg(&glob)]).stdout;
    assert_eq!(via_glob.lines().count(), 1 + files.len());
}

#[test]
fn header_json_and_other_formats() {
    let h0 = root().join("header/h0.fits");
    let j: Value = serde_json::from_str(
        &ok(&["header", "--json", "-e", "SCI", "-k", "CRVAL*", arg(&h0)]).stdout,
    )
    .unwrap();
    assert_eq!(
        j,
        serde_json::json!([
            {"filename": arg(&h0), "hdu": "SCI", "keyword": "CRVAL1", "value": 150.0, "comment": null},
            {"filename": arg(&h0), "hdu": "SCI", "keyword": "CRVAL2", "value": 2.5, "comment": null},
        ])
    );
    // Zarr attributes and ASDF tree paths
    let t = tempfile::tempdir().unwrap();
    let (z, a) = (t.path().join("h.zarr"), t.path().join("h.asdf"));
    ok(&["convert", "-q", arg(&h0), arg(&z)]);
    ok(&["convert", "-q", arg(&h0), arg(&a)]);
    let zj: Value = serde_json::from_str(
        &ok(&["header", "--json", "-e", "SCI", "-k", "fits_*", arg(&z)]).stdout,
    )
    .unwrap();
    assert_eq!(zj[0]["hdu"], "SCI");
    assert_eq!(zj[0]["keyword"], "fits_header");
    assert!(zj[0]["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().starts_with("CRVAL1")));
    let aj: Value =
        serde_json::from_str(&ok(&["header", "--json", "-k", "SCI/shape", arg(&a)]).stdout)
            .unwrap();
    assert_eq!(aj[0]["value"], serde_json::json!([20, 30]));
    assert_eq!(aj[0]["hdu"], "tree");
    let listing = ok(&["header", arg(&z)]).stdout;
    assert!(listing.contains("# HDU / in "), "{listing}");
}

fn cards_of(file: &Path, hdu: &str) -> Vec<String> {
    let text = ok(&["header", arg(file), hdu]).stdout;
    text.lines().map(str::to_string).collect()
}

/// A file's bytes outside the header of HDU `hdu` (the header blocks located by their cards).
fn differing_span(a: &[u8], b: &[u8]) -> usize {
    let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len());
    let last = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .position(|(x, y)| x != y)
        .unwrap_or(0);
    a.len().saturating_sub(first + last)
}

#[test]
fn header_edits_match_astropy() {
    let dir = root().join("header");
    let t = tempfile::tempdir().unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if !(name.starts_with("edit_") && name.ends_with(".json")) {
            continue;
        }
        let e: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let src = match name.as_str() {
            "edit_set_new.json" | "edit_set_existing.json" | "edit_set_int.json" => "h0",
            "edit_set_bool.json" | "edit_set_long.json" => "h1",
            "edit_set_hierarch.json" | "edit_delete.json" => "h2",
            _ => "h3",
        };
        let file = t.path().join(format!("{name}.fits"));
        std::fs::copy(dir.join(format!("{src}.fits")), &file).unwrap();
        let before = std::fs::read(&file).unwrap();
        let hdu = e["hdu"].as_u64().unwrap().to_string();
        let args: Vec<&Value> = e["args"].as_array().unwrap().iter().collect();
        let target = format!("{}[{hdu}]", arg(&file));
        match e["op"].as_str().unwrap() {
            "set" => {
                let value = match args[1] {
                    Value::String(s) => format!("'{}'", s.replace('\'', "''")),
                    Value::Bool(b) => if *b { "T" } else { "F" }.to_string(),
                    other => other.to_string(),
                };
                let assign = format!("{}={value}", args[0].as_str().unwrap());
                let mut a = vec!["header", "set", target.as_str(), assign.as_str()];
                if let Some(c) = args[2].as_str() {
                    a.extend(["--comment", c]);
                }
                ok(&a);
            }
            "delete" => {
                ok(&["header", "delete", &target, args[0].as_str().unwrap()]);
            }
            _ => {
                ok(&["header", "history", &target, args[0].as_str().unwrap()]);
            }
        }
        let mut expected: Vec<String> = Vec::new();
        for c in e["cards"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            for img in c.as_bytes().chunks(80) {
                expected.push(String::from_utf8_lossy(img).trim_end().to_string());
            }
        }
        expected.push("END".into());
        assert_eq!(cards_of(&file, &hdu), expected, "{name}");
        // the header kept its blocks: the file has its size, only header bytes changed
        let after = std::fs::read(&file).unwrap();
        assert_eq!(after.len(), before.len(), "{name}");
        assert!(differing_span(&before, &after) <= 2880 * 2, "{name}");
        let d = nd(&[
            "diff",
            "--json",
            "-k",
            "*",
            arg(&dir.join(format!("{src}.fits"))),
            arg(&file),
        ]);
        let j: Value = serde_json::from_str(&d.stdout).unwrap();
        for u in j["units"].as_array().unwrap() {
            assert!(
                u["data"].is_null() || u["data"]["identical"] == true,
                "{name}: {u}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 9);
}

#[test]
fn header_edits_keep_checksums_valid_and_refuse_structural_keywords() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("c.fits");
    std::fs::copy(root().join("fits/gen/checksum_ok.fits"), &f).unwrap();
    ok(&["verify", arg(&f)]);
    ok(&["header", "set", arg(&f), "OBJECT='NGC 1300' / target"]);
    ok(&["verify", arg(&f)]);
    // a header that must grow by a block: the file is rewritten, data and checksums intact
    let long = "x".repeat(3000);
    let grown = t.path().join("g.fits");
    std::fs::copy(&f, &grown).unwrap();
    ok(&["header", "set", arg(&grown), &format!("LONGNOTE='{long}'")]);
    // checksums valid; fitsverify's only remark is the CONTINUE convention without LONGSTRN
    // (astropy does not write LONGSTRN either)
    let v: Value = serde_json::from_str(&nd(&["verify", "--json", arg(&grown)]).stdout).unwrap();
    assert_eq!(v["errors"], 0, "{v}");
    for c in v["checks"].as_array().unwrap() {
        if c["severity"] != "ok" {
            assert!(c["detail"].as_str().unwrap().contains("LONGSTRN"), "{c}");
        }
    }
    assert!(std::fs::metadata(&grown).unwrap().len() > std::fs::metadata(&f).unwrap().len());
    let d = nd(&["diff", "--json", "-k", "*", arg(&f), arg(&grown)]);
    let j: Value = serde_json::from_str(&d.stdout).unwrap();
    for u in j["units"].as_array().unwrap() {
        assert!(u["data"].is_null() || u["data"]["identical"] == true, "{u}");
    }
    let before = std::fs::read(&f).unwrap();
    for bad in [
        vec!["header", "set", arg(&f), "NAXIS1=3"],
        vec!["header", "set", arg(&f), "BITPIX=16"],
        vec!["header", "delete", arg(&f), "NAXIS"],
        vec!["header", "delete", arg(&f), "NOSUCHKEY"],
        vec!["header", "set", arg(&f), "NOVALUE"],
    ] {
        let o = nd(&bad);
        assert_eq!(o.code, 2, "{bad:?}");
        assert!(!o.stderr.is_empty());
    }
    assert_eq!(
        std::fs::read(&f).unwrap(),
        before,
        "a refused edit leaves the file alone"
    );
    // HISTORY, COMMENT and deletion by pattern
    ok(&["header", "history", arg(&f), "reduced", "with", "nd"]);
    ok(&["header", "comment", arg(&f), "a comment"]);
    let cards = cards_of(&f, "0");
    assert!(
        cards.iter().any(|c| c == "HISTORY reduced with nd"),
        "{cards:?}"
    );
    ok(&["header", "delete", arg(&f), "OBJ*"]);
    assert!(!cards_of(&f, "0").iter().any(|c| c.starts_with("OBJECT")));
    ok(&["verify", arg(&f)]);
    // a symbolic link: the file it names is edited, the link stays
    let link = t.path().join("link.fits");
    std::os::unix::fs::symlink(&f, &link).unwrap();
    ok(&["header", "set", arg(&link), "VIA='link'"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(cards_of(&f, "0")
        .iter()
        .any(|c| c.starts_with("VIA     = 'link    '")));
    std::fs::remove_file(&link).unwrap();
    // a gzip-compressed file is refused
    let gz = t.path().join("s.fits.gz");
    std::fs::copy(root().join("fits/gen/sc_i16.fits.gz"), &gz).unwrap();
    let o = nd(&["header", "set", arg(&gz), "A=1"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("gzip"), "{}", o.stderr);
    std::fs::remove_file(&gz).unwrap();
    // no temporary file is left beside them
    let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert_eq!(left.len(), 2);
}

/// The README's `nd header` examples, run as written.
#[test]
fn readme_header_examples_run() {
    let readme = std::fs::read_to_string(root().join("../README.md")).unwrap();
    let t = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("header/h0.fits"), t.path().join("h0.fits")).unwrap();
    let repo = root().join("..");
    let run = |line: &str, dir: &Path| {
        assert!(readme.contains(line), "README lacks `{line}`");
        let words = shell_words(line);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nd"))
            .args(&words[1..])
            .current_dir(dir)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run(
        "nd header -t -k 'NAXIS*' -k EXTNAME 'testdata/header/*.fits'",
        &repo,
    );
    assert!(table.starts_with("|"), "{table}");
    run(
        "nd header --json -e SCI -k BUNIT testdata/header/h0.fits",
        &repo,
    );
    run(
        "nd header set 'h0.fits[SCI]' 'EXPTIME=1200.5 / seconds'",
        t.path(),
    );
    run("nd header delete h0.fits OBSERVER", t.path());
    run("nd header history h0.fits 'flat-fielded with nd'", t.path());
    let cards = cards_of(&t.path().join("h0.fits"), "SCI");
    assert!(
        cards
            .iter()
            .any(|c| c.starts_with("EXPTIME =               1200.5 / seconds")),
        "{cards:?}"
    );
}

/// Split a command line as a shell would (single quotes only).
fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in line.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}
