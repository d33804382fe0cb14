//! The toolbox examples of the README (extended filenames, containers, whole tables, masks,
//! `.npy`/`.npz` sources, `.fits.gz` output), run as written, and what they print or write
//! checked against the values astropy and python asdf gave (`testdata/toolbox/`,
//! `testdata/asdf/py/expected/`); `nd info`'s astropy view and the plural fixes.

use std::path::{Path, PathBuf};

mod common;
use common::{arg, nd, ok, root};

/// The README's toolbox block: one command line per entry, the words as the shell passes them.
fn readme_commands() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme
        .find("<!-- toolbox examples")
        .expect("the README's toolbox block");
    let block = &readme[start..];
    let body = &block[block.find("```sh\n").unwrap() + 6..];
    let body = &body[..body.find("```").unwrap()];
    body.lines()
        .map(|l| l.split(" # ").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(words)
        .collect()
}

/// Split a line as a POSIX shell would for the quoting the README uses (single quotes only).
fn words(line: &str) -> Vec<String> {
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
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn testdata_abs(word: &str) -> String {
    match word.strip_prefix("testdata/") {
        Some(rest) => root().join(rest).display().to_string(),
        None => word.to_string(),
    }
}

/// Run the README's block in a scratch directory (outputs land there), returning it.
fn run_readme() -> (tempfile::TempDir, Vec<(Vec<String>, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for cmd in readme_commands() {
        assert_eq!(cmd[0], "nd", "{cmd:?}");
        let args: Vec<String> = cmd[1..]
            .iter()
            .map(|w| {
                if w.starts_with("testdata/") {
                    testdata_abs(w)
                } else if w.contains('.') && !w.starts_with('-') {
                    // an output name: inside the scratch directory
                    dir.path().join(w).display().to_string()
                } else {
                    w.clone()
                }
            })
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = nd(&refs);
        assert_eq!(o.code, 0, "nd {refs:?}: {}", o.stderr);
        outs.push((cmd, o.stdout + &o.stderr));
    }
    (dir, outs)
}

fn npy(p: &Path) -> nd_core::ArrayBuf {
    nd_core::npy::read_npy(p).unwrap()
}

fn f32s(b: &nd_core::ArrayBuf) -> Vec<f32> {
    b.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn the_readme_toolbox_examples_run_and_give_what_astropy_gives() {
    let (dir, outs) = run_readme();
    assert!(outs.len() >= 12, "{} commands", outs.len());
    let out = |needle: &str| -> &str {
        &outs
            .iter()
            .find(|(c, _)| c.iter().any(|w| w.contains(needle)))
            .unwrap_or_else(|| panic!("no command with {needle}"))
            .1
    };
    // info: astropy's view, then the selection in numpy order
    let info = out("[SCI][11:30,21:40:2,*]");
    assert!(info.contains("(64, 64, 32)   float32"), "{info}");
    assert!(info.contains("shape [32, 10, 20] (numpy order)"), "{info}");
    // the cutout equals numpy's [15:16, 20:40, 10:30] of the cube astropy reads
    let cube = npy_of_cube();
    let cut = npy(&dir.path().join("cut.npy"));
    assert_eq!(cut.shape(), &[1, 20, 20]);
    let mut want = Vec::new();
    for y in 20..40 {
        for x in 10..30 {
            want.push(cube[(15 * 64 + y) * 64 + x]);
        }
    }
    assert!(same(&f32s(&cut), &want));
    // stat of a reversed cutout of the bzip2 container: the count of SCI,2 (20 x 30)
    let stat: serde_json::Value =
        serde_json::from_str(out("ext.fits.bz2").lines().next().unwrap()).unwrap();
    assert_eq!(stat["count"], 600);
    // header of one HDU of the zip
    let header = out("ext.fits.zip[2]");
    assert!(header.starts_with("XTENSION= 'IMAGE   '"), "{header}");
    assert!(
        header.contains("EXTVER  =                    2"),
        "{header}"
    );
    // the gzip FITS cutout reads back as numpy [:, 0:32, 0:32]
    let q = nd::open(&dir.path().join("quarter.fits.gz").display().to_string()).unwrap();
    let qa: Vec<f32> = q
        .array("0")
        .unwrap()
        .read_ndarray::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let mut want = Vec::new();
    for z in 0..32 {
        for y in 0..32 {
            for x in 0..32 {
                want.push(cube[(z * 64 + y) * 64 + x]);
            }
        }
    }
    assert!(same(&qa, &want));
    // tables: Parquet written with notes for the complex columns; CSV; structured npy
    assert!(out("table.parquet").contains("'C' holds complex values"));
    let pq = std::fs::read(dir.path().join("table.parquet")).unwrap();
    assert_eq!(&pq[..4], b"PAR1");
    let csv = std::fs::read_to_string(dir.path().join("table.csv")).unwrap();
    assert!(csv.starts_with("c1,c2,c3,c4\n1,abc,"), "{csv}");
    let t = npy(&dir.path().join("table.npy"));
    assert_eq!(t.shape(), &[2]);
    assert!(matches!(t.dtype(), nd_core::DataType::Struct(s) if s.fields.len() == 4));
    // the masked array: data and mask as python asdf gives them
    let z = nd::open(&dir.path().join("masked.npz").display().to_string()).unwrap();
    let exp = root().join("asdf/py/expected/masked");
    for (name, file) in [("data", "0.npy"), ("mask", "0.mask.npy")] {
        let got = z.array(name).unwrap().as_read().read_all().unwrap();
        assert_eq!(got.bytes(), npy(&exp.join(file)).bytes(), "{name}");
    }
    let m = nd::open(&dir.path().join("masked.zarr").display().to_string()).unwrap();
    let names: Vec<String> = m.arrays().unwrap().into_iter().map(|a| a.path).collect();
    assert!(names.contains(&"masked_mask".to_string()), "{names:?}");
    let mask = m
        .array("masked_int_mask")
        .unwrap()
        .as_read()
        .read_all()
        .unwrap();
    assert_eq!(mask.bytes(), npy(&exp.join("1.mask.npy")).bytes());
    // .npz as a source, listed with plural words right
    assert!(out("arrays.npz").contains("(2 arrays)"));
    let a = nd::open(&dir.path().join("arrays.zarr").display().to_string()).unwrap();
    assert_eq!(a.array("cube").unwrap().shape(), &[4, 6, 8]);
}

fn npy_of_cube() -> Vec<f32> {
    let ds = nd::open(&root().join("example/cube.fits").display().to_string()).unwrap();
    ds.array("SCI")
        .unwrap()
        .read_ndarray::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[test]
fn extended_filenames_in_every_command_that_takes_a_path() {
    let cube = root().join("example/cube.fits");
    let c = arg(&cube);
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("o.npy");
    // export without a selector needs the brackets; with both an HDU twice is refused
    let o = nd(&["export", c, "-o", arg(&out)]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("which array?"), "{}", o.stderr);
    let o = nd(&["export", &format!("{c}[SCI]"), "1", "-o", arg(&out)]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("the brackets name the HDU already"),
        "{}",
        o.stderr
    );
    // a section with --region on top: the region applies to the cutout
    ok(&[
        "export",
        &format!("{c}[SCI][1:10,1:10,1]"),
        "-o",
        arg(&out),
        "--region",
        "0,2:4,::-1",
    ]);
    let got = npy(&out);
    assert_eq!(got.shape(), &[2, 10]);
    // verify checks the whole file; refs refuses the brackets; a bad section names the axis
    ok(&["verify", &format!("{c}[SCI]")]);
    let o = nd(&[
        "refs",
        &format!("{c}[SCI]"),
        "-o",
        arg(&dir.path().join("r.json")),
    ]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("references describe whole files"),
        "{}",
        o.stderr
    );
    let o = nd(&["stat", &format!("{c}[SCI][1:65,*,*]")]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("NAXIS1 = 64): pixel 65 is outside"),
        "{}",
        o.stderr
    );
    // writing over the bracketed source is refused as over the source itself
    let copy = dir.path().join("c.fits");
    std::fs::copy(&cube, &copy).unwrap();
    let o = nd(&[
        "export",
        &format!("{}[SCI]", arg(&copy)),
        "-o",
        arg(&copy),
        "--force",
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(std::fs::read(&copy).unwrap().starts_with(b"SIMPLE"));
}

#[test]
fn a_zarr_zip_store_opens_and_fits_info_says_which_order_it_shows() {
    // a .zarr.zip store (zarr-python's ZipStore) is read by every command
    let zips: Vec<PathBuf> = walk(&root().join("zarr"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".zip"))
        .collect();
    assert!(!zips.is_empty());
    for z in &zips {
        let o = ok(&["info", arg(z)]);
        assert!(o.stdout.contains("Zarr"), "{}", o.stdout);
    }
    let o = ok(&["info", arg(&root().join("example/cube.fits"))]);
    assert!(
        o.stdout.contains("Dimensions in FITS order (NAXIS1 first)"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("(64, 64, 32)   float32"), "{}", o.stdout);
    let o = ok(&["info", arg(&root().join("asdf/py/masked.asdf"))]);
    assert!(o.stdout.contains("(4 blocks,"), "{}", o.stdout);
    assert!(o.stdout.contains("[1 item]"), "{}", o.stdout);
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.to_string_lossy().ends_with(".zarr") {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
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
fn extended_filenames_and_containers_on_urls() {
    let Some(base) = http_base() else {
        println!("SKIPPED extended_filenames_and_containers_on_urls: no test servers (run `bash .ci/servers.sh`; .ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (rel, brackets) in [
        ("toolbox/ext.fits", "[SCI,2][5:12,20:3]"),
        ("toolbox/ext.fits.gz", "[1][*,-*,2:3]"),
        ("toolbox/ext.fits.bz2", "[2][30:1:4,*]"),
        ("toolbox/ext.fits.zip", "[SCI]"),
        ("toolbox/ext_stored.fits.zip", "[sci,2]"),
        ("toolbox/arrays.npz", ""),
    ] {
        let local = format!("{}{brackets}", root().join(rel).display());
        let url = format!("{base}/{rel}{brackets}");
        let sel: &[&str] = if brackets.is_empty() { &["cube"] } else { &[] };
        let (a, b) = (tmp.path().join("a.npy"), tmp.path().join("b.npy"));
        let mut args_l = vec!["export", local.as_str()];
        args_l.extend_from_slice(sel);
        args_l.extend(["-o", arg(&a)]);
        let mut args_r = vec!["export", url.as_str()];
        args_r.extend_from_slice(sel);
        args_r.extend(["-o", arg(&b)]);
        ok(&args_l);
        ok(&args_r);
        let (x, y) = (npy(&a), npy(&b));
        assert_eq!(x.shape(), y.shape(), "{url}");
        assert_eq!(x.bytes(), y.bytes(), "{url}");
    }
}
