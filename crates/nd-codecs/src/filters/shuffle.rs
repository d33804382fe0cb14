//! numcodecs `Shuffle`: a byte transpose by element size.

use super::*;

/// numcodecs `Shuffle` (`{"id": "shuffle", "elementsize": 4}`): byte `j` of item `i` goes to
/// position `j * count + i`. An element size of 0 or 1 leaves the data unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shuffle {
    /// Bytes per item.
    pub elementsize: usize,
}

impl Shuffle {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let e = cfg_i64(v, "elementsize", 4)?;
        Ok(Shuffle {
            elementsize: usize::try_from(e)
                .map_err(|_| Error::Config(format!("shuffle: bad elementsize {e}")))?,
        })
    }

    fn check(&self, len: usize) -> Result<()> {
        if self.elementsize > 1 && !len.is_multiple_of(self.elementsize) {
            return Err(Error::corrupt(
                "shuffle",
                format!(
                    "{len} bytes is not a multiple of elementsize {}",
                    self.elementsize
                ),
            ));
        }
        Ok(())
    }

    /// `check`, and `out` exactly as long as `data`.
    fn check_into(&self, data: &[u8], out: &[u8]) -> Result<()> {
        self.check(data.len())?;
        check_size("shuffle", out.len(), data.len())
    }

    fn unshuffle_into(&self, data: &[u8], out: &mut [u8]) {
        if !crate::fast::unshuffle(self.elementsize, data, out) {
            self.unshuffle_generic(data, out);
        }
    }

    fn unshuffle_generic(&self, data: &[u8], out: &mut [u8]) {
        let es = self.elementsize;
        if es <= 1 {
            out.copy_from_slice(data);
            return;
        }
        let count = data.len() / es;
        for (j, plane) in data.chunks_exact(count.max(1)).enumerate().take(es) {
            for (i, &b) in plane.iter().enumerate() {
                out[i * es + j] = b; // ok: i < count, j < es
            }
        }
    }
}

impl Shuffle {
    /// `decode_into` by the byte-by-byte path only (benchmarks and tests compare the typed paths
    /// with it).
    #[doc(hidden)]
    pub fn decode_into_generic(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_into(data, out)?;
        self.unshuffle_generic(data, out);
        Ok(out.len())
    }
}

impl Codec for Shuffle {
    fn id(&self) -> &str {
        "shuffle"
    }
    fn config(&self) -> Value {
        json!({"id": "shuffle", "elementsize": self.elementsize})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.check(data.len())?;
        let es = self.elementsize;
        if es <= 1 {
            return Ok(data.to_vec());
        }
        let count = data.len() / es;
        let mut out = vec![0u8; data.len()];
        for (i, item) in data.chunks_exact(es).enumerate() {
            for (j, &b) in item.iter().enumerate() {
                out[j * count + i] = b; // ok: j < es, i < count
            }
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        self.check(data.len())?;
        bound("shuffle", data.len(), max_len)?;
        let mut out = vec![0u8; data.len()];
        self.unshuffle_into(data, &mut out);
        Ok(out)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_into(data, out)?;
        self.unshuffle_into(data, out);
        Ok(out.len())
    }
}
