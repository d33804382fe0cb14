//! `nd::OpenOptions::limits` reaches the format crates: a file over a lowered limit is refused,
//! naming the limit and where; the defaults open it.
use nd::{Limits, OpenOptions};

fn testdata(rel: &str) -> String {
    format!("{}/../../testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn fits_gz_over_the_decompressed_limit_is_refused() {
    let p = testdata("fits/gen/many_ext.fits.gz");
    OpenOptions::new().open(&p).unwrap();
    let small = Limits {
        decompressed_bytes: 2880,
        ..Limits::default()
    };
    let e = OpenOptions::new().limits(small).open(&p).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, nd::Error::Input(_)), "{e:?}");
    assert!(
        msg.contains("many_ext.fits.gz")
            && msg.contains("over the limit decompressed_bytes = 2880"),
        "{msg}"
    );
}

#[test]
fn asdf_blocks_over_the_limit_are_refused() {
    let p = testdata("asdf/py/compressed_zlib.asdf");
    OpenOptions::new().open(&p).unwrap();
    let none = Limits {
        blocks: 0,
        ..Limits::default()
    };
    let msg = OpenOptions::new()
        .limits(none)
        .open(&p)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("over the limit blocks = 0") && msg.contains("block 0 at byte"),
        "{msg}"
    );
}

#[test]
fn zarr_chunks_over_the_limit_are_refused() {
    // v2 (`hier.zarr`: g1/arr) and v3 stores: the defaults open them, a limit below their chunks
    // names the array's metadata key
    for (rel, key) in [
        ("zarr/hier.zarr", ".zarray"),
        ("zarr/v3/stores", "zarr.json"),
    ] {
        let dir = testdata(rel);
        let store = if rel.ends_with("stores") {
            // the first v3 store of the fixtures
            let mut stores: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.join("zarr.json").is_file())
                .collect();
            stores.sort();
            stores[0].to_str().unwrap().to_string()
        } else {
            dir
        };
        OpenOptions::new().open(&store).unwrap();
        let tiny = Limits {
            chunk_bytes: 1,
            ..Limits::default()
        };
        let msg = OpenOptions::new()
            .limits(tiny)
            .open(&store)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("over the limit chunk_bytes = 1") && msg.contains(key),
            "{store}: {msg}"
        );
    }
}
