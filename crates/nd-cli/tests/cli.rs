//! The `nd` binary on the committed testdata: every array it exports equals what the reference
//! library (astropy, python asdf, zarr-python) returned when the testdata was generated; conversions
//! round-trip; damaged inputs end with a message and exit status 1 or 2, never a panic or a hang.

use nd_core::{npy::read_npy, ArrayBuf, DataType, Element};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{arg, nd, ok, root, Out};

/// `nd export <file> <selector> -o <out> <extra...>`.
fn export(file: &Path, selector: &str, out: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["export", arg(file), selector, "-o", arg(out)];
    args.extend_from_slice(extra);
    nd(&args)
}

/// `nd export …`, which must succeed.
fn export_ok(file: &Path, selector: &str, out: &Path, extra: &[&str]) {
    let o = export(file, selector, out, extra);
    assert_eq!(
        o.code,
        0,
        "export {} {selector} {extra:?}: {}",
        file.display(),
        o.stderr
    );
}

/// `nd info --json <path>`, which must succeed, parsed.
fn info_json(path: &Path) -> Value {
    serde_json::from_str(&ok(&["info", "--json", arg(path)]).stdout).unwrap()
}

/// The values of a numeric array as f64 (exact for the types the tests use).
fn as_f64<T: Element + Into<f64>>(a: &ArrayBuf) -> Vec<f64> {
    a.as_slice::<T>()
        .unwrap()
        .iter()
        .map(|&x| x.into())
        .collect()
}

/// Values equal, NaN equal to NaN; same type and shape.
fn assert_same(got: &ArrayBuf, want: &ArrayBuf, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    // f32 widens to f64 exactly (and keeps distinct bit patterns distinct)
    let floats = |a: Vec<f64>, b: Vec<f64>| {
        a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
    };
    let same = match got.dtype() {
        DataType::Float32 => floats(as_f64::<f32>(got), as_f64::<f32>(want)),
        DataType::Float64 => floats(as_f64::<f64>(got), as_f64::<f64>(want)),
        _ => got.bytes() == want.bytes(),
    };
    assert!(same, "{what}: values differ from the reference");
}

/// A JSON file of the testdata (manifests written by the generators).
fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A reference `.npy` (gzip-compressed when it ends in `.gz`).
fn read_expected(p: &Path) -> ArrayBuf {
    if p.extension().is_some_and(|e| e == "gz") {
        use std::io::Read;
        let mut v = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
            .read_to_end(&mut v)
            .unwrap();
        nd_core::npy::read_npy_bytes(&v).unwrap()
    } else {
        read_npy(p).unwrap()
    }
}

/// The array `selector` of `file` through `nd export` (into a file of `tmp`).
fn export_read(file: &Path, selector: &str, tmp: &Path) -> ArrayBuf {
    let out = tmp.join("out.npy");
    let _ = std::fs::remove_file(&out);
    export_ok(file, selector, &out, &[]);
    read_npy(&out).unwrap()
}

fn export_and_compare(file: &Path, selector: &str, expected: &Path, tmp: &Path) {
    let got = export_read(file, selector, tmp);
    let want = read_expected(expected);
    assert_same(&got, &want, &format!("{} {selector}", file.display()));
}

#[test]
fn fits_exports_equal_astropy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("fits");
    let manifest: Value = read_json(&dir.join("manifest.json"));
    let mut n = 0;
    for (path, entry) in manifest.as_object().unwrap() {
        let file = dir.join(path);
        for h in entry["hdus"].as_array().into_iter().flatten() {
            let (Some(data), Some(idx)) = (h["data"].as_str(), h["index"].as_u64()) else {
                continue;
            };
            if h["is_image"] != Value::Bool(true)
                || h["astropy_class"].as_str() == Some("GroupsHDU")
            {
                continue;
            }
            export_and_compare(&file, &idx.to_string(), &dir.join(data), tmp.path());
            n += 1;
        }
    }
    assert!(n >= 40, "only {n} FITS images compared");
}

#[test]
fn fits_tables_and_compressed_images_equal_astropy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("fits");
    let manifest: Value = read_json(&dir.join("manifest.json"));
    let (mut cols, mut comp, mut hcomp) = (0, 0, 0);
    for (path, entry) in manifest.as_object().unwrap() {
        let file = dir.join(path);
        for h in entry["hdus"].as_array().into_iter().flatten() {
            let idx = h["index"].as_u64().unwrap();
            if let Some(c) = h["comp"].as_object() {
                if let Some(data) = c.get("data").and_then(|d| d.as_str()) {
                    let algo = c.get("zcmptype").and_then(|z| z.as_str()).unwrap_or("");
                    if algo.starts_with("HCOMPRESS") {
                        hcomp += 1;
                    }
                    export_and_compare(&file, &idx.to_string(), &dir.join(data), tmp.path());
                    comp += 1;
                }
            }
            for (k, c) in h["table"]["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(data) = c["data"].as_str() else {
                    continue;
                };
                if c["vla"] == Value::Bool(true) || c["shapes"].is_array() {
                    // astropy gives an object array; nd refuses to write it as .npy, saying why
                    let name = c["name"].as_str().unwrap_or("");
                    let v = tmp.path().join("v.npy");
                    let sel = format!("{idx}/{name}");
                    let o = export(&file, &sel, &v, &[]);
                    assert_eq!(o.code, 2, "{path} {sel}");
                    assert!(o.stderr.contains("variable-length"), "{}", o.stderr);
                    continue;
                }
                let name = c["name"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .unwrap_or(format!("col{}", k + 1));
                export_and_compare(&file, &format!("{idx}/{name}"), &dir.join(data), tmp.path());
                cols += 1;
            }
        }
    }
    assert!(cols >= 100, "only {cols} table columns compared");
    assert!(comp >= 30, "only {comp} compressed images compared");
    assert!(hcomp >= 8, "only {hcomp} HCOMPRESS images compared");
}

