//! `nd convert` of an image larger than its memory budget keeps the process's anonymous memory
//! (heap, stacks: what cannot be paged back to a file) within the budget plus a fixed overhead.
//! Measured by sampling /proc/PID/status of the child while it runs (Linux only).

#![cfg(target_os = "linux")]

mod common;

use common::run_sampled;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A FITS file with one float32 image of `rows` x `cols`, written without holding it in memory:
/// the header, then a sparse data area with a marker value written into some rows.
fn big_fits(path: &Path, rows: u64, cols: u64) {
    let mut h = String::new();
    for (k, v) in [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "2")] {
        h.push_str(&format!("{k:<8}= {v:>20}"));
        h.push_str(&" ".repeat(80 - 30));
    }
    for (k, v) in [("NAXIS1", cols), ("NAXIS2", rows)] {
        h.push_str(&format!("{k:<8}= {v:>20}"));
        h.push_str(&" ".repeat(50));
    }
    h.push_str(&format!("{:<80}", "END"));
    while !h.len().is_multiple_of(2880) {
        h.push(' ');
    }
    let data = rows * cols * 4;
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(h.as_bytes()).unwrap();
    f.set_len(h.len() as u64 + data.div_ceil(2880) * 2880)
        .unwrap();
    for r in (0..rows).step_by(997) {
        let row: Vec<u8> = (0..cols)
            .flat_map(|c| ((r * 3 + c) as f32).to_be_bytes())
            .collect();
        nd_core::io::write_all_at(&f, &row, h.len() as u64 + r * cols * 4).unwrap();
    }
}

/// The image of the tests: 4096 x 8192 float32 (128 MiB), four times the budget.
const ROWS: u64 = 4096;
const COLS: u64 = 8192;
/// The memory budget of the conversions, MiB.
const BUDGET_MIB: u64 = 32;
/// Fixed costs beside the budget: the binary, its allocator arenas, thread stacks.
const OVERHEAD: u64 = 48 << 20;

/// Run `nd convert SRC DST ARGS.. --budget-mib BUDGET -q` and check that it succeeds with its
/// peak anonymous memory within the budget plus the fixed overhead.
fn convert_within_budget(src: &Path, dst: &Path, args: &[&str], what: &str) {
    let b = BUDGET_MIB.to_string();
    let mut all = vec!["convert", src.to_str().unwrap(), dst.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--budget-mib", &b, "-q"]);
    let (code, peak, err) = run_sampled(&all);
    assert_eq!(code, 0, "{err}");
    println!(
        "{what}, 128 MiB of values, budget {BUDGET_MIB} MiB: peak RssAnon {} MiB",
        peak >> 20
    );
    assert!(
        peak <= (BUDGET_MIB << 20) + OVERHEAD,
        "{what}: peak anonymous memory {} MiB",
        peak >> 20
    );
}

/// The round trip kept the data: the marker rows and a zero row are equal, and the sizes.
fn assert_rows_kept(src: &Path, back: &Path) {
    let (a, b) = (std::fs::read(src).unwrap(), std::fs::read(back).unwrap());
    let off = 2880usize;
    for r in [0u64, 997, 997 * 4, 5] {
        let s = off + (r * COLS * 4) as usize;
        let e = s + (COLS * 4) as usize;
        assert_eq!(a[s..e], b[s..e], "row {r}");
    }
    assert_eq!(a.len(), b.len());
}

#[test]
fn convert_larger_than_budget_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.fits");
    big_fits(&src, ROWS, COLS);
    let zarr = tmp.path().join("big.zarr");
    let args = ["--compressor", "zlib:1", "--chunks", "512,1024"];
    convert_within_budget(&src, &zarr, &args, "FITS -> Zarr");
    let back = tmp.path().join("back.fits");
    convert_within_budget(&zarr, &back, &[], "Zarr -> FITS");
    assert_rows_kept(&src, &back);
}

