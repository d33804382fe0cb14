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
//!
//! And `floor` (tasks `fits_f32`, `asdf_plain`): the least any reader that hands out its values
//! in new memory does — the file's bytes read into a fresh buffer of its size (huge-page advice
//! from the start, on a 2 MiB boundary, as nd gives large buffers), by as many threads as the
//! machine has cores, in positional reads of 4 MiB taken in turn; no parsing, no byte swap. `cat`
//! reuses one small buffer, so it pays neither the first touch of fresh pages (the kernel zeroes
//! each) nor their faults.

use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// See the module's `floor`. Prints no check (no values are interpreted): `null`.
fn floor_read(path: &str) -> Res<(f64, Option<f64>)> {
    use std::os::unix::fs::FileExt;
    let t = Instant::now();
    let file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len())?;
    // zeroed by the allocator (calloc: a fresh mapping, zeroed lazily), as nd's and numpy's
    // large buffers are; 2 MiB more, so that the bytes start on a huge-page boundary, as nd's
    // large outputs do (nd_core::buf::zeroed_values): the advice then covers every page of them
    const HUGE_PAGE: usize = 2 << 20;
    let mut whole = vec![0u8; len + HUGE_PAGE];
    let skip = (whole.as_ptr() as usize).next_multiple_of(HUGE_PAGE) - whole.as_ptr() as usize;
    let buf = &mut whole[skip..skip + len];
    let start = (buf.as_ptr() as usize).next_multiple_of(4096);
    let end = (buf.as_ptr() as usize + len) / 4096 * 4096;
    if end > start {
        // SAFETY: whole pages inside `buf`'s allocation; the advice changes no byte.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // pieces of 4 MiB (two whole huge pages: two threads do not fault in the same one) handed
    // out one at a time (a thread that runs slower takes fewer), as a work-stealing pool would:
    // a CPU of the VM that is slower for a while does not hold up the end
    const PIECE: usize = 4 << 20;
    let pieces = std::sync::Mutex::new(buf.chunks_mut(PIECE).enumerate());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (file, pieces) = (&file, &pieces);
                s.spawn(move || -> std::io::Result<()> {
                    loop {
                        let next = pieces
                            .lock()
                            .map_err(|_| std::io::Error::other("poisoned"))?
                            .next();
                        let Some((i, piece)) = next else {
                            return Ok(());
                        };
                        file.read_exact_at(piece, (i * PIECE) as u64)?;
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| std::io::Error::other("a reader panicked"))?
        })
    })?;
    drop(file);
    let secs = t.elapsed().as_secs_f64();
    // keep the reads from being optimised away: one byte of every MiB
    let touched = buf
        .iter()
        .step_by(1 << 20)
        .map(|&b| u64::from(b))
        .sum::<u64>();
    std::hint::black_box(touched);
    Ok((secs, None))
}

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
    let some = |(s, c): (f64, f64)| (s, Some(c));
    let (seconds, check) = match (reader.as_str(), task.as_str()) {
        ("floor", "fits_f32" | "asdf_plain") => floor_read(path)?,
        ("fitsrs", "fits_f32" | "fits_i16" | "fits_walk") => some(fitsrs_read(path, task)?),
        ("zarrs", "zarr_cutout") => some(zarrs_cutout(path, extra)?),
        ("zarrs", "zarr_write") => some(zarrs_write(path, extra)?),
        ("zarrs", t) if t.starts_with("zarr") => some(zarrs_read(path)?),
        _ => return Err(format!("{reader} does not do {task}").into()),
    };
    println!(
        "{}",
        serde_json::json!({"seconds": seconds, "check": check})
    );
    Ok(())
}
