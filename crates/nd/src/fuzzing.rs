//! Entry points for the cargo-fuzz targets of the facade (`fuzz/fuzz_targets/extended_name.rs`)
//! and the corpus replay test. Never panic but on a broken invariant.

use crate::extended::{file_part, ExtendedName};

/// cfitsio extended filename text (`f.fits[SCI,2][1:10:2,*]`, also on URLs) after a shape
/// prefix ([`nd_core::fuzzing::shape_prefix`]): an accepted name is its path followed by its
/// brackets, and a section accepted for the shape takes only pixels inside each axis (and at
/// least one: only a whole empty axis, without a section, selects none).
pub fn extended_name(data: &[u8]) {
    let (shape, text) = nd_core::fuzzing::shape_prefix(data);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(Some(x)) = ExtendedName::parse(text) else {
        return;
    };
    assert!(!x.path.is_empty(), "{text:?}: an empty path");
    assert_eq!(format!("{}{}", x.path, x.brackets), text, "path + brackets");
    assert_eq!(file_part(text), x.path, "file_part");
    if let Ok(sel) = x.selection(&shape) {
        nd_core::fuzzing::check_selection(&sel, &shape);
        for a in &sel.axes {
            let b = a.bounds();
            if x.section.is_some() {
                assert!(b.start < b.end, "{a:?}: a section selecting nothing");
            }
        }
    }
}