#[test]
fn zarr_exports_equal_zarr_python() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("zarr");
    let cases: Value = read_json(&dir.join("cases.json"));
    let mut n = 0;
    for c in cases.as_array().unwrap() {
        let (Some(store), Some(npy)) = (c["store"].as_str(), c["npy"].as_str()) else {
            continue;
        };
        let sel = match c["path"].as_str() {
            Some("") | None => "/",
            Some(p) => p,
        };
        export_and_compare(&dir.join(store), sel, &dir.join(npy), tmp.path());
        n += 1;
    }
    assert!(n >= 40, "only {n} Zarr arrays compared");
}

fn asdf_cases(files: &Path, expected: &Path, tmp: &Path) -> usize {
    let mut n = 0;
    let mut names: Vec<_> = std::fs::read_dir(expected)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for exp in names {
        let Ok(idx) = std::fs::read(exp.join("index.json")) else {
            continue;
        };
        let idx: Value = serde_json::from_slice(&idx).unwrap();
        let stem = exp.file_name().unwrap().to_str().unwrap().to_string();
        let file = files.join(format!("{stem}.asdf"));
        if !file.exists() {
            continue;
        }
        for (path, v) in idx.as_object().unwrap() {
            if let Some(npy) = v["npy"].as_str() {
                export_and_compare(&file, path, &exp.join(npy), tmp);
                n += 1;
            }
        }
    }
    n
}

#[test]
fn asdf_exports_equal_python_asdf() {
    let tmp = tempfile::tempdir().unwrap();
    let py = root().join("asdf/py");
    let mut n = asdf_cases(&py, &py.join("expected"), tmp.path());
    for v in std::fs::read_dir(root().join("asdf-standard")).unwrap() {
        let v = v.unwrap().path();
        if v.is_dir() {
            let ver = v.file_name().unwrap().to_owned();
            n += asdf_cases(&v, &root().join("asdf/expected").join(ver), tmp.path());
        }
    }
    assert!(n >= 50, "only {n} ASDF arrays compared");
}

