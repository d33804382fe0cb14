//! The numcodecs checksum codecs: `crc32`, `crc32c`, `adler32` and `fletcher32` (and [`crc32c`],
//! the checksum of the Zarr v3 `crc32c` codec and of zarr-python 3's shard indexes).
//!
//! Each stores the data unchanged plus a 4-byte little-endian checksum; decoding verifies it and
//! a mismatch is [`Error::Checksum`]. They are used as a compressor or as a filter.
//!
//! | codec | checksum | where |
//! |---|---|---|
//! | `crc32` | zlib's CRC-32 | first 4 bytes (`"location": "start"`, the default) or last 4 (`"end"`) |
//! | `crc32c` | CRC-32C (Castagnoli, iSCSI) | last 4 bytes (the default) or first 4 |
//! | `adler32` | zlib's Adler-32 (starts at 1) | as crc32 |
//! | `fletcher32` | HDF5's Fletcher-32 over big-endian u16 words (see [`fletcher32`]) | last 4 bytes |

use crate::{Codec, Error, Result};
use serde_json::{json, Value};

/// Where a crc32 / adler32 checksum is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The first 4 bytes (numcodecs' default).
    Start,
    /// The last 4 bytes.
    End,
}

/// The checksum functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Crc32,
    Crc32c,
    Adler32,
}

/// zlib's Adler-32 of `data` (initial value 1).
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // 5552 bytes is the most that can be summed before `b` may overflow a u32
    let (mut a, mut b) = (1u32, 0u32);
    for block in data.chunks(5552) {
        for &x in block {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// zlib's CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final xor all ones)
/// of `data`, as google-crc32c and the Zarr v3 `crc32c` codec compute it. Table-driven, eight
/// bytes a step.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_update(0, data)
}

/// Continue a CRC-32C: `crc32c_update(crc32c(a), b) == crc32c(a ++ b)`.
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    let t = &*CRC32C_TABLES;
    let mut c = !crc;
    let mut words = data.chunks_exact(8);
    for w in words.by_ref() {
        let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]); // ok: chunks of 8
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]); // ok: chunks of 8
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in words.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

static CRC32C_TABLES: std::sync::LazyLock<[[u32; 256]; 8]> = std::sync::LazyLock::new(|| {
    let mut t = [[0u32; 256]; 8];
    for i in 0..256u32 {
        let mut c = i;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
        }
        t[0][i as usize] = c;
    }
    for i in 0..256 {
        for k in 1..8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
        }
    }
    t
});

/// numcodecs' Fletcher-32 of `data`, HDF5's (`H5_checksum_fletcher32`): big-endian u16 words
/// (an odd last byte is the high byte of a last word), sums folded with end-around carry every
/// 360 words and once more at the end, in wrapping u32 arithmetic; `(sum2 << 16) | sum1`.
pub fn fletcher32(data: &[u8]) -> u32 {
    let fold = |x: u32| (x & 0xffff) + (x >> 16);
    let (mut s1, mut s2) = (0u32, 0u32);
    let words = data.chunks_exact(2);
    let tail = words.remainder().first().copied();
    let mut it = words.map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))); // ok: chunks of 2
    loop {
        let mut n = 0;
        for w in it.by_ref().take(360) {
            s1 = s1.wrapping_add(w);
            s2 = s2.wrapping_add(s1);
            n += 1;
        }
        if n == 0 {
            break;
        }
        s1 = fold(s1);
        s2 = fold(s2);
    }
    if let Some(t) = tail {
        s1 = s1.wrapping_add(u32::from(t) << 8);
        s2 = s2.wrapping_add(s1);
        s1 = fold(s1);
        s2 = fold(s2);
    }
    (fold(s2) << 16) | fold(s1)
}

fn too_short(codec: &'static str, len: usize) -> Error {
    Error::corrupt(
        codec,
        format!("{len} bytes is too short to hold a 4-byte checksum"),
    )
}

fn le32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]); // ok: callers pass at least 4 bytes
    u32::from_le_bytes(a)
}

/// numcodecs `CRC32` / `Adler32` (`{"id": "crc32"}`, `{"id": "adler32", "location": "end"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum32 {
    kind: Kind,
    /// Where the checksum is stored.
    pub location: Location,
    /// Whether the config named the location (numcodecs' `get_config` only lists it then).
    explicit: bool,
}

impl Checksum32 {
    /// A crc32 codec with the checksum at the start.
    pub fn crc32() -> Self {
        Checksum32 {
            kind: Kind::Crc32,
            location: Location::Start,
            explicit: false,
        }
    }

    /// A crc32c codec with the checksum at the end (numcodecs' default for `crc32c`, and the only
    /// layout of the Zarr v3 `crc32c` codec).
    pub fn crc32c() -> Self {
        Checksum32 {
            kind: Kind::Crc32c,
            location: Location::End,
            explicit: false,
        }
    }

    /// An adler32 codec with the checksum at the start.
    pub fn adler32() -> Self {
        Checksum32 {
            kind: Kind::Adler32,
            ..Checksum32::crc32()
        }
    }

