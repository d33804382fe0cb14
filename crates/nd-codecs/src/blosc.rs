//! Blosc (c-blosc 1.x, built by the `blosc-src` crate) behind a safe wrapper. (in progress)

use crate::{Codec, Error, Result};
use serde_json::Value;

/// numcodecs `Blosc` codec.
#[derive(Debug, Clone)]
pub struct Blosc {
    config: Value,
}

impl Blosc {
    /// From `{"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Blosc { config: v.clone() })
    }
}

impl Codec for Blosc {
    fn id(&self) -> &str {
        "blosc"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("blosc: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("blosc: not yet".into()))
    }
}
