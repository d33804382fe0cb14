//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay tests.
//! Each function must never panic, whatever the input.

/// Parse an `.npy` stream and, if it parses, write it back and read it again.
pub fn npy(data: &[u8]) {
    if let Ok(a) = crate::npy::read_npy_bytes(data) {
        let mut v = Vec::new();
        if crate::npy::write_npy_to(&mut v, &a).is_ok() {
            let b = crate::npy::read_npy_bytes(&v).ok();
            assert!(b.is_some_and(|b| b.bytes() == a.bytes()), "npy round trip");
        }
    }
}

/// Replay every file of `fuzz/corpus/<target>` (relative to the workspace root) through `f`.
/// Returns the number of inputs replayed. Used by each crate's corpus test.
pub fn replay_corpus(target: &str, f: impl Fn(&[u8])) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(&root) {
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                f(&bytes);
                n += 1;
            }
        }
    }
    n
}
