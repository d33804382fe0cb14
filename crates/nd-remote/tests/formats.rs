//! Every format read from a loopback nginx and a loopback S3 server (moto) equals the local read,
//! with the requests and bytes that crossed the wire counted and bounded.
//!
//! The servers are started by `.ci/servers.sh` (CI runs it); without them these tests print
//! `SKIP …` and pass.

mod common;

use common::*;
use nd_asdf::{ArrayOptions, AsdfFile, AsdfWriter};
use nd_core::{ArrayBuf, ArrayRead, ByteSource, DataType, DirStore, MemSource, Region, Store};
use nd_fits::Fits;
use nd_remote::{open_source, open_store, RemoteOptions};
use nd_zarr::{ArrayMetadataV2, Hierarchy, ZarrArray, ZarrArrayV3};
use std::path::Path;
use std::sync::Arc;

type PutFn = Box<dyn Fn(&str, &[u8])>;
type PutDirFn = Box<dyn Fn(&str, &Path)>;

/// One server kind: where files go and how to reach them.
struct Env {
    name: &'static str,
    base: String,
    opts: Box<dyn Fn() -> RemoteOptions>,
    put: PutFn,
    put_dir: PutDirFn,
    nginx: bool,
}

impl Env {
    fn http(test: &str) -> Option<Env> {
        let (url, root) = http(test)?;
        let r1 = root.clone();
        Some(Env {
            name: "http",
            base: url,
            opts: Box::new(RemoteOptions::default),
            put: Box::new(move |rel, b| {
                put_file(&root, rel, b);
            }),
            put_dir: Box::new(move |rel, dir| {
                let dst = DirStore::create(r1.join(rel)).unwrap();
                let src = DirStore::open_read_only(dir).unwrap();
                for k in src.list_prefix("").unwrap() {
                    dst.set(&k, &src.get(&k).unwrap().unwrap()).unwrap();
                }
            }),
            nginx: true,
        })
    }

    fn s3(test: &str) -> Option<Env> {
        let (ep, bucket) = s3(test)?;
        let (e1, e2, e3) = (ep.clone(), ep.clone(), ep);
        let (b1, b2) = (bucket.clone(), bucket.clone());
        Some(Env {
            name: "s3",
            base: format!("s3://{bucket}"),
            opts: Box::new(move || s3_options(&e1)),
            put: Box::new(move |k, b| s3_put(&e2, &b1, k, b)),
            put_dir: Box::new(move |k, d| s3_put_dir(&e3, &b2, k, d)),
            nginx: false,
        })
    }

    fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.base)
    }
}

/// Two tests running `$body` against nginx and against the S3 server (each skipped, with a printed
/// reason, when its server is not configured).
macro_rules! on_both_servers {
    ($body:ident: $http:ident, $s3:ident) => {
        #[test]
        fn $http() {
            if let Some(e) = Env::http(stringify!($http)) {
                $body(&e);
            }
        }

        #[test]
        fn $s3() {
            if let Some(e) = Env::s3(stringify!($s3)) {
                $body(&e);
            }
        }
    };
}

/// The committed test files `testdata/<sub>/*.<ext>`, sorted.
fn testdata_files(sub: &str, ext: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// Both opened, or both refused (`None`); one opened and not the other is a failure.
fn both_or_neither<A, B>(
    what: &str,
    local: Result<A, impl std::fmt::Debug>,
    remote: Result<B, impl std::fmt::Debug>,
) -> Option<(A, B)> {
    match (local, remote) {
        (Ok(l), Ok(r)) => Some((l, r)),
        (Err(_), Err(_)) => None,
        (l, r) => panic!("{what}: local {:?} vs remote {:?}", l.err(), r.err()),
    }
}

/// The same bytes read locally and remotely (`true`), or both reads refused (`false`).
fn same_read(
    what: &str,
    local: Result<ArrayBuf, impl std::fmt::Debug>,
    remote: Result<ArrayBuf, impl std::fmt::Debug>,
) -> bool {
    both_or_neither(what, local, remote).is_some_and(|(x, y)| {
        assert_eq!(x.bytes(), y.bytes(), "{what}");
        true
    })
}

const BIG: &str = "gen/big-f32-4096x4096.fits";
const MIB: u64 = 1 << 20;

fn big_fits() -> &'static Vec<u8> {
    static B: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    B.get_or_init(|| fits_f32_image(4096, 4096))
}

