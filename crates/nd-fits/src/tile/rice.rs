//! RICE_1 (Rice, Yeh & Miller 1993 as coded by cfitsio): blocks of differences, each block with
//! its own split parameter. Layout in `spec-notes/fits-tile-compression.md`.

/// MSB-first bit reader with a 64-bit window.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    n: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buf: 0,
            n: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        // Fast path: one 8-byte load, keeping the whole bytes that fit. The bits of a partly
        // fitting byte below the window are that byte's true bits, so OR-ing it in again on the
        // next refill changes nothing.
        if self.n < 64 {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                self.buf |= u64::from_be_bytes(a) >> self.n;
                let take = (64 - self.n) / 8;
                self.pos += take as usize;
                self.n += take * 8;
                return;
            }
        }
        while self.n <= 56 {
            match self.data.get(self.pos) {
                Some(&b) => {
                    self.buf |= (b as u64) << (56 - self.n);
                    self.pos += 1;
                    self.n += 8;
                }
                None => break,
            }
        }
    }

    /// Read `k` (≤ 32) bits.
    #[inline(always)]
    pub(crate) fn read(&mut self, k: u32) -> Option<u32> {
        if k == 0 {
            return Some(0);
        }
        if self.n < k {
            self.refill();
            if self.n < k {
                return None;
            }
        }
        let v = (self.buf >> (64 - k)) as u32;
        self.buf <<= k;
        self.n -= k;
        Some(v)
    }

    /// Count zero bits up to and including the next 1 bit; returns the number of zeros.
    #[inline(always)]
    pub(crate) fn read_unary(&mut self) -> Option<u32> {
        let mut count = 0u32;
        loop {
            if self.n == 0 {
                self.refill();
                if self.n == 0 {
                    return None;
                }
            }
            let lz = self.buf.leading_zeros();
            if lz < self.n {
                // the 1 may be the window's last bit: a shift by 64 empties it
                self.buf = self.buf.checked_shl(lz + 1).unwrap_or(0);
                self.n -= lz + 1;
                return Some(count + lz);
            }
            count = count.saturating_add(self.n);
            self.buf = 0;
            self.n = 0;
        }
    }
}

/// Decode a RICE_1 stream of `out.len()` pixels of `bytepix` bytes (1, 2 or 4) with
/// `blocksize` pixels per block. Values are returned as i32: bytepix 1 as 0..=255 (astropy views
/// the bytes as unsigned), 2 sign-extended from 16 bits, 4 as is.
pub fn decode(
    input: &[u8],
    bytepix: usize,
    blocksize: usize,
    out: &mut [i32],
) -> Result<(), String> {
    decode_map(input, bytepix, blocksize, out, |v| v)
}

/// [`decode`], each value (the i32 `decode` would give) passed through `f` and stored as `T`:
/// lets a caller decode straight into the image's own type without an intermediate buffer.
#[inline]
pub fn decode_map<T: Copy>(
    input: &[u8],
    bytepix: usize,
    blocksize: usize,
    out: &mut [T],
    f: impl Fn(i32) -> T,
) -> Result<(), String> {
    let (fsbits, fsmax, bbits) = match bytepix {
        1 => (3u32, 6i64, 8u32),
        2 => (4, 14, 16),
        4 => (5, 25, 32),
        _ => return Err(format!("RICE_1: BYTEPIX {bytepix} is not 1, 2 or 4")),
    };
    if blocksize == 0 {
        return Err("RICE_1: BLOCKSIZE 0".into());
    }
    if out.is_empty() {
        return Ok(());
    }
    if input.len() < bytepix {
        return Err("RICE_1: stream shorter than its first pixel".into());
    }
    let mask: u32 = if bbits == 32 {
        u32::MAX
    } else {
        (1u32 << bbits) - 1
    };
    let mut last: u32 = 0;
    for &b in &input[..bytepix] {
        last = (last << 8) | b as u32;
    }
    let mut r = BitReader::new(&input[bytepix..]);
    let eof = || "RICE_1: hit the end of the compressed stream".to_string();
    let sign = |v: u32| -> i32 {
        match bytepix {
            1 => v as i32,
            2 => v as u16 as i16 as i32,
            _ => v as i32,
        }
    };
    for block in out.chunks_mut(blocksize) {
        let fs = r.read(fsbits).ok_or_else(eof)? as i64 - 1;
        if fs < 0 {
            block.fill(f(sign(last)));
        } else if fs == fsmax {
            for o in block.iter_mut() {
                let diff = r.read(bbits).ok_or_else(eof)?;
                let d = if diff & 1 != 0 {
                    !(diff >> 1)
                } else {
                    diff >> 1
                };
                last = d.wrapping_add(last) & mask;
                *o = f(sign(last));
            }
        } else {
            let fs = fs as u32;
            for o in block.iter_mut() {
                let nzero = r.read_unary().ok_or_else(eof)?;
                let low = r.read(fs).ok_or_else(eof)?;
                let diff = ((nzero as u64) << fs) as u32 | low;
                let d = if diff & 1 != 0 {
                    !(diff >> 1)
                } else {
                    diff >> 1
                };
                last = d.wrapping_add(last) & mask;
                *o = f(sign(last));
            }
        }
    }
    Ok(())
}

