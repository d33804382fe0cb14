//! The error type of nd-core.

use std::path::PathBuf;

/// Result alias for nd-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in nd-core, with where it went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (a path, an offset, a key).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A read past the end of a byte source.
    #[error("read of {len} bytes at offset {offset} is past the end of the source ({size} bytes)")]
    OutOfBounds {
        /// Start of the read.
        offset: u64,
        /// Length of the read.
        len: u64,
        /// Size of the source.
        size: u64,
    },
    /// A store key that is not allowed (escapes the root, absolute, empty segment...).
    #[error("invalid store key '{key}': {reason}")]
    InvalidKey {
        /// The offending key.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A data type description that could not be understood.
    #[error("invalid data type '{text}': {reason}")]
    DType {
        /// The text or description.
        text: String,
        /// Why.
        reason: String,
    },
    /// A shape, region or buffer size that does not fit.
    #[error("shape error: {0}")]
    Shape(String),
    /// An `.npy` stream that could not be read.
    #[error("npy: {0}")]
    Npy(String),
    /// A store is read-only.
    #[error("store is read-only: {0}")]
    ReadOnly(PathBuf),
    /// A write destination that nd refuses (it overlaps a source, or is something nd does not
    /// replace).
    #[error("{}: {why}", path.display())]
    Destination {
        /// The destination as given.
        path: PathBuf,
        /// Why it was refused.
        why: String,
    },
    /// Values of one data type that do not convert to another (a non-numeric type read as numbers).
    #[error("cannot convert {from} values to {to}: only bool, integer, float and complex values convert")]
    Cast {
        /// The stored type's name (`DataType`'s display form).
        from: String,
        /// The name of the type asked for.
        to: String,
    },
    /// Input that declares a size over one of the [`crate::Limits`] (refused before allocating).
    #[error("{at}: {value} is over the limit {limit} = {max} (raise it in nd_core::Limits)")]
    LimitExceeded {
        /// The name of the [`crate::Limits`] field.
        limit: &'static str,
        /// The size the input declares (or reached).
        value: u64,
        /// The limit.
        max: u64,
        /// Where: a path, key, or byte offset.
        at: String,
    },
    /// An operation the array or store does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An error from a format or codec crate, carried through a generic interface.
    #[error("{0}")]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Wrap any error (from a format crate) into an nd-core error.
    pub fn other<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Other(Box::new(e))
    }
}