// ---------------------------------------------------------------------------------------------
// FITS: a 100x100 cutout of a 64 MiB image

fn fits_cutout(env: &Env) {
    let bytes = big_fits();
    (env.put)(BIG, bytes);
    let local = Fits::from_source(Arc::new(MemSource::new(bytes.clone()))).unwrap();
    let want_img = local.image(0).unwrap();
    let region = Region::parse("2000:2100,1000:1100", want_img.shape()).unwrap();
    let want = want_img.read(&region).unwrap();
    assert_eq!(
        want.as_slice::<f32>().unwrap()[0],
        (2000 * 4096 + 1000) as f32
    );

    let cutout = 100 * 100 * 4u64;
    let span = 100 * 4096 * 4u64; // the rows the cutout crosses (1.56 MiB)
    let first_block = 256 * 1024u64; // the open: the first cache block, header included
                                     // Multipart framing of one part (nginx: CRLF, boundary line, Content-Type and Content-Range
                                     // lines of this 64 MiB object, blank line: about 117 bytes), bounded generously.
    let framing = |parts: u64| parts * FRAMING_PER_PART + 64;

    // The plain format read: nd-fits hands the section's 100 row runs (400 bytes, 16 KiB apart)
    // to one `read_ranges`. Over HTTP they travel as one multi-range request: the open plus one
    // request, the cutout's bytes plus framing. S3 has no multi-range read: the runs are
    // coalesced over their 16 KiB gaps (coalesce_gap 1 MiB) into one request of the rows' span.
    for block in [256 * 1024u64, 4 * 2880] {
        let mut opts = (env.opts)();
        opts.block_size = block;
        let mark = nginx_log_mark();
        let src = open_source(&env.url(BIG), &opts).unwrap();
        assert_eq!(src.len(), bytes.len() as u64);
        let fits = Fits::from_source(src.clone()).unwrap();
        assert_eq!(fits.len(), 1);
        let img = fits.image(0).unwrap();
        assert_eq!(img.shape(), &[4096, 4096]);
        let got = img.read(&region).unwrap();
        assert_eq!(got.bytes(), want.bytes(), "{}: cutout differs", env.name);
        let s = opts.stats.snapshot();
        println!(
            "{} FITS 100x100 cutout of 64 MiB, plain img.read, block {block}: {s}",
            env.name
        );
        assert_eq!(s.requests, 2, "{}: open + one data request: {s}", env.name);
        if env.nginx {
            // headers (the first block) + exactly the cutout + framing
            assert!(s.bytes >= block + cutout, "{s}");
            assert!(s.bytes <= block + cutout + framing(100), "{s}");
            let log = nginx_log_since(mark, &format!("/{BIG}"), s.requests as usize);
            assert_eq!(log.len() as u64, s.requests, "nginx saw {log:?}");
            assert!(
                log.iter()
                    .all(|(m, rest)| m == "GET" && rest.contains(" 206 ")),
                "{log:?}"
            );
            // the data request named the 100 runs
            assert_eq!(log[1].1.matches(',').count(), 99, "{log:?}");
        } else {
            assert!(s.bytes >= block + span - 4096 * 4 + 400, "{s}");
            assert!(s.bytes <= block + span, "{s}");
        }
    }
    // With a 4-FITS-block cache block, the whole remote read is the header walk's 11,520
    // bytes, the cutout's 40,000 and framing: "the cutout's bytes plus headers".

    // The same cutout as an explicit batch of byte runs, for each request model: multi-range
    // (HTTP default), and coalescing (S3 always; HTTP with multi_range off) with gap 0 (one
    // request per run, exact bytes) or 1 MiB (one request of the span).
    let runs = img_runs(&want_img, &region);
    assert_eq!(runs.len(), 100);
    let want_runs = MemSource::new(bytes.clone()).read_ranges(&runs).unwrap();
    let mut cases: Vec<(bool, u64, u64, u64)> = vec![
        (false, 0, 1 + 100, first_block + cutout),
        (false, MIB, 1 + 1, first_block + span),
    ];
    if env.nginx {
        for gap in [0, MIB] {
            cases.push((true, gap, 1 + 1, first_block + cutout + framing(100)));
        }
    }
    for (multi, gap, want_req, max_bytes) in cases {
        let mut o = (env.opts)();
        o.coalesce_gap = gap;
        o.multi_range = multi;
        let src = open_source(&env.url(BIG), &o).unwrap();
        let got = src.read_ranges(&runs).unwrap();
        assert_eq!(got, want_runs);
        let s = o.stats.snapshot();
        println!(
            "{} FITS cutout as read_ranges, multi_range {multi}, coalesce gap {gap}: {s}",
            env.name
        );
        assert_eq!(s.requests, want_req, "{}: {s}", env.name);
        assert!(s.bytes <= max_bytes, "{}: {s}", env.name);
        // What a batch fetched is kept: the format's own read that follows costs no request.
        let fits = Fits::from_source(src).unwrap();
        let again = fits.image(0).unwrap().read(&region).unwrap();
        assert_eq!(again.bytes(), want.bytes());
        assert_eq!(o.stats.requests(), want_req, "prefetched cutout");
    }
}

