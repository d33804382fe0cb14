//! The error type of nd-zarr: every error names the store key it concerns.

use nd_codecs::zarr_v2::MetadataError;

/// Result alias for nd-zarr.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing Zarr (v2 and v3), with the key concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metadata document (`.zarray`, `.zgroup`, `.zattrs`, `.zmetadata`) that is invalid.
    #[error("{key}: {source}")]
    Metadata {
        /// The store key of the document.
        key: String,
        /// What is wrong.
        #[source]
        source: MetadataError,
    },
    /// A Zarr v3 `zarr.json` that is invalid, or uses a data type, codec or extension nd does
    /// not implement.
    #[error("{key}: {source}")]
    MetadataV3 {
        /// The store key of the document.
        key: String,
        /// What is wrong.
        #[source]
        source: crate::v3::MetadataErrorV3,
    },
    /// A stored chunk or shard whose structure is wrong (size, shard index, checksum framing).
    #[error("{key}: {reason}")]
    Chunk {
        /// The chunk or shard key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A chunk that could not be decoded or encoded (corrupt, wrong size, unsupported codec).
    #[error("{key}: {source}")]
    Codec {
        /// The chunk key (or `.zarray` for a pipeline that cannot be built).
        key: String,
        /// The codec error.
        #[source]
        source: nd_codecs::Error,
    },
    /// A store operation that failed (I/O, invalid key escaping the root, read-only store).
    #[error("{key}: {source}")]
    Store {
        /// The key.
        key: String,
        /// The store error.
        #[source]
        source: nd_core::Error,
    },
    /// Nothing (no array, no group) at a path.
    #[error("no Zarr {what} at '{path}'")]
    NotFound {
        /// `"array"`, `"group"` or `"array or group"`.
        what: &'static str,
        /// The path in the store.
        path: String,
    },
    /// A node that cannot be created where asked (an ancestor is an array, a group is in the way).
    #[error("cannot create '{path}': {reason}")]
    Conflict {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A region or buffer that does not fit the array.
    #[error("{0}")]
    Core(#[from] nd_core::Error),
}

impl From<Error> for nd_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(c) => c,
            other => nd_core::Error::other(other),
        }
    }
}

pub(crate) fn store_err(key: &str) -> impl FnOnce(nd_core::Error) -> Error + '_ {
    move |source| Error::Store {
        key: key.to_string(),
        source,
    }
}

pub(crate) fn meta_err(key: &str) -> impl FnOnce(MetadataError) -> Error + '_ {
    move |source| Error::Metadata {
        key: key.to_string(),
        source,
    }
}

pub(crate) fn codec_err(key: &str) -> impl FnOnce(nd_codecs::Error) -> Error + '_ {
    move |source| Error::Codec {
        key: key.to_string(),
        source,
    }
}
