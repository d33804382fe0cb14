//! Time nd from Rust on what `python/benches/bench.py` and `bench/run.py` time: open a file and
//! read a float32 array whole (`read`), read an array whole in its own type (`full`: what the
//! reference library returns, no conversion), read a region of it, walk every HDU's header
//! (`walk`: into the metadata JSON; `hdus`: parse them and count the HDUs), or read every array
//! of a file (`touch`). Prints one line per round: the seconds it took (open
//! included), for the benchmark to take the median of, and a check value (a sum of the values)
//! to compare with the other readers'.
//!
//! ```sh
//! cargo run --release -p nd --example bench_read -- ROUNDS read PATH SELECTOR
//! cargo run --release -p nd --example bench_read -- ROUNDS full PATH SELECTOR
//! cargo run --release -p nd --example bench_read -- ROUNDS cutout PATH SELECTOR 4000:4100,4000:4100
//! cargo run --release -p nd --example bench_read -- ROUNDS walk PATH
//! cargo run --release -p nd --example bench_read -- ROUNDS hdus PATH
//! cargo run --release -p nd --example bench_read -- ROUNDS touch PATH
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
            "full" => {
                let a = ds.array(selector)?;
                let (t, check) = read_own_type(&a)?;
                // the sum is not part of the timed work
                let secs = (t - t0).as_secs_f64();
                println!("{secs:.6} {check}");
                continue;
            }
            "hdus" => match ds.native() {
                // every header read and parsed (data units skipped), as fitsrs' HDU iterator does
                nd::Native::Fits(f) => f.len() as f64,
                _ => return Err(nd::Error::input("hdus: not a FITS file")),
            },
            "touch" => {
                let mut check = 0.0;
                for entry in ds.arrays()? {
                    check += read_own_type(&ds.array(&entry.path)?)?.1;
                }
                check
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

/// Read `a` whole in its stored type (after scaling: what the reference library returns), and
/// return when the read ended and the sum of the values.
fn read_own_type(a: &nd::Array) -> Result<(Instant, f64), nd::Error> {
    fn go<T: nd::Scalar + Into<f64>>(a: &nd::Array) -> Result<(Instant, f64), nd::Error> {
        let v = a.read_ndarray::<T>()?;
        let t = Instant::now();
        Ok((t, v.iter().map(|&x| x.into()).sum()))
    }
    match a.dtype() {
        nd::DataType::Float32 => go::<f32>(a),
        nd::DataType::Float64 => go::<f64>(a),
        nd::DataType::UInt16 => go::<u16>(a),
        nd::DataType::Int16 => go::<i16>(a),
        nd::DataType::Int32 => go::<i32>(a),
        nd::DataType::UInt8 => go::<u8>(a),
        d => Err(nd::Error::input(format!("full: no reader for {d}"))),
    }
}