/// MSB-first bit writer.
struct BitWriter {
    out: Vec<u8>,
    buf: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, v: u32, k: u32) {
        if k == 0 {
            return;
        }
        let v = if k == 32 {
            v as u64
        } else {
            (v as u64) & ((1u64 << k) - 1)
        };
        self.buf = (self.buf << k) | v;
        self.n += k;
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.buf >> self.n) as u8);
        }
        self.buf &= (1u64 << self.n) - 1;
    }
    fn zeros_then_one(&mut self, mut zeros: u64) {
        while zeros >= 32 {
            self.put(0, 32);
            zeros -= 32;
        }
        self.put(1, zeros as u32 + 1);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put(0, pad);
        }
        self.out
    }
}

/// Encode pixels (values already in the range of `bytepix` bytes) as a RICE_1 stream, with
/// cfitsio's choice of the split parameter per block.
pub fn encode(values: &[i64], bytepix: usize, blocksize: usize) -> Result<Vec<u8>, String> {
    let (fsbits, fsmax, bbits) = match bytepix {
        1 => (3u32, 6u32, 8u32),
        2 => (4, 14, 16),
        4 => (5, 25, 32),
        _ => return Err(format!("RICE_1: BYTEPIX {bytepix} is not 1, 2 or 4")),
    };
    if blocksize == 0 {
        return Err("RICE_1: BLOCKSIZE 0".into());
    }
    let mut w = BitWriter {
        out: Vec::with_capacity(values.len() * bytepix / 2 + 16),
        buf: 0,
        n: 0,
    };
    let wrap = |v: i64| -> i64 {
        match bytepix {
            1 => v as u8 as i64,
            2 => v as i16 as i64,
            _ => v as i32 as i64,
        }
    };
    let first = values.first().copied().unwrap_or(0);
    let fb = (first as u32).to_be_bytes();
    w.out.extend_from_slice(&fb[4 - bytepix..]);
    let mut last = wrap(first);
    let mut diffs = vec![0u32; blocksize];
    let mask: u64 = if bbits == 32 {
        u32::MAX as u64
    } else {
        (1u64 << bbits) - 1
    };
    for block in values.chunks(blocksize) {
        let mut sum = 0f64;
        for (d, &v) in diffs.iter_mut().zip(block) {
            let v = wrap(v);
            // Difference wrapped to the pixel width, then zig-zag mapped.
            let pd = match bytepix {
                1 => (v as u8).wrapping_sub(last as u8) as i8 as i64,
                2 => (v as i16).wrapping_sub(last as i16) as i64,
                _ => (v as i32).wrapping_sub(last as i32) as i64,
            };
            let m = if pd < 0 { !(pd << 1) } else { pd << 1 } as u64 & mask;
            *d = m as u32;
            sum += m as f64;
            last = v;
        }
        let n = block.len();
        if sum == 0.0 {
            w.put(0, fsbits);
            continue;
        }
        let dpsum = ((sum - (n / 2) as f64 - 1.0) / n as f64).max(0.0);
        let mut psum = (dpsum as u64) >> 1;
        let mut fs = 0u32;
        while psum > 0 {
            psum >>= 1;
            fs += 1;
        }
        if fs >= fsmax {
            w.put(fsmax + 1, fsbits);
            for &d in &diffs[..n] {
                w.put(d, bbits);
            }
        } else {
            w.put(fs + 1, fsbits);
            for &d in &diffs[..n] {
                let top = (d as u64) >> fs;
                w.zeros_then_one(top);
                w.put(d, fs);
            }
        }
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_codes_ending_on_the_last_bit_of_the_window() {
        // found by the fits_tile_codec fuzz target: a unary code whose 1 was bit 64 of the
        // window shifted the window by 64 (a panic in debug builds; in release builds a shift
        // by 0 that left the 1 in the window and corrupted the next value)
        let mut data = vec![0u8; 15];
        data.extend([0x01, 0xab, 0xcd]);
        let mut r = BitReader::new(&data);
        assert_eq!(r.read_unary(), Some(127));
        assert_eq!(r.read(16), Some(0xabcd));
        let mut data = vec![0u8; 7];
        data.extend([0x01, 0xab]);
        let mut r = BitReader::new(&data);
        assert_eq!(r.read_unary(), Some(63));
        assert_eq!(r.read(8), Some(0xab));
    }

    #[test]
    fn round_trip_all_widths() {
        for bytepix in [1usize, 2, 4] {
            let vals: Vec<i64> = (0..1000)
                .map(|i: i64| {
                    let v = (i * 7919) % 251 - 120 + if i % 97 == 0 { 100000 } else { 0 };
                    match bytepix {
                        1 => v as u8 as i64,
                        2 => v as i16 as i64,
                        _ => v,
                    }
                })
                .collect();
            let enc = encode(&vals, bytepix, 32).unwrap();
            let mut out = vec![0i32; vals.len()];
            decode(&enc, bytepix, 32, &mut out).unwrap();
            let got: Vec<i64> = out.iter().map(|&v| v as i64).collect();
            assert_eq!(got, vals, "bytepix {bytepix}");
        }
        // Constant blocks (low entropy) and extremes (high entropy).
        let vals: Vec<i64> = (0..100)
            .map(|i| {
                if i < 50 {
                    5
                } else if i % 2 == 0 {
                    i32::MIN as i64
                } else {
                    i32::MAX as i64
                }
            })
            .collect();
        let enc = encode(&vals, 4, 16).unwrap();
        let mut out = vec![0i32; 100];
        decode(&enc, 4, 16, &mut out).unwrap();
        assert_eq!(out.iter().map(|&v| v as i64).collect::<Vec<_>>(), vals);
        // Truncated streams are errors.
        assert!(decode(&enc[..enc.len() / 2], 4, 16, &mut out).is_err());
    }
}