#[test]
fn info_json_lists_every_array() {
    let j = info_json(&root().join("fits/gen/mef.fits"));
    assert_eq!(j["format"], "fits");
    assert_eq!(j["arrays"].as_array().unwrap().len(), 6);
    assert_eq!(j["hdus"].as_array().unwrap().len(), 7);
    assert_eq!(j["hdus"][3]["name"], "DQ");
    assert_eq!(j["hdus"][3]["dtype"], "<u2");
    assert_eq!(j["arrays"][0]["shape"], serde_json::json!([20, 30]));

    let j = info_json(&root().join("zarr/hier.zarr"));
    assert_eq!(j["format"], "zarr");
    let paths: Vec<&str> = j["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["g1/arr", "g1/g2/deep", "top"]);
    assert_eq!(j["arrays"][2]["chunks"], serde_json::json!([4, 5]));

    let j = info_json(&root().join("asdf/py/views.asdf"));
    assert_eq!(j["format"], "asdf");
    assert_eq!(j["arrays"].as_array().unwrap().len(), 7);
}

#[test]
fn region_export_reads_the_region() {
    let tmp = tempfile::tempdir().unwrap();
    let f = root().join("fits/gen/dim3.fits");
    let whole = tmp.path().join("whole.npy");
    let part = tmp.path().join("part.npy");
    export_ok(&f, "0", &whole, &[]);
    export_ok(&f, "0", &part, &["--region", "1:3,:,2:5"]);
    let w = read_npy(&whole).unwrap();
    let p = read_npy(&part).unwrap();
    assert_eq!(p.shape(), &[2, 5, 3]);
    let (ws, ps) = (w.as_slice::<f32>().unwrap(), p.as_slice::<f32>().unwrap());
    for i in 0..2 {
        for j in 0..5 {
            for k in 0..3 {
                assert_eq!(ps[(i * 5 + j) * 3 + k], ws[((i + 1) * 5 + j) * 6 + k + 2]);
            }
        }
    }
    // numpy would clamp 0:9 on an axis of 4; nd refuses a bound outside the axis (a typo must
    // not give a silently different cutout), naming the axis, its length and the bound
    let o = export(&f, "0", &part, &["--region", "0:9"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("axis 0 (length 4): '0:9': bound 9 is outside"),
        "{}",
        o.stderr
    );
    for bad in ["0:1,0:1,0:1,0:1", "x:2", "7"] {
        let o = export(&f, "0", &part, &["--region", bad]);
        assert_eq!(o.code, 2, "--region {bad}");
        assert!(o.stderr.starts_with("nd: "));
    }
}

fn naive_stats(a: &ArrayBuf) -> (u64, u64, f64, f64, f64) {
    let v: Vec<f64> = match a.dtype() {
        DataType::Float32 => as_f64::<f32>(a),
        DataType::Float64 => as_f64::<f64>(a),
        DataType::Int16 => as_f64::<i16>(a),
        DataType::UInt16 => as_f64::<u16>(a),
        other => panic!("test does not cover {other}"),
    };
    let good: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let sum: f64 = good.iter().sum();
    let min = good.iter().copied().fold(f64::INFINITY, f64::min);
    let max = good.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (
        good.len() as u64,
        (v.len() - good.len()) as u64,
        sum,
        min,
        max,
    )
}

#[test]
fn stat_matches_reference_values() {
    let dir = root().join("fits");
    // blank_i16: scaled 16-bit with BLANK -> float32 with NaNs, as astropy returns it
    for (file, npy) in [
        ("gen/blank_i16.fits", "expected/gen_blank_i16_fits.0.npy"),
        ("gen/dim3.fits", "expected/gen_dim3_fits.0.npy"),
        ("gen/dt_u16.fits", "expected/gen_dt_u16_fits.0.npy"),
    ] {
        let want = read_npy(dir.join(npy)).unwrap();
        let (count, nan, sum, min, max) = naive_stats(&want);
        let o = ok(&["stat", arg(&dir.join(file)), "0", "--json"]);
        let j: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(j["count"].as_u64(), Some(count), "{file}");
        assert_eq!(j["nan_count"].as_u64(), Some(nan), "{file}");
        assert_eq!(j["min"].as_f64(), Some(min), "{file}");
        assert_eq!(j["max"].as_f64(), Some(max), "{file}");
        let s = j["sum"].as_f64().unwrap();
        assert!(
            (s - sum).abs() <= 1e-9 * (1.0 + sum.abs()),
            "{file}: sum {s} vs {sum}"
        );
    }
    // along an axis: the sum over axis 0 of dim3 equals the per-pixel sums of the reference array
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m0.npy");
    ok(&[
        "stat",
        arg(&dir.join("gen/dim3.fits")),
        "0",
        "--axis",
        "0",
        "-o",
        arg(&out),
    ]);
    let m0 = read_npy(&out).unwrap();
    let want = read_npy(dir.join("expected/gen_dim3_fits.0.npy")).unwrap();
    let w = want.as_slice::<f32>().unwrap();
    let (p, plane) = (
        want.shape()[0] as usize,
        (want.shape()[1] * want.shape()[2]) as usize,
    );
    let got = m0.as_slice::<f64>().unwrap();
    assert_eq!(m0.shape(), &want.shape()[1..]);
    for k in 0..plane {
        let s: f64 = (0..p)
            .map(|i| w[i * plane + k] as f64)
            .filter(|x| !x.is_nan())
            .sum();
        assert!((got[k] - s).abs() <= 1e-9 * (1.0 + s.abs()));
    }
}

#[test]
fn verify_reports_damage() {
    let dir = root().join("fits");
    let good = nd(&["verify", arg(&dir.join("gen/checksum_ok.fits"))]);
    assert_eq!(good.code, 0, "{}", good.stdout);
    let stale = nd(&["verify", arg(&dir.join("gen/checksum_stale_data.fits"))]);
    assert_eq!(stale.code, 1);
    assert!(stale.stdout.contains("WARNING") && stale.stdout.contains("DATASUM"));
    let z = nd(&["verify", arg(&root().join("zarr/hier.zarr"))]);
    assert_eq!(z.code, 0, "{}", z.stdout);
    let lying = nd(&["verify", arg(&root().join("asdf/py/index_lying.asdf"))]);
    assert_eq!(
        lying.code, 1,
        "a lying block index is reported: {}",
        lying.stdout
    );
    let a = nd(&["verify", arg(&root().join("asdf/py/checksum_new.asdf"))]);
    assert_eq!(a.code, 0, "{}", a.stdout);
}

#[test]
fn header_prints_cards_as_in_the_file() {
    let o = ok(&["header", arg(&root().join("fits/gen/cards.fits")), "0"]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("SIMPLE  ="));
    assert!(lines.iter().all(|l| l.len() <= 80));
    assert!(lines.iter().any(|l| l.starts_with("CONTINUE  '")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("HIERARCH ESO DET CHIP NAME")));
    assert_eq!(*lines.last().unwrap(), "END");
    // other formats: their attributes (Zarr) or tree values (ASDF), one `key = value` a line
    let z = ok(&["header", arg(&root().join("zarr/hier.zarr"))]);
    assert!(z.stdout.starts_with("# HDU "), "{}", z.stdout);
}

fn exports_of(path: &Path) -> Vec<(String, ArrayBuf)> {
    let j = info_json(path);
    let tmp = tempfile::tempdir().unwrap();
    j["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let sel = a["path"].as_str().unwrap().to_string();
            let out = tmp.path().join("a.npy");
            export_ok(path, &sel, &out, &[]);
            (sel, read_npy(&out).unwrap())
        })
        .collect()
}

#[test]
fn round_trips_keep_data_and_headers() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "mef.fits",
        "cards.fits",
        "dt_u16.fits",
        "dt_i8.fits",
        "dt_u64.fits",
        "dim4.fits",
    ] {
        let src = root().join("fits/gen").join(name);
        let s = arg(&src);
        for mid in ["z.zarr", "a.asdf"] {
            let m = tmp.path().join(format!("{name}.{mid}"));
            let back = tmp.path().join(format!("{name}.{mid}.fits"));
            ok(&["convert", s, arg(&m), "-q"]);
            ok(&["convert", arg(&m), arg(&back), "-q"]);
            let a = ok(&["header", s]).stdout;
            let mut b = ok(&["header", arg(&back)]).stdout;
            if !a.contains("\nEXTEND  =") {
                // the writer gives every primary header EXTEND = T, as astropy does
                b = b.replacen("EXTEND  =                    T\n", "", 1);
            }
            assert_eq!(a, b, "{name} via {mid}: headers differ");
            let (ea, eb) = (exports_of(&src), exports_of(&back));
            assert_eq!(ea.len(), eb.len());
            for ((sa, x), (_, y)) in ea.iter().zip(&eb) {
                assert_same(y, x, &format!("{name} via {mid}: HDU {sa}"));
            }
        }
    }
    // one array to each format, chunked and compressed
    let src = root().join("zarr/hier.zarr");
    for (dst, comp) in [
        ("top.fits", "none"),
        ("top.asdf", "zlib:6"),
        ("top.zarr", "zstd:3"),
        ("top2.asdf", "blosc:lz4:5:shuffle"),
    ] {
        let d = tmp.path().join(dst);
        ok(&[
            "convert",
            arg(&src),
            arg(&d),
            "--array",
            "top",
            "--compressor",
            comp,
            "--chunks",
            "3,4",
            "-q",
        ]);
        let sel = if dst.ends_with(".fits") {
            "0"
        } else if dst.ends_with(".zarr") {
            "/"
        } else {
            "data"
        };
        let out = tmp.path().join("x.npy");
        export_ok(&d, sel, &out, &[]);
        let want = read_npy(root().join("zarr/expected/hier_top.npy")).unwrap();
        assert_same(&read_npy(&out).unwrap(), &want, dst);
    }
    // data a destination cannot hold is a clear error naming the array
    let c = root().join("asdf-standard/1.6.0/complex.asdf");
    let o = nd(&["convert", arg(&c), arg(&tmp.path().join("c.fits"))]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("FITS image cannot hold"), "{}", o.stderr);
    assert!(!tmp.path().join("c.fits").exists());
    // existing destinations are not replaced without --force
    let d = tmp.path().join("top.fits");
    let o = nd(&["convert", arg(&src), arg(&d), "--array", "top"]);
    assert_eq!(o.code, 2);
}

