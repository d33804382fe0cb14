//! Inputs built to exhaust memory or time end in a clear error (exit 2, a message naming where)
//! well inside 100 MiB of anonymous memory: decompression bombs, headers and shapes claiming
//! 10^12 elements, a YAML alias bomb, a Zarr chunk claiming 2^40 bytes, an ASDF file of 10^6
//! tiny blocks. Each runs `nd` as a user would; the time each took is printed (there is no
//! timing assertion; a run over 10 minutes fails as a hang).
//!
//! The inputs are made here rather than committed: the block and tile bombs are megabytes.

#![cfg(target_os = "linux")]

mod common;

use common::{arg, run_sampled};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Peak anonymous memory allowed to any bomb run.
const MAX_RSS: u64 = 100 << 20;

/// Run `nd args`; it must exit with `code` (2 unless the input is legal), print `fragment` on
/// stderr, and stay under [`MAX_RSS`].
fn defused(what: &str, args: &[&str], code: i32, fragment: &str) {
    let start = Instant::now();
    let (got, peak, err) = run_sampled(args);
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{what}: exit {got} in {secs:.2} s, peak RssAnon {:.1} MiB: {}",
        peak as f64 / (1 << 20) as f64,
        err.trim()
    );
    assert_eq!(got, code, "{what}: nd {args:?}: {err}");
    assert!(
        err.contains(fragment),
        "{what}: message should name {fragment:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        peak < MAX_RSS,
        "{what}: peak RssAnon {peak} B is over {MAX_RSS} B"
    );
}

/// One FITS header block from cards.
fn fits_header(cards: &[String]) -> Vec<u8> {
    let mut h = String::new();
    for c in cards.iter().map(String::as_str).chain(["END"]) {
        h.push_str(&format!("{c:<80}"));
    }
    let mut b = h.into_bytes();
    b.resize(b.len().div_ceil(2880) * 2880, b' ');
    b
}

/// The deflate stream of `n` zero bytes (as zlib, or gzip with `gzip`), cut at `max` bytes:
/// about a thousand times `max` once inflated.
fn zero_bomb(n: u64, gzip: bool, max: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut out;
    if gzip {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        for _ in 0..n >> 20 {
            e.write_all(&zeros).unwrap();
            if e.get_ref().len() >= max {
                break;
            }
        }
        out = e.finish().unwrap();
    } else {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        for _ in 0..n >> 20 {
            e.write_all(&zeros).unwrap();
            if e.get_ref().len() >= max {
                break;
            }
        }
        out = e.finish().unwrap();
    }
    out.truncate(max);
    out
}

#[test]
fn fits_header_claiming_a_trillion_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("huge.fits");
    std::fs::write(
        &f,
        fits_header(&[
            format!("{:<8}= {:>20}", "SIMPLE", "T"),
            format!("{:<8}= {:>20}", "BITPIX", "-32"),
            format!("{:<8}= {:>20}", "NAXIS", "2"),
            format!("{:<8}= {:>20}", "NAXIS1", "1000000"),
            format!("{:<8}= {:>20}", "NAXIS2", "1000000"),
        ]),
    )
    .unwrap();
    // Listed (astropy lists it too), with a warning that the data unit is cut short ...
    defused("FITS 10^12 pixels, info", &["info", arg(&f)], 0, "HDU 0");
    // ... but reading it is an error, without allocating 4 TB.
    let out = dir.path().join("o.npy");
    defused(
        "FITS 10^12 pixels, export",
        &["export", arg(&f), "0", "-o", arg(&out)],
        2,
        "HDU 0",
    );
    defused(
        "FITS 10^12 pixels, stat",
        &["stat", arg(&f), "0"],
        2,
        "HDU 0",
    );
}

