//! Structural verification of a FITS file, as strict as fitsverify: every check fitsverify 4.20
//! makes that decides conformance, with its classification (error or warning); see
//! `spec-notes/fits.md`, "Verification", for the list, and the few deliberate differences.
//!
//! The checks read the header records as bytes (not as parsed cards), so that what a lenient
//! reader repairs (free-format mandatory values, lower-case keywords, control characters) is
//! still reported.

mod data;
mod header;
mod keys;
mod keywords;

use crate::checksum::{hdu_checksums, ChecksumStatus};
use crate::fits::Fits;
use crate::hdu::Hdu;
use nd_core::ByteSource;

/// How serious a finding is, as fitsverify classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Allowed by the standard but questionable (stale checksum, duplicate keyword, deprecated
    /// keyword).
    Warning,
    /// Breaks the standard.
    Error,
}

/// One finding of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The HDU (0 = primary), or `None` for the file as a whole.
    pub hdu: Option<usize>,
    /// The header card (1-based, as fitsverify counts), when one card is at fault.
    pub card: Option<usize>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words.
    pub msg: String,
}

/// Every check, HDU by HDU, in file order. Never fails: what cannot be read is itself an
/// [`Issue`] (an error).
///
/// Cost: reads every header, every data unit once (checksums, fill bytes, table cells), and
/// decodes every tile of tile-compressed images, one tile at a time.
pub fn verify(fits: &Fits) -> Vec<Issue> {
    let mut out = Vec::new();
    let src = fits.source();
    let size = src.len();
    let hdus = match fits.hdus() {
        Ok(h) => h,
        Err(e) => {
            out.push(file_error(e.to_string()));
            return out;
        }
    };
    let mut names = Vec::new();
    for h in &hdus {
        let mut v = HduCheck {
            fits,
            hdu: h,
            src: &**src,
            out: &mut out,
        };
        v.header(&mut names, hdus.len());
        v.data(size);
        // a truncated data unit is reported once, by the data check
        if let Ok(r) = hdu_checksums(&**src, h) {
            v.checksums(r.checksum, r.datasum);
        }
    }
    // the last HDU must end within the file (cfitsio allows a short last 2880-byte block)
    if let Some(last) = hdus.last() {
        let blocks = size.div_ceil(2880) * 2880;
        if last.end_offset() > blocks {
            out.push(file_error(format!(
                "the last HDU ends at byte {}, past the end of the file ({size} bytes)",
                last.end_offset()
            )));
        }
    }
    if let Some(e) = fits.walk_error() {
        out.push(file_error(format!(
            "{e} (bytes after the last HDU that do not form an HDU)"
        )));
    }
    out
}

fn file_error(msg: String) -> Issue {
    Issue {
        hdu: None,
        card: None,
        severity: Severity::Error,
        msg,
    }
}

/// The checks of one HDU, collecting their findings.
struct HduCheck<'a> {
    fits: &'a Fits,
    hdu: &'a Hdu,
    src: &'a dyn ByteSource,
    out: &'a mut Vec<Issue>,
}

impl HduCheck<'_> {
    fn push(&mut self, severity: Severity, card: Option<usize>, msg: String) {
        self.out.push(Issue {
            hdu: Some(self.hdu.index),
            card,
            severity,
            msg,
        });
    }
    fn error(&mut self, card: usize, msg: String) {
        self.push(Severity::Error, Some(card), msg);
    }
    fn warning(&mut self, card: usize, msg: String) {
        self.push(Severity::Warning, Some(card), msg);
    }

    /// CHECKSUM / DATASUM as fitsverify counts them: one warning each, or one when only the
    /// header changed.
    fn checksums(&mut self, checksum: ChecksumStatus, datasum: ChecksumStatus) {
        match (checksum, datasum) {
            (ChecksumStatus::Invalid, ChecksumStatus::Valid) => self.push(
                Severity::Warning,
                None,
                "CHECKSUM is invalid while DATASUM is valid: the header has been modified".into(),
            ),
            (c, d) => {
                if d == ChecksumStatus::Invalid {
                    self.push(
                        Severity::Warning,
                        None,
                        "the data checksum does not match DATASUM".into(),
                    );
                }
                if c == ChecksumStatus::Invalid {
                    self.push(
                        Severity::Warning,
                        None,
                        "the HDU checksum does not match CHECKSUM".into(),
                    );
                }
            }
        }
    }
}
