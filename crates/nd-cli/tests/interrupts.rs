//! `nd` stopped at random points by SIGINT, SIGTERM and SIGKILL, for every output format: a
//! destination exists only when it is complete (its values are all there), SIGINT/SIGTERM leave
//! no temporary output and exit 130/143, SIGKILL leaves at most `.NAME.nd-tmp-*` beside the
//! destination, which a later run reports and `nd clean` removes.

#![cfg(unix)]

mod common;
use common::{arg, cube_fits, nd, ok};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tiny deterministic generator for the kill times (the seed is printed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Names in `dir` that are nd temporary outputs.
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".nd-tmp-"))
        .collect()
}

/// The sum of the destination's values, as `nd stat` reads them (its one array).
fn sum_of(dst: &Path, selector: &str) -> f64 {
    let o = ok(&["stat", arg(dst), selector, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    v["sum"].as_f64().unwrap()
}

#[test]
fn interrupted_writes_leave_complete_outputs_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.fits");
    let want = cube_fits(&src);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill-time seed {seed}");
    let mut rng = Lcg(seed);
    // (destination, extra arguments, how to read it back)
    let targets: [(&str, &[&str], &str); 4] = [
        (
            "out.zarr",
            &["--compressor", "zstd:1", "--chunks", "4,256,256"],
            "/",
        ),
        ("out.fits", &[], "0"),
        ("out.asdf", &["--compressor", "zstd:1"], "data"),
        ("out.npy", &[], ""),
    ];
    let started = Instant::now();
    let mut interrupted = 0;
    for (name, extra, selector) in targets {
        let dst = dir.path().join(name);
        let args: Vec<&str> = if name.ends_with(".npy") {
            vec!["export", arg(&src), "0", "-o", arg(&dst)]
        } else {
            let mut a = vec![
                "convert",
                arg(&src),
                arg(&dst),
                "--array",
                "0",
                "-q",
                "--force",
            ];
            a.extend_from_slice(extra);
            a
        };
        // one uninterrupted run: how long a run takes, and that it is right
        let t = Instant::now();
        ok(&args);
        let full = t.elapsed();
        let check = |what: &str| {
            if name.ends_with(".npy") {
                let a = nd_core::npy::read_npy(&dst).unwrap();
                let s: f64 = a
                    .as_slice::<f32>()
                    .unwrap()
                    .iter()
                    .map(|&v| f64::from(v))
                    .sum();
                assert_eq!(s, want, "{what}");
            } else {
                assert_eq!(sum_of(&dst, selector), want, "{what}");
            }
        };
        check(&format!("{name}: uninterrupted"));
        for round in 0..3 {
            for (sig, code) in [
                (libc::SIGINT, 130),
                (libc::SIGTERM, 143),
                (libc::SIGKILL, -1),
            ] {
                if !name.ends_with(".npy") {
                    std::fs::remove_dir_all(&dst)
                        .or_else(|_| std::fs::remove_file(&dst))
                        .ok();
                } else {
                    std::fs::remove_file(&dst).ok();
                }
                let delay = full.mul_f64(rng.next() * 1.2);
                let mut child = Command::new(env!("CARGO_BIN_EXE_nd"))
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                std::thread::sleep(delay);
                // SAFETY: sending a signal to our own child process.
                unsafe { libc::kill(child.id() as libc::pid_t, sig) };
                let status = child.wait().unwrap();
                let what = format!("{name}: signal {sig} after {delay:?} (round {round})");
                let exit = status.code();
                let finished = exit == Some(0);
                if !finished {
                    interrupted += 1;
                    // a signal in the first milliseconds, before nd routes signals to its cleanup
                    // thread, ends it by the default action: nothing was written yet (checked
                    // below: no destination, no temporary output)
                    use std::os::unix::process::ExitStatusExt;
                    let before_handler = exit.is_none() && status.signal() == Some(sig);
                    if code > 0 && !before_handler {
                        assert_eq!(exit, Some(code), "{what}: exit status");
                    }
                }
                if dst.exists() {
                    check(&format!("{what}: a destination that exists is complete"));
                } else {
                    assert!(!finished, "{what}: exit 0 without a destination");
                }
                let left = temps(dir.path());
                if sig == libc::SIGKILL {
                    // a later run reports what was left, and `nd clean` removes it
                    if !left.is_empty() {
                        let o = nd(&args);
                        assert!(
                            o.stderr.contains("left by an interrupted nd run"),
                            "{what}: {}",
                            o.stderr
                        );
                        ok(&["clean", arg(dir.path())]);
                    }
                    assert!(
                        temps(dir.path()).is_empty(),
                        "{what}: nd clean left {:?}",
                        temps(dir.path())
                    );
                } else {
                    assert!(left.is_empty(), "{what}: left {left:?}");
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the interrupt test is taking too long"
        );
    }
    println!("{interrupted} runs interrupted before completion");
    assert!(
        interrupted >= 12,
        "too few runs were interrupted ({interrupted}) to test anything"
    );
}
