//! HCOMPRESS_1 decoding (R. White's H-compress, as cfitsio's `fits_hdecompress64` does it).
//!
//! A tile stream is, big-endian: the magic `DD 99`, the image's row count and row length
//! (i32 each), the digitization scale (i32), the sum of all pixels (i64, which becomes the
//! H-transform's first coefficient), three bytes with the number of bit planes of the
//! quadrants (the top-left quadrant; the two mixed quadrants; the bottom-right one), then a
//! bit stream: every bit plane of each quadrant from the highest, written directly (nybble 0,
//! then one nybble per 2×2 block) or quadtree coded (nybble 0xF, then Huffman-coded 4-bit
//! masks level by level), a terminating 0 nybble, and after a byte boundary one sign bit for
//! every non-zero coefficient. Decoding then multiplies by the scale and applies the inverse
//! H-transform, with White's optional smoothing of the coefficients.
//!
//! astropy 8 always decodes through cfitsio's 64-bit routine (`bytepix = 8`), whose result is
//! cut to 32 bits at the end; so does this module (all intermediate arithmetic wraps in i64).
//! Every read is bounds-checked: a short stream is an error, never a read past the end.

/// The two bytes every HCOMPRESS stream starts with.
const MAGIC: [u8; 2] = [0xDD, 0x99];
/// Bytes before the bit stream: magic, two dimensions, scale, sum, three plane counts.
const HEADER_LEN: usize = 2 + 4 + 4 + 4 + 8 + 3;
/// More bit planes than an i64 has bits cannot come from a valid encoder.
const MAX_PLANES: u8 = 64;

/// MSB-first bit reader over the stream; reading past the end is an error.
struct Bits<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

const EOF: &str = "HCOMPRESS stream ends early";

impl<'a> Bits<'a> {
    fn bit(&mut self) -> Result<u8, String> {
        let byte = *self.data.get(self.pos >> 3).ok_or(EOF)?;
        let b = (byte >> (7 - (self.pos & 7))) & 1;
        self.pos += 1;
        Ok(b)
    }

    /// `n` (≤ 8) bits as an integer, first bit most significant.
    fn bits(&mut self, n: usize) -> Result<u8, String> {
        if self.pos + n > self.data.len() * 8 {
            return Err(EOF.into());
        }
        let i = self.pos >> 3;
        // ok: pos + n ≤ 8·len was checked, so byte i exists; i + 1 is read only when it exists.
        let hi = self.data[i] as u16;
        let lo = self.data.get(i + 1).copied().unwrap_or(0) as u16;
        let w = (hi << 8) | lo;
        let shift = 16 - (self.pos & 7) - n;
        self.pos += n;
        Ok(((w >> shift) & ((1u16 << n) - 1)) as u8)
    }

    fn nybble(&mut self) -> Result<u8, String> {
        self.bits(4)
    }

    /// Skip to the next byte boundary (cfitsio's `start_inputing_bits` drops a partial byte).
    fn align(&mut self) {
        self.pos = self.pos.div_ceil(8) * 8;
    }

    /// One of the 16 quadtree masks, in White's fixed prefix code (3 to 6 bits).
    fn huffman(&mut self) -> Result<u8, String> {
        let c = self.bits(3)?;
        if c < 4 {
            return Ok(1 << c);
        }
        let c = (c << 1) | self.bit()?;
        match c {
            8 => return Ok(3),
            9 => return Ok(5),
            10 => return Ok(10),
            11 => return Ok(12),
            12 => return Ok(15),
            _ => {}
        }
        let c = (c << 1) | self.bit()?;
        match c {
            26 => return Ok(6),
            27 => return Ok(7),
            28 => return Ok(9),
            29 => return Ok(11),
            30 => return Ok(13),
            _ => {}
        }
        let c = (c << 1) | self.bit()?;
        Ok(if c == 62 { 0 } else { 14 })
    }
}

/// ceil(log2(n)) for n ≥ 1 (0 for n ≤ 1): the number of halvings from n down to 1.
fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// Size of a dimension `n` after `k` halvings that round up.
fn shrink(n: usize, k: u32) -> usize {
    if k >= usize::BITS {
        usize::from(n > 0)
    } else {
        n.div_ceil(1usize << k)
    }
}

