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

/// The shape of a region fuzz input (first byte: the number of axes, 0 to 4; then two bytes
/// per axis, an axis length; 0xffff stands for a length near `i64::MAX`) and the rest.
pub fn shape_prefix(data: &[u8]) -> (Vec<u64>, &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let ndim = (sel % 5) as usize;
    let (dims, rest) = rest.split_at(rest.len().min(2 * ndim));
    let shape = dims
        .chunks(2)
        .map(|c| {
            let v = c.iter().fold(0u64, |a, &b| (a << 8) | b as u64);
            if v == 0xffff {
                i64::MAX as u64 - 1
            } else {
                v
            }
        })
        .collect();
    (shape, rest)
}

/// Region / selection text (`[1:10,::2]` without the brackets, numpy order) parsed against a
/// shape ([`shape_prefix`]): an accepted selection has one entry per axis, takes only indices
/// inside each axis, and [`crate::Region::parse`] accepts exactly the selections that are boxes.
pub fn selection(data: &[u8]) {
    let (shape, text) = shape_prefix(data);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let region = crate::Region::parse(text, &shape);
    match crate::Selection::parse(text, &shape) {
        Ok(sel) => {
            check_selection(&sel, &shape);
            for (a, &n) in sel.axes.iter().zip(&shape) {
                if let crate::AxisSelection::Slice { start, step, len } = *a {
                    // text selections never make an empty slice (an empty range is a box)
                    assert!(len >= 1 && start < n, "{a:?} on an axis of {n}");
                    let last = start as i128 + (len as i128 - 1) * step as i128;
                    assert!((0..n as i128).contains(&last), "{a:?}: last index {last}");
                }
            }
            match region {
                Ok(r) => {
                    assert!(sel.is_box(), "a region with steps");
                    assert_eq!(r, sel.bounding_region(), "region vs selection");
                }
                Err(_) => assert!(!sel.is_box(), "a box selection refused as a region"),
            }
        }
        Err(_) => assert!(region.is_err(), "a region accepted, its selection refused"),
    }
}

/// The invariants of any parsed selection on an array of `shape`: one entry per axis, every
/// entry within its axis.
pub fn check_selection(sel: &crate::Selection, shape: &[u64]) {
    assert_eq!(sel.axes.len(), shape.len(), "one entry per axis");
    for (a, &n) in sel.axes.iter().zip(shape) {
        let b = a.bounds();
        assert!(
            b.start <= b.end && b.end <= n,
            "{a:?} outside an axis of {n}"
        );
    }
    let _ = sel.shape();
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
