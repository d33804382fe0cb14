//! What every test of the `nd` binary needs: the testdata root and running `nd` with a time limit.
#![allow(dead_code)] // each test crate uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    /// Standard output as bytes (an `.npy` written to `-o -`).
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

/// Run `nd` with a time limit (a hang is a failure). Its output is read while it runs, so a
/// large output cannot block it on a full pipe.
pub fn nd(args: &[&str]) -> Out {
    let child = Command::new(env!("CARGO_BIN_EXE_nd"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nd");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let o = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(o) => o.expect("output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("nd {args:?} did not finish within 60 s");
        }
    };
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stdout_bytes: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Run `nd`, sampling its RssAnon from /proc (Linux) until it exits; returns (exit code, peak RssAnon in bytes, stderr).
pub fn run_sampled(args: &[&str]) -> (i32, u64, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nd"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let start = Instant::now();
    let mut peak = 0u64;
    loop {
        // Until the child has exec'ed `nd` it is a fork of this test process, whose anonymous
        // memory (other tests' inputs) is not nd's: count only samples taken after the exec.
        if let Some(s) = std::fs::read_to_string(&status_path)
            .ok()
            .filter(|s| s.lines().next() == Some("Name:\tnd"))
        {
            for l in s.lines() {
                if let Some(v) = l.strip_prefix("RssAnon:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kb * 1024);
                }
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "nd {args:?} took over 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        peak,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn ok(args: &[&str]) -> Out {
    let o = nd(args);
    assert_eq!(o.code, 0, "nd {args:?} failed: {}", o.stderr);
    o
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 32 MiB float32 FITS cube (32 x 512 x 512) whose value at linear index i is i % 1000; its sum.
pub fn cube_fits(path: &Path) -> f64 {
    let (nz, ny, nx) = (32usize, 512usize, 512usize);
    let mut header = String::new();
    for card in [
        "SIMPLE  =                    T".to_string(),
        "BITPIX  =                  -32".to_string(),
        "NAXIS   =                    3".to_string(),
        format!("NAXIS1  = {nx:>20}"),
        format!("NAXIS2  = {ny:>20}"),
        format!("NAXIS3  = {nz:>20}"),
        "END".to_string(),
    ] {
        header.push_str(&format!("{card:<80}"));
    }
    let mut bytes = header.into_bytes();
    bytes.resize(2880, b' ');
    let n = nx * ny * nz;
    let mut sum = 0f64;
    for i in 0..n {
        let v = (i % 1000) as f32;
        sum += f64::from(v);
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
    std::fs::write(path, bytes).unwrap();
    sum
}
