//! Random access into a gzip file without inflating it into memory (the `zran` technique).
//!
//! [`GzipSource::new`] inflates the file once, front to back, checking every member's CRC-32 and
//! size, and keeps *access points*: copies of the inflater's state (its 32 KiB window included)
//! every `span` bytes of output. A read at any offset then starts from the nearest access point
//! before it and inflates at most `span` bytes it does not need. Sequential reads continue from
//! where the previous one stopped (a few cursors are kept), so a front-to-back pass costs one
//! inflation of the file. Memory stays bounded whatever the file's size: at most
//! [`MAX_POINTS`] access points (the span doubles when they would be more), each ~45 KiB.
//!
//! Files of several concatenated members (`cat a.gz b.gz`) read as the concatenation, and zero
//! bytes after the last member are ignored, as Python's `gzip` module does; any other trailing
//! bytes are an error.

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use nd_core::{ByteSource, Limits};
use std::fmt;
use std::sync::{Arc, Mutex};

type Result<T> = std::result::Result<T, nd_core::Error>;

/// The first span between access points (output bytes); it doubles while points would exceed
/// [`MAX_POINTS`].
pub const FIRST_SPAN: u64 = 1 << 20;
/// The most access points a [`GzipSource`] keeps (each holds the inflater's state, ~45 KiB).
pub const MAX_POINTS: usize = 256;
/// How many read cursors are kept for reads that continue where an earlier one stopped.
const CURSORS: usize = 4;
/// Bytes of compressed input read at a time.
const INPUT_CHUNK: usize = 128 << 10;

/// Where inflation can start: an output offset, the compressed offset of the next input byte,
/// and the inflater's state there (`None` at the start of a member's deflate data).
struct AccessPoint {
    out: u64,
    input: u64,
    state: Option<Box<InflateState>>,
}

impl AccessPoint {
    fn inflater(&self) -> Box<InflateState> {
        match &self.state {
            Some(s) => s.clone(),
            None => InflateState::new_boxed(DataFormat::Raw),
        }
    }
}

/// An inflater positioned at `out` (output) / `input` (compressed), with its input buffer.
struct Cursor {
    state: Box<InflateState>,
    out: u64,
    input: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

/// The decompressed bytes of a gzip file, as a random-access [`ByteSource`].
pub struct GzipSource {
    inner: Arc<dyn ByteSource>,
    len: u64,
    span: u64,
    points: Vec<AccessPoint>,
    cursors: Mutex<Vec<Cursor>>,
}

impl fmt::Debug for GzipSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GzipSource")
            .field("inner", &self.inner.describe())
            .field("len", &self.len)
            .field("points", &self.points.len())
            .finish()
    }
}

/// True when `source` starts with the gzip magic bytes (1f 8b).
pub fn is_gzip(source: &dyn ByteSource) -> Result<bool> {
    let mut magic = [0u8; 2];
    if source.len() < 2 {
        return Ok(false);
    }
    source.read_exact_at(0, &mut magic)?;
    Ok(magic == [0x1f, 0x8b])
}

fn corrupt(src: &dyn ByteSource, at: u64, what: impl fmt::Display) -> nd_core::Error {
    nd_core::Error::io(
        format!("gunzip {} at compressed byte {at}", src.describe()),
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
    )
}

/// Parse a member header at `at`; returns the offset of its deflate data.
fn member_header(src: &dyn ByteSource, at: u64) -> Result<u64> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let mut head = [0u8; 10];
    let n = src.len().saturating_sub(at).min(10) as usize;
    src.read_exact_at(at, &mut head[..n])?;
    if head[..n.min(2)] != [0x1f, 0x8b][..n.min(2)] {
        return Err(corrupt(src, at, "not a gzip member (bad magic bytes)"));
    }
    if n < 10 {
        return Err(corrupt(src, at, "truncated gzip member header"));
    }
    if head[2] != 8 {
        return Err(corrupt(
            src,
            at,
            format!("unknown compression method {}", head[2]),
        ));
    }
    let flags = head[3];
    let mut pos = at + 10;
    let short = |p: u64| corrupt(src, p, "truncated gzip member header");
    if flags & FEXTRA != 0 {
        let mut xlen = [0u8; 2];
        src.read_exact_at(pos, &mut xlen).map_err(|_| short(pos))?;
        pos += 2 + u64::from(u16::from_le_bytes(xlen));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            pos = after_zero(src, pos)?;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if pos > src.len() {
        return Err(short(pos));
    }
    Ok(pos)
}