/// Set bit plane `plane` of the `nqx` × `nqy` block of `a` at `off` (row stride `stride`) from
/// the 4-bit masks in `codes` (one per 2×2 cell; bit 3 is the cell's top-left pixel, then
/// top-right, bottom-left, bottom-right).
fn insert_plane(
    codes: &[u8],
    nqx: usize,
    nqy: usize,
    a: &mut [i64],
    off: usize,
    stride: usize,
    plane: u32,
) {
    let v = (1u64 << plane) as i64;
    let cells_y = nqy.div_ceil(2);
    for (ci, row) in codes
        .chunks(cells_y.max(1))
        .take(nqx.div_ceil(2))
        .enumerate()
    {
        for (cj, &code) in row.iter().enumerate() {
            if code == 0 {
                continue;
            }
            for di in 0..2 {
                let i = 2 * ci + di;
                if i >= nqx {
                    break;
                }
                for dj in 0..2 {
                    let j = 2 * cj + dj;
                    if j >= nqy {
                        break;
                    }
                    if code & (8 >> (2 * di + dj)) != 0 {
                        // ok: the quadrant lies inside a (checked by the caller), i < nqx, j < nqy.
                        a[off + i * stride + j] |= v;
                    }
                }
            }
        }
    }
}

/// Decode the bit planes of one quadrant into `a` (already zero there).
#[allow(clippy::too_many_arguments)]
fn quadrant(
    bits: &mut Bits,
    a: &mut [i64],
    off: usize,
    stride: usize,
    nqx: usize,
    nqy: usize,
    nplanes: u8,
    scratch: &mut (Vec<u8>, Vec<u8>),
) -> Result<(), String> {
    let log2n = ceil_log2(nqx.max(nqy));
    let cells = nqx.div_ceil(2) * nqy.div_ceil(2);
    for plane in (0..nplanes as u32).rev() {
        match bits.nybble()? {
            0 => {
                // Written directly: one nybble per 2×2 cell.
                let codes = &mut scratch.0;
                codes.clear();
                for _ in 0..cells {
                    codes.push(bits.nybble()?);
                }
                insert_plane(codes, nqx, nqy, a, off, stride, plane);
            }
            0xF => {
                // Quadtree: a mask for the whole, then each level's non-zero cells split in four.
                let (cur, next) = (&mut scratch.0, &mut scratch.1);
                cur.clear();
                cur.push(bits.huffman()?);
                // Row length of the level in `cur` (the first level is a single cell).
                let mut cy = 1usize;
                for k in 1..log2n {
                    if cur.iter().all(|&c| c == 0) {
                        break;
                    }
                    // This level's size: the quadrant halved (log2n - k) times.
                    let nx = shrink(nqx, log2n - k);
                    let ny = shrink(nqy, log2n - k);
                    next.clear();
                    next.resize(nx * ny, 0);
                    for i in 0..nx {
                        for j in 0..ny {
                            // ok: each level is the next one halved rounding up, so i/2 and j/2
                            // are inside the previous level, which cur holds (row length cy).
                            let code = cur[(i / 2) * cy + j / 2];
                            let bit = 8 >> (2 * (i & 1) + (j & 1));
                            next[i * ny + j] = u8::from(code & bit != 0);
                        }
                    }
                    // New masks for the set cells, read from the last cell backwards.
                    for c in next.iter_mut().rev() {
                        if *c != 0 {
                            *c = bits.huffman()?;
                        }
                    }
                    std::mem::swap(cur, next);
                    cy = ny;
                }
                // (A level of zeros stops early: nothing is set and nothing more is read.)
                if cur.len() == cells {
                    insert_plane(cur, nqx, nqy, a, off, stride, plane);
                }
            }
            b => return Err(format!("HCOMPRESS: bad bit-plane format code {b:#x}")),
        }
    }
    Ok(())
}

/// Inverse of cfitsio's `unshuffle`: the `n` elements at `start`, `start + step`, … hold the
/// even-position values first, then the odd ones; interleave them back.
fn unshuffle(a: &mut [i64], start: usize, n: usize, step: usize, tmp: &mut Vec<i64>) {
    tmp.clear();
    // ok: start + (n-1)·step < a.len() for every call (n ≤ the axis length inside the tile).
    tmp.extend((0..n).map(|i| a[start + i * step]));
    let half = n.div_ceil(2);
    for (i, &v) in tmp.iter().enumerate() {
        let dest = if i < half { 2 * i } else { 2 * (i - half) + 1 };
        a[start + dest * step] = v;
    }
}

