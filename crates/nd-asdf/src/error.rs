//! The error type of nd-asdf: every variant says where in the file it went wrong.

/// Result alias for nd-asdf.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing an ASDF file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with `#ASDF 1.0.0` or its header section is malformed.
    #[error("not an ASDF file: {0}")]
    NotAsdf(String),
    /// The YAML tree could not be parsed.
    #[error("YAML tree, byte {offset}: {message}")]
    Yaml {
        /// Byte offset in the file (or in the YAML text when there is no file).
        offset: u64,
        /// What went wrong.
        message: String,
    },
    /// Alias expansion would create more nodes than the document justifies (a "billion laughs" document).
    #[error("YAML alias expansion exceeds the budget of {budget} nodes")]
    AliasBudget {
        /// The node budget.
        budget: u64,
    },
    /// An alias refers to a node that contains the alias itself.
    #[error("YAML alias *{anchor} refers to a node that contains it (cyclic structure)")]
    CyclicAlias {
        /// The anchor id.
        anchor: usize,
    },
    /// The tree nests deeper than allowed.
    #[error("YAML tree nests deeper than {0} levels")]
    TooDeep(usize),
    /// A block header is malformed or its sizes do not fit the file.
    #[error("block {block} at byte {offset}: {message}")]
    Block {
        /// Index of the block.
        block: usize,
        /// Byte offset of the block's magic.
        offset: u64,
        /// What went wrong.
        message: String,
    },
    /// A block index was requested that does not exist.
    #[error("no block {index} (the file has {count} blocks)")]
    NoSuchBlock {
        /// The requested index (as written in the tree).
        index: i64,
        /// Number of blocks in the file.
        count: usize,
    },
    /// A compressed block could not be decoded.
    #[error("block {block}: {message}")]
    Codec {
        /// Index of the block.
        block: usize,
        /// What went wrong.
        message: String,
    },
    /// A tree node (ndarray, zarr, ...) is malformed.
    #[error("tree node '{path}': {message}")]
    Node {
        /// Path of the node in the tree (`a/b/0`).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A path that does not exist in the tree, or that is not an array.
    #[error("no array at tree path '{0}'")]
    NoArray(String),
    /// An error from nd-core (I/O, shapes, byte sources).
    #[error(transparent)]
    Core(#[from] nd_core::Error),
}

impl Error {
    pub(crate) fn node(path: &str, message: impl Into<String>) -> Self {
        Error::Node {
            path: path.to_string(),
            message: message.into(),
        }
    }
    pub(crate) fn block(block: usize, offset: u64, message: impl Into<String>) -> Self {
        Error::Block {
            block,
            offset,
            message: message.into(),
        }
    }
}

impl From<Error> for nd_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(c) => c,
            other => nd_core::Error::other(other),
        }
    }
}
