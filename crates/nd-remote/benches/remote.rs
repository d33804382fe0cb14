//! Remote FITS reads from the loopback nginx started by `.ci/servers.sh`: a 100x100 cutout and
//! the full 64 MiB image, each from a fresh source (cold cache). Without the server the bench
//! prints why and does nothing. The file is written by the `formats` tests (or by this bench).
use criterion::{criterion_group, criterion_main, Criterion};
use nd_core::{ArrayRead, Region};
use nd_remote::{open_source, RemoteOptions};
use std::path::PathBuf;

fn server() -> Option<(String, PathBuf)> {
    let env = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/nd-test-servers.env");
    let text = std::fs::read_to_string(env).ok()?;
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    Some((
        get("ND_TEST_HTTP_URL")?,
        PathBuf::from(get("ND_TEST_HTTP_ROOT")?),
    ))
}

fn big_fits(root: &std::path::Path) -> String {
    let rel = "gen/big-f32-4096x4096.fits";
    let p = root.join(rel);
    if !p.exists() {
        let mut f = Vec::new();
        for c in [
            "SIMPLE  =                    T",
            "BITPIX  =                  -32",
            "NAXIS   =                    2",
            "NAXIS1  =                 4096",
            "NAXIS2  =                 4096",
            "END",
        ] {
            f.extend_from_slice(format!("{c:<80}").as_bytes());
        }
        f.resize(2880, b' ');
        for i in 0..4096u64 * 4096 {
            f.extend_from_slice(&(i as f32).to_be_bytes());
        }
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        nd_core::write_atomic(&p, &f).unwrap();
    }
    rel.to_string()
}

fn bench(c: &mut Criterion) {
    let Some((url, root)) = server() else {
        eprintln!("remote bench skipped: no test server (run `bash .ci/servers.sh`)");
        return;
    };
    let url = format!("{url}/{}", big_fits(&root));
    let read = |region: &str| {
        let opts = RemoteOptions::default();
        let src = open_source(&url, &opts).unwrap();
        let fits = nd_fits::Fits::from_source(src).unwrap();
        let img = fits.image(0).unwrap();
        let r = Region::parse(region, img.shape()).unwrap();
        let out = img.read_region(&r).unwrap();
        (out.bytes().len(), opts.stats.snapshot())
    };
    for (name, region) in [
        ("cutout_100x100", "2000:2100,1000:1100"),
        ("full_64MiB", ":,:"),
    ] {
        let (n, s) = read(region);
        eprintln!("nd-remote {name}: {n} result bytes, {s}");
        let mut g = c.benchmark_group("remote_fits_http");
        g.sample_size(10);
        g.bench_function(name, |b| b.iter(|| read(region)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