/// Zarr v3 sharded output is written shard by shard: nd-ops aligns its blocks to the shard
/// shape, each shard is encoded whole from one block and stored with one write, so memory stays
/// within the budget (shards of 2 MiB, blocks of a few shards) and back to FITS too.
#[test]
fn sharded_zarr_v3_convert_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.fits");
    big_fits(&src, ROWS, COLS);
    let zarr = tmp.path().join("big.zarr");
    let args = [
        "--zarr-format",
        "3",
        "--shards",
        "512,1024",
        "--chunks",
        "128,256",
        "--compressor",
        "zstd:1",
    ];
    convert_within_budget(&src, &zarr, &args, "FITS -> Zarr v3 sharded");
    // 8 x 8 shards, each one file
    let shards = std::fs::read_dir(zarr.join("PRIMARY/c/7")).unwrap().count();
    assert_eq!(shards, 8);
    let back = tmp.path().join("back.fits");
    convert_within_budget(&zarr, &back, &[], "Zarr v3 sharded -> FITS");
    assert_rows_kept(&src, &back);
}

/// A `.fits.gz` is not inflated into memory: it is indexed in one pass (access points every
/// MiB or more, at most 256 of them) and read through the index, so converting it keeps within
/// the budget like a plain file; the round trip to FITS keeps the data.
#[test]
fn gzip_fits_convert_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("big.fits");
    big_fits(&plain, ROWS, COLS);
    let src = tmp.path().join("big.fits.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&src).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&plain).unwrap(), &mut gz).unwrap();
    gz.finish().unwrap();
    let zarr = tmp.path().join("big.zarr");
    let args = ["--compressor", "zlib:1", "--chunks", "512,1024"];
    convert_within_budget(&src, &zarr, &args, "FITS.gz -> Zarr");
    let back = tmp.path().join("back.fits");
    convert_within_budget(&src, &back, &[], "FITS.gz -> FITS");
    assert_rows_kept(&plain, &back);
}

/// Tile-compressed FITS output is made a slab of tile rows at a time (half the budget), the
/// compressed tiles held until the HDU is written; read back (tile by tile) the data is kept.
#[test]
fn tile_compressed_fits_convert_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.fits");
    big_fits(&src, ROWS, COLS);
    let rice = tmp.path().join("rice.fits");
    let args = ["--compressor", "gzip_2:lossless", "--chunks", "16,8192"];
    convert_within_budget(&src, &rice, &args, "FITS -> tile-compressed FITS");
    let back = tmp.path().join("back.fits");
    convert_within_budget(
        &rice,
        &back,
        &["--array", "1"],
        "tile-compressed FITS -> FITS",
    );
    assert_rows_kept(&src, &back);
}

/// A BINTABLE of 8 Mi rows x 16 bytes (a float64 column `T` and a 2-element float32 column `XY`),
/// 128 MiB, written sparsely like [`big_fits`]: row r holds T = r and XY = (r, -r) on every
/// 997th row, zeros elsewhere.
fn big_table(path: &Path, rows: u64) {
    let mut h = String::new();
    let cards: Vec<String> = vec![
        "SIMPLE  =                    T".into(),
        "BITPIX  =                    8".into(),
        "NAXIS   =                    0".into(),
        "EXTEND  =                    T".into(),
        "END".into(),
    ];
    let block = |cards: &[String]| {
        let mut s: String = cards.iter().map(|c| format!("{c:<80}")).collect();
        while !s.len().is_multiple_of(2880) {
            s.push(' ');
        }
        s
    };
    h.push_str(&block(&cards));
    let ext: Vec<String> = vec![
        "XTENSION= 'BINTABLE'".into(),
        "BITPIX  =                    8".into(),
        "NAXIS   =                    2".into(),
        "NAXIS1  =                   16".into(),
        format!("NAXIS2  = {rows:>20}"),
        "PCOUNT  =                    0".into(),
        "GCOUNT  =                    1".into(),
        "TFIELDS =                    2".into(),
        "TTYPE1  = 'T       '".into(),
        "TFORM1  = 'D       '".into(),
        "TTYPE2  = 'XY      '".into(),
        "TFORM2  = '2E      '".into(),
        "EXTNAME = 'EVENTS  '".into(),
        "END".into(),
    ];
    h.push_str(&block(&ext));
    let data = rows * 16;
    let f = std::fs::File::create(path).unwrap();
    nd_core::io::write_all_at(&f, h.as_bytes(), 0).unwrap();
    f.set_len(h.len() as u64 + data.div_ceil(2880) * 2880)
        .unwrap();
    for r in (0..rows).step_by(997) {
        let mut row = (r as f64).to_be_bytes().to_vec();
        row.extend((r as f32).to_be_bytes());
        row.extend((-(r as f32)).to_be_bytes());
        nd_core::io::write_all_at(&f, &row, h.len() as u64 + r * 16).unwrap();
    }
}