/// The offset after the zero byte that ends a string field starting at `pos`.
fn after_zero(src: &dyn ByteSource, mut pos: u64) -> Result<u64> {
    let mut chunk = [0u8; 256];
    loop {
        let n = (src.len().saturating_sub(pos)).min(chunk.len() as u64) as usize;
        if n == 0 {
            return Err(corrupt(src, pos, "truncated gzip member header"));
        }
        src.read_exact_at(pos, &mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().position(|&b| b == 0) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
}

/// The offset of the next member after `pos`, skipping zero padding; `None` at the end.
fn next_member(src: &dyn ByteSource, mut pos: u64) -> Result<Option<u64>> {
    let mut chunk = [0u8; 4096];
    while pos < src.len() {
        let n = (src.len() - pos).min(chunk.len() as u64) as usize;
        src.read_exact_at(pos, &mut chunk[..n])?;
        match chunk[..n].iter().position(|&b| b != 0) {
            Some(i) => return Ok(Some(pos + i as u64)),
            None => pos += n as u64,
        }
    }
    Ok(None)
}

impl Cursor {
    fn at(point: &AccessPoint) -> Cursor {
        Cursor {
            state: point.inflater(),
            out: point.out,
            input: point.input,
            buf: Vec::new(),
            buf_at: point.input,
        }
    }

    /// Make the input buffer hold the compressed bytes at `self.input` (at least one unless at
    /// the end of the file); returns where they start in it.
    fn fill_input(&mut self, src: &dyn ByteSource) -> Result<usize> {
        let end = self.buf_at + self.buf.len() as u64;
        if self.input < self.buf_at || self.input >= end {
            let n = (src.len().saturating_sub(self.input)).min(INPUT_CHUNK as u64) as usize;
            self.buf.resize(n, 0);
            src.read_exact_at(self.input, &mut self.buf)?;
            self.buf_at = self.input;
        }
        Ok((self.input - self.buf_at) as usize)
    }

    /// Inflate into `out`; returns the bytes written and whether the member's deflate data ended.
    fn step(&mut self, src: &dyn ByteSource, out: &mut [u8]) -> Result<(usize, bool)> {
        let at = self.input;
        let from = self.fill_input(src)?;
        let input = &self.buf[from..];
        let at_eof = input.is_empty();
        let r = inflate(&mut self.state, input, out, MZFlush::None);
        self.input += r.bytes_consumed as u64;
        self.out += r.bytes_written as u64;
        match r.status {
            Ok(MZStatus::StreamEnd) => Ok((r.bytes_written, true)),
            Ok(_) => Ok((r.bytes_written, false)),
            Err(MZError::Buf) if at_eof || (r.bytes_consumed == 0 && r.bytes_written == 0) => Err(
                corrupt(src, at, "the compressed data ends early (truncated file)"),
            ),
            Err(MZError::Buf) => Ok((r.bytes_written, false)),
            Err(_) => Err(corrupt(src, at, "invalid deflate data")),
        }
    }
}

impl GzipSource {
    /// Index the gzip file `inner` (one inflation pass), refusing more than
    /// `limits.decompressed_bytes` of output.
    pub fn new(inner: Arc<dyn ByteSource>, limits: &Limits) -> Result<GzipSource> {
        GzipSource::with_first_span(inner, limits, FIRST_SPAN)
    }

    fn with_first_span(
        inner: Arc<dyn ByteSource>,
        limits: &Limits,
        mut span: u64,
    ) -> Result<GzipSource> {
        let src = &*inner;
        let mut points: Vec<AccessPoint> = Vec::new();
        let mut scratch = vec![0u8; 256 << 10];
        let mut out_total = 0u64;
        let mut member = Some(0u64);
        while let Some(start) = member {
            let data = member_header(src, start)?;
            let first = AccessPoint {
                out: out_total,
                input: data,
                state: None,
            };
            let mut cur = Cursor::at(&first);
            points.push(first);
            let mut last_point = out_total;
            let mut crc = crc32fast::Hasher::new();
            let member_out = out_total;
            loop {
                // Stop at the next access point's offset, so points are `span` apart.
                let room = (span - (cur.out - last_point).min(span - 1)) as usize;
                let chunk = room.min(scratch.len());
                let (n, end) = cur.step(src, &mut scratch[..chunk])?;
                crc.update(&scratch[..n]);
                Limits::check(
                    "decompressed_bytes",
                    cur.out,
                    limits.decompressed_bytes,
                    || format!("gunzip {} (decompressed size)", src.describe()),
                )?;
                if end {
                    break;
                }
                if cur.out - last_point >= span {
                    points.push(AccessPoint {
                        out: cur.out,
                        input: cur.input,
                        state: Some(cur.state.clone()),
                    });
                    last_point = cur.out;
                    if points.iter().filter(|p| p.state.is_some()).count() > MAX_POINTS {
                        span *= 2;
                        thin(&mut points);
                    }
                }
            }
            let mut trailer = [0u8; 8];
            if src.len().saturating_sub(cur.input) < 8 {
                return Err(corrupt(src, cur.input, "truncated gzip member trailer"));
            }
            src.read_exact_at(cur.input, &mut trailer)?;
            let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
            let want_len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
            if crc.finalize() != want_crc {
                return Err(corrupt(src, cur.input, "CRC-32 check failed"));
            }
            if (cur.out - member_out) as u32 != want_len {
                return Err(corrupt(src, cur.input + 4, "size check (ISIZE) failed"));
            }
            out_total = cur.out;
            member = next_member(src, cur.input + 8)?;
        }
        Ok(GzipSource {
            inner,
            len: out_total,
            span,
            points,
            cursors: Mutex::new(Vec::new()),
        })
    }

    /// The number of access points kept (for tests and diagnostics).
    pub fn access_points(&self) -> usize {
        self.points.len()
    }

    /// The output bytes between access points: the most a read inflates in vain.
    pub fn access_span(&self) -> u64 {
        self.span
    }

    /// The compressed source.
    pub fn compressed(&self) -> &Arc<dyn ByteSource> {
        &self.inner
    }

    /// A cursor at or before `offset`, at most about one span before it.
    fn cursor_for(&self, offset: u64) -> Cursor {
        let from_point = {
            let i = self.points.partition_point(|p| p.out <= offset);
            // i >= 1: the first point is at output 0.
            &self.points[i.saturating_sub(1)]
        };
        let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        let best = cursors
            .iter()
            .enumerate()
            .filter(|(_, c)| c.out <= offset && c.out >= from_point.out)
            .max_by_key(|(_, c)| c.out)
            .map(|(i, _)| i);
        match best {
            Some(i) => cursors.swap_remove(i),
            None => Cursor::at(from_point),
        }
    }

    fn keep(&self, cursor: Cursor) {
        let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        if cursors.len() >= CURSORS {
            cursors.remove(0);
        }
        cursors.push(cursor);
    }

    /// Move a cursor whose member ended to the start of the next member.
    fn next_member_cursor(&self, c: &Cursor) -> Result<Cursor> {
        let i = self.points.partition_point(|p| p.input <= c.input);
        self.points[i..]
            .iter()
            .find(|p| p.state.is_none())
            .map(Cursor::at)
            .ok_or_else(|| corrupt(&*self.inner, c.input, "data past the last gzip member"))
    }
}

/// Drop every other access point that is not a member start.
fn thin(points: &mut Vec<AccessPoint>) {
    let mut odd = false;
    points.retain(|p| {
        if p.state.is_none() {
            return true;
        }
        odd = !odd;
        !odd
    });
}

impl ByteSource for GzipSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> nd_core::Result<()> {
        nd_core::source::check_range(&(offset..offset + buf.len() as u64), self.len)?;
        if buf.is_empty() {
            return Ok(());
        }
        let src = &*self.inner;
        let mut c = self.cursor_for(offset);
        let mut skip = [0u8; 32 << 10];
        let mut filled = 0usize;
        while filled < buf.len() {
            let ended = if c.out < offset {
                let n = (offset - c.out).min(skip.len() as u64) as usize;
                c.step(src, &mut skip[..n])?.1
            } else {
                let (n, end) = c.step(src, &mut buf[filled..])?;
                filled += n;
                end
            };
            if ended && filled < buf.len() {
                c = self.next_member_cursor(&c)?;
            }
        }
        self.keep(c);
        Ok(())
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nd_core::MemSource;
    use proptest::prelude::*;
    use std::io::{Read, Write};

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Compressible but not trivial bytes.
    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 7 < 3 {
                    (x % 16) as u8
                } else {
                    (i / 1000) as u8
                }
            })
            .collect()
    }

    fn source(bytes: Vec<u8>) -> Arc<dyn ByteSource> {
        Arc::new(MemSource::new(bytes))
    }

    fn index(bytes: Vec<u8>, span: u64) -> Result<GzipSource> {
        GzipSource::with_first_span(source(bytes), &Limits::default(), span)
    }

    /// Three members (one empty) and zero padding: reads equal the concatenation, which is
    /// what flate2's MultiGzDecoder (and Python's gzip) give.
    fn members() -> (Vec<u8>, Vec<u8>) {
        let (a, b) = (sample(300_000, 1), sample(123_457, 2));
        let mut file = gz(&a, 6);
        file.extend(gz(&[], 1));
        file.extend(gz(&b, 9));
        file.extend([0u8; 100]);
        // flate2's MultiGzDecoder gives the same without the zero padding (which it refuses).
        let mut want = Vec::new();
        flate2::read::MultiGzDecoder::new(&file[..file.len() - 100])
            .read_to_end(&mut want)
            .unwrap();
        assert_eq!(want, [a, b].concat());
        (file, want)
    }

    #[test]
    fn whole_and_piecewise_reads_equal_the_decompressed_file() {
        let (file, want) = members();
        let g = index(file, 4096).unwrap();
        assert_eq!(g.len(), want.len() as u64);
        assert_eq!(g.read_range(0..g.len()).unwrap(), want);
        // Backwards, in pieces that cross access points and the member boundary.
        let mut at = want.len();
        while at > 0 {
            let from = at.saturating_sub(7777);
            assert_eq!(
                g.read_range(from as u64..at as u64).unwrap(),
                want[from..at]
            );
            at = from;
        }
    }

    #[test]
    fn access_points_stay_bounded() {
        let data = sample(4 << 20, 3);
        let g = index(gz(&data, 1), 1024).unwrap();
        let kept = g.points.iter().filter(|p| p.state.is_some()).count();
        assert!(kept <= MAX_POINTS, "{kept}");
        assert!(g.span > 1024);
        assert_eq!(
            g.read_range(1_000_000..1_000_100).unwrap(),
            data[1_000_000..1_000_100]
        );
    }

    fn error_of(bytes: Vec<u8>) -> String {
        index(bytes, 4096).unwrap_err().to_string()
    }

    #[test]
    fn damage_is_an_error_naming_the_compressed_offset() {
        let (file, _) = members();
        let first = gz(&sample(300_000, 1), 6);
        // Truncated inside the deflate data.
        let e = error_of(file[..file.len() / 3].to_vec());
        assert!(e.contains("ends early"), "{e}");
        // A flipped byte of the first member's CRC.
        let mut bad = file.clone();
        bad[first.len() - 6] ^= 1;
        let e = error_of(bad);
        assert!(e.contains("CRC-32"), "{e}");
        // Trailing bytes that are not zeros nor a member.
        let mut bad = file.clone();
        bad.extend(b"junk");
        let e = error_of(bad);
        assert!(e.contains("not a gzip member"), "{e}");
        // A truncated trailer.
        let e = error_of(first[..first.len() - 3].to_vec());
        assert!(e.contains("trailer"), "{e}");
    }

    #[test]
    fn the_decompressed_limit_stops_the_pass() {
        let data = vec![0u8; 10 << 20];
        let limits = Limits {
            decompressed_bytes: 1 << 20,
            ..Limits::default()
        };
        let e = GzipSource::new(source(gz(&data, 6)), &limits).unwrap_err();
        assert!(matches!(e, nd_core::Error::LimitExceeded { .. }), "{e}");
    }

    #[test]
    fn header_fields_are_skipped() {
        let data = sample(50_000, 9);
        let mut b = flate2::GzBuilder::new()
            .filename("a.fits")
            .comment("a comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::default());
        b.write_all(&data).unwrap();
        let g = index(b.finish().unwrap(), 4096).unwrap();
        assert_eq!(g.read_range(0..g.len()).unwrap(), data);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_read_equals_the_decompressed_bytes(
            reads in proptest::collection::vec((0usize..423_457, 0usize..20_000), 1..12)
        ) {
            let (file, want) = members();
            let g = index(file, 8192).unwrap();
            for (at, n) in reads {
                let end = (at + n).min(want.len());
                prop_assert_eq!(g.read_range(at as u64..end as u64).unwrap(), &want[at..end]);
            }
        }
    }
}
