//! The Rust peers of `bench/run.py`: `nd-bench-peers READER TASK PATH` opens PATH with READER
//! (`zarrs` or `fitsrs`), reads it whole for TASK, and prints one JSON line
//! `{"seconds": open + read, "check": sum of the values}`. One reader and one task per process,
//! so the process's peak RSS (measured by the driver) is this reader's alone.
//!
//! Tasks: `fits_f32` and `fits_i16` (the primary image's pixels; fitsrs does not apply
//! BSCALE/BZERO, so `fits_i16` is the raw integers for it), `fits_walk` (count the HDUs, headers
//! parsed, data skipped), `zarr` (a whole uint16 Zarr v2 array), `zarr_cutout REGION` (a region
//! `a:b,c:d,e:f` of it), `zarr_write DESTINATION` (the array read whole, untimed, then written
//! into a new store with the same chunks and zstd level 1: the time is the write's).

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

/// Ranges `a:b,c:d,...` of a region.
fn ranges(spec: &str) -> Res<Vec<std::ops::Range<u64>>> {
    spec.split(',')
        .map(|r| {
            let (a, b) = r.split_once(':').ok_or("region: a:b,...")?;
            Ok(a.parse()?..b.parse()?)
        })
        .collect()
}

fn zarrs_cutout(path: &str, region: &str) -> Res<(f64, f64)> {
    use std::sync::Arc;
    use zarrs::array::{Array, ArraySubset};
    use zarrs::filesystem::FilesystemStore;
    let r = ranges(region)?;
    let t = Instant::now();
    let store = Arc::new(FilesystemStore::new(path)?);
    let a = Array::open(store, "/")?;
    let v: Vec<u16> = a.retrieve_array_subset(&ArraySubset::new_with_ranges(&r))?;
    let s = t.elapsed().as_secs_f64();
    Ok((s, v.iter().map(|&x| f64::from(x)).sum()))
}

/// Read the uint16 store at `path` whole (not timed), then time writing it into a new store
/// `dst` with the same chunks, compressed with zstd level 1 (as the benchmark's zstd store).
fn zarrs_write(path: &str, dst: &str) -> Res<(f64, f64)> {
    use std::sync::Arc;
    use zarrs::array::{Array, ArraySubset};
    use zarrs::filesystem::FilesystemStore;
    let src = Array::open(Arc::new(FilesystemStore::new(path)?), "/")?;
    let full: Vec<std::ops::Range<u64>> = src.shape().iter().map(|&n| 0..n).collect();
    let all = ArraySubset::new_with_ranges(&full);
    let v: Vec<u16> = src.retrieve_array_subset(&all)?;
    let mut meta = src.metadata().clone();
    if let zarrs::array::ArrayMetadata::V2(m) = &mut meta {
        m.compressor = Some(serde_json::from_value(
            serde_json::json!({"id": "zstd", "level": 1}),
        )?);
    }
    let t = Instant::now();
    let w = Array::new_with_metadata(Arc::new(FilesystemStore::new(dst)?), "/", meta)?;
    w.store_metadata()?;
    w.store_array_subset(&all, &v)?;
    let s = t.elapsed().as_secs_f64();
    Ok((s, v.iter().map(|&x| f64::from(x)).sum()))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (reader, task, path, extra) = match &args[..] {
        [r, t, p] => (r, t, p, ""),
        [r, t, p, e] => (r, t, p, e.as_str()),
        _ => return Err("usage: nd-bench-peers READER TASK PATH [REGION | DESTINATION]".into()),
    };
    let (seconds, check) = match (reader.as_str(), task.as_str()) {
        ("fitsrs", "fits_f32" | "fits_i16" | "fits_walk") => fitsrs_read(path, task)?,
        ("zarrs", "zarr_cutout") => zarrs_cutout(path, extra)?,
        ("zarrs", "zarr_write") => zarrs_write(path, extra)?,
        ("zarrs", t) if t.starts_with("zarr") => zarrs_read(path)?,
        _ => return Err(format!("{reader} does not do {task}").into()),
    };
    println!(
        "{}",
        serde_json::json!({"seconds": seconds, "check": check})
    );
    Ok(())
}