/// Move the coefficients of the `nxtop` × `nytop` corner (row stride `ny`) toward values
/// interpolated from their neighbours, by at most `scale / 2` (cfitsio's `hsmooth64`).
fn smooth(a: &mut [i64], nxtop: usize, nytop: usize, ny: usize, scale: i64) {
    let smax = scale >> 1;
    if smax <= 0 {
        return;
    }
    let ny2 = 2 * ny;
    // Limit a slope change `diff - coef·2^sh`, divided by 2^sh rounding toward zero, to ±smax.
    let adjust = |coef: i64, diff: i64, sh: u32| -> i64 {
        let s = diff.wrapping_sub(coef.wrapping_shl(sh));
        let s = if s >= 0 {
            s >> sh
        } else {
            s.wrapping_add((1 << sh) - 1) >> sh
        };
        coef.wrapping_add(s.clamp(-smax, smax))
    };
    // ok (all three passes): every index is < nxtop·ny + nytop ≤ nx·ny, see the loop bounds.
    // x differences.
    for i in (2..nxtop.saturating_sub(2)).step_by(2) {
        for j in (0..nytop).step_by(2) {
            let s00 = ny * i + j;
            let (hm, h0, hp) = (a[s00 - ny2], a[s00], a[s00 + ny2]);
            let (d1, d2) = (hp.wrapping_sub(h0), h0.wrapping_sub(hm));
            let dmax = d1.min(d2).max(0).wrapping_shl(2);
            let dmin = d1.max(d2).min(0).wrapping_shl(2);
            if dmin < dmax {
                let diff = hp.wrapping_sub(hm).min(dmax).max(dmin);
                a[s00 + ny] = adjust(a[s00 + ny], diff, 3);
            }
        }
    }
    // y differences.
    for i in (0..nxtop).step_by(2) {
        for j in (2..nytop.saturating_sub(2)).step_by(2) {
            let s00 = ny * i + j;
            let (hm, h0, hp) = (a[s00 - 2], a[s00], a[s00 + 2]);
            let (d1, d2) = (hp.wrapping_sub(h0), h0.wrapping_sub(hm));
            let dmax = d1.min(d2).max(0).wrapping_shl(2);
            let dmin = d1.max(d2).min(0).wrapping_shl(2);
            if dmin < dmax {
                let diff = hp.wrapping_sub(hm).min(dmax).max(dmin);
                a[s00 + 1] = adjust(a[s00 + 1], diff, 3);
            }
        }
    }
    // Curvature.
    for i in (2..nxtop.saturating_sub(2)).step_by(2) {
        for j in (2..nytop.saturating_sub(2)).step_by(2) {
            let s00 = ny * i + j;
            let s10 = s00 + ny;
            let hmm = a[s00 - ny2 - 2];
            let hpm = a[s00 + ny2 - 2];
            let hmp = a[s00 - ny2 + 2];
            let hpp = a[s00 + ny2 + 2];
            let h0 = a[s00];
            let diff = hpp.wrapping_add(hmm).wrapping_sub(hmp).wrapping_sub(hpm);
            let hx2 = a[s10].wrapping_shl(1);
            let hy2 = a[s00 + 1].wrapping_shl(1);
            let w = |x: i64, p: i64, q: i64| x.wrapping_add(p).wrapping_add(q);
            let up = |d: i64| d.max(0);
            let dn = |d: i64| d.min(0);
            let (e1, e2, e3, e4) = (
                hpp.wrapping_sub(h0),
                h0.wrapping_sub(hpm),
                h0.wrapping_sub(hmp),
                hmm.wrapping_sub(h0),
            );
            let (nx2, ny2_) = (hx2.wrapping_neg(), hy2.wrapping_neg());
            let m1 = w(up(e1), nx2, ny2_).min(w(up(e2), hx2, ny2_));
            let m2 = w(up(e3), nx2, hy2).min(w(up(e4), hx2, hy2));
            let dmax = m1.min(m2).wrapping_shl(4);
            let m1 = w(dn(e1), nx2, ny2_).max(w(dn(e2), hx2, ny2_));
            let m2 = w(dn(e3), nx2, hy2).max(w(dn(e4), hx2, hy2));
            let dmin = m1.max(m2).wrapping_shl(4);
            if dmin < dmax {
                let diff = diff.min(dmax).max(dmin);
                a[s10 + 1] = adjust(a[s10 + 1], diff, 6);
            }
        }
    }
}

