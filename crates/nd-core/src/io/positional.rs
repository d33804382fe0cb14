//! Positional reads and writes of a [`File`]: at an offset, with no shared cursor, so many threads
//! may read or write disjoint parts of one file through one `&File`.
//!
//! On Unix these are `pread`/`pwrite` (the Unix `FileExt`; on Linux the read is the `pread64`
//! system call made directly, see [`read_exact_at`]); on Windows
//! `seek_read`/`seek_write` in a loop (each call may transfer less than asked, and moves the
//! file cursor, which no reader of the workspace relies on). Every crate of the workspace calls
//! these two functions instead of the platform traits, so each format builds on both.
//!
//! ```
//! use nd_core::io::{read_exact_at, write_all_at};
//! let file = tempfile::tempfile()?;
//! write_all_at(&file, b"hello world", 0)?;
//! write_all_at(&file, b"W", 6)?;
//! let mut buf = [0u8; 5];
//! read_exact_at(&file, &mut buf, 6)?;
//! assert_eq!(&buf, b"World");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io;

/// Fill `buf` with the bytes of `file` at `offset..offset + buf.len()`. One system call when the
/// platform delivers all at once (no copy beyond the kernel's).
///
/// # Errors
/// The platform's error; [`io::ErrorKind::UnexpectedEof`] when the file ends before `buf` is
/// full (what was read is then in `buf`, the rest unspecified).
#[cfg(all(unix, not(target_os = "linux")))]
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fill `buf` with the bytes of `file` at `offset..offset + buf.len()`. One system call when the
/// platform delivers all at once (no copy beyond the kernel's).
///
/// On Linux the `pread64` system call is made directly rather than through the C library's
/// `pread`, which in a process with more than one thread (a Python interpreter with numpy, a
/// dask worker, any program that has used nd's thread pool) wraps each call in the bookkeeping
/// of a thread-cancellation point: ~10% of a small read's cost, paid a hundred times by the
/// rows of a cutout. nd never cancels threads, so it needs none of it.
///
/// # Errors
/// The platform's error; [`io::ErrorKind::UnexpectedEof`] when the file ends before `buf` is
/// full (what was read is then in `buf`, the rest unspecified).
#[cfg(target_os = "linux")]
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    // SAFETY: `buf` is `buf.len()` writable (and initialised) bytes, borrowed for the call.
    unsafe { pread_exact(file, buf.as_mut_ptr(), buf.len(), offset) }
}