/// Framing bytes allowed per multipart part in these tests (nginx sends about 117 for the
/// 64 MiB file's offsets).
const FRAMING_PER_PART: u64 = 160;

fn img_runs(img: &nd_fits::FitsImage, region: &Region) -> Vec<std::ops::Range<u64>> {
    img.byte_runs(region).unwrap()
}

on_both_servers!(fits_cutout: http_fits_cutout, s3_fits_cutout);

// ---------------------------------------------------------------------------------------------
// FITS: a 500-HDU header walk

fn fits_walk(env: &Env) {
    let bytes = fits_many_hdus(500);
    let rel = "gen/hdus-500.fits";
    (env.put)(rel, &bytes);
    let local = Fits::from_source(Arc::new(MemSource::new(bytes.clone()))).unwrap();
    assert_eq!(local.len(), 500);
    for block in [64 * 1024u64, 256 * 1024, 2880 * 4] {
        let mut opts = (env.opts)();
        opts.block_size = block;
        let src = open_source(&env.url(rel), &opts).unwrap();
        let fits = Fits::from_source(src).unwrap();
        assert_eq!(fits.len(), 500);
        let (l, r) = (local.hdus().unwrap(), fits.hdus().unwrap());
        for (a, b) in l.iter().zip(&r) {
            assert_eq!(a.name(), b.name());
            assert_eq!(a.header.cards().len(), b.header.cards().len());
            assert_eq!(a.data_offset, b.data_offset);
        }
        let img = fits.image(499).unwrap();
        let v = img
            .read(&Region::parse(":,:", img.shape()).unwrap())
            .unwrap();
        assert_eq!(v.as_slice::<i16>().unwrap()[0], 499);
        let s = opts.stats.snapshot();
        let blocks = (bytes.len() as u64).div_ceil(block);
        println!(
            "{} 500-HDU walk ({} bytes), block {block}: {s} ({blocks} blocks in the file)",
            env.name,
            bytes.len()
        );
        // Bounded by the number of cache blocks in the file, not by the 500 HDUs; the doubling
        // read-ahead makes it logarithmic in practice.
        assert!(s.requests <= blocks, "{s}");
        assert!(s.requests <= 12, "{s}");
        assert!(s.bytes <= bytes.len() as u64 + block, "{s}");
    }
}

on_both_servers!(fits_walk: http_fits_walk_500_hdus, s3_fits_walk_500_hdus);

// ---------------------------------------------------------------------------------------------
// FITS: every committed astropy test file, remote = local

