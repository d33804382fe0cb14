//! Time nd from Rust on what `python/benches/bench.py` and `bench/run.py` time: open a file and
//! read a float32 array whole (`read`), read an array whole in its own type (`full`: what the
//! reference library returns, no conversion), read a region of it, walk every HDU's header
//! (`walk`: into the metadata JSON; `hdus`: parse them and count the HDUs), or read every array
//! of a file (`touch`), or write a Zarr array (`zarr-write`). Prints one line per round: the
//! seconds it took (open included, and the dataset closed inside the timed part, as the Python
//! readers close theirs; `touch`: the clock stops after the last read with every array kept, as
//! `bench/peers.py` times asdf and ndfiles on that task), for the benchmark to take the median
//! of, and a check value (a sum of the values, computed after the clock stops) to compare with
//! the other readers'.
//!
//! ```sh
//! cargo run --release -p nd --example bench_read -- ROUNDS read PATH SELECTOR
//! cargo run --release -p nd --example bench_read -- ROUNDS full PATH SELECTOR
//! cargo run --release -p nd --example bench_read -- ROUNDS cutout PATH SELECTOR 4000:4100,4000:4100
//! cargo run --release -p nd --example bench_read -- ROUNDS walk PATH
//! cargo run --release -p nd --example bench_read -- ROUNDS hdus PATH
//! cargo run --release -p nd --example bench_read -- ROUNDS touch PATH
//! cargo run --release -p nd --example bench_read -- ROUNDS zarr-write SRC.zarr DST.zarr
//! cargo run --release -p nd --example bench_read -- --serve
//! ```
//!
//! `--serve` keeps one process for many runs, so that a benchmark can alternate nd from Rust
//! with another reader call by call rather than process by process (on a machine whose speed
//! drifts within a second, the two are then timed under the same conditions): each line of
//! standard input holds the arguments of one run separated by tabs; its lines are printed,
//! then a line `end`.

use std::io::BufRead;
use std::time::Instant;

fn main() -> Result<(), nd::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("--serve") {
        return run(&args);
    }
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| nd::Error::input(format!("stdin: {e}")))?;
        let args: Vec<String> = line.split('\t').map(str::to_string).collect();
        run(&args)?;
        println!("end");
    }
    Ok(())
}

/// One run: `ROUNDS WHAT PATH [SELECTOR [REGION]]`, one line printed per round.
fn run(args: &[String]) -> Result<(), nd::Error> {
    let usage =
        || nd::Error::input("usage: bench_read ROUNDS read|cutout|walk PATH [SELECTOR [REGION]]");
    let rounds: usize = args
        .first()
        .and_then(|r| r.parse().ok())
        .ok_or_else(usage)?;
    let what = args.get(1).ok_or_else(usage)?.as_str();
    let path = args.get(2).ok_or_else(usage)?.as_str();
    let selector = args.get(3).map_or("0", String::as_str);
    if what == "zarr-write" {
        return zarr_write(rounds, path, args.get(3).ok_or_else(usage)?);
    }
    for _ in 0..rounds {
        let remote0 = nd::remote_stats();
        let t0 = Instant::now();
        let ds = nd::open(path)?;
        let check = match what {
            "read" => {
                let a = ds.array(selector)?.read_ndarray::<f32>()?;
                a.len() as f64 + f64::from(a.iter().next().copied().unwrap_or(0.0))
            }
            "full" => {
                let a = ds.array(selector)?;
                let (t, check) = read_own_type(a, Some(ds))?;
                // the sum is not part of the timed work
                let secs = (t - t0).as_secs_f64();
                println!("{secs:.9} {check}");
                continue;
            }
            "hdus" => match ds.native() {
                // every header read and parsed (data units skipped), as fitsrs' HDU iterator does
                nd::Native::Fits(f) => f.len() as f64,
                _ => return Err(nd::Error::input("hdus: not a FITS file")),
            },
            "touch" => {
                // as asdf and ndfiles are timed on this task (bench/peers.py): every array read
                // and kept, the clock stopped after the last read; the sums, the dataset's close
                // and the release of the arrays and of the listing (kept, as the Python readers
                // keep their list of keys) come after
                let entries = ds.arrays()?;
                let mut held = Vec::with_capacity(entries.len());
                for entry in &entries {
                    held.push(read_held(&ds.array(&entry.path)?)?);
                }
                let secs = t0.elapsed().as_secs_f64();
                drop((entries, ds));
                let check: f64 = held.into_iter().map(|sum| sum()).sum();
                println!("{secs:.9} {check}");
                continue;
            }
            "cutout" => {
                let arr = ds.array(selector)?;
                let region = arr.region(args.get(4).ok_or_else(usage)?)?;
                let a = arr.read_region_ndarray::<f32>(&region)?;
                // closed inside the timed part, as the Python readers close theirs
                drop((arr, ds));
                let secs = t0.elapsed().as_secs_f64();
                // the check is not part of the timed work
                let check: f64 = a.iter().map(|&v| f64::from(v)).sum();
                // what it cost in bytes, outside the timed part
                match cutout_bytes(path, selector, &region, remote0)? {
                    Some((b, r)) => println!("{secs:.9} {check} bytes={b} requests={r}"),
                    None => println!("{secs:.9} {check}"),
                }
                continue;
            }
            "walk" => {
                let m = ds.metadata()?;
                m["hdus"].as_array().map_or(0, Vec::len) as f64
            }
            _ => return Err(usage()),
        };
        // the dataset closed (its file unmapped) inside the timed part, as the Python readers
        // close theirs
        drop(ds);
        let secs = t0.elapsed().as_secs_f64();
        // the check keeps the work from being optimised away, and lets the caller compare
        println!("{secs:.9} {check}");
    }
    Ok(())
}

