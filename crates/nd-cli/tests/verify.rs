//! `nd verify --json`: one object for every format, and one exit convention (0 clean, 1 defects
//! found, 2 could not read).

mod common;
use common::{arg, nd, root};

#[test]
fn verify_json_and_exit_status_are_the_same_for_every_format() {
    let t = tempfile::tempdir().unwrap();
    let cube = root().join("example/cube.fits");
    let damaged = t.path().join("damaged.fits");
    let mut bytes = std::fs::read(&cube).unwrap();
    bytes[20000] ^= 0x55; // a data byte of HDU 1: its DATASUM and CHECKSUM no longer match
    std::fs::write(&damaged, bytes).unwrap();
    let cases = [
        (cube.clone(), "fits", 0),
        (damaged, "fits", 1),
        (root().join("asdf/py/checksum_new.asdf"), "asdf", 0),
        (root().join("zarr/hier.zarr"), "zarr", 0),
    ];
    for (path, format, code) in cases {
        let o = nd(&["verify", "--json", arg(&path)]);
        assert_eq!(o.code, code, "{}: {}", path.display(), o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["format"], format);
        let checks = v["checks"].as_array().unwrap();
        assert!(!checks.is_empty(), "{}", path.display());
        let bad = checks.iter().filter(|c| c["ok"] == false).count();
        assert_eq!(v["problems"], bad);
        assert_eq!(bad > 0, code == 1);
    }
    let o = nd(&["verify", "--json", arg(&t.path().join("missing.fits"))]);
    assert_eq!(o.code, 2);
}