fn fits_testdata(env: &Env) {
    let mut n = 0;
    let opts = (env.opts)();
    for p in testdata_files("fits/astropy", "fits") {
        let name = p.file_name().unwrap().to_str().unwrap();
        let rel = format!("fits/astropy/{name}");
        let bytes = std::fs::read(&p).unwrap();
        (env.put)(&rel, &bytes);
        let local = Fits::from_source(Arc::new(MemSource::new(bytes.clone())));
        let remote = open_source(&env.url(&rel), &opts)
            .map_err(nd_core::Error::from)
            .and_then(|s| Fits::from_source(s).map_err(nd_core::Error::other));
        let Some((local, remote)) = both_or_neither(name, local, remote) else {
            continue;
        };
        assert_eq!(local.len(), remote.len(), "{name}");
        for i in 0..local.len() {
            let (a, b) = (local.hdu(i).unwrap(), remote.hdu(i).unwrap());
            assert_eq!(
                a.header.cards().len(),
                b.header.cards().len(),
                "{name}[{i}]"
            );
            if let (Ok(ia), Ok(ib)) = (local.image(i), remote.image(i)) {
                let r = Region::full(ia.shape());
                same_read(&format!("{name}[{i}]"), ia.read(&r), ib.read(&r));
                n += 1;
            }
        }
    }
    println!(
        "{}: {n} FITS images equal; {}",
        env.name,
        opts.stats.snapshot()
    );
    assert!(n >= 10, "only {n} images compared");
}

on_both_servers!(fits_testdata: http_fits_testdata_equal_local, s3_fits_testdata_equal_local);

// ---------------------------------------------------------------------------------------------
// ASDF: an uncompressed 16 MiB array and a Zarr-in-ASDF array

fn asdf_bytes() -> &'static Vec<u8> {
    static B: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let n = 2048u64;
        let vals: Vec<f32> = (0..n * n).map(|i| i as f32).collect();
        let big = ArrayBuf::from_vec(vec![n, n], &vals).unwrap();
        let z: Vec<u16> = (0..1024 * 1024u32).map(|i| (i % 65521) as u16).collect();
        let zbuf = ArrayBuf::from_vec(vec![1024, 1024], &z).unwrap();
        let mut w = AsdfWriter::new();
        w.add_array("big", &big, ArrayOptions::default()).unwrap();
        w.add_zarr(
            "cube",
            &zbuf,
            &[128, 128],
            &serde_json::json!({"id": "zlib", "level": 1}),
            Some(0.0),
        )
        .unwrap();
        w.to_bytes().unwrap()
    })
}