fn json_file(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Zarr v3 output (`--zarr-format 3`, sharded with `--shards`): FITS -> Zarr v3 -> FITS keeps
/// data and headers; v3 -> v2 -> v3 and v3 -> ASDF keep data and dimension names; FITS images get
/// dimension names from CTYPEn (numpy order), others `dim_0, ...`, one length per name in a group.
#[test]
fn zarr_v3_output_round_trips_with_dimension_names() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n);
    for name in [
        "mef.fits",
        "cards.fits",
        "dt_u16.fits",
        "dt_i8.fits",
        "dim4.fits",
    ] {
        let src = root().join("fits/gen").join(name);
        let s = arg(&src);
        let (v3, back, v2, v3b, asdf) = (
            t(&format!("{name}.v3.zarr")),
            t(&format!("{name}.v3.fits")),
            t(&format!("{name}.v2.zarr")),
            t(&format!("{name}.v3b.zarr")),
            t(&format!("{name}.asdf")),
        );
        ok(&["convert", s, arg(&v3), "--zarr-format", "3", "-q"]);
        assert_eq!(json_file(&v3.join("zarr.json"))["zarr_format"], 3);
        ok(&["convert", arg(&v3), arg(&back), "-q"]);
        let a = ok(&["header", s]).stdout;
        let mut b = ok(&["header", arg(&back)]).stdout;
        if !a.contains("\nEXTEND  =") {
            b = b.replacen("EXTEND  =                    T\n", "", 1);
        }
        assert_eq!(a, b, "{name} via Zarr v3: headers differ");
        ok(&["convert", arg(&v3), arg(&v2), "-q"]);
        ok(&["convert", arg(&v2), arg(&v3b), "--zarr-format", "3", "-q"]);
        ok(&["convert", arg(&v3), arg(&asdf), "-q"]);
        // FITS order for FITS; Zarr lists arrays by path, so Zarr and ASDF compare by name
        let want = exports_of(&src);
        let got = exports_of(&back);
        assert_eq!(got.len(), want.len());
        for ((sa, x), (_, y)) in want.iter().zip(&got) {
            assert_same(y, x, &format!("{name} via Zarr v3 and back: HDU {sa}"));
        }
        let mut want = exports_of(&v3);
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(want.len(), got.len());
        for other in [&v2, &v3b, &asdf] {
            let mut got = exports_of(other);
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got.len(), want.len(), "{}", other.display());
            for ((sa, x), (sb, y)) in want.iter().zip(&got) {
                assert_eq!(sa.trim_start_matches('/'), sb.trim_start_matches('/'));
                assert_same(y, x, &format!("{name} via {}: {sa}", other.display()));
            }
        }
        // dimension names survive v3 -> v2 -> v3
        for (k, arr) in json_file(&v3.join("zarr.json"))["consolidated_metadata"]["metadata"]
            .as_object()
            .unwrap()
        {
            if arr["node_type"] != "array" {
                continue;
            }
            let dims = &arr["dimension_names"];
            assert_eq!(
                dims.as_array().unwrap().len(),
                arr["shape"].as_array().unwrap().len()
            );
            assert_eq!(
                &json_file(&v2.join(k).join(".zattrs"))["_ARRAY_DIMENSIONS"],
                dims
            );
            assert_eq!(
                &json_file(&v3b.join(k).join("zarr.json"))["dimension_names"],
                dims
            );
        }
    }

    // a WCS cube: names from CTYPEn, sharded write, back to FITS and to v2
    let cube = root().join("example/cube.fits");
    let s3 = t("cube.zarr");
    ok(&[
        "convert",
        arg(&cube),
        arg(&s3),
        "--zarr-format",
        "3",
        "--shards",
        "16,64,64",
        "--chunks",
        "8,32,32",
        "--compressor",
        "blosc:zstd:3:bitshuffle",
        "-q",
    ]);
    let z = json_file(&s3.join("SCI/zarr.json"));
    assert_eq!(
        z["dimension_names"],
        serde_json::json!(["freq", "dec", "ra"])
    );
    assert_eq!(
        z["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([16, 64, 64])
    );
    let sh = &z["codecs"][0];
    assert_eq!(sh["name"], "sharding_indexed");
    assert_eq!(
        sh["configuration"]["chunk_shape"],
        serde_json::json!([8, 32, 32])
    );
    assert_eq!(
        sh["configuration"]["codecs"][1]["configuration"]["shuffle"],
        "bitshuffle"
    );
    assert_eq!(z["attributes"].get("_ARRAY_DIMENSIONS"), None);
    // one file per shard
    assert!(s3.join("SCI/c/1/0/0").is_file() && !s3.join("SCI/c/2").exists());
    let (f, v2) = (t("cube.fits"), t("cube2.zarr"));
    ok(&["convert", arg(&s3), arg(&f), "-q"]);
    ok(&["convert", arg(&s3), arg(&v2), "-q"]);
    assert_eq!(
        json_file(&v2.join("SCI/.zattrs"))["_ARRAY_DIMENSIONS"],
        serde_json::json!(["freq", "dec", "ra"])
    );
    // v2 fill values as xarray writes them: NaN for floats
    assert_eq!(json_file(&v2.join("SCI/.zarray"))["fill_value"], "NaN");
    let want = exports_of(&cube);
    for other in [&s3, &f, &v2] {
        let got = exports_of(other);
        assert_same(&got[0].1, &want[0].1, &other.display().to_string());
    }

    // options that do not fit are refused before anything is written
    for (extra, msg) in [
        (vec!["--shards", "16,64,64"], "--shards is for Zarr v3"),
        (vec!["--zarr-format", "3", "--compressor", "zlib:1"], "zlib"),
        (
            vec![
                "--zarr-format",
                "3",
                "--shards",
                "12,64,64",
                "--chunks",
                "8,32,32",
            ],
            "multiple",
        ),
        (vec!["--zarr-format", "4"], "4"),
    ] {
        let d = t("bad.zarr");
        let mut args = vec!["convert", arg(&cube), arg(&d)];
        args.extend(extra.iter().copied());
        let o = nd(&args);
        assert_eq!(o.code, 2, "{extra:?}: {}", o.stderr);
        assert!(o.stderr.contains(msg), "{extra:?}: {}", o.stderr);
        assert!(!d.exists());
    }
}

