//! The error type of nd-fits: every error says where (HDU, card, byte offset) it went wrong.

/// Result alias for nd-fits.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing FITS, with where it went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header card that cannot be read (in strict mode, any irregular card).
    #[error("HDU {hdu}: card {card} at byte {offset}: {msg}")]
    Card {
        /// HDU index (0 = primary).
        hdu: usize,
        /// Card number within the header (0-based).
        card: usize,
        /// Byte offset of the card in the file.
        offset: u64,
        /// What is wrong.
        msg: String,
    },
    /// A header that cannot be used (missing END, bad mandatory keyword, not FITS).
    #[error("HDU {hdu}: header at byte {offset}: {msg}")]
    Header {
        /// HDU index.
        hdu: usize,
        /// Byte offset of the header (or of the offending block).
        offset: u64,
        /// What is wrong.
        msg: String,
    },
    /// The data of an HDU reaches past the end of the file.
    #[error(
        "HDU {hdu}: data at byte {offset} needs {needed} bytes but the file ends at byte {size}"
    )]
    Truncated {
        /// HDU index.
        hdu: usize,
        /// Byte offset of the data.
        offset: u64,
        /// Bytes the header declares.
        needed: u64,
        /// File size.
        size: u64,
    },
    /// An HDU index past the last HDU.
    #[error("no HDU {index}: the file has {count}")]
    NoSuchHdu {
        /// Index asked for.
        index: usize,
        /// Number of HDUs in the file.
        count: usize,
    },
    /// No HDU with this EXTNAME / EXTVER.
    #[error("no HDU named '{name}'{}", .ver.map(|v| format!(" with EXTVER {v}")).unwrap_or_default())]
    NotFound {
        /// EXTNAME asked for.
        name: String,
        /// EXTVER asked for.
        ver: Option<i64>,
    },
    /// Something valid FITS that this crate does not do (or not for this HDU).
    #[error("HDU {hdu}: unsupported: {msg}")]
    Unsupported {
        /// HDU index.
        hdu: usize,
        /// What.
        msg: String,
    },
    /// A table or compressed-image problem (bad TFORM, descriptor outside the heap, corrupt
    /// tile, unparsable ASCII field), with the row and column where it was found.
    #[error("HDU {hdu}{}{}: {msg}",
        .row.map(|r| format!(", row {r}")).unwrap_or_default(),
        .column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    Table {
        /// HDU index.
        hdu: usize,
        /// Row (0-based; for compressed images, the tile number), when known.
        row: Option<u64>,
        /// Column (name, or `#n` 1-based when unnamed), when known.
        column: Option<String>,
        /// What is wrong.
        msg: String,
    },
    /// An HDU without data (NAXIS = 0), where astropy's `data` is `None`.
    #[error("HDU {hdu} has no data (NAXIS = 0)")]
    NoData {
        /// HDU index.
        hdu: usize,
    },
    /// A request that cannot be satisfied (bad card for writing, wrong data size, bad region).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An error from nd-core (byte source, shapes).
    #[error(transparent)]
    Core(#[from] nd_core::Error),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
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
