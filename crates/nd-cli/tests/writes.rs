//! Where `nd` writes, and what it never touches: a destination that is, holds or lies inside a
//! source is refused and the source stays byte-identical; `--force` replaces only what nd writes;
//! FIFOs, symbolic links and devices are written into or refused, never replaced; `-o -` streams;
//! a failed conversion leaves nothing behind.

mod common;
use common::{arg, nd, ok, root, Out};
use nd_core::npy::{read_npy, read_npy_bytes};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `p` (or `p` itself) with its bytes, keyed by relative path.
fn snapshot(p: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.is_dir() {
            for e in std::fs::read_dir(&d).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            let rel = d.strip_prefix(p).unwrap().to_path_buf();
            out.insert(rel, std::fs::read(&d).unwrap());
        }
    }
    out
}

/// The names in a directory.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn refused(o: &Out, why: &str) {
    assert_eq!(o.code, 2, "expected a refusal: {}", o.stderr);
    assert!(o.stderr.contains(why), "{why:?} not in {:?}", o.stderr);
}

fn cube() -> PathBuf {
    root().join("example/cube.fits")
}

/// A Zarr store and a FITS file written by nd in a fresh directory.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("c.zarr");
    let fits = t.path().join("c.fits");
    ok(&["convert", arg(&cube()), arg(&store), "-q"]);
    ok(&["convert", arg(&store), arg(&fits), "-q"]);
    (t, store, fits)
}

#[test]
fn a_destination_overlapping_its_source_is_refused_and_the_source_kept() {
    let (t, store, fits) = setup();
    let before = snapshot(&store);
    let fits_before = std::fs::read(&fits).unwrap();
    let dir = t.path();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&store, dir.join("link.zarr")).unwrap();
    #[cfg(unix)]
    std::fs::hard_link(&fits, dir.join("hard.fits")).unwrap();
    let cases: Vec<(PathBuf, PathBuf, &str)> = vec![
        (store.clone(), store.clone(), "is the source"),
        (store.clone(), store.join("."), "is the source"),
        (store.clone(), store.join("SCI/../"), "is the source"),
        (
            store.clone(),
            dir.join("./c.zarr/../c.zarr"),
            "is the source",
        ),
        (
            store.clone(),
            store.join("sub.zarr"),
            "lies inside the source",
        ),
        (store.join("SCI"), dir.join("SCI.zarr"), ""), // no overlap: a control
        (fits.clone(), fits.clone(), "is the source"),
        #[cfg(unix)]
        (store.clone(), dir.join("link.zarr"), "is the source"),
        #[cfg(unix)]
        (fits.clone(), dir.join("hard.fits"), "is the source"),
    ];
    for (src, dst, why) in cases {
        let o = nd(&["convert", arg(&src), arg(&dst), "--force", "-q"]);
        if why.is_empty() {
            assert_eq!(o.code, 0, "{}", o.stderr);
            continue;
        }
        refused(&o, why);
        assert!(o.stderr.contains("nothing was written"), "{}", o.stderr);
        assert_eq!(
            snapshot(&store),
            before,
            "{} -> {}",
            src.display(),
            dst.display()
        );
        assert_eq!(std::fs::read(&fits).unwrap(), fits_before);
    }
    // export onto its own source
    let o = nd(&[
        "export",
        arg(&fits),
        "1",
        "-o",
        arg(&fits),
        "--format",
        "npy",
        "--force",
    ]);
    refused(&o, "is the source");
    assert_eq!(std::fs::read(&fits).unwrap(), fits_before);
    // the store is still whole: every value as before
    let a = dir.join("a.npy");
    ok(&["export", arg(&store), "SCI", "-o", arg(&a)]);
    let b = dir.join("b.npy");
    ok(&["export", arg(&cube()), "SCI", "-o", arg(&b)]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn force_replaces_only_what_nd_writes() {
    let (t, store, fits) = setup();
    let dir = t.path();
    // without --force nothing is replaced
    refused(
        &nd(&["convert", arg(&fits), arg(&store), "-q"]),
        "exists (use --force",
    );
    // a directory that holds more than a Zarr store, a file that is neither FITS nor ASDF
    let mixed = dir.join("mixed.zarr");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::write(mixed.join(".zgroup"), br#"{"zarr_format": 2}"#).unwrap();
    std::fs::write(mixed.join("notes.txt"), b"mine").unwrap();
    refused(
        &nd(&["convert", arg(&fits), arg(&mixed), "--force", "-q"]),
        "not part of a Zarr store",
    );
    assert_eq!(std::fs::read(mixed.join("notes.txt")).unwrap(), b"mine");
    let plain = dir.join("plain.zarr");
    std::fs::create_dir(&plain).unwrap();
    refused(
        &nd(&["convert", arg(&fits), arg(&plain), "--force", "-q"]),
        "not a Zarr store",
    );
    let text = dir.join("text.fits");
    std::fs::write(&text, b"my notes").unwrap();
    refused(
        &nd(&["convert", arg(&store), arg(&text), "--force", "-q"]),
        "not a FITS or ASDF file",
    );
    assert_eq!(std::fs::read(&text).unwrap(), b"my notes");
    // a FITS file where a Zarr store should go, and the other way round
    refused(
        &nd(&["convert", arg(&store), arg(&dir.join("d.zarr")), "-q"]).then_ok(),
        "",
    );
    // a store nd wrote is replaced, whole, with nothing left beside it
    let other = dir.join("other.fits");
    ok(&["convert", arg(&fits), arg(&other), "--array", "1", "-q"]);
    ok(&[
        "convert",
        arg(&other),
        arg(&store),
        "--force",
        "--array",
        "0",
        "-q",
    ]);
    assert!(store.join(".zarray").is_file() && !store.join(".zgroup").exists());
    assert!(
        names(dir).iter().all(|n| !n.contains(".nd-tmp-")),
        "{:?}",
        names(dir)
    );
    // and a FITS file nd wrote
    ok(&["convert", arg(&store), arg(&fits), "--force", "-q"]);
    #[cfg(unix)]
    {
        // never a link (nor what it points to) or a FIFO
        let link = dir.join("link.fits");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let before = std::fs::read(&other).unwrap();
        refused(
            &nd(&["convert", arg(&store), arg(&link), "--force", "-q"]),
            "symbolic link",
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&other).unwrap(), before);
        let fifo = mkfifo(&dir.join("pipe.fits"));
        refused(
            &nd(&["convert", arg(&store), arg(&fifo), "--force", "-q"]),
            "FIFO",
        );
        assert!(is_fifo(&fifo));
    }
}

trait ThenOk {
    fn then_ok(self) -> Out;
}
impl ThenOk for Out {
    /// A control case: this one must succeed; returned with code 2 and no message so that
    /// `refused(.., "")` accepts exactly success.
    fn then_ok(self) -> Out {
        assert_eq!(self.code, 0, "{}", self.stderr);
        Out { code: 2, ..self }
    }
}

#[cfg(unix)]
fn mkfifo(p: &Path) -> PathBuf {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
    p.to_path_buf()
}

#[cfg(unix)]
fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(p).unwrap().file_type().is_fifo()
}

