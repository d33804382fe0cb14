//! `nd refs`: the reference JSON it writes, and the destinations it refuses.

use serde_json::Value;

mod common;
use common::{arg, nd, ok, root};

#[test]
fn writes_kerchunk_json_and_lists_what_it_skips() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let src = root().join("fits/astropy/random_groups.fits");
    let o = ok(&[
        "refs",
        arg(&src),
        "-o",
        arg(&out),
        "--url-prefix",
        "s3://b/d/",
    ]);
    assert!(
        o.stderr.contains("random groups") && o.stderr.contains("not mapped"),
        "{}",
        o.stderr
    );
    let j: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(j["version"], 1);
    let src = root().join("fits/gen/mef.fits");
    ok(&[
        "refs",
        arg(&src),
        "-o",
        arg(&out),
        "--force",
        "--chunk-mib",
        "0.001",
    ]);
    let j: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let refs = j["refs"].as_object().unwrap();
    let ranges: Vec<&Value> = refs.values().filter(|v| v.is_array()).collect();
    assert!(ranges.len() > 3);
    let arrays = refs.keys().filter(|k| k.ends_with("/.zarray")).count();
    // sub-chunked: more chunks than arrays, each at most 1 KiB or one row
    assert!(
        ranges.len() > arrays,
        "{} ranges, {arrays} arrays",
        ranges.len()
    );
    for r in ranges {
        assert!(r[0].as_str().unwrap().ends_with("mef.fits"));
    }
}

#[test]
fn refuses_to_overwrite_a_source_or_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.fits");
    std::fs::copy(root().join("fits/gen/dim2.fits"), &src).unwrap();
    let before = std::fs::read(&src).unwrap();
    let o = nd(&["refs", arg(&src), "-o", arg(&src), "--force"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(std::fs::read(&src).unwrap(), before);
    let out = dir.path().join("r.json");
    std::fs::write(&out, b"keep").unwrap();
    let o = nd(&["refs", arg(&src), "-o", arg(&out)]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    let o = nd(&["refs", arg(&src), "-o", arg(&out), "--chunk-mib", "0"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    // a Zarr store is refused with a reason
    let o = nd(&[
        "refs",
        arg(&root().join("zarr/stores/dtype_be_U3.zarr")),
        "-o",
        "-",
    ]);
    assert_ne!(o.code, 0);
}

#[test]
fn zarr_format_3_gives_zarr_json_and_the_same_byte_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let (v2, v3) = (dir.path().join("v2.json"), dir.path().join("v3.json"));
    let src = root().join("fits/gen/c_gzip_2.fits");
    ok(&["refs", arg(&src), "-o", arg(&v2), "--chunk-mib", "0.001"]);
    ok(&[
        "refs",
        arg(&src),
        "-o",
        arg(&v3),
        "--chunk-mib",
        "0.001",
        "--zarr-format",
        "3",
    ]);
    let read = |p: &std::path::Path| -> Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (j2, j3) = (read(&v2), read(&v3));
    let (r2, r3) = (
        j2["refs"].as_object().unwrap(),
        j3["refs"].as_object().unwrap(),
    );
    assert!(r3.keys().all(|k| !k.contains(".z")), "{:?}", r3.keys());
    // every v2 chunk `A/i.j` is the v3 chunk `A/c/i/j`, the same range
    let mut chunks = 0;
    for (k, v) in r2.iter().filter(|(_, v)| v.is_array()) {
        let (array, idx) = k.rsplit_once('/').unwrap();
        let k3 = format!("{array}/c/{}", idx.replace('.', "/"));
        assert_eq!(r3.get(&k3), Some(v), "{k} -> {k3}");
        chunks += 1;
    }
    assert!(chunks > 1);
    // H2: int16 tiles, GZIP_2
    let meta: Value = serde_json::from_str(r3["H2/zarr.json"].as_str().unwrap()).unwrap();
    assert_eq!(meta["data_type"], "int16");
    assert_eq!(meta["node_type"], "array");
    let names: Vec<&str> = meta["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bytes", "numcodecs.shuffle", "gzip"]);
    assert_eq!(meta["codecs"][0]["configuration"]["endian"], "big");
    let o = nd(&["refs", arg(&src), "-o", arg(&v3), "--zarr-format", "4"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}
