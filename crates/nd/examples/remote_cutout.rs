//! A 100 × 100 cutout of a FITS image, local or remote, as `ArrayD<f32>` of physical values
//! (BSCALE/BZERO applied, as astropy gives them). Only the header and the bytes of the cutout's
//! rows are fetched: a few range requests, whatever the image's size.
//!
//! ```sh
//! cargo run -p nd --example remote_cutout -- https://example.org/image.fits 50 70
//! cargo run -p nd --example remote_cutout                 # the bundled testdata/example/image.fits
//! ```

use nd::ndarray::ArrayD;
use nd::Region;

fn main() -> Result<(), nd::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/example/image.fits"
    );
    let url = args.first().map_or(default, String::as_str);
    let (y0, x0): (u64, u64) = match (args.get(1), args.get(2)) {
        (Some(y), Some(x)) => (y.parse().unwrap_or(0), x.parse().unwrap_or(0)),
        _ => (50, 70),
    };
    let image = nd::open(url)?.array("0")?; // the primary HDU
    let cutout: ArrayD<f32> =
        image.read_region_ndarray(&Region::new(vec![y0..y0 + 100, x0..x0 + 100]))?;
    let finite: Vec<f32> = cutout.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = finite.iter().map(|&v| f64::from(v)).sum::<f64>() / finite.len().max(1) as f64;
    println!(
        "{url}: image {:?}, cutout {:?} at ({y0}, {x0}), mean {mean:.4}, first value {}",
        image.shape(),
        cutout.shape(),
        cutout.first().map_or("none".to_string(), |v| v.to_string())
    );
    Ok(())
}