fn asdf_cutout(env: &Env) {
    let bytes = asdf_bytes();
    let rel = "gen/arrays.asdf";
    (env.put)(rel, bytes);
    let local = AsdfFile::from_source(Arc::new(MemSource::new(bytes.clone()))).unwrap();

    let opts = (env.opts)();
    let src = open_source(&env.url(rel), &opts).unwrap();
    let f = AsdfFile::from_source(src).unwrap();
    let names: Vec<String> = f.arrays().into_iter().map(|(p, _)| p).collect();
    assert!(names.contains(&"big".to_string()) && names.contains(&"cube".to_string()));
    let s_open = opts.stats.snapshot();
    println!(
        "{} ASDF open (tree + block index), {} bytes: {s_open}",
        env.name,
        bytes.len()
    );
    assert!(s_open.requests <= 3, "{s_open}");

    // 100x100 of the 2048x2048 f32 array
    let region = Region::parse("1000:1100,500:600", &[2048, 2048]).unwrap();
    let want = local.array("big").unwrap().read_region(&region).unwrap();
    let mark = nginx_log_mark();
    let got = f.array("big").unwrap().read_region(&region).unwrap();
    assert_eq!(got.bytes(), want.bytes());
    assert_eq!(
        got.as_slice::<f32>().unwrap()[0],
        (1000 * 2048 + 500) as f32
    );
    let s1 = opts.stats.snapshot();
    println!("{} ASDF 100x100 cutout of a 16 MiB array: {s1}", env.name);
    // nd-asdf hands the cutout's 100 row runs (400 bytes, 8 KiB apart) to one `read_ranges`:
    // over HTTP one multi-range request of exactly the cutout's bytes plus framing; S3 has no
    // multi-range read, so the runs are coalesced over their gaps into one request of the rows'
    // span. The whole remote read is the open's tree and block index plus that.
    let cutout = 100 * 100 * 4u64;
    let span = 99 * 2048 * 4 + 100 * 4u64;
    let framing = |parts: u64| parts * FRAMING_PER_PART + 64;
    assert_eq!(
        s1.requests - s_open.requests,
        1,
        "open + one data request: {s1}"
    );
    if env.nginx {
        assert!(s1.bytes - s_open.bytes >= cutout, "{s1}");
        assert!(s1.bytes - s_open.bytes <= cutout + framing(100), "{s1}");
        let log = nginx_log_since(mark, &format!("/{rel}"), 1);
        assert_eq!(log.len(), 1, "nginx saw {log:?}");
        assert!(log[0].0 == "GET" && log[0].1.contains(" 206 "), "{log:?}");
        // the request named the 100 runs
        assert_eq!(log[0].1.matches(',').count(), 99, "{log:?}");
    } else {
        assert_eq!(s1.bytes - s_open.bytes, span, "{s1}");
    }

    // Zarr-in-ASDF: 4 chunks of 128x128 (of 64) touched; their chunk blocks are fetched with one
    // `read_ranges`. The blocks of chunks (1, 0), (1, 1), (2, 0), (2, 1) from the local file:
    let cube = local.tree().get_path("cube/chunk_block_map").unwrap();
    let map_block = local
        .blocks()
        .resolve(cube.as_int().unwrap() as i64)
        .unwrap();
    let map = local.blocks().data(map_block).unwrap();
    let chunk_blocks: Vec<&nd_asdf::BlockHeader> = [8usize, 9, 16, 17]
        .iter()
        .map(|&c| {
            let b = i32::from_le_bytes(map[4 * c..4 * c + 4].try_into().unwrap());
            &local.blocks().headers()[b as usize]
        })
        .collect();
    let chunk_bytes: u64 = chunk_blocks.iter().map(|h| h.used).sum();
    let chunk_span = chunk_blocks
        .iter()
        .map(|h| h.data_offset() + h.used)
        .max()
        .unwrap()
        - chunk_blocks.iter().map(|h| h.data_offset()).min().unwrap();
    let region = Region::parse("200:300,100:200", &[1024, 1024]).unwrap();
    let want = local.array("cube").unwrap().read_region(&region).unwrap();
    let got = f.array("cube").unwrap().read_region(&region).unwrap();
    assert_eq!(got.bytes(), want.bytes());
    let s2 = opts.stats.snapshot();
    println!(
        "{} Zarr-in-ASDF cutout (4 of 64 chunks, {chunk_bytes} stored bytes): {s2}",
        env.name
    );
    if env.nginx {
        // one multi-range request: the 4 chunk blocks (adjacent ones merged over the 54-byte
        // block header between them) and framing
        assert_eq!(s2.requests - s1.requests, 1, "{s2}");
        assert!(s2.bytes - s1.bytes >= chunk_bytes, "{s2}");
        assert!(
            s2.bytes - s1.bytes <= chunk_bytes + 4 * 64 + framing(4),
            "{s2}"
        );
    } else {
        // at most one request of the blocks' span (the open's read of the file's tail may
        // already hold them)
        assert!(s2.requests - s1.requests <= 1, "{s2}");
        assert!(s2.bytes - s1.bytes <= chunk_span, "{s2}");
    }
}

on_both_servers!(asdf_cutout: http_asdf_cutout, s3_asdf_cutout);

fn asdf_testdata(env: &Env) {
    let opts = (env.opts)();
    let mut n = 0;
    for p in testdata_files("asdf/py", "asdf") {
        let name = p.file_name().unwrap().to_str().unwrap();
        let rel = format!("asdf/py/{name}");
        let bytes = std::fs::read(&p).unwrap();
        (env.put)(&rel, &bytes);
        let local = AsdfFile::from_source(Arc::new(MemSource::new(bytes.clone())));
        let remote = open_source(&env.url(&rel), &opts)
            .map_err(nd_core::Error::from)
            .and_then(|s| AsdfFile::from_source(s).map_err(nd_core::Error::other));
        let Some((local, remote)) = both_or_neither(name, local, remote) else {
            continue;
        };
        for (path, _) in local.arrays() {
            let (a, b) = (local.array(&path), remote.array(&path));
            let (Ok(a), Ok(b)) = (a, b) else { continue };
            let r = Region::full(a.shape());
            if same_read(
                &format!("{name}:{path}"),
                a.read_region(&r),
                b.read_region(&r),
            ) {
                n += 1;
            }
        }
    }
    println!(
        "{}: {n} ASDF arrays equal; {}",
        env.name,
        opts.stats.snapshot()
    );
    assert!(n >= 20, "only {n} arrays compared");
}