/// Inverse H-transform of the `nx` × `ny` coefficients in `a` (row-major, `ny` per row).
fn hinv(a: &mut [i64], nx: usize, ny: usize, smooth_on: bool, scale: i64) {
    let log2n = ceil_log2(nx.max(ny));
    if log2n == 0 || a.is_empty() {
        // A single pixel: its value is the sum itself.
        return;
    }
    let mut tmp = Vec::with_capacity(nx.max(ny).div_ceil(2) + 1);
    let round =
        |v: i64, p: i64, nr: i64, mask: i64| v.wrapping_add(if v >= 0 { p } else { nr }) & mask;
    // log2n ≤ 63 because nx·ny fits the tile; the masks wrap like cfitsio's LONGLONG ones.
    let mut bit0: i64 = 1i64.wrapping_shl(log2n - 1);
    let mut bit1 = bit0.wrapping_shl(1);
    let bit2 = bit0.wrapping_shl(2);
    let mut mask0 = bit0.wrapping_neg();
    let mut mask1 = mask0.wrapping_shl(1);
    let mask2 = mask0.wrapping_shl(2);
    let mut prnd0 = bit0 >> 1;
    let mut prnd1 = bit1 >> 1;
    let prnd2 = bit2 >> 1;
    let mut nrnd0 = prnd0 - 1;
    let mut nrnd1 = prnd1 - 1;
    let nrnd2 = prnd2 - 1;
    a[0] = round(a[0], prnd2, nrnd2, mask2);
    let mut shift = 1;
    for k in (0..log2n).rev() {
        let nxtop = shrink(nx, k);
        let nytop = shrink(ny, k);
        if k == 0 {
            nrnd0 = 0;
            shift = 2;
        }
        for i in 0..nxtop {
            unshuffle(a, ny * i, nytop, 1, &mut tmp);
        }
        for j in 0..nytop {
            unshuffle(a, j, nxtop, ny, &mut tmp);
        }
        if smooth_on {
            smooth(a, nxtop, nytop, ny, scale);
        }
        let (oddx, oddy) = (nxtop % 2, nytop % 2);
        // ok (indexing below): i + 1 < nxtop ≤ nx and j + 1 < nytop ≤ ny inside the pairs.
        let mut i = 0;
        while i + oddx < nxtop {
            let s00 = ny * i;
            let s10 = s00 + ny;
            let mut j = 0;
            while j + oddy < nytop {
                let h0 = a[s00 + j];
                let hx = round(a[s10 + j], prnd1, nrnd1, mask1);
                let hy = round(a[s00 + j + 1], prnd1, nrnd1, mask1);
                let hc = round(a[s10 + j + 1], prnd0, nrnd0, mask0);
                // Bit 0 of hc goes to hx and hy; bits 0 and 1 of hc, hx, hy to h0.
                let lowbit0 = hc & bit0;
                let hx = if hx >= 0 {
                    hx.wrapping_sub(lowbit0)
                } else {
                    hx.wrapping_add(lowbit0)
                };
                let hy = if hy >= 0 {
                    hy.wrapping_sub(lowbit0)
                } else {
                    hy.wrapping_add(lowbit0)
                };
                let lowbit1 = (hc ^ hx ^ hy) & bit1;
                let h0 = if h0 >= 0 {
                    h0.wrapping_add(lowbit0).wrapping_sub(lowbit1)
                } else if lowbit0 == 0 {
                    h0.wrapping_add(lowbit1)
                } else {
                    h0.wrapping_add(lowbit0.wrapping_sub(lowbit1))
                };
                let (p, m) = (h0.wrapping_add(hx), h0.wrapping_sub(hx));
                a[s10 + j + 1] = p.wrapping_add(hy).wrapping_add(hc) >> shift;
                a[s10 + j] = p.wrapping_sub(hy).wrapping_sub(hc) >> shift;
                a[s00 + j + 1] = m.wrapping_add(hy).wrapping_sub(hc) >> shift;
                a[s00 + j] = m.wrapping_sub(hy).wrapping_add(hc) >> shift;
                j += 2;
            }
            if oddy == 1 {
                // Last column of an odd-width block: only h0 and hx.
                let h0 = a[s00 + j];
                let hx = round(a[s10 + j], prnd1, nrnd1, mask1);
                let lowbit1 = hx & bit1;
                let h0 = if h0 >= 0 {
                    h0.wrapping_sub(lowbit1)
                } else {
                    h0.wrapping_add(lowbit1)
                };
                a[s10 + j] = h0.wrapping_add(hx) >> shift;
                a[s00 + j] = h0.wrapping_sub(hx) >> shift;
            }
            i += 2;
        }
        if oddx == 1 {
            // Last row of an odd-height block: only h0 and hy.
            let s00 = ny * i;
            let mut j = 0;
            while j + oddy < nytop {
                let h0 = a[s00 + j];
                let hy = round(a[s00 + j + 1], prnd1, nrnd1, mask1);
                let lowbit1 = hy & bit1;
                let h0 = if h0 >= 0 {
                    h0.wrapping_sub(lowbit1)
                } else {
                    h0.wrapping_add(lowbit1)
                };
                a[s00 + j + 1] = h0.wrapping_add(hy) >> shift;
                a[s00 + j] = h0.wrapping_sub(hy) >> shift;
                j += 2;
            }
            if oddy == 1 {
                a[s00 + j] >>= shift;
            }
        }
        // Halve the masks and rounding constants for the next, finer level.
        bit1 = bit0;
        bit0 >>= 1;
        mask1 = mask0;
        mask0 >>= 1;
        prnd1 = prnd0;
        prnd0 >>= 1;
        nrnd1 = nrnd0;
        nrnd0 = prnd0 - 1;
    }
}

