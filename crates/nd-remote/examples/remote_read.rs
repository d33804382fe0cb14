//! Read a region of a remote FITS image and report time, requests and bytes.
//!
//! `cargo run --release -p nd-remote --example remote_read -- URL [REGION] [REPEAT] [--ranges]`
//!
//! Each repetition opens the URL afresh (a cold cache), reads the region of HDU 0 and prints one
//! JSON line: seconds (open + read), requests, bytes received. `--ranges` first prefetches the
//! region's byte runs as one batch (`read_ranges`: coalesced per `ND_REMOTE_COALESCE_GAP`,
//! concurrent), which the row-by-row read then finds in the source's cache.
use nd_core::{ArrayRead, Region};
use nd_remote::{open_source, RemoteOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .ok_or("usage: remote_read URL [REGION] [REPEAT] [--ranges]")?;
    let region = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or(":,:".into());
    let repeat: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let batched = args.iter().any(|a| a == "--ranges");
    for _ in 0..repeat {
        let opts = RemoteOptions::from_env()?;
        let t = Instant::now();
        let src = open_source(url, &opts)?;
        let fits = nd_fits::Fits::from_source(src.clone())?;
        let img = fits.image(0)?;
        let r = Region::parse(&region, img.shape())?;
        let n = if batched {
            let runs = img.byte_runs(&r)?;
            src.read_ranges(&runs)?
                .iter()
                .map(|b| b.len())
                .sum::<usize>()
        } else {
            img.read_region(&r)?.bytes().len()
        };
        let secs = t.elapsed().as_secs_f64();
        let s = opts.stats.snapshot();
        println!(
            "{{\"seconds\": {secs:.6}, \"requests\": {}, \"bytes\": {}, \"result_bytes\": {n}}}",
            s.requests, s.bytes
        );
    }
    Ok(())
}
