//! numpy's `.npz` written as `np.savez` writes it: a zip of stored (uncompressed) `.npy`
//! members, `np.load(f)[name]` reading each. nd writes a masked array's data and mask this way
//! (`data`, `mask`: `np.ma.array(f["data"], mask=f["mask"])`).
//!
//! Each member is streamed (memory bounded by the budget) after a local header whose CRC-32 and
//! sizes are filled in once the member is complete (the file is a temporary one, renamed into
//! place at the end). Members are limited to 4 GiB (no ZIP64 records).

use crate::error::{Error, Result};
use crate::export::{write_stream, ArrayFormat};
use nd_core::ArrayRead;
use std::io::{Seek, SeekFrom, Write};

/// Counts and checksums what passes through.
struct Crc<'w, W: Write> {
    inner: &'w mut W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Crc<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write `members` (name without `.npy`, array) as an `.npz` file at `path`, atomically.
///
/// # Errors
/// [`Error::Input`] when a read fails or a member exceeds 4 GiB; [`Error::Output`] when
/// writing fails.
pub(crate) fn write_npz(
    path: &str,
    members: &[(&str, &dyn ArrayRead)],
    budget: usize,
) -> Result<()> {
    let io = |e: std::io::Error| Error::Output {
        context: format!("writing {path}"),
        source: e,
    };
    let mut tmp =
        nd_core::io::TempFile::create(path).map_err(|e| Error::input(format!("{path}: {e}")))?;
    let mut central = Vec::new();
    let mut count: u16 = 0;
    {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, tmp.file_mut());
        for (name, arr) in members {
            let fname = format!("{name}.npy");
            let offset = f.stream_position().map_err(io)?;
            f.write_all(&local_header(&fname, 0, 0)).map_err(io)?;
            let (crc, len) = {
                let mut w = Crc {
                    inner: &mut f,
                    crc: crc32fast::Hasher::new(),
                    len: 0,
                };
                write_stream(*arr, ArrayFormat::Npy, budget, &mut w)?;
                (w.crc.finalize(), w.len)
            };
            let len32 = u32::try_from(len).ok().filter(|&l| l != u32::MAX).ok_or_else(|| {
                Error::input(format!(
                    "{path}: member {fname} holds {len} bytes; .npz members are limited to 4 GiB here (write .npy)"
                ))
            })?;
            let off32 = u32::try_from(offset)
                .map_err(|_| Error::input(format!("{path}: over 4 GiB (write .npy)")))?;
            let end = f.stream_position().map_err(io)?;
            f.seek(SeekFrom::Start(offset)).map_err(io)?;
            f.write_all(&local_header(&fname, crc, len32)).map_err(io)?;
            f.seek(SeekFrom::Start(end)).map_err(io)?;
            central.extend_from_slice(&central_entry(&fname, crc, len32, off32));
            count += 1;
        }
        let cd_off = f.stream_position().map_err(io)?;
        let cd_off = u32::try_from(cd_off)
            .map_err(|_| Error::input(format!("{path}: over 4 GiB (write .npy)")))?;
        f.write_all(&central).map_err(io)?;
        let mut eocd = Vec::with_capacity(22);
        eocd.extend_from_slice(b"PK\x05\x06");
        eocd.extend_from_slice(&[0, 0, 0, 0]);
        eocd.extend_from_slice(&count.to_le_bytes());
        eocd.extend_from_slice(&count.to_le_bytes());
        eocd.extend_from_slice(&(central.len() as u32).to_le_bytes());
        eocd.extend_from_slice(&cd_off.to_le_bytes());
        eocd.extend_from_slice(&[0, 0]);
        f.write_all(&eocd).map_err(io)?;
        f.flush().map_err(io)?;
    }
    tmp.persist()
        .map_err(|e| Error::input(format!("{path}: {e}")))
}

/// 1980-01-01 00:00 in MS-DOS form (time, date).
const DOS_TIME: [u8; 4] = [0, 0, 0x21, 0];

fn local_header(name: &str, crc: u32, len: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + name.len());
    h.extend_from_slice(b"PK\x03\x04");
    h.extend_from_slice(&20u16.to_le_bytes()); // version needed
    h.extend_from_slice(&0u16.to_le_bytes()); // flags
    h.extend_from_slice(&0u16.to_le_bytes()); // stored
    h.extend_from_slice(&DOS_TIME);
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

fn central_entry(name: &str, crc: u32, len: u32, offset: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(46 + name.len());
    h.extend_from_slice(b"PK\x01\x02");
    h.extend_from_slice(&20u16.to_le_bytes()); // made by
    h.extend_from_slice(&20u16.to_le_bytes()); // needed
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&DOS_TIME);
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&[0; 2 + 2 + 2 + 2 + 4]); // extra, comment, disk, internal, external
    h.extend_from_slice(&offset.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}
