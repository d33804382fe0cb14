//! A byte range of a [`ByteSource`] as a stream ([`std::io::BufRead`]) read in bounded
//! positional reads: a decoder can take a large stored region (a compressed block) through one
//! buffer of [`ByteSource::stream_chunk`] bytes instead of holding the region whole (or, for a
//! memory map, faulting all its pages into the process).

use crate::source::{check_range, ByteSource};
use crate::Result;
use std::io::{self, BufRead, Read};
use std::ops::Range;

/// [`std::io::BufRead`] over `range` of a source, one positional read of at most
/// [`ByteSource::stream_chunk`] bytes at a time. Errors of the source come out as
/// [`io::Error`]s of kind `Other` carrying the source's message (path and offset).
#[derive(Debug)]
pub struct SourceReader<'a> {
    src: &'a dyn ByteSource,
    /// Next source offset to read.
    pos: u64,
    end: u64,
    buf: Box<[u8]>,
    /// `buf[start..filled]` is read and not yet consumed.
    start: usize,
    filled: usize,
}

impl<'a> SourceReader<'a> {
    /// A reader of `range` of `src`; a range reaching past the source's end is
    /// [`crate::Error::OutOfBounds`] here, not a short stream later.
    pub fn new(src: &'a dyn ByteSource, range: Range<u64>) -> Result<Self> {
        let len = check_range(&range, src.len())?;
        Ok(SourceReader {
            src,
            pos: range.start,
            end: range.end,
            buf: vec![0u8; len.min(src.stream_chunk().max(1))].into_boxed_slice(),
            start: 0,
            filled: 0,
        })
    }
}

impl BufRead for SourceReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.filled && self.pos < self.end {
            let n = usize::try_from(self.end - self.pos)
                .map_or(self.buf.len(), |left| left.min(self.buf.len()));
            self.src
                .read_exact_at(self.pos, &mut self.buf[..n])
                .map_err(io::Error::other)?;
            self.pos += n as u64;
            self.start = 0;
            self.filled = n;
        }
        Ok(&self.buf[self.start..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.start = (self.start + amt).min(self.filled);
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CountingSource, MemSource};

    #[test]
    fn streams_the_range_in_bounded_reads() {
        let chunk = MemSource::new(Vec::new()).stream_chunk();
        let data: Vec<u8> = (0..(3 * chunk + 1000)).map(|i| (i % 251) as u8).collect();
        let src = CountingSource::new(MemSource::new(data.clone()));
        let (a, b) = (17u64, data.len() as u64 - 5);
        let mut r = SourceReader::new(&src, a..b).unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, &data[a as usize..b as usize]);
        // four reads, none longer than a chunk, covering exactly the range
        let ranges = src.ranges();
        assert_eq!(ranges.len(), 4);
        assert!(ranges.iter().all(|r| r.end - r.start <= chunk as u64));
        assert_eq!(ranges.first().map(|r| r.start), Some(a));
        assert_eq!(ranges.last().map(|r| r.end), Some(b));
        assert_eq!(src.bytes_read(), b - a);
    }

    #[test]
    fn out_of_bounds_and_empty_ranges() {
        let src = MemSource::new(vec![1u8; 10]);
        assert!(SourceReader::new(&src, 5..11).is_err());
        let mut r = SourceReader::new(&src, 4..4).unwrap();
        assert_eq!(r.fill_buf().unwrap(), b"");
    }
}