on_both_servers!(asdf_testdata: http_asdf_testdata_equal_local, s3_asdf_testdata_equal_local);

// ---------------------------------------------------------------------------------------------
// Zarr: consolidated metadata in one request, a cutout fetches exactly its chunks

fn zarr_dir() -> &'static tempfile::TempDir {
    static D: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(DirStore::create(d.path()).unwrap());
        let mut meta =
            ArrayMetadataV2::new(vec![1024, 1024], vec![128, 128], DataType::UInt16).unwrap();
        meta.compressor = serde_json::json!({"id": "zlib", "level": 1});
        let a = ZarrArray::create(store.clone(), "data", meta).unwrap();
        let z: Vec<u16> = (0..1024 * 1024u32).map(|i| (i % 65521) as u16).collect();
        let buf = ArrayBuf::from_vec(vec![1024, 1024], &z).unwrap();
        a.write(&Region::full(&[1024, 1024]), buf.bytes()).unwrap();
        nd_zarr::write_consolidated(store).unwrap();
        d
    })
}

fn zarr_cutout(env: &Env) {
    let dir = zarr_dir();
    let rel = "gen/cube.zarr";
    (env.put_dir)(rel, dir.path());
    let local = Hierarchy::open_path(dir.path()).unwrap();
    let opts = (env.opts)();
    let h = Hierarchy::open(open_store(&env.url(rel), &opts).unwrap()).unwrap();
    assert!(h.is_consolidated());
    assert_eq!(
        opts.stats.requests(),
        1,
        "consolidated metadata: one request"
    );
    let a = h.array("data").unwrap();
    let region = Region::parse("200:300,500:700", &[1024, 1024]).unwrap();
    let before = opts.stats.log().len();
    let got = a.read_region(&region).unwrap();
    let want = local.array("data").unwrap().read_region(&region).unwrap();
    assert_eq!(got.bytes(), want.bytes());
    let s = opts.stats.snapshot();
    println!("{} Zarr open + cutout (6 of 64 chunks): {s}", env.name);
    let mut paths: Vec<String> = opts.stats.log()[before..]
        .iter()
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect();
    paths.sort();
    let mut want_keys = Vec::new();
    for i in 1..=2 {
        for j in 3..=5 {
            want_keys.push(format!("{i}.{j}"));
        }
    }
    assert_eq!(paths, want_keys, "exactly the chunks the cutout touches");
    let chunk_bytes: u64 = want_keys
        .iter()
        .map(|k| {
            std::fs::metadata(dir.path().join("data").join(k))
                .unwrap()
                .len()
        })
        .sum();
    let zmeta = std::fs::metadata(dir.path().join(".zmetadata"))
        .unwrap()
        .len();
    assert_eq!(s.bytes, chunk_bytes + zmeta, "{s}");
}

on_both_servers!(zarr_cutout: http_zarr_cutout, s3_zarr_cutout);

/// Every committed Zarr store with consolidated metadata (over HTTP: plain nginx cannot list)
/// or, on S3, every store (listing works there): remote = local for every array.
fn zarr_testdata(env: &Env) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr");
    let mut stores: Vec<String> = vec!["hier.zarr".into()];
    let mut more: Vec<String> = std::fs::read_dir(root.join("stores"))
        .unwrap()
        .map(|e| format!("stores/{}", e.unwrap().file_name().to_str().unwrap()))
        .collect();
    more.sort();
    stores.extend(more);
    let opts = (env.opts)();
    let mut n = 0;
    for s in stores {
        let local_dir = root.join(&s);
        if !local_dir.is_dir() {
            continue;
        }
        let rel = format!("zarr/{s}");
        (env.put_dir)(&rel, &local_dir);
        let Ok(local) = Hierarchy::open_path(&local_dir) else {
            continue;
        };
        if env.nginx
            && !local.is_consolidated()
            && local.node("").is_none_or(|n| n.metadata.is_none())
        {
            continue; // a group without .zmetadata cannot be walked over plain HTTP
        }
        let remote = Hierarchy::open(open_store(&env.url(&rel), &opts).unwrap())
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        for path in local.arrays() {
            let (Ok(a), Ok(b)) = (local.array(path), remote.array(path)) else {
                continue;
            };
            let r = Region::full(a.shape());
            if same_read(&format!("{s}:{path}"), a.read_region(&r), b.read_region(&r)) {
                n += 1;
            }
        }
    }
    println!(
        "{}: {n} Zarr arrays equal; {}",
        env.name,
        opts.stats.snapshot()
    );
    assert!(n >= 20, "only {n} arrays compared");
}

