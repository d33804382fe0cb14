//! CHECKSUM and DATASUM (FITS 4.0 Appendix J): 32-bit ones'-complement sums and their ASCII
//! encoding.

use crate::error::Result;
use crate::fits::Fits;
use nd_core::ByteSource;

/// Ones'-complement sum of big-endian 32-bit words, added to `acc` (an unfolded accumulator).
/// `bytes` must be a multiple of 4 long (FITS blocks are); a ragged tail is zero-padded.
pub fn add_words(mut acc: u64, bytes: &[u8]) -> u64 {
    // Fold every 2^20 words so the u64 cannot overflow.
    for chunk in bytes.chunks(4 << 20) {
        let mut s = 0u64;
        let mut it = chunk.chunks_exact(4);
        for w in &mut it {
            s += u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as u64; // ok: chunks_exact(4)
        }
        let tail = it.remainder();
        if !tail.is_empty() {
            let mut w = [0u8; 4];
            w[..tail.len()].copy_from_slice(tail);
            s += u32::from_be_bytes(w) as u64;
        }
        acc = fold(acc) as u64 + fold(s) as u64;
    }
    acc
}

/// Fold an accumulator into a 32-bit ones'-complement sum.
pub fn fold(mut s: u64) -> u32 {
    while s >> 32 != 0 {
        s = (s & 0xffff_ffff) + (s >> 32);
    }
    s as u32
}

/// Ones'-complement checksum of some bytes.
pub fn checksum(bytes: &[u8]) -> u32 {
    fold(add_words(0, bytes))
}

/// The 16-character ASCII encoding of a checksum value (Appendix J `char_encode`); CHECKSUM is
/// `encode(!sum)` where `sum` was computed with CHECKSUM = '0000000000000000'.
pub fn encode(value: u32) -> String {
    const EXCLUDE: [u8; 13] = [
        0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
    ];
    let mut asc = [0u8; 16];
    for i in 0..4 {
        let byte = (value >> (24 - 8 * i)) & 0xff;
        let q = (byte / 4 + 0x30) as u8;
        let r = (byte % 4) as u8;
        let mut ch = [q; 4];
        ch[0] += r;
        loop {
            let mut changed = false;
            for &e in &EXCLUDE {
                for j in [0usize, 2] {
                    if ch[j] == e || ch[j + 1] == e {
                        ch[j] += 1;
                        ch[j + 1] -= 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for j in 0..4 {
            asc[4 * j + i] = ch[j];
        }
    }
    (0..16).map(|i| asc[(i + 15) % 16] as char).collect()
}

/// The state of one checksum keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The keyword is present and matches.
    Valid,
    /// The keyword is present and does not match (stale or damaged).
    Invalid,
    /// The keyword is absent.
    Absent,
}

/// The checksum verdict for one HDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumReport {
    /// HDU index.
    pub hdu: usize,
    /// CHECKSUM (whole HDU sums to -0).
    pub checksum: ChecksumStatus,
    /// DATASUM (data sum equals the stored decimal value).
    pub datasum: ChecksumStatus,
    /// The data sum computed.
    pub computed_datasum: u32,
}

/// Sum of the data area of an HDU (padding included), read in pieces.
pub(crate) fn data_sum(src: &dyn ByteSource, start: u64, end: u64) -> Result<u32> {
    let mut acc = 0u64;
    let mut pos = start;
    while pos < end {
        let e = (pos + (8 << 20)).min(end);
        let b = src.read_range(pos..e)?;
        acc = add_words(acc, &b);
        pos = e;
    }
    Ok(fold(acc))
}

/// Verify CHECKSUM and DATASUM of every HDU. Mismatches are reported, not errors; a file whose
/// data is cut short is an error ([`crate::Error::Truncated`]).
pub fn verify_checksums(fits: &Fits) -> Result<Vec<ChecksumReport>> {
    let src = fits.source();
    fits.hdus()?
        .into_iter()
        .map(|hdu| hdu_checksums(&**src, hdu))
        .collect()
}

/// CHECKSUM and DATASUM of one HDU (see [`verify_checksums`]).
///
/// # Errors
/// [`crate::Error::Truncated`] when its data is cut short; read errors of the source.
pub fn hdu_checksums(src: &dyn ByteSource, hdu: &crate::hdu::Hdu) -> Result<ChecksumReport> {
    let size = src.len();
    let end = hdu.end_offset().min(size);
    if hdu.data_offset + hdu.data_len > size {
        return Err(crate::error::Error::Truncated {
            hdu: hdu.index,
            offset: hdu.data_offset,
            needed: hdu.data_len,
            size,
        });
    }
    let dsum = data_sum(src, hdu.data_offset, end)?;
    let datasum = match hdu.header.get("DATASUM") {
        None => ChecksumStatus::Absent,
        Some(v) => {
            let stored = match v {
                crate::card::Value::Str(s) => s.trim().parse::<u64>().ok(),
                crate::card::Value::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            };
            if stored == Some(dsum as u64) {
                ChecksumStatus::Valid
            } else {
                ChecksumStatus::Invalid
            }
        }
    };
    let checksum = if hdu.header.contains("CHECKSUM") {
        let hbytes = src.read_range(hdu.header_offset..hdu.data_offset)?;
        let total = fold(add_words(dsum as u64, &hbytes));
        if total == 0xffff_ffff {
            ChecksumStatus::Valid
        } else {
            ChecksumStatus::Invalid
        }
    } else {
        ChecksumStatus::Absent
    };
    Ok(ChecksumReport {
        hdu: hdu.index,
        checksum,
        datasum,
        computed_datasum: dsum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_fold() {
        assert_eq!(checksum(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]), 1);
        assert_eq!(checksum(&[0x80, 0, 0, 0, 0x80, 0, 0, 0]), 1);
        assert_eq!(encode(0).len(), 16);
        // Every encoded char is alphanumeric.
        for v in [0u32, 1, 0xffff_ffff, 0x1234_5678, 0xdead_beef] {
            assert!(
                encode(v).bytes().all(|b| b.is_ascii_alphanumeric()),
                "{}",
                encode(v)
            );
        }
    }
}
