//! Writes that run out of space (a 6 MiB tmpfs, mounted by the test) fail with exit 2 and a
//! message naming the cause, and leave nothing on the full file system: no destination that
//! could look complete, no temporary output. Needs root and tmpfs (Linux); elsewhere it prints
//! why it did not run.

#![cfg(target_os = "linux")]

mod common;
use common::{arg, cube_fits, nd};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("cube.fits");
    cube_fits(&src); // 32 MiB
    let disk = match Tmpfs::mount(&tmp.path().join("disk"), 6) {
        Ok(d) => d,
        Err(why) => {
            println!("full-disk test NOT RUN: cannot mount a small tmpfs here ({why})");
            return;
        }
    };
    let cases: [(&str, &[&str]); 6] = [
        ("convert", &["out.zarr", "--compressor", "none"]),
        (
            "convert",
            &["out3.zarr", "--zarr-format", "3", "--compressor", "none"],
        ),
        ("convert", &["out.fits"]),
        ("convert", &["out.asdf"]),
        (
            "convert",
            &["rice.fits", "--compressor", "gzip_1:lossless:1"],
        ),
        ("export", &["out.npy"]),
    ];
    for (cmd, rest) in cases {
        let dst = disk.0.join(rest[0]);
        let mut args = vec![cmd, arg(&src)];
        if cmd == "export" {
            args.extend(["0", "-o", arg(&dst)]);
        } else {
            args.push(arg(&dst));
            args.extend_from_slice(&rest[1..]);
            args.push("-q");
        }
        let o = nd(&args);
        assert_eq!(o.code, 2, "nd {args:?}: {}", o.stderr);
        assert!(
            o.stderr.contains("No space left on device"),
            "nd {args:?}: {}",
            o.stderr
        );
        let left: Vec<_> = std::fs::read_dir(&disk.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "nd {args:?} left {left:?}");
        println!(
            "nd {}: exit 2, nothing left: {}",
            args.join(" "),
            o.stderr.trim()
        );
    }
}
