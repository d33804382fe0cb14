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

/// Run `nd` with a time limit (a hang is a failure).
pub fn nd(args: &[&str]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nd"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nd");
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("nd {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = child.wait_with_output().expect("output");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stdout_bytes: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
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
