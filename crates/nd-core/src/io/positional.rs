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
//! let file = tempfile::tempfile().unwrap();
//! write_all_at(&file, b"hello world", 0).unwrap();
//! write_all_at(&file, b"W", 6).unwrap();
//! let mut buf = [0u8; 5];
//! read_exact_at(&file, &mut buf, 6).unwrap();
//! assert_eq!(&buf, b"World");
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
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    while !buf.is_empty() {
        let at = i64::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `buf` is a valid writable region of `buf.len()` bytes for the whole call and
        // `fd` an open descriptor borrowed from `file`; the kernel writes at most `buf.len()`
        // bytes into it.
        let n = unsafe {
            libc::syscall(
                libc::SYS_pread64,
                fd,
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                at,
            )
        };
        match n {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n if n > 0 => {
                // 0 < n <= buf.len(): the kernel never reports more than it was given
                let n = usize::try_from(n).unwrap_or(buf.len()).min(buf.len());
                buf = &mut buf[n..];
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