#[test]
fn array_outputs_follow_format_and_never_replace_special_files() {
    let (t, store, _fits) = setup();
    let dir = t.path();
    let region = "3:5,10:20,:";
    let want = dir.join("want.npy");
    ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        arg(&want),
        "--region",
        region,
    ]);
    let want_bytes = std::fs::read(&want).unwrap();
    // -o - : the same .npy on standard output
    let o = ok(&["export", arg(&store), "SCI", "-o", "-", "--region", region]);
    assert_eq!(o.stdout_bytes, want_bytes);
    let o = ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        "/dev/stdout",
        "--region",
        region,
    ]);
    assert_eq!(o.stdout_bytes, want_bytes);
    // CSV: one line per row of the last axis, values that read back equal
    let a = read_npy(&want).unwrap();
    let vals = a.as_slice::<f32>().unwrap();
    let o = ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        "-",
        "--region",
        region,
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 2 * 10);
    let parsed: Vec<f32> = lines
        .iter()
        .flat_map(|l| l.split(','))
        .map(|v| {
            if v == "nan" {
                f32::NAN
            } else {
                v.parse().unwrap()
            }
        })
        .collect();
    assert_eq!(parsed.len(), vals.len());
    for (p, v) in parsed.iter().zip(vals) {
        assert!(p.to_bits() == v.to_bits() || (p.is_nan() && v.is_nan()));
    }
    let csv = dir.join("c.csv");
    ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        arg(&csv),
        "--region",
        region,
    ]);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), o.stdout);
    // a suffix nd cannot write, an unknown --format
    refused(
        &nd(&["export", arg(&store), "SCI", "-o", arg(&dir.join("o.fits"))]),
        ".npy, .npz or .csv",
    );
    assert!(!dir.join("o.fits").exists());
    refused(
        &nd(&["export", arg(&store), "SCI", "-o", "-", "--format", "fits"]),
        "npy, npz or csv",
    );
    // an existing .npy is replaced (as numpy's save does); another file only with --force
    ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        arg(&want),
        "--region",
        "0:1",
    ]);
    std::fs::write(&csv, b"mine").unwrap();
    refused(
        &nd(&["export", arg(&store), "SCI", "-o", arg(&csv)]),
        "--force",
    );
    assert_eq!(std::fs::read(&csv).unwrap(), b"mine");
    ok(&[
        "export",
        arg(&store),
        "SCI",
        "-o",
        arg(&csv),
        "--region",
        "0:1",
        "--force",
    ]);
    // stat --axis writes the same way
    let o = ok(&["stat", arg(&store), "SCI", "--axis", "0", "-o", "-"]);
    let m = read_npy_bytes(&o.stdout_bytes).unwrap();
    assert_eq!(m.shape(), &[64, 64]);
    refused(
        &nd(&[
            "stat",
            arg(&store),
            "SCI",
            "--axis",
            "0",
            "-o",
            arg(&dir.join("m.fits")),
        ]),
        ".npy, .npz or .csv",
    );
    #[cfg(unix)]
    {
        // a FIFO is written into, in order, and stays a FIFO
        let fifo = mkfifo(&dir.join("pipe.npy"));
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        ok(&[
            "export",
            arg(&store),
            "SCI",
            "-o",
            arg(&fifo),
            "--region",
            region,
        ]);
        assert_eq!(reader.join().unwrap(), want_bytes_of(&store, region, dir));
        assert!(is_fifo(&fifo));
        // a symbolic link is neither replaced nor written through
        let target = dir.join("target.npy");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.join("link.npy");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        refused(
            &nd(&["export", arg(&store), "SCI", "-o", arg(&link)]),
            "symbolic link",
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        // a directory is not replaced
        refused(
            &nd(&[
                "export",
                arg(&store),
                "SCI",
                "-o",
                arg(&store.join("SCI")),
                "--format",
                "npy",
                "--force",
            ]),
            "lies inside",
        );
        let d = dir.join("d.npy");
        std::fs::create_dir(&d).unwrap();
        refused(
            &nd(&["export", arg(&store), "SCI", "-o", arg(&d), "--force"]),
            "directory",
        );
    }
}