/// Every command on truncated and bit-flipped copies of files of every format: a message and
/// exit status 1 or 2 (or 0 where the damage left a readable file), never a panic or a hang.
#[test]
fn damaged_inputs_never_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = [
        root().join("fits/gen/mef.fits"),
        root().join("fits/gen/blank_i16.fits"),
        root().join("asdf/py/views.asdf"),
        root().join("asdf/py/compressed_zlib.asdf"),
        root().join("asdf/py/zarr_zlib.asdf"),
        root().join("asdf-standard/1.6.0/basic.asdf"),
    ];
    let mut runs = 0;
    for s in &samples {
        let bytes = std::fs::read(s).unwrap();
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        for frac in [0.1, 0.35, 0.5, 0.75, 0.97] {
            let cut = (bytes.len() as f64 * frac) as usize;
            variants.push((format!("cut{cut}"), bytes[..cut].to_vec()));
        }
        let mut rng = 0x9e3779b97f4a7c15u64;
        for k in 0..12 {
            let mut b = bytes.clone();
            for _ in 0..3 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let i = (rng % b.len() as u64) as usize;
                b[i] ^= 1 << (rng >> 60 & 7);
            }
            variants.push((format!("flip{k}"), b));
        }
        let ext = s.extension().unwrap().to_str().unwrap();
        for (tag, b) in variants {
            let p = tmp.path().join(format!(
                "{}.{tag}.{ext}",
                s.file_stem().unwrap().to_str().unwrap()
            ));
            std::fs::write(&p, &b).unwrap();
            let ps = arg(&p);
            let out = tmp.path().join("o.npy");
            for args in [
                vec!["info", ps],
                vec!["info", "--json", ps],
                vec!["verify", ps],
                vec!["export", ps, "1", "-o", arg(&out)],
                vec!["export", ps, "data", "-o", arg(&out)],
                vec!["stat", ps, "0", "--json"],
            ] {
                let o = nd(&args);
                runs += 1;
                assert!(
                    !o.stderr.contains("panicked"),
                    "nd {args:?} panicked: {}",
                    o.stderr
                );
                assert!(
                    [0, 1, 2].contains(&o.code),
                    "nd {args:?} exit {}: {}",
                    o.code,
                    o.stderr
                );
                if o.code != 0 {
                    assert!(
                        o.stderr.starts_with("nd: "),
                        "nd {args:?}: no message: {:?}",
                        o.stderr
                    );
                }
            }
        }
    }
    // a truncated FITS file is listed with a warning; exporting the cut HDU is an error
    let t = root().join("fits/gen/truncated.fits");
    let o = nd(&["info", arg(&t)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("HDU 3: the file may have been truncated"));
    assert_eq!(
        nd(&["export", arg(&t), "3", "-o", arg(&tmp.path().join("t.npy"))]).code,
        2
    );
    assert!(runs > 300);
}

/// The test servers `.ci/servers.sh` started (nginx on loopback), if any.
fn http_base() -> Option<String> {
    let env = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/nd-test-servers.env");
    let text = std::fs::read_to_string(env).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("ND_TEST_HTTP_URL=")
            .map(|s| s.trim().to_string())
    })
}