/// Decode an HCOMPRESS_1 tile of `nx` × `ny` pixels (`nx` rows of `ny`, C order).
///
/// The stream carries its own dimensions and scale: like astropy, any dimensions whose product
/// is the tile's pixel count are accepted, and the stream's scale is used (`scale` — the
/// header's ZVAL for SCALE — is not needed to decode). `smooth` is the header's SMOOTH flag.
/// Values are those of cfitsio's 64-bit decoder cut to 32 bits, as astropy returns them.
pub fn decode(
    input: &[u8],
    nx: usize,
    ny: usize,
    _scale: i64,
    smooth: bool,
) -> Result<Vec<i64>, String> {
    let want = nx
        .checked_mul(ny)
        .ok_or_else(|| format!("HCOMPRESS tile {nx} x {ny} is too large"))?;
    let head = input.get(..HEADER_LEN).ok_or(EOF)?;
    if head[..2] != MAGIC {
        return Err(format!(
            "HCOMPRESS: bad magic {:02x} {:02x} (want dd 99)",
            head[0], head[1]
        ));
    }
    let be32 = |o: usize| i32::from_be_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]]);
    let (sx, sy, sscale) = (be32(2), be32(6), be32(10));
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&head[14..22]);
    let sumall = i64::from_be_bytes(sum);
    let planes = [head[22], head[23], head[24]];
    if sx <= 0 || sy <= 0 {
        return Err(format!("HCOMPRESS: invalid dimensions {sx} x {sy}"));
    }
    let (sx, sy) = (sx as usize, sy as usize);
    if sx.checked_mul(sy) != Some(want) {
        return Err(format!(
            "HCOMPRESS: stream is {sx} x {sy} pixels, the tile {nx} x {ny}"
        ));
    }
    if let Some(p) = planes.iter().find(|&&p| p > MAX_PLANES) {
        return Err(format!("HCOMPRESS: {p} bit planes (at most {MAX_PLANES})"));
    }
    let (nx, ny) = (sx, sy);
    let mut a = vec![0i64; want];
    let mut bits = Bits {
        data: input,
        pos: HEADER_LEN * 8,
    };
    let (nx2, ny2) = (nx.div_ceil(2), ny.div_ceil(2));
    let mut scratch = (Vec::new(), Vec::new());
    for (off, qx, qy, p) in [
        (0, nx2, ny2, planes[0]),
        (ny2, nx2, ny / 2, planes[1]),
        (ny * nx2, nx / 2, ny2, planes[1]),
        (ny * nx2 + ny2, nx / 2, ny / 2, planes[2]),
    ] {
        quadrant(&mut bits, &mut a, off, ny, qx, qy, p, &mut scratch)?;
    }
    if bits.nybble()? != 0 {
        return Err("HCOMPRESS: bad bit plane values (no end code)".into());
    }
    bits.align();
    for v in a.iter_mut() {
        if *v != 0 && bits.bit()? == 1 {
            *v = v.wrapping_neg();
        }
    }
    a[0] = sumall;
    let sscale = sscale as i64;
    if sscale > 1 {
        for v in a.iter_mut() {
            *v = v.wrapping_mul(sscale);
        }
    }
    hinv(&mut a, nx, ny, smooth, sscale);
    for v in a.iter_mut() {
        *v = *v as i32 as i64;
    }
    Ok(a)
}
