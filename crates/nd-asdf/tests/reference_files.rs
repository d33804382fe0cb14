//! Every array of every asdf-standard reference file, compared with what python asdf returns.
mod common;
use common::*;
use nd_asdf::AsdfFile;

#[test]
fn all_reference_files_read_like_python_asdf() {
    let root = testdata().join("asdf-standard");
    let exp = testdata().join("asdf/expected");
    let mut files = 0;
    let mut arrays = 0;
    let mut versions: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    for v in &versions {
        let ver = v.file_name().unwrap().to_str().unwrap().to_string();
        let mut names: Vec<_> = std::fs::read_dir(v)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            if !name.ends_with(".asdf") || name == "exploded0000.asdf" {
                continue;
            }
            let f = AsdfFile::open(&p).unwrap_or_else(|e| panic!("{ver}/{name}: {e}"));
            let stem = name.trim_end_matches(".asdf");
            arrays += compare_expected(&f, &exp.join(&ver).join(stem), &format!("{ver}/{name}"));
            files += 1;
        }
    }
    eprintln!("{files} files, {arrays} arrays compared");
    assert_eq!(versions.len(), 7);
    assert!(files >= 7 * 15, "{files} files");
    assert!(arrays > 100, "{arrays} arrays");
}
