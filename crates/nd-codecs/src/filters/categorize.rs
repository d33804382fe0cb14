//! numcodecs `Categorize`: strings stored as small integer labels.

use super::*;

/// numcodecs `Categorize` (`{"id": "categorize", "labels": [...], "dtype": "<U5", "astype": "|u1"}`):
/// fixed-width unicode strings replaced by 1 + their index in `labels` (0 for anything else).
/// Object (`|O`) arrays are not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categorize {
    labels: Vec<String>,
    /// Characters per string.
    nchars: usize,
    big: bool,
    dtype: String,
    astype: NumType,
}

impl Categorize {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let dtype = cfg_str(v, "dtype")?;
        let (dt, endian) = nd_core::dtype::DataType::from_typestr(dtype)
            .map_err(|e| Error::Config(format!("categorize: {e}")))?;
        let nchars = match dt {
            nd_core::dtype::DataType::Ucs4(n) if n > 0 => n,
            _ => {
                return Err(Error::Unsupported(format!(
                    "categorize: dtype '{dtype}' (only fixed-width unicode is supported)"
                )))
            }
        };
        let labels = v
            .get("labels")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config("categorize: missing \"labels\" list".into()))?
            .iter()
            .map(|l| {
                l.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::Config(format!("categorize: label {l} is not a string")))
            })
            .collect::<Result<Vec<_>>>()?;
        let astype = astype_or("categorize", v, || NumType::parse("categorize", "|u1"))?;
        Ok(Categorize {
            labels,
            nchars,
            big: endian == nd_core::dtype::Endian::Big,
            dtype: dt.typestr(endian),
            astype,
        })
    }

    fn item_size(&self) -> usize {
        self.nchars * 4
    }

    fn chars(&self, item: &[u8]) -> Vec<u32> {
        let mut v: Vec<u32> = item
            .chunks_exact(4)
            .map(|c| {
                let a = [c[0], c[1], c[2], c[3]]; // ok: chunks of 4
                if self.big {
                    u32::from_be_bytes(a)
                } else {
                    u32::from_le_bytes(a)
                }
            })
            .collect();
        while v.last() == Some(&0) {
            v.pop();
        }
        v
    }

    fn write_label(&self, label: Option<&String>, out: &mut [u8]) {
        out.fill(0);
        if let Some(l) = label {
            for (c, dst) in l.chars().zip(out.chunks_exact_mut(4)) {
                let b = if self.big {
                    (c as u32).to_be_bytes()
                } else {
                    (c as u32).to_le_bytes()
                };
                dst.copy_from_slice(&b);
            }
        }
    }

    fn decode_to(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = check_items("categorize", data.len(), self.astype.size())?;
        let need = n * self.item_size();
        check_size("categorize", out.len(), need)?;
        for (src, dst) in data
            .chunks_exact(self.astype.size())
            .zip(out.chunks_exact_mut(self.item_size()))
        {
            let idx = match self.astype.read(src) {
                Val::I(i) if i > 0 => Some(i as u64 as usize - 1),
                Val::U(u) if u > 0 => usize::try_from(u - 1).ok(),
                _ => None,
            };
            self.write_label(idx.and_then(|i| self.labels.get(i)), dst);
        }
        Ok(need)
    }
}

impl Codec for Categorize {
    fn id(&self) -> &str {
        "categorize"
    }
    fn config(&self) -> Value {
        json!({
            "id": "categorize",
            "labels": self.labels,
            "dtype": self.dtype,
            "astype": self.astype.typestr,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let n = check_items("categorize", data.len(), self.item_size())?;
        let wanted: Vec<Vec<u32>> = self
            .labels
            .iter()
            .map(|l| l.chars().map(|c| c as u32).collect())
            .collect();
        let mut out = vec![0u8; n * self.astype.size()];
        for (item, dst) in data
            .chunks_exact(self.item_size())
            .zip(out.chunks_exact_mut(self.astype.size()))
        {
            let s = self.chars(item);
            // numpy assigns in label order, so a repeated label takes its last index.
            let code = wanted
                .iter()
                .rposition(|w| *w == s)
                .map(|i| i as u64 + 1)
                .unwrap_or(0);
            self.astype.write(Val::U(code), dst);
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let n = check_items("categorize", data.len(), self.astype.size())?;
        let len = n.saturating_mul(self.item_size());
        bound("categorize", len, max_len)?;
        let mut out = vec![0u8; len];
        self.decode_to(data, &mut out)?;
        Ok(out)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.decode_to(data, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len / self.item_size() * self.astype.size()
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.astype.size()
    }
}
