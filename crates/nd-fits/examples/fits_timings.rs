//! In-process timings for benches/compare.py (run interleaved with astropy and fitsio so that the
//! comparison shares the machine's state). Prints one line of seconds:
//! `open_read_all read_into_buffer open_section_100 header_walk_500`.
//!
//! Usage: fits_timings BIG.fits MANY.fits

use nd_core::{ArrayRead, Region};
use nd_fits::Fits;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (big, many) = (&args[1], &args[2]);
    let t = Instant::now();
    let f = if std::env::var("ND_PREAD").is_ok() {
        Fits::from_source(std::sync::Arc::new(nd_core::FileSource::open(big)?))?
    } else {
        Fits::open(big)?
    };
    let img = f.image(0)?;
    let a = img.read_all()?;
    let open_read_all = t.elapsed().as_secs_f64();
    let mut buf = vec![0u8; a.bytes().len()];
    img.read_region_into(&Region::full(img.shape()), &mut buf)?; // touch the buffer once
    let t = Instant::now();
    img.read_region_into(&Region::full(img.shape()), &mut buf)?;
    let into = t.elapsed().as_secs_f64();
    let n = img.shape()[0];
    let t = Instant::now();
    let f2 = Fits::open(big)?;
    let s = f2
        .image(0)?
        .read_region(&Region::new(vec![n / 2..n / 2 + 100, n / 3..n / 3 + 100]))?;
    let sec = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let m = Fits::open(many)?;
    let count = m.len();
    let walk = t.elapsed().as_secs_f64();
    assert_eq!(count, 500);
    std::hint::black_box((a, s, buf));
    println!("{open_read_all} {into} {sec} {walk}");
    Ok(())
}