    /// From `{"id": "crc32" | "crc32c" | "adler32", "location": "start" | "end"}` (location optional).
    pub fn from_config(v: &Value) -> Result<Self> {
        let mut c = match v.get("id").and_then(Value::as_str) {
            Some("adler32") => Checksum32::adler32(),
            Some("crc32c") => Checksum32::crc32c(),
            _ => Checksum32::crc32(),
        };
        match v.get("location") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "start" => {
                c.location = Location::Start;
                c.explicit = true;
            }
            Some(Value::String(s)) if s == "end" => {
                c.location = Location::End;
                c.explicit = true;
            }
            Some(x) => {
                return Err(Error::Config(format!(
                    "{}: invalid checksum location {x}",
                    c.name()
                )))
            }
        }
        Ok(c)
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Crc32 => "crc32",
            Kind::Crc32c => "crc32c",
            Kind::Adler32 => "adler32",
        }
    }

    fn sum(&self, data: &[u8]) -> u32 {
        match self.kind {
            Kind::Crc32 => crc32(data),
            Kind::Crc32c => crc32c(data),
            Kind::Adler32 => adler32(data),
        }
    }

    /// The payload of an encoded buffer, its checksum verified (no copy).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when shorter than 4 bytes, [`Error::Checksum`] on a mismatch.
    pub fn payload<'a>(&self, data: &'a [u8]) -> Result<&'a [u8]> {
        if data.len() < 4 {
            return Err(too_short(self.name(), data.len()));
        }
        let (stored, payload) = match self.location {
            Location::Start => (le32(data), &data[4..]),
            Location::End => (le32(&data[data.len() - 4..]), &data[..data.len() - 4]),
        };
        let computed = self.sum(payload);
        if stored != computed {
            return Err(Error::Checksum {
                codec: self.name(),
                stored,
                computed,
            });
        }
        Ok(payload)
    }
}

impl Codec for Checksum32 {
    fn id(&self) -> &str {
        self.name()
    }
    fn config(&self) -> Value {
        if self.explicit {
            let loc = match self.location {
                Location::Start => "start",
                Location::End => "end",
            };
            json!({"id": self.name(), "location": loc})
        } else {
            json!({"id": self.name()})
        }
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let sum = self.sum(data).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 4);
        match self.location {
            Location::Start => {
                out.extend_from_slice(&sum);
                out.extend_from_slice(data);
            }
            Location::End => {
                out.extend_from_slice(data);
                out.extend_from_slice(&sum);
            }
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        crate::copy_bounded(self.name(), self.payload(data)?, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        crate::copy_exact(self.name(), self.payload(data)?, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len + 4
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        1
    }
}

/// numcodecs `Fletcher32` (`{"id": "fletcher32"}`): the data, then its [`fletcher32`] as a
/// little-endian u32. (numcodecs 0.15.2 fails on empty data, both ways; nd's checksum of no
/// bytes is 0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fletcher32;

impl Fletcher32 {
    fn payload(data: &[u8]) -> Result<&[u8]> {
        if data.len() < 4 {
            return Err(too_short("fletcher32", data.len()));
        }
        let (payload, sum) = data.split_at(data.len() - 4);
        let stored = le32(sum);
        let computed = fletcher32(payload);
        if stored != computed {
            return Err(Error::Checksum {
                codec: "fletcher32",
                stored,
                computed,
            });
        }
        Ok(payload)
    }
}

impl Codec for Fletcher32 {
    fn id(&self) -> &str {
        "fletcher32"
    }
    fn config(&self) -> Value {
        json!({"id": "fletcher32"})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() + 4);
        out.extend_from_slice(data);
        out.extend_from_slice(&fletcher32(data).to_le_bytes());
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        crate::copy_bounded("fletcher32", Fletcher32::payload(data)?, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        crate::copy_exact("fletcher32", Fletcher32::payload(data)?, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len + 4
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // zlib.adler32(b"Wikipedia"), zlib.crc32(b"123456789")
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // HDF5: words are big-endian, an odd last byte is a high byte
        assert_eq!(fletcher32(&[0, 1, 0, 2]), (4 << 16) | 3);
        assert_eq!(fletcher32(&[1]), (0x100 << 16) | 0x100);
        // no reduction of 0xffff to 0 (end-around carry keeps it)
        assert_eq!(fletcher32(&[0xff, 0xff]), 0xffff_ffff);
    }

    #[test]
    fn crc32c_matches_the_bitwise_definition() {
        // RFC 3720 B.4 / the "check" value of CRC-32C
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        let naive = |d: &[u8]| {
            let mut c = !0u32;
            for &b in d {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        (c >> 1) ^ 0x82F6_3B78
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        };
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 999, 1000] {
            assert_eq!(crc32c(&data[..n]), naive(&data[..n]), "{n}");
        }
        assert_eq!(
            crc32c_update(crc32c(&data[..13]), &data[13..]),
            crc32c(&data)
        );
        // numcodecs CRC32C: the checksum after the data
        let c = Checksum32::from_config(&json!({"id": "crc32c"})).unwrap();
        let enc = c.encode(b"abc").unwrap();
        assert_eq!(&enc[3..], &crc32c(b"abc").to_le_bytes());
        assert_eq!(c.decode(&enc, 3).unwrap(), b"abc");
    }

    #[test]
    fn adler_long_input_matches_naive() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &data {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&data), ((b << 16) | a) as u32);
    }

    #[test]
    fn fletcher_residues_match_modular_definition() {
        // the folded sums are the mod-65535 sums, up to 0 being written as 0xffff
        let data: Vec<u8> = (0..(1 << 20) + 3u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let (mut s1, mut s2) = (0u64, 0u64);
        let mut padded = data.clone();
        padded.push(0);
        for w in padded.chunks_exact(2) {
            s1 = (s1 + u64::from(u16::from_be_bytes([w[0], w[1]]))) % 0xffff;
            s2 = (s2 + s1) % 0xffff;
        }
        let f = fletcher32(&data);
        assert_eq!(u64::from(f & 0xffff) % 0xffff, s1);
        assert_eq!(u64::from(f >> 16) % 0xffff, s2);
    }
}
