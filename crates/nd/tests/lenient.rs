//! Files the reference libraries open although one of their arrays is broken (cases of the
//! differential fuzzing, spec-notes/differential.md): nd lists the other arrays, names the broken
//! one in a warning, and refuses only that array.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// ASDF: python asdf opens a file whose ndarray points at a block that does not exist, leaving
/// that node unconverted (AsdfConversionWarning); the other arrays read.
#[test]
fn asdf_array_with_a_missing_block_is_left_out_with_a_warning() {
    let raw = std::fs::read(root().join("asdf/py/index_absent.asdf")).unwrap();
    let text = b"  source: 2\n";
    let at = raw.windows(text.len()).position(|w| w == text).unwrap();
    let mut b = raw.clone();
    b[at..at + text.len()].copy_from_slice(b"  source: 9\n"); // same length: blocks stay put
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("missing_block.asdf");
    std::fs::write(&path, b).unwrap();
    let ds = nd::open(path.to_str().unwrap()).unwrap();
    let listed: Vec<String> = ds.arrays().unwrap().into_iter().map(|a| a.path).collect();
    assert_eq!(listed, ["a0", "a1", "a3"]);
    let w = ds.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("'a2'") && w.contains("not listed")),
        "{w:?}"
    );
    assert!(ds.array("a2").is_err());
    let good = nd::open(root().join("asdf/py/index_absent.asdf").to_str().unwrap()).unwrap();
    assert_eq!(good.arrays().unwrap().len(), 4);
    assert!(good.warnings().is_empty());
}

/// FITS: a table whose TFIELDS was damaged to 2^31 (a differential fuzzing case that made
/// `nd info --json` loop over two billion columns): the tree is built at once.
#[test]
fn fits_table_with_a_huge_tfields_builds_its_tree_at_once() {
    let raw = std::fs::read(root().join("fits/gen/bt_all.fits")).unwrap();
    let at = raw
        .chunks(80)
        .position(|c| c.starts_with(b"TFIELDS "))
        .unwrap()
        * 80;
    let mut b = raw.clone();
    b[at..at + 30].copy_from_slice(format!("TFIELDS = {:>20}", 1u64 << 31).as_bytes());
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("tfields.fits");
    std::fs::write(&path, b).unwrap();
    let ds = nd::open(path.to_str().unwrap()).unwrap();
    let start = std::time::Instant::now();
    let tree = ds.tree().unwrap();
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    assert!(!tree.children.is_empty());
}

/// FITS: `warnings_so_far` gives at open what the block scan found (an irregular END, a data
/// unit cut short) without parsing cards; a card's fix comes once the header is parsed, and
/// `warnings` (which parses every header read) has it at once.
#[test]
fn fits_card_fixes_come_when_the_header_is_parsed() {
    let path = root().join("fits/defects/broken_bad_value.fits");
    let ds = nd::open(path.to_str().unwrap()).unwrap();
    assert!(
        ds.warnings_so_far().is_empty(),
        "{:?}",
        ds.warnings_so_far()
    );
    ds.metadata().unwrap();
    let after = ds.warnings_so_far();
    assert!(
        after
            .iter()
            .any(|w| w.contains("unparsable value for 'BADVAL'")),
        "{after:?}"
    );
    let fresh = nd::open(path.to_str().unwrap()).unwrap();
    assert_eq!(fresh.warnings(), after);
    for (name, what) in [
        ("broken_end_chars.fits", "irregular END card"),
        ("lenient_trunc_image.fits", "may have been truncated"),
    ] {
        let ds = nd::open(root().join("fits/defects").join(name).to_str().unwrap()).unwrap();
        let w = ds.warnings_so_far();
        assert!(w.iter().any(|w| w.contains(what)), "{name}: {w:?}");
    }
}

/// A BLANK astropy ignores (on floating-point data; not an integer) is read past with
/// astropy's warning, at open (astropy 8.0.2's words, as `fits.open` gives them; the Python
/// tests compare with astropy itself).
#[test]
fn fits_ignored_blank_warns_at_open_as_astropy() {
    let on_float = "HDU 0: Invalid 'BLANK' keyword in header.  The 'BLANK' keyword is only \
                    applicable to integer data, and will be ignored in this HDU.";
    let not_int = "HDU 0: Invalid value for 'BLANK' keyword in header: '-1' The 'BLANK' keyword \
                   must be an integer.  It will be ignored in the meantime.";
    for (name, want) in [
        ("broken_blank_float.fits", on_float),
        ("broken_blank_string.fits", not_int),
    ] {
        let ds = nd::open(root().join("fits/defects").join(name).to_str().unwrap()).unwrap();
        assert_eq!(ds.warnings_so_far(), vec![want.to_string()], "{name}");
        assert!(ds.warnings().contains(&want.to_string()), "{name}");
    }
    let ok = nd::open(root().join("fits/astropy/arange.fits").to_str().unwrap()).unwrap();
    assert!(ok.warnings().is_empty(), "{:?}", ok.warnings());
}