/// The bytes and requests a cutout cost: for a URL, what the remote source received during the
/// round (open included: headers, the cutout's rows); for a local FITS file, what nd's FITS
/// reader asks its byte source for when it opens the file and reads `region` of HDU `selector`
/// again through a counting source (a memory map answers without a system call, so the process's
/// read counters would say nothing). Other local formats: not counted.
fn cutout_bytes(
    path: &str,
    selector: &str,
    region: &nd::Region,
    remote0: Option<nd_remote::StatsSnapshot>,
) -> Result<Option<(u64, u64)>, nd::Error> {
    if let (Some(a), Some(b)) = (remote0, nd::remote_stats()) {
        if b.requests > a.requests {
            return Ok(Some((b.bytes - a.bytes, b.requests - a.requests)));
        }
    }
    if nd::detect(path)? != nd::Format::Fits {
        return Ok(None);
    }
    let fail = |e: nd::fits::Error| nd::Error::input(format!("{path}: {e}"));
    let src = std::sync::Arc::new(nd_core::CountingSource::new(
        nd_core::MmapSource::open(path).map_err(|e| nd::Error::input(format!("{path}: {e}")))?,
    ));
    let hdu: usize = selector.parse().unwrap_or(0);
    let fits = nd::fits::Fits::from_source(src.clone()).map_err(fail)?;
    fits.image(hdu).map_err(fail)?.read(region).map_err(fail)?;
    Ok(Some((src.bytes_read(), src.reads())))
}

/// `zarr-write SRC DST`: read the Zarr v2 array SRC whole (not timed), then per round time writing
/// it as `nd convert` writes a Zarr store: a new store DST built under a temporary name
/// ([`nd::io::TempDir`], values not synced one by one), the same chunks, zstd level 1, and the
/// commit that syncs the tree and renames it into place.
fn zarr_write(rounds: usize, src: &str, dst: &str) -> Result<(), nd::Error> {
    use nd_core::Store;
    use std::sync::Arc;
    let fail = |e: &dyn std::fmt::Display| nd::Error::input(format!("zarr-write: {e}"));
    let store: Arc<dyn Store> =
        Arc::new(nd_core::DirStore::open_read_only(src).map_err(|e| fail(&e))?);
    let a = nd::zarr::ZarrArray::open(store, "").map_err(|e| fail(&e))?;
    let all = nd::ArrayRead::read_all(&a).map_err(|e| fail(&e))?;
    let check: f64 = match all.dtype() {
        nd::DataType::UInt16 => all
            .bytes()
            .chunks_exact(2)
            .map(|b| f64::from(u16::from_ne_bytes([b[0], b[1]])))
            .sum(),
        _ => 0.0,
    };
    let mut meta = a.metadata().clone();
    meta.compressor = serde_json::json!({"id": "zstd", "level": 1});
    let full = nd::Region::full(&meta.shape);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let building = nd::io::TempDir::new(dst).map_err(|e| fail(&e))?;
        let out: Arc<dyn Store> =
            Arc::new(nd_core::DirStore::staging(&building).map_err(|e| fail(&e))?);
        let w = nd::zarr::ZarrArray::create(out, "", meta.clone()).map_err(|e| fail(&e))?;
        w.write(&full, all.bytes()).map_err(|e| fail(&e))?;
        building.commit(true).map_err(|e| fail(&e))?;
        println!("{:.6} {check}", t0.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Read `a` whole in its stored type (after scaling: what the reference library returns), close
/// it and `ds` (its dataset, when given: the file unmapped), and return when that ended and the
/// sum of the values.
fn read_own_type(a: nd::Array, ds: Option<nd::Dataset>) -> Result<(Instant, f64), nd::Error> {
    let sum = read_held(&a)?;
    drop((a, ds));
    let t = Instant::now();
    Ok((t, sum()))
}

/// Read `a` whole in its own type; the values are kept in the returned closure, which sums them.
fn read_held(a: &nd::Array) -> Result<Box<dyn FnOnce() -> f64>, nd::Error> {
    fn go<T: nd::Scalar + Into<f64>>(a: &nd::Array) -> Result<Box<dyn FnOnce() -> f64>, nd::Error> {
        let v = a.read_ndarray::<T>()?;
        Ok(Box::new(move || v.iter().map(|&x| x.into()).sum()))
    }
    match a.dtype().clone() {
        nd::DataType::Float32 => go::<f32>(a),
        nd::DataType::Float64 => go::<f64>(a),
        nd::DataType::UInt16 => go::<u16>(a),
        nd::DataType::Int16 => go::<i16>(a),
        nd::DataType::Int32 => go::<i32>(a),
        nd::DataType::UInt8 => go::<u8>(a),
        d => Err(nd::Error::input(format!("full: no reader for {d}"))),
    }
}
