//! The one error type of `nd`.

/// Result alias of `nd`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `nd`. Messages are one line and name the file (or URL) and
/// where in it the problem is (HDU, card, block, key, byte offset).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file, store or URL that cannot be read as asked: missing, not a format nd reads,
    /// damaged, or holding something the request does not fit.
    #[error("{0}")]
    Input(String),
    /// Writing an output failed (a full disk, a closed pipe): the output is left absent.
    #[error("{context}: {source}")]
    Output {
        /// What was being written.
        context: String,
        /// The underlying error (`ErrorKind::BrokenPipe` when the reader went away).
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An input error with its message.
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    /// The same error, its message prefixed with where it happened.
    pub fn context(self, place: &str) -> Self {
        match self {
            Error::Input(m) => Error::Input(format!("{place}: {m}")),
            Error::Output { context, source } => Error::Output {
                context: format!("{place}: {context}"),
                source,
            },
        }
    }

    /// True when the error is a reader closing its end of a pipe (`nd … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
