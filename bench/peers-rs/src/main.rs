//! The Rust peers of `bench/run.py`: `nd-bench-peers READER TASK PATH` opens PATH with READER
//! (`zarrs` or `fitsrs`), reads it whole for TASK, and prints one JSON line
//! `{"seconds": open + read, "check": sum of the values}`. One reader and one task per process,
//! so the process's peak RSS (measured by the driver) is this reader's alone.
//!
//! Tasks: `fits_f32` and `fits_i16` (the primary image's pixels; fitsrs does not apply
//! BSCALE/BZERO, so `fits_i16` is the raw integers for it), `fits_walk` (count the HDUs, headers
//! parsed, data skipped), `zarr` (a whole uint16 Zarr v2 array).

use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn fitsrs_read(path: &str, task: &str) -> Res<(f64, f64)> {
    use fitsrs::{Fits, Pixels, HDU};
    let t = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut hdus = Fits::from_reader(file);
    if task == "fits_walk" {
        let mut n = 0u64;
        for hdu in hdus.by_ref() {
            hdu?;
            n += 1;
        }
        return Ok((t.elapsed().as_secs_f64(), n as f64));
    }
    let Some(hdu) = hdus.next() else {
        return Err("no HDU".into());
    };
    let HDU::Primary(hdu) = hdu? else {
        return Err("primary HDU expected".into());
    };
    match hdus.get_data(&hdu).pixels() {
        Pixels::F32(it) => {
            let v: Vec<f32> = it.collect();
            let s = t.elapsed().as_secs_f64();
            Ok((s, v.iter().map(|&x| f64::from(x)).sum()))
        }
        Pixels::I16(it) => {
            let v: Vec<i16> = it.collect();
            let s = t.elapsed().as_secs_f64();
            Ok((s, v.iter().map(|&x| f64::from(x)).sum()))
        }
        _ => Err("float32 or int16 image expected".into()),
    }
}

fn zarrs_read(path: &str) -> Res<(f64, f64)> {
    use std::sync::Arc;
    use zarrs::array::{Array, ArraySubset};
    use zarrs::filesystem::FilesystemStore;
    let t = Instant::now();
    let store = Arc::new(FilesystemStore::new(path)?);
    let a = Array::open(store, "/")?;
    let full: Vec<std::ops::Range<u64>> = a.shape().iter().map(|&n| 0..n).collect();
    let v: Vec<u16> = a.retrieve_array_subset(&ArraySubset::new_with_ranges(&full))?;
    let s = t.elapsed().as_secs_f64();
    Ok((s, v.iter().map(|&x| f64::from(x)).sum()))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reader, task, path] = &args[..] else {
        return Err("usage: nd-bench-peers READER TASK PATH".into());
    };
    let (seconds, check) = match (reader.as_str(), task.as_str()) {
        ("fitsrs", "fits_f32" | "fits_i16" | "fits_walk") => fitsrs_read(path, task)?,
        ("zarrs", t) if t.starts_with("zarr") => zarrs_read(path)?,
        _ => return Err(format!("{reader} does not do {task}").into()),
    };
    println!(
        "{}",
        serde_json::json!({"seconds": seconds, "check": check})
    );
    Ok(())
}