fn want_bytes_of(store: &Path, region: &str, dir: &Path) -> Vec<u8> {
    let p = dir.join("again.npy");
    ok(&[
        "export",
        arg(store),
        "SCI",
        "-o",
        arg(&p),
        "--region",
        region,
    ]);
    std::fs::read(p).unwrap()
}

#[test]
fn a_failed_conversion_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    for dst in ["bad.zarr", "bad.fits", "bad.asdf"] {
        let out = dir.join(dst);
        // chunks that do not fit the array fail after the output was started
        let o = nd(&[
            "convert",
            arg(&cube()),
            arg(&out),
            "--chunks",
            "1,2",
            "--compressor",
            if dst.ends_with(".fits") {
                "rice"
            } else {
                "zstd:1"
            },
            "-q",
        ]);
        assert_eq!(o.code, 2, "{dst}: {}", o.stderr);
        assert!(names(dir).is_empty(), "{dst}: left {:?}", names(dir));
    }
}

#[test]
fn regions_select_as_numpy_and_mistakes_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let full_path = t.path().join("full.npy");
    ok(&["export", arg(&cube()), "SCI", "-o", arg(&full_path)]);
    let full = read_npy(&full_path).unwrap();
    let all = full.as_slice::<f32>().unwrap();
    let at = |z: i64, y: i64, x: i64| all[(z * 64 * 64 + y * 64 + x) as usize];
    // (region, numpy's indices per axis; None for an axis the index drops)
    let z_all: Vec<i64> = (0..32).collect();
    let y_all: Vec<i64> = (0..64).collect();
    // (region, numpy's indices along z, y, x)
    type Case = (&'static str, Vec<i64>, Option<Vec<i64>>, Vec<i64>);
    let cases: Vec<Case> = vec![
        (
            "-5:,::-7,3",
            (27..32).collect(),
            Some((0..64).rev().step_by(7).collect()),
            vec![3],
        ),
        (
            "3,1:9:2",
            vec![3],
            Some((1..9).step_by(2).collect()),
            (0..64).collect(),
        ),
        ("...,-1", z_all.clone(), Some(y_all.clone()), vec![63]),
    ];
    for (region, zs, ys, xs) in cases {
        let o = ok(&[
            "export",
            arg(&cube()),
            "SCI",
            "-o",
            "-",
            &format!("--region={region}"),
        ]);
        let got = read_npy_bytes(&o.stdout_bytes).unwrap();
        let ys = ys.unwrap();
        let mut want = Vec::new();
        for &z in &zs {
            for &y in &ys {
                for &x in &xs {
                    want.push(at(z, y, x));
                }
            }
        }
        let g = got.as_slice::<f32>().unwrap();
        assert_eq!(g.len(), want.len(), "{region}");
        assert!(
            g.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{region}"
        );
        // a single index drops its axis, as numpy does
        let dropped = region
            .split(',')
            .filter(|p| !p.contains(':') && *p != "...")
            .count();
        assert_eq!(
            got.shape().len(),
            3 - dropped,
            "{region}: {:?}",
            got.shape()
        );
    }
    // the argument parser takes `--region -5:` as a value too
    let a = ok(&["export", arg(&cube()), "SCI", "-o", "-", "--region", "-5:"]);
    let b = ok(&["export", arg(&cube()), "SCI", "-o", "-", "--region=-5:"]);
    assert_eq!(a.stdout_bytes, b.stdout_bytes);
    for (region, words) in [
        (
            "40:50",
            "axis 0 (length 32): '40:50': bound 40 is outside the axis",
        ),
        ("20:10", "selects nothing"),
        ("1,2,3,4", "names 4 axes, the array has 3"),
        ("0:2,::0", "the step is 0"),
    ] {
        let o = nd(&["export", arg(&cube()), "SCI", "-o", "-", "--region", region]);
        refused(&o, words);
        let o = nd(&["stat", arg(&cube()), "SCI", "--region", region]);
        refused(&o, words);
    }
}
