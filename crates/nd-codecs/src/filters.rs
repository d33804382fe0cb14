//! numcodecs filters. (in progress)

use crate::{Codec, Error, Result};
use serde_json::Value;

/// numcodecs `AsType` filter.
#[derive(Debug, Clone)]
pub struct AsType {
    config: Value,
}

impl AsType {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(AsType { config: v.clone() })
    }
}

impl Codec for AsType {
    fn id(&self) -> &str {
        "astype"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("astype: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("astype: not yet".into()))
    }
}

/// numcodecs `Categorize` filter.
#[derive(Debug, Clone)]
pub struct Categorize {
    config: Value,
}

impl Categorize {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Categorize { config: v.clone() })
    }
}

impl Codec for Categorize {
    fn id(&self) -> &str {
        "categorize"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("categorize: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("categorize: not yet".into()))
    }
}

/// numcodecs `Delta` filter.
#[derive(Debug, Clone)]
pub struct Delta {
    config: Value,
}

impl Delta {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Delta { config: v.clone() })
    }
}

impl Codec for Delta {
    fn id(&self) -> &str {
        "delta"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("delta: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("delta: not yet".into()))
    }
}

/// numcodecs `FixedScaleOffset` filter.
#[derive(Debug, Clone)]
pub struct FixedScaleOffset {
    config: Value,
}

impl FixedScaleOffset {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(FixedScaleOffset { config: v.clone() })
    }
}

impl Codec for FixedScaleOffset {
    fn id(&self) -> &str {
        "fixedscaleoffset"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("fixedscaleoffset: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("fixedscaleoffset: not yet".into()))
    }
}

/// numcodecs `PackBits` filter.
#[derive(Debug, Clone)]
pub struct PackBits {
    config: Value,
}

impl PackBits {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(PackBits { config: v.clone() })
    }
}

impl Codec for PackBits {
    fn id(&self) -> &str {
        "packbits"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("packbits: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("packbits: not yet".into()))
    }
}

/// numcodecs `Quantize` filter.
#[derive(Debug, Clone)]
pub struct Quantize {
    config: Value,
}

impl Quantize {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Quantize { config: v.clone() })
    }
}

impl Codec for Quantize {
    fn id(&self) -> &str {
        "quantize"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("quantize: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("quantize: not yet".into()))
    }
}

/// numcodecs `Shuffle` filter.
#[derive(Debug, Clone)]
pub struct Shuffle {
    config: Value,
}

impl Shuffle {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Shuffle { config: v.clone() })
    }
}

impl Codec for Shuffle {
    fn id(&self) -> &str {
        "shuffle"
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
    fn encode(&self, _data: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unsupported("shuffle: not yet".into()))
    }
    fn decode(&self, _data: &[u8], _max_len: usize) -> Result<Vec<u8>> {
        Err(Error::Unsupported("shuffle: not yet".into()))
    }
}
