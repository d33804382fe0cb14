//! Removing this process's live temporary outputs (what `nd` does on SIGINT/SIGTERM) and finding
//! those of processes that are gone. Its own test binary: the registry is process-wide, so no
//! other test may be writing at the same time.

use nd_core::io::{remove_live_temps, stale_temps, stale_temps_of, TempDir, TempFile};

#[test]
fn live_temps_are_removed_and_stale_ones_found() {
    let dir = tempfile::tempdir().unwrap();
    let t = TempFile::create(dir.path().join("a.fits")).unwrap();
    let d = TempDir::new(dir.path().join("b.zarr")).unwrap();
    std::fs::write(d.path().join("x"), b"1").unwrap();
    assert_eq!(remove_live_temps(), 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    drop((t, d));
    // a leftover of a process that is gone (a pid above any pid_max), and one of ours
    let gone = dir.path().join(".c.zarr.nd-tmp-4294967294-0");
    std::fs::create_dir(&gone).unwrap();
    let _mine = TempFile::create(dir.path().join("d.npy")).unwrap();
    assert_eq!(stale_temps(dir.path()).unwrap(), vec![gone.clone()]);
    assert_eq!(stale_temps_of(&dir.path().join("c.zarr")), vec![gone]);
    assert!(stale_temps_of(&dir.path().join("d.npy")).is_empty());
}
