//! `nd stat` and `nd tree` as a user meets them: the examples of their `--help` (the same lines
//! as the README's) run, and the statistics a newcomer asked for work as documented.

mod common;
use common::*;
use serde_json::Value;

/// The `nd …` example lines of a help text or a README section.
fn examples(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("nd "))
        .map(|l| l.split("  #").next().unwrap_or(l).trim().to_string())
        .collect()
}

/// Run one example line (no quoting in them) in `dir`, the test data where it says `testdata/`.
fn run_example(line: &str, dir: &std::path::Path) -> Out {
    let data = root();
    let args: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|w| match w.strip_prefix("testdata/") {
            Some(rest) => data.join(rest).to_str().unwrap().to_string(),
            None if w.ends_with(".npy") || w.ends_with(".csv") => {
                dir.join(w).to_str().unwrap().to_string()
            }
            None => w.to_string(),
        })
        .collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    nd(&a)
}

#[test]
fn help_and_readme_examples_run() {
    let readme = std::fs::read_to_string(root().join("../README.md")).unwrap();
    let section = readme
        .split("## Statistics and structure")
        .nth(1)
        .expect("README section")
        .split("\n## ")
        .next()
        .unwrap();
    let in_readme = examples(section);
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for cmd in ["stat", "tree"] {
        let help = ok(&[cmd, "--help"]).stdout;
        for line in examples(&help) {
            assert!(in_readme.contains(&line), "README lacks `{line}`");
            let o = run_example(&line, tmp.path());
            assert_eq!(o.code, 0, "{line}: {}", o.stderr);
            assert!(
                !o.stdout.is_empty() || line.contains(" -o "),
                "{line}: no output"
            );
            n += 1;
        }
    }
    assert_eq!(n, in_readme.len(), "every README example is a help example");
    // the files they write are what numpy would load
    assert!(tmp.path().join("median.npy").exists() && tmp.path().join("max.csv").exists());
}

/// `--stat NAME` without `--axis` was silently ignored: it now prints that statistic alone.
#[test]
fn stat_without_axis_prints_the_statistic_asked_for() {
    let f = root().join("fits/gen/dim3.fits");
    let mean = ok(&["stat", arg(&f), "0", "--stat", "mean"]).stdout;
    assert_eq!(mean.trim(), "29.75");
    let j: Value =
        serde_json::from_str(&ok(&["stat", arg(&f), "0", "--stat", "median", "--json"]).stdout)
            .unwrap();
    assert_eq!(j["median"], 29.75);
    let bad = nd(&["stat", arg(&f), "0", "--stat", "average"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown statistic 'average'"),
        "{}",
        bad.stderr
    );
    // -o without --axis is refused, not ignored
    assert_eq!(nd(&["stat", arg(&f), "0", "-o", "x.npy"]).code, 2);
}

/// `stat --axis` writes to standard output with `-o -` (an .npy, or CSV with --format csv); with
/// no `-o` the message says how; `--json` cannot share standard output with the array.
#[test]
fn stat_axis_writes_to_standard_output() {
    let f = root().join("fits/gen/dim3.fits");
    let o = ok(&[
        "stat",
        arg(&f),
        "0",
        "--axis",
        "1,2",
        "--stat",
        "mean",
        "-o",
        "-",
    ]);
    assert!(o.stdout_bytes.starts_with(b"\x93NUMPY"));
    let o = ok(&[
        "stat",
        arg(&f),
        "0",
        "--axis",
        "1,2",
        "--stat",
        "median",
        "-o",
        "-",
        "--format",
        "csv",
    ]);
    // numpy: np.nanmedian(d, axis=(1, 2)) of dim3 (4 x 5 x 6, values 0..59.5 by 0.5)
    assert_eq!(o.stdout.trim(), "7.25,22.25,37.25,52.25");
    let none = nd(&["stat", arg(&f), "0", "--axis", "0"]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("-o -"), "{}", none.stderr);
    let both = nd(&["stat", arg(&f), "0", "--axis", "0", "-o", "-", "--json"]);
    assert_eq!(both.code, 2);
    assert!(both.stdout.is_empty());
}

/// The whole-array extras agree with numpy on a small cube (dim3: 0, 0.5, …, 59.5).
#[test]
fn median_percentiles_histogram_sigma_clip() {
    let f = root().join("fits/gen/dim3.fits");
    let o = ok(&[
        "stat",
        arg(&f),
        "0",
        "--median",
        "--percentile",
        "5,95",
        "--sigma-clip",
        "--hist",
        "4",
        "--json",
    ]);
    let j: Value = serde_json::from_str(&o.stdout).unwrap();
    // np.nanmedian, np.nanpercentile(d, [5, 95]), np.histogram(d, 4), sigma_clipped_stats(d)
    assert_eq!(j["median"], 29.75);
    assert_eq!(j["percentiles"]["5"], 2.975);
    assert_eq!(j["percentiles"]["95"], 56.525);
    assert_eq!(
        j["histogram"]["counts"],
        serde_json::json!([30, 30, 30, 30])
    );
    assert_eq!(
        j["histogram"]["edges"],
        serde_json::json!([0.0, 14.875, 29.75, 44.625, 59.5])
    );
    assert_eq!(j["sigma_clipped"]["median"], 29.75);
    assert_eq!(j["sigma_clipped"]["iterations"], 1);
    assert_eq!(j["sigma_clipped"]["rejected"], 0);
    let bad = nd(&["stat", arg(&f), "0", "--hist", "4", "--range", "5,1"]);
    assert_eq!(bad.code, 2);
    let t = nd(&[
        "--threads",
        "1",
        "stat",
        arg(&f),
        "0",
        "--axis",
        "0",
        "--stat",
        "p50",
        "-o",
        "-",
        "--format",
        "csv",
    ]);
    let u = ok(&[
        "--threads",
        "2",
        "stat",
        arg(&f),
        "0",
        "--axis",
        "0",
        "--stat",
        "median",
        "-o",
        "-",
        "--format",
        "csv",
    ]);
    assert_eq!(t.stdout, u.stdout);
}

#[test]
fn tree_paths_depth_and_json() {
    let f = root().join("zarr/hier.zarr");
    let o = ok(&["tree", arg(&f), "--path", "g1/g2"]);
    assert_eq!(
        o.stdout,
        "g2 (group)\n├─@level: 2\n└─deep (array): [8] |S3 chunks [3]\n"
    );
    let j: Value = serde_json::from_str(&ok(&["tree", arg(&f), "--json"]).stdout).unwrap();
    assert_eq!(
        j["children"][1]["children"][1]["children"][0]["path"],
        "g1/g2/deep"
    );
    let missing = nd(&["tree", arg(&f), "--path", "nope"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no node at path 'nope'"));
    let a = root().join("asdf/py/tags.asdf");
    let o = ok(&["tree", arg(&a), "--max-depth", "0"]);
    assert_eq!(o.stdout, "root (AsdfObject)\n└─… (4 more)\n");
    let info: Value = serde_json::from_str(&ok(&["info", "--json", arg(&a)]).stdout).unwrap();
    assert_eq!(
        info["tree"]["children"][0]["tag"],
        "tag:stsci.edu:asdf/core/complex-1.0.0"
    );
}