/// A table four times the budget converts to Zarr, to ASDF and to FITS (from FITS and from the
/// Zarr copy) column by column, a block of rows at a time; the values are kept (checked on the
/// marker rows through `nd export`).
#[test]
fn table_convert_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("events.fits");
    let rows = 8u64 << 20;
    big_table(&src, rows);
    for dst in [
        "events.zarr",
        "events.asdf",
        "events.out.fits",
        "zarr.out.fits",
    ] {
        let out = tmp.path().join(dst);
        let from = if dst == "zarr.out.fits" {
            tmp.path().join("events.zarr")
        } else {
            src.clone()
        };
        let what = format!(
            "{} table -> {dst}",
            if dst == "zarr.out.fits" {
                "Zarr"
            } else {
                "FITS"
            }
        );
        convert_within_budget(&from, &out, &[], &what);
        for (col, sel) in [("T", "EVENTS/T"), ("XY", "EVENTS/XY")] {
            let npy = tmp.path().join(format!("{col}.npy"));
            let r = 997 * 4000;
            let region = format!("{r}:{}", r + 2);
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_nd"))
                .args(["export", out.to_str().unwrap(), sel, "-o"])
                .arg(&npy)
                .args(["--region", &region])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let b = std::fs::read(&npy).unwrap();
            let body = &b[b.len() - 16..];
            let want: Vec<u8> = if col == "T" {
                [(r as f64).to_le_bytes(), 0f64.to_le_bytes()].concat()
            } else {
                [
                    (r as f32).to_le_bytes(),
                    (-(r as f32)).to_le_bytes(),
                    0f32.to_le_bytes(),
                    0f32.to_le_bytes(),
                ]
                .concat()
            };
            assert_eq!(body, &want[..], "{dst} {col} rows {region}");
        }
    }
}