/// `pread64` until `len` bytes of `file` at `offset` are at `dst`.
///
/// # Safety
/// `dst` must be valid for writes of `len` bytes for the whole call (initialised or not: only
/// the kernel writes there, and only bytes).
#[cfg(target_os = "linux")]
unsafe fn pread_exact(file: &File, dst: *mut u8, len: usize, mut offset: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut done = 0usize;
    while done < len {
        let at = i64::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `dst + done .. dst + len` is within the region the caller vouches for, and
        // `fd` an open descriptor borrowed from `file`; the kernel writes at most `len - done`
        // bytes there.
        let n = unsafe {
            libc::syscall(
                libc::SYS_pread64,
                fd,
                dst.add(done).cast::<libc::c_void>(),
                len - done,
                at,
            )
        };
        match n {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n if n > 0 => {
                // 0 < n <= len - done: the kernel never reports more than it was given
                let n = usize::try_from(n).unwrap_or(len - done).min(len - done);
                done += n;
                offset += n as u64;
            }
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// The bytes of `file` at each of `runs` (`(offset, len)`), one after another in a new buffer
/// of `total` bytes (the sum of the lengths). On Linux the buffer is not zeroed first: the
/// kernel writes every byte of it (a cutout's hundred rows read into 40 KB would otherwise be
/// written twice).
///
/// # Errors
/// The platform's error, with the offset of the run it stopped at ([`io::ErrorKind::UnexpectedEof`]
/// when the file ends within a run); [`io::ErrorKind::InvalidInput`] at offset 0 when the runs do
/// not add up to `total`.
pub fn read_runs_new(
    file: &File,
    runs: impl IntoIterator<Item = (u64, usize)>,
    total: usize,
) -> Result<Vec<u8>, (u64, io::Error)> {
    let invalid = || (0, io::Error::from(io::ErrorKind::InvalidInput));
    #[cfg(target_os = "linux")]
    {
        let mut buf: Vec<u8> = Vec::new();
        buf.try_reserve_exact(total)
            .map_err(|_| (0, io::Error::from(io::ErrorKind::OutOfMemory)))?;
        let mut at = 0usize;
        for (offset, len) in runs {
            let end = at
                .checked_add(len)
                .filter(|&e| e <= total)
                .ok_or_else(invalid)?;
            // SAFETY: `at..end` lies within the `total` bytes of capacity reserved above.
            unsafe { pread_exact(file, buf.as_mut_ptr().add(at), len, offset) }
                .map_err(|e| (offset, e))?;
            at = end;
        }
        if at != total {
            return Err(invalid());
        }
        // SAFETY: the runs cover `0..total` one after another and each was filled by the kernel
        // (`pread_exact` returns Ok only once all of a run's bytes are written).
        unsafe { buf.set_len(total) };
        Ok(buf)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut buf = vec![0u8; total];
        let mut at = 0usize;
        for (offset, len) in runs {
            let dst = at
                .checked_add(len)
                .and_then(|end| buf.get_mut(at..end))
                .ok_or_else(invalid)?;
            read_exact_at(file, dst, offset).map_err(|e| (offset, e))?;
            at += len;
        }
        if at != total {
            return Err(invalid());
        }
        Ok(buf)
    }
}

/// Write all of `buf` into `file` at `offset`, growing the file when it reaches past the end.
///
/// # Errors
/// The platform's error; [`io::ErrorKind::WriteZero`] when the platform accepts no bytes.
#[cfg(unix)]
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Fill `buf` with the bytes of `file` at `offset..offset + buf.len()` (`seek_read` until full).
///
/// # Errors
/// The platform's error; [`io::ErrorKind::UnexpectedEof`] when the file ends before `buf` is
/// full (what was read is then in `buf`, the rest unspecified).
#[cfg(windows)]
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Write all of `buf` into `file` at `offset` (`seek_write` until done), growing the file when
/// it reaches past the end.
///
/// # Errors
/// The platform's error; [`io::ErrorKind::WriteZero`] when the platform accepts no bytes.
#[cfg(windows)]
pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_read_one_after_another_into_a_new_buffer() {
        let file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        write_all_at(&file, &data, 0).unwrap();
        let runs = [(100u64, 7usize), (9_000, 1_000), (0, 0), (5, 3)];
        let got = read_runs_new(&file, runs, 1_010).unwrap();
        let want: Vec<u8> = runs
            .iter()
            .flat_map(|&(o, n)| data[o as usize..o as usize + n].to_vec())
            .collect();
        assert_eq!(got, want);
        // the file ends within a run: its offset is named
        let (at, e) = read_runs_new(&file, [(0, 10), (9_995, 10)], 20).unwrap_err();
        assert_eq!((at, e.kind()), (9_995, io::ErrorKind::UnexpectedEof));
        // runs that do not add up to the total
        for (runs, total) in [
            (vec![(0u64, 10usize)], 11usize),
            (vec![(0, 10), (0, 5)], 12),
        ] {
            let (_, e) = read_runs_new(&file, runs, total).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn positional_reads_and_writes_round_trip() {
        let file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        // written out of order, past the end (the file grows), from several threads at once
        std::thread::scope(|s| {
            for (k, part) in data.chunks(30_000).enumerate().rev() {
                let file = &file;
                s.spawn(move || write_all_at(file, part, (k * 30_000) as u64).unwrap());
            }
        });
        assert_eq!(file.metadata().unwrap().len(), 100_000);
        let mut buf = vec![0u8; 777];
        read_exact_at(&file, &mut buf, 12_345).unwrap();
        assert_eq!(buf, &data[12_345..12_345 + 777]);
        let mut all = vec![0u8; 100_000];
        read_exact_at(&file, &mut all, 0).unwrap();
        assert_eq!(all, data);
        let mut past = [0u8; 10];
        let e = read_exact_at(&file, &mut past, 99_995).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        read_exact_at(&file, &mut [], 1 << 40).unwrap();
    }
}