on_both_servers!(zarr_testdata: http_zarr_testdata_equal_local, s3_zarr_testdata_equal_local);

/// A sharded array written by zarr-python 3 (64x64 uint16, shards 32x32, inner chunks 8x8 of
/// 137 bytes, a 260-byte index at the end): one inner chunk costs the `zarr.json`, one suffix
/// request for the index (`bytes=-260`) and one request for the chunk, and nothing else crosses
/// the wire; a whole shard costs the index and one coalesced request.
fn zarr_v3_shard_region(env: &Env) {
    let local_dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr/v3/stores/sharded.zarr");
    let rel = "zarr/v3/sharded.zarr";
    (env.put_dir)(rel, &local_dir);
    let local = ZarrArrayV3::open(
        Arc::new(DirStore::open_read_only(&local_dir).unwrap()),
        "counting",
    )
    .unwrap();
    let opts = (env.opts)();
    let store = open_store(&env.url(rel), &opts).unwrap();
    let mark = env.nginx.then(nginx_log_mark);
    let a = ZarrArrayV3::open(store, "counting").unwrap();
    let region = Region::parse("40:48,8:16", a.shape()).unwrap();
    let got = a.read_region(&region).unwrap();
    assert_eq!(got.bytes(), local.read_region(&region).unwrap().bytes());
    let s = opts.stats.snapshot();
    println!("{} Zarr v3 one inner chunk: {s}", env.name);
    let log = opts.stats.log();
    let shard = "counting/c/1/0";
    let zarr_json = std::fs::metadata(local_dir.join("counting/zarr.json"))
        .unwrap()
        .len();
    assert_eq!(s.requests, 3, "{log:?}");
    assert!(log[0].path.ends_with("counting/zarr.json"), "{log:?}");
    assert!(log[1].path.ends_with(shard), "{log:?}");
    assert!(log[2].path.ends_with(shard), "{log:?}");
    assert_eq!(log[1].range.as_deref(), Some("bytes=-260"), "{log:?}");
    // inner chunk (5, 1) is (1, 1) of shard (1, 0): C-order position 5, stored at 411..548
    assert_eq!(log[2].range.as_deref(), Some("bytes=411-547"), "{log:?}");
    assert_eq!(s.bytes, zarr_json + 260 + 137, "{s}");
    if let Some(mark) = mark {
        let seen = nginx_log_since(mark, &format!("/{rel}/{shard}"), 2);
        let want = [
            ("GET".to_string(), "\"bytes=-260\" 206 260".to_string()),
            ("GET".to_string(), "\"bytes=411-547\" 206 137".to_string()),
        ];
        assert_eq!(seen, want, "what nginx saw");
    }

    // a whole shard: the index, then its 16 inner chunks (back to back) in one request
    let before = opts.stats.snapshot();
    let whole = Region::parse("32:64,0:32", a.shape()).unwrap();
    let got = a.read_region(&whole).unwrap();
    assert_eq!(got.bytes(), local.read_region(&whole).unwrap().bytes());
    let s = opts.stats.snapshot();
    assert_eq!(s.requests - before.requests, 2, "{s}");
    assert_eq!(s.bytes - before.bytes, 2452, "{s}");

    // get_suffix itself: longer than the value, an absent key, the exact tail
    let st = a.store();
    assert!(matches!(
        st.get_suffix(shard, 5000),
        Err(nd_core::Error::OutOfBounds { size: 2452, .. })
    ));
    assert!(st.get_suffix("counting/c/9/9", 10).unwrap().is_none());
    let tail = st.get_suffix(shard, 2452).unwrap().unwrap();
    assert_eq!(tail, std::fs::read(local_dir.join(shard)).unwrap());
}

on_both_servers!(zarr_v3_shard_region: http_zarr_v3_shard_region, s3_zarr_v3_shard_region);