#[test]
fn fits_tile_inflating_beyond_its_size() {
    use nd_core::ArrayBuf;
    use nd_fits::{Algorithm, CompressOptions, FitsWriter};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tile.fits");
    // One 256 x 256 u8 tile of noise (GZIP_1 cannot shrink it), then its heap bytes replaced
    // by the start of a gzip stream of zeros, which would inflate a thousand times the tile.
    let mut x = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..1 << 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let img = ArrayBuf::from_vec(vec![256, 256], &noise).unwrap();
    let mut opts = CompressOptions::new(Algorithm::Gzip1);
    opts.tile = Some(vec![256, 256]);
    let mut w = FitsWriter::create(&f);
    w.add_compressed_image(&img, &opts, &[]).unwrap();
    w.finish().unwrap();
    let mut bytes = std::fs::read(&f).unwrap();
    let heap = bytes
        .windows(3)
        .rposition(|w| w == [0x1f, 0x8b, 0x08])
        .expect("the gzip tile");
    let room = bytes.len() - heap;
    let bomb = zero_bomb(16 << 30, true, room);
    bytes[heap..heap + bomb.len()].copy_from_slice(&bomb);
    std::fs::write(&f, &bytes).unwrap();
    let out = dir.path().join("o.npy");
    defused(
        "FITS GZIP_1 tile bomb",
        &["export", arg(&f), "1", "-o", arg(&out)],
        2,
        "HDU 1",
    );
}

/// The text of an ASDF file up to its first block: `tree` is the YAML body after
/// `--- !core/asdf-1.1.0`.
fn asdf_file_bytes(tree: &str) -> Vec<u8> {
    format!(
        "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n{tree}\n...\n"
    )
    .into_bytes()
}

/// An ASDF file: the tree, then raw block bytes.
fn asdf_file(path: &Path, tree: &str, blocks: &[u8]) {
    let mut b = asdf_file_bytes(tree);
    b.extend_from_slice(blocks);
    std::fs::write(path, b).unwrap();
}

/// One ASDF block: header (48 bytes after magic and header size) and data.
fn asdf_block(compression: &[u8; 4], data_size: u64, data: &[u8]) -> Vec<u8> {
    let mut b = b"\xd3BLK".to_vec();
    b.extend_from_slice(&48u16.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes()); // flags
    b.extend_from_slice(compression);
    b.extend_from_slice(&(data.len() as u64).to_be_bytes()); // allocated
    b.extend_from_slice(&(data.len() as u64).to_be_bytes()); // used
    b.extend_from_slice(&data_size.to_be_bytes());
    b.extend_from_slice(&[0; 16]); // no checksum
    b.extend_from_slice(data);
    b
}

#[test]
fn asdf_yaml_alias_bomb() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("laughs.asdf");
    let mut tree = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        tree.push_str(&format!(
            "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    asdf_file(&f, tree.trim_end(), &[]);
    defused("ASDF alias bomb", &["info", arg(&f)], 2, "alias expansion");
}

#[test]
fn asdf_shape_claiming_a_trillion_elements() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("shape.asdf");
    asdf_file(
        &f,
        "data: !core/ndarray-1.0.0 {source: 0, datatype: float64, byteorder: little, shape: [1000000000000]}",
        &asdf_block(b"\0\0\0\0", 8, &[0; 8]),
    );
    let out = dir.path().join("o.npy");
    defused(
        "ASDF 10^12 elements",
        &["export", arg(&f), "data", "-o", arg(&out)],
        2,
        "'data'",
    );
}

#[test]
fn asdf_zlib_block_inflating_beyond_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("zbomb.asdf");
    let bomb = zero_bomb(16 << 30, false, 64 << 10);
    asdf_file(
        &f,
        "data: !core/ndarray-1.0.0 {source: 0, datatype: uint8, byteorder: little, shape: [16]}",
        &asdf_block(b"zlib", 16, &bomb),
    );
    let out = dir.path().join("o.npy");
    defused(
        "ASDF zlib block bomb",
        &["export", arg(&f), "data", "-o", arg(&out)],
        2,
        "block 0",
    );
}