#[test]
fn urls_read_like_local_paths() {
    let Some(base) = http_base() else {
        println!("SKIPPED urls_read_like_local_paths: no test servers (run `bash .ci/servers.sh`; .ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("example/cube.fits", "SCI", Some("10:12,5:25,30:50")),
        ("fits/gen/mef.fits", "4", None),
        ("asdf/py/views.asdf", "transposed", Some("2:9,1:4")),
        ("asdf/py/zarr_zlib.asdf", "zarr", Some("0:25,3:9")),
        ("zarr/hier.zarr", "g1/arr", Some("1:5,:")),
        ("zarr/stores/blosc_zstd_shuffle.zarr", "/", None),
    ];
    for (rel, sel, region) in cases {
        let local = root().join(rel);
        let url = format!("{base}/{rel}");
        let (a, b) = (tmp.path().join("a.npy"), tmp.path().join("b.npy"));
        let mut args_l = vec!["export", arg(&local), sel, "-o", arg(&a)];
        let mut args_r = vec!["-v", "export", url.as_str(), sel, "-o", arg(&b)];
        if let Some(r) = region {
            args_l.extend(["--region", r]);
            args_r.extend(["--region", r]);
        }
        ok(&args_l);
        let o = ok(&args_r);
        assert_same(&read_npy(&b).unwrap(), &read_npy(&a).unwrap(), &url);
        // the verbose line reports what crossed the wire: a handful of requests for a cutout
        let line = o
            .stderr
            .lines()
            .find(|l| l.starts_with("nd: remote: "))
            .expect("remote stats line");
        let requests: u64 = line["nd: remote: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // a cutout: a handful; a whole unconsolidated store: its metadata probes and chunks
        let most = if region.is_some() { 12 } else { 40 };
        assert!((1..=most).contains(&requests), "{url}: {line}");
    }
    let o = nd(&["info", &format!("{base}/example/absent.fits")]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with("nd: ") && o.stderr.contains("absent.fits"),
        "{}",
        o.stderr
    );
}

/// The name a conversion gives an HDU or column (spec-notes/convert.md, "Names").
fn clean(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The (keyword, value) of the column cards that must survive a round trip, sorted.
fn column_cards(file: &Path, hdu: &str) -> Vec<(String, String)> {
    ok(&["header", arg(file), hdu])
        .stdout
        .lines()
        .filter_map(|l| {
            let key = l.get(..8)?.trim();
            let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
            if !["TTYPE", "TUNIT", "TNULL", "TDIM", "TZERO"].contains(&base) || base == key {
                return None;
            }
            let v = l
                .get(10..)?
                .split(" /")
                .next()?
                .trim()
                .trim_matches('\'')
                .trim();
            // scaled columns come back as their physical float values (no TSCAL/TZERO); the
            // unsigned conventions stay
            let unsigned = ["32768", "2147483648", "9223372036854775808", "-128"];
            if base == "TZERO" && !unsigned.contains(&v) {
                return None;
            }
            Some((key.to_string(), v.to_string()))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[test]
fn fits_tables_convert_to_zarr_and_asdf_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("fits");
    let manifest: Value = read_json(&dir.join("manifest.json"));
    let mut compared = 0;
    for path in [
        "gen/bt_all.fits",           // L X B I J K E D C M A, TDIM, unsigned, TNULL
        "astropy/chandra_time.fits", // units, 32X, TLMIN/TLMAX cards
        "astropy/zerowidth.fits",    // 0D columns, names with spaces, five tables
        "gen/ascii_w.fits",          // an ASCII table comes back as a BINTABLE
        "gen/bt_vla.fits",           // variable-length columns are skipped with a note
    ] {
        let src = dir.join(path);
        let s = arg(&src);
        let entry = &manifest[path];
        for mid in ["t.zarr", "t.asdf"] {
            let m = tmp.path().join(format!("{}.{mid}", clean(path)));
            let back = tmp.path().join(format!("{}.{mid}.fits", clean(path)));
            let o = ok(&["convert", s, arg(&m), "-q"]);
            if path.contains("vla") {
                // one note per variable-length column, naming it
                for c in ["VJ", "VD", "VA", "VL"] {
                    assert!(o.stderr.contains(&format!("column '{c}'")), "{}", o.stderr);
                }
                assert!(o.stderr.contains("variable-length"), "{}", o.stderr);
            }
            ok(&["convert", arg(&m), arg(&back), "-q"]);
            for h in entry["hdus"].as_array().unwrap() {
                let cols = h["table"]["columns"].as_array();
                let Some(cols) = cols else { continue };
                let idx = h["index"].as_u64().unwrap().to_string();
                let hname = h["name"].as_str().unwrap_or("");
                let table = if hname.is_empty() {
                    format!("HDU{idx}")
                } else {
                    clean(hname)
                };
                let mut fixed = 0;
                for c in cols {
                    let Some(data) = c["data"].as_str() else {
                        continue;
                    };
                    if c["vla"] == Value::Bool(true) || c["shapes"].is_array() {
                        continue;
                    }
                    fixed += 1;
                    let name = c["name"].as_str().unwrap();
                    let want = dir.join(data);
                    // the column in the Zarr / ASDF file, and in the FITS file made from it
                    export_and_compare(&m, &format!("{table}/{}", clean(name)), &want, tmp.path());
                    export_and_compare(&back, &format!("{idx}/{name}"), &want, tmp.path());
                    compared += 2;
                }
                // names, units, TNULL, TDIM and unsigned TZERO survive (VLA columns excepted)
                if fixed == cols.len() {
                    assert_eq!(
                        column_cards(&src, &idx),
                        column_cards(&back, &idx),
                        "{path} via {mid}: HDU {idx} column cards"
                    );
                }
                let info = info_json(&back);
                let kind = &info["hdus"][idx.parse::<usize>().unwrap()]["kind"];
                assert_eq!(kind, "bintable", "{path} via {mid}");
            }
        }
    }
    assert!(compared >= 100, "only {compared} columns compared");
    // FITS output writes a table a block of rows at a time: with the smallest budget (one row a
    // block) the file is the same, byte for byte, as with the default budget
    let whole = tmp.path().join("whole.fits");
    let o = nd(&["convert", arg(&dir.join("gen/bt_all.fits")), arg(&whole)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = tmp.path().join("rows.fits");
    let o = nd(&[
        "convert",
        arg(&dir.join("gen/bt_all.fits")),
        arg(&rows),
        "--budget-mib",
        "0",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        std::fs::read(&whole).unwrap(),
        std::fs::read(&rows).unwrap()
    );
}

#[test]
fn compressed_fits_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("fits");
    // integers: lossless with every algorithm that takes them, one row per tile or --chunks tiles
    for (name, algos) in [
        ("dt_i16", &["rice", "gzip_1", "gzip_2"][..]),
        ("dt_u16", &["rice", "gzip"][..]),
        ("dt_i32", &["rice", "gzip_2"][..]),
        ("dt_u8", &["rice", "plio"][..]),
        ("dt_i64", &["gzip_1"][..]),
    ] {
        let src = dir.join(format!("gen/{name}.fits"));
        let want = read_npy(dir.join(format!("expected/gen_{name}_fits.0.npy"))).unwrap();
        for algo in algos {
            for chunks in [None, Some("3,5")] {
                let out = tmp.path().join(format!("{name}.{algo}.fits"));
                let mut args = vec![
                    "convert",
                    arg(&src),
                    arg(&out),
                    "--compressor",
                    algo,
                    "--force",
                    "-q",
                ];
                if let Some(c) = chunks {
                    args.extend(["--chunks", c]);
                }
                ok(&args);
                let info = info_json(&out);
                assert_eq!(info["hdus"][1]["kind"], "compressed_image", "{name} {algo}");
                let a = &info["arrays"][0];
                let zcmp = match *algo {
                    "gzip" | "gzip_1" => "GZIP_1",
                    "gzip_2" => "GZIP_2",
                    "rice" => "RICE_1",
                    _ => "PLIO_1",
                }
                .to_string();
                assert_eq!(a["codec"], Value::String(zcmp), "{name} {algo}");
                let tile: Vec<u64> = serde_json::from_value(a["chunks"].clone()).unwrap();
                let shape = want.shape();
                let expect_tile = match chunks {
                    None => vec![1, shape[1]],
                    Some(_) => vec![3, 5],
                };
                assert_eq!(tile, expect_tile, "{name} {algo} {chunks:?}");
                assert_same(
                    &export_read(&out, "1", tmp.path()),
                    &want,
                    &format!("{name} {algo}"),
                );
            }
        }
    }
    // floats: quantized within half the step each tile records (ZSCALE), or exact when lossless
    for name in ["dt_f32", "dt_f64"] {
        let src = dir.join(format!("gen/{name}.fits"));
        let want = read_npy(dir.join(format!("expected/gen_{name}_fits.0.npy"))).unwrap();
        let values = |a: &ArrayBuf| match a.dtype() {
            DataType::Float32 => as_f64::<f32>(a),
            _ => as_f64::<f64>(a),
        };
        for spec in ["rice", "rice:q=4", "gzip_2:q=-0.001:dither=2", "gzip_1"] {
            let out = tmp.path().join(format!("{name}.q.fits"));
            ok(&[
                "convert",
                arg(&src),
                arg(&out),
                "--compressor",
                spec,
                "--force",
                "-q",
            ]);
            let got = export_read(&out, "1", tmp.path());
            assert_eq!(got.dtype(), want.dtype(), "{name} {spec}");
            let fits = nd_fits::Fits::open(&out).unwrap();
            let zscale = fits
                .compressed_image(1)
                .unwrap()
                .table()
                .column("ZSCALE")
                .unwrap();
            let zscale = zscale.as_slice::<f64>().unwrap();
            let width = want.shape()[1] as usize;
            let (g, w) = (values(&got), values(&want));
            let mut worst = 0f64;
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                let step = zscale[i / width];
                if a.is_nan() || b.is_nan() || step == 0.0 {
                    // NaN stays NaN; a tile that cannot be quantized (it holds an infinity) is
                    // stored losslessly, as astropy does (ZSCALE 0)
                    assert!(
                        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                        "{name} {spec}: pixel {i}: {a} vs {b}"
                    );
                    continue;
                }
                if spec.contains("q=-") {
                    assert!((step - 0.001).abs() < 1e-9, "{name} {spec}: step {step}");
                }
                assert!(
                    (a - b).abs() <= step * 0.5 * (1.0 + 1e-6) + 1e-6 * b.abs(),
                    "{name} {spec}: pixel {i}: {a} vs {b}, step {step}"
                );
                worst = worst.max((a - b).abs());
            }
            assert!(worst > 0.0, "{name} {spec}: quantization changed nothing");
        }
        let out = tmp.path().join(format!("{name}.lossless.fits"));
        ok(&[
            "convert",
            arg(&src),
            arg(&out),
            "--compressor",
            "gzip_2:lossless",
            "-q",
        ]);
        assert_same(&export_read(&out, "1", tmp.path()), &want, name);
    }
    // a multi-extension file keeps its headers' cards (EXTNAME, EXTVER, ...) around the tiles
    let mef = dir.join("gen/mef.fits");
    let out = tmp.path().join("mef.rice.fits");
    let z = tmp.path().join("mef.zarr");
    ok(&["convert", arg(&mef), arg(&z), "-q"]);
    ok(&[
        "convert",
        arg(&z),
        arg(&out),
        "--compressor",
        "gzip_2:lossless",
        "--checksum",
        "-q",
    ]);
    let (a, b) = (exports_of(&mef), exports_of(&out));
    assert_eq!(a.len(), b.len());
    for ((sa, x), (_, y)) in a.iter().zip(&b) {
        assert_same(y, x, &format!("mef HDU {sa}"));
    }
    let info = info_json(&out);
    let names: Vec<&str> = info["hdus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["PRIMARY", "SCI", "ERR", "DQ", "SCI", "ERR", "DQ"]);
    let v = ok(&["verify", arg(&out)]);
    assert!(!v.stdout.contains("absent"), "{}", v.stdout);
    // refused: compressed tiles over a quarter of the budget, 64-bit with RICE, floats with
    // PLIO, lossless RICE, unknown names; nothing is left behind
    for (src, spec, budget, says) in [
        ("dt_i16", "rice", "0", "allowed to hold them"),
        ("dt_i64", "rice", "256", "gzip_1 or gzip_2"),
        ("dt_f32", "plio", "256", "integer images only"),
        ("dt_i16", "plio", "256", "0 .. 2^24"),
        ("dt_f32", "rice:lossless", "256", "losslessly"),
        ("dt_f32", "zstd:3", "256", "rice, gzip_1"),
        ("dt_f32", "rice:q=0", "256", "non-zero"),
    ] {
        let out = tmp.path().join("refused.fits");
        let o = nd(&[
            "convert",
            arg(&dir.join(format!("gen/{src}.fits"))),
            arg(&out),
            "--compressor",
            spec,
            "--budget-mib",
            budget,
        ]);
        assert_eq!(o.code, 2, "{src} {spec}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{src} {spec}: {}", o.stderr);
        assert!(!out.exists(), "{src} {spec}");
        assert!(!tmp.path().join("refused.fits.nd-partial").exists());
    }
}

/// An anndata-shaped Zarr v2 store (testdata/gen_zarr.py) with a pickle object column and an
/// unknown compressor: `nd info` lists both with the reason, the other arrays export.
#[test]
fn zarr_arrays_nd_cannot_read_never_hide_their_siblings() {
    let store = root().join("zarr/anndata.zarr");
    let o = ok(&["info", arg(&store)]);
    let line = |name: &str| {
        o.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}  ")))
            .unwrap_or_else(|| panic!("no {name} in {}", o.stdout))
            .to_string()
    };
    assert!(line("pickled").contains("unreadable:"), "{}", o.stdout);
    assert!(line("pickled").contains("pickle"), "{}", o.stdout);
    assert!(
        line("weird").contains("nd-test-unknown-codec"),
        "{}",
        o.stdout
    );
    assert!(line("X").contains("array [13, 7] <f4"), "{}", o.stdout);
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--json", arg(&store)]).stdout).unwrap();
    let unreadable: Vec<&str> = j["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap())
        .collect();
    assert!(unreadable.contains(&"obs/pickled") && unreadable.contains(&"obs/weird"));
    let arrays: Vec<&str> = j["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    for p in [
        "X",
        "obs/n_genes",
        "obs/cell_type/codes",
        "obsm/X_pca",
        "var/mean",
    ] {
        assert!(arrays.contains(&p), "{p} not in {arrays:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.npy");
    ok(&["export", arg(&store), "X", "-o", arg(&out)]);
    let out_x = tmp.path().join("x_saved.npy");
    std::fs::copy(&out, &out_x).unwrap();
    let got = nd_core::npy::read_npy(&out).unwrap();
    let want = nd_core::npy::read_npy(root().join("zarr/expected/anndata/X.npy")).unwrap();
    assert_eq!(got.bytes(), want.bytes());
    let o = nd(&["export", arg(&store), "obs/pickled", "-o", arg(&out)]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("pickle"), "{}", o.stderr);
    // object (string) arrays: listed as |O, exported as numpy U/S (what np.load then equals
    // zarr_array[:].astype(str) / .astype(bytes))
    assert!(line("note").contains("|O (vlen-utf8)"), "{}", line("note"));
    for (sel, npy) in [("obs/note", "obs_note"), ("var/gene_ids", "var_gene_ids")] {
        ok(&["export", arg(&store), sel, "-o", arg(&out)]);
        let got = nd_core::npy::read_npy(&out).unwrap();
        let want = nd_core::npy::read_npy(root().join(format!("zarr/expected/anndata/{npy}.npy")))
            .unwrap();
        assert_eq!(got.dtype(), want.dtype(), "{sel}");
        assert_eq!(got.bytes(), want.bytes(), "{sel}");
    }
    // convert takes the readable arrays and says which it left out, and why
    let conv = tmp.path().join("c.zarr");
    let o = ok(&["convert", arg(&store), arg(&conv), "-q"]);
    for p in ["obs/pickled", "obs/weird"] {
        assert!(
            o.stderr.contains(&format!("skipped {p}: cannot be read")),
            "{}",
            o.stderr
        );
    }
    let x = tmp.path().join("x2.npy");
    ok(&["export", arg(&conv), "X", "-o", arg(&x)]);
    assert_eq!(std::fs::read(&x).unwrap(), std::fs::read(&out_x).unwrap());
}

/// A zip file holding a Zarr store (zarr-python's ZipStore, stored and deflated) opens like a
/// directory store: info lists its array, export equals what zarr-python read, verify is clean.
#[test]
fn zarr_zip_stores_open_like_directories() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["zipstore", "zipstore_deflate"] {
        let zip = root().join(format!("zarr/stores/{name}.zarr.zip"));
        let o = ok(&["info", arg(&zip)]);
        assert!(
            o.stdout.contains("sub/a") || o.stdout.contains("a  array"),
            "{}",
            o.stdout
        );
        let out = tmp.path().join(format!("{name}.npy"));
        ok(&["export", arg(&zip), "sub/a", "-o", arg(&out)]);
        let got = nd_core::npy::read_npy(&out).unwrap();
        let want =
            nd_core::npy::read_npy(root().join(format!("zarr/expected/{name}.npy"))).unwrap();
        assert_eq!(got.bytes(), want.bytes(), "{name}");
        assert_eq!(got.shape(), want.shape(), "{name}");
        let v = nd(&["verify", arg(&zip)]);
        assert_eq!(v.code, 0, "{name}: {}{}", v.stdout, v.stderr);
    }
}