/// `nd diff` of two images, each four times its budget, streams them slab by slab: its peak
/// anonymous memory stays within the budget plus the fixed overhead, and it finds the one value
/// that differs.
#[test]
fn diff_larger_than_budget_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.fits"), tmp.path().join("b.fits"));
    big_fits(&a, ROWS, COLS);
    std::fs::copy(&a, &b).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&b).unwrap();
    // one value in the middle of the image: row 3000, column 5000
    let at = 2880 + (3000 * COLS + 5000) * 4;
    nd_core::io::write_all_at(&f, &7.5f32.to_be_bytes(), at).unwrap();
    drop(f);
    let budget = BUDGET_MIB.to_string();
    let (code, peak, err) = run_sampled(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--budget-mib",
        &budget,
        "-q",
    ]);
    assert_eq!(code, 1, "{err}");
    println!(
        "nd diff, 2 x 128 MiB of values, budget {BUDGET_MIB} MiB: peak RssAnon {} MiB",
        peak >> 20
    );
    assert!(
        peak <= (BUDGET_MIB << 20) + OVERHEAD,
        "peak anonymous memory {} MiB",
        peak >> 20
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nd"))
        .args(["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &j["units"][0]["data"];
    assert_eq!(d["total"], 1);
    assert_eq!(d["first"][0]["index"], serde_json::json!([3000, 5000]));
}

/// A FITS float32 cube of `planes` x `rows` x `cols` pseudo-random values (a few NaNs, a few
/// outliers), written row by row.
fn noisy_cube(path: &Path, planes: u64, rows: u64, cols: u64) {
    let mut h = String::new();
    for (k, v) in [("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "3")] {
        h.push_str(&format!("{k:<8}= {v:>20}{}", " ".repeat(50)));
    }
    for (k, v) in [("NAXIS1", cols), ("NAXIS2", rows), ("NAXIS3", planes)] {
        h.push_str(&format!("{k:<8}= {v:>20}{}", " ".repeat(50)));
    }
    h.push_str(&format!("{:<80}", "END"));
    while !h.len().is_multiple_of(2880) {
        h.push(' ');
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(h.as_bytes()).unwrap();
    let mut x = 0x9E3779B97F4A7C15u64;
    let n = planes * rows * cols;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 40) as f32 / (1u64 << 24) as f32;
        let v = match i % 10007 {
            0 => f32::NAN,
            1 => 1e6,
            _ => 100.0 + 20.0 * (u - 0.5),
        };
        f.write_all(&v.to_be_bytes()).unwrap();
    }
    let pad = (n * 4).div_ceil(2880) * 2880 - n * 4;
    f.write_all(&vec![0u8; pad as usize]).unwrap();
    f.flush().unwrap();
}

/// Run `nd ARGS`: its standard output.
fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nd"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Median, percentiles, sigma clipping and a histogram of a cube twice the budget stay within
/// the budget, and equal what the same statistics give when the whole cube fits in the budget
/// (selection in memory): the out-of-core passes are exact (sums, in another order, within
/// rounding).
#[test]
fn order_statistics_larger_than_budget_stay_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("cube.fits");
    noisy_cube(&src, 16, 1024, 1024); // 64 MiB
    let s = src.to_str().unwrap();
    let b = BUDGET_MIB.to_string();
    let what = [
        "--median",
        "--percentile",
        "1,99.9",
        "--sigma-clip",
        "--hist",
        "50",
        "--json",
    ];
    let with_budget = |mib: &str| {
        let mut a = vec!["stat", s, "0", "--budget-mib"];
        a.push(mib);
        a.extend_from_slice(&what);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let small = with_budget(&b);
    let small: Vec<&str> = small.iter().map(String::as_str).collect();
    let (code, peak, err) = run_sampled(&small);
    assert_eq!(code, 0, "{err}");
    println!(
        "stat --median etc., 64 MiB of values, budget {BUDGET_MIB} MiB: peak RssAnon {} MiB",
        peak >> 20
    );
    assert!(
        peak <= (BUDGET_MIB << 20) + OVERHEAD,
        "peak anonymous memory {} MiB",
        peak >> 20
    );
    let json = |mib: &str| -> serde_json::Value {
        let a = with_budget(mib);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        serde_json::from_str(&stdout_of(&a)).unwrap()
    };
    // 8 MiB: more passes than 32; 2048: every value selected in memory
    let (got, want) = (json("8"), json("2048"));
    for k in [
        "median",
        "percentiles",
        "histogram",
        "count",
        "nan_count",
        "min",
        "max",
    ] {
        assert_eq!(got[k], want[k], "{k}");
    }
    for k in ["median", "count", "rejected", "iterations"] {
        assert_eq!(
            got["sigma_clipped"][k], want["sigma_clipped"][k],
            "sigma_clipped {k}"
        );
    }
    for (g, w) in [
        (&got["sigma_clipped"]["std"], &want["sigma_clipped"]["std"]),
        (&got["mean"], &want["mean"]),
    ] {
        let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-9 * w.abs(), "{g} vs {w}");
    }
    let m = got["median"].as_f64().unwrap();
    assert!((m - 100.0).abs() < 0.1, "{m}");
    // the outliers (1e6) are clipped, the NaNs rejected
    assert!(got["sigma_clipped"]["rejected"].as_u64().unwrap() >= 2 * (16 << 20) / 10007);
    // along axis 0: the median image (8 MiB of output beside the budget)
    let out = tmp.path().join("med.npy");
    let o = out.to_str().unwrap();
    let (code, peak, err) = run_sampled(&[
        "stat",
        s,
        "0",
        "--axis",
        "0",
        "--stat",
        "median",
        "-o",
        o,
        "--budget-mib",
        &b,
    ]);
    assert_eq!(code, 0, "{err}");
    println!(
        "stat --axis 0 --stat median, budget {BUDGET_MIB} MiB: peak RssAnon {} MiB",
        peak >> 20
    );
    assert!(
        peak <= (BUDGET_MIB << 20) + (16 << 20) + OVERHEAD,
        "peak anonymous memory {} MiB",
        peak >> 20
    );
}