#[test]
fn asdf_a_million_tiny_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let tree =
        "data: !core/ndarray-1.0.0 {source: 999999, datatype: uint8, byteorder: little, shape: [0]}";
    let head = asdf_file_bytes(tree).len();
    let one = asdf_block(b"\0\0\0\0", 0, &[]);
    let mut blocks = Vec::with_capacity(one.len() * 1_000_000 + (16 << 20));
    for _ in 0..1_000_000 {
        blocks.extend_from_slice(&one);
    }
    let walked = dir.path().join("walked.asdf");
    asdf_file(&walked, tree, &blocks);
    // The same with a block index, as python asdf writes it.
    blocks.extend_from_slice(b"#ASDF BLOCK INDEX\n%YAML 1.1\n---\n");
    for i in 0..1_000_000 {
        blocks.extend_from_slice(format!("- {}\n", head + i * one.len()).as_bytes());
    }
    blocks.extend_from_slice(b"...\n");
    let indexed = dir.path().join("indexed.asdf");
    asdf_file(&indexed, tree, &blocks);
    // Legal files: listed, and the last block read, within the memory bound.
    for f in [walked, indexed] {
        defused("ASDF 10^6 blocks, info", &["info", arg(&f)], 0, "");
        let out = dir.path().join("o.npy");
        defused(
            "ASDF 10^6 blocks, export of the last",
            &["export", arg(&f), "data", "-o", arg(&out)],
            0,
            "",
        );
    }
}

/// A Zarr v2 store holding one array `a` with `.zarray` `meta` and chunk `key` = `chunk`.
fn zarr_store(root: &Path, meta: &str, key: &str, chunk: &[u8]) {
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join(".zgroup"), r#"{"zarr_format": 2}"#).unwrap();
    std::fs::write(root.join("a/.zarray"), meta).unwrap();
    std::fs::write(root.join("a").join(key), chunk).unwrap();
}

#[test]
fn zarr_chunk_claiming_two_to_the_forty_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("big.zarr");
    zarr_store(
        &s,
        r#"{"zarr_format": 2, "shape": [1048576, 1048576], "chunks": [1048576, 1048576], "dtype": "|u1",
            "compressor": null, "fill_value": 0, "order": "C", "filters": null}"#,
        "0.0",
        &[7; 16],
    );
    let out = dir.path().join("o.npy");
    defused(
        "Zarr 2^40-byte chunk",
        &[
            "export",
            arg(&s),
            "a",
            "--region",
            "0:2,0:2",
            "-o",
            arg(&out),
        ],
        2,
        "a/.zarray",
    );
}

#[test]
fn zarr_compressed_chunks_claiming_huge_sizes() {
    let dir = tempfile::tempdir().unwrap();
    // A zstd frame whose header claims 2^40 bytes of content, for a 16-byte chunk.
    let mut zstd_frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    zstd_frame.extend_from_slice(&(1u64 << 40).to_le_bytes());
    zstd_frame.extend_from_slice(&[0; 16]);
    // A blosc header claiming 2^31 bytes (version 2, lz4, typesize 1).
    let mut blosc = vec![2, 1, 0x01, 1];
    blosc.extend_from_slice(&(1u32 << 31).to_le_bytes());
    blosc.extend_from_slice(&(1u32 << 16).to_le_bytes());
    blosc.extend_from_slice(&32u32.to_le_bytes());
    blosc.extend_from_slice(&[0; 16]);
    // A zlib stream of zeros far longer than the chunk.
    let zlib = zero_bomb(16 << 30, false, 64 << 10);
    for (name, compressor, chunk) in [
        ("zstd", r#"{"id": "zstd", "level": 3}"#, zstd_frame),
        (
            "blosc",
            r#"{"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}"#,
            blosc,
        ),
        ("zlib", r#"{"id": "zlib", "level": 1}"#, zlib),
    ] {
        let s = dir.path().join(format!("{name}.zarr"));
        zarr_store(
            &s,
            &format!(
                r#"{{"zarr_format": 2, "shape": [16], "chunks": [16], "dtype": "|u1",
                    "compressor": {compressor}, "fill_value": 0, "order": "C", "filters": null}}"#
            ),
            "0",
            &chunk,
        );
        let out = dir.path().join(format!("{name}.npy"));
        defused(
            &format!("Zarr {name} chunk bomb"),
            &["export", arg(&s), "a", "-o", arg(&out)],
            2,
            "a/0",
        );
    }
}
