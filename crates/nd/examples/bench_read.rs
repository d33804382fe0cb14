//! Time nd from Rust on what `python/benches/bench.py` times from Python: open a file and read
//! a float32 array whole, read a region of it, or walk every HDU's header. Prints one line per
//! round: the seconds it took (open included), for the benchmark to take the median of.
//!
//! ```sh
//! cargo run --release -p nd --example bench_read -- ROUNDS read PATH SELECTOR
//! cargo run --release -p nd --example bench_read -- ROUNDS cutout PATH SELECTOR 4000:4100,4000:4100
//! cargo run --release -p nd --example bench_read -- ROUNDS walk PATH
//! ```

use std::time::Instant;

fn main() -> Result<(), nd::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        || nd::Error::input("usage: bench_read ROUNDS read|cutout|walk PATH [SELECTOR [REGION]]");
    let rounds: usize = args
        .first()
        .and_then(|r| r.parse().ok())
        .ok_or_else(usage)?;
    let what = args.get(1).ok_or_else(usage)?.as_str();
    let path = args.get(2).ok_or_else(usage)?.as_str();
    let selector = args.get(3).map_or("0", String::as_str);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let ds = nd::open(path)?;
        let check = match what {
            "read" => {
                let a = ds.array(selector)?.read_ndarray::<f32>()?;
                a.len() as f64 + f64::from(a.iter().next().copied().unwrap_or(0.0))
            }
            "cutout" => {
                let arr = ds.array(selector)?;
                let region = arr.region(args.get(4).ok_or_else(usage)?)?;
                let a = arr.read_region_ndarray::<f32>(&region)?;
                a.iter().map(|&v| f64::from(v)).sum()
            }
            "walk" => {
                let m = ds.metadata()?;
                m["hdus"].as_array().map_or(0, Vec::len) as f64
            }
            _ => return Err(usage()),
        };
        let secs = t0.elapsed().as_secs_f64();
        // the check keeps the work from being optimised away, and lets the caller compare
        println!("{secs:.6} {check}");
    }
    Ok(())
}
