//! Editing one HDU's header as astropy's `fits.setval`, `fits.delval` and `Header.add_history`
//! do, written crash-safely.
//!
//! Placement follows astropy's `Header.append` / `_update`: a changed keyword keeps its place
//! (and its comment unless a new one is given); a new keyword goes after the last card that is
//! neither blank nor commentary; a HISTORY or COMMENT card after the last card of its keyword,
//! else after the last non-blank card; an inserted card uses up trailing blank cards, so a header
//! padded with blanks keeps its size. Values are formatted as astropy writes them
//! ([`Card::new`]: quoted strings, `T`/`F`, CONTINUE for long strings, HIERARCH for long keys).
//!
//! Writing: the edited file is always built under a temporary name beside the original and
//! renamed over it ([`nd_core::io::TempFile`]), so a crash at any point leaves either the old
//! file or the new one, never a torn header. An overwrite of the header blocks in place would
//! avoid the copy but is not crash-safe (a partial write of a block leaves an unreadable header).
//! When the header keeps its number of blocks the copy is made by the kernel (`copy_file_range`,
//! a reflink on file systems that have them) and only the header blocks are written: every data
//! byte stays at its offset. When the header grows or shrinks by a block, the HDUs after it move
//! by whole blocks. Through a symbolic link the linked file is edited. CHECKSUM/DATASUM, when the HDU has them, are recomputed (the data is read
//! once for its sum), as astropy's `add_checksum`. The file's permissions are kept.

use crate::card::{Card, Value, COMMENTARY};
use crate::checksum::add_words;
use crate::error::{Error, Result};
use crate::header::Header;
use nd_core::io::TempFile;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// One change to a header.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Set a keyword's value (and comment, when given; `None` keeps the existing one).
    Set {
        /// The keyword (a long or spaced one becomes a HIERARCH card).
        keyword: String,
        /// Its value.
        value: Value,
        /// Its comment.
        comment: Option<String>,
    },
    /// Remove every card of a keyword (wildcards `*`, `?` allowed; protected keywords are never
    /// matched by a wildcard).
    Delete {
        /// The keyword or pattern.
        keyword: String,
    },
    /// Add a HISTORY card (long text continues on more HISTORY cards).
    History(String),
    /// Add a COMMENT card.
    Comment(String),
}

/// What [`edit_file`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditOutcome {
    /// The HDU edited.
    pub hdu: usize,
    /// Cards removed by deletions.
    pub removed: usize,
    /// The header changed its number of 2880-byte blocks, so what follows it moved.
    pub moved: bool,
    /// CHECKSUM / DATASUM were recomputed.
    pub checksum_updated: bool,
}

/// Keywords an edit may not touch: those that describe the layout of the data (changing them
/// would make the file unreadable or change what its bytes mean structurally), END, and the
/// checksums (kept valid by the editor itself).
pub fn is_protected(keyword: &str) -> bool {
    let k = keyword.trim().to_ascii_uppercase();
    const FIXED: &[&str] = &[
        "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "GROUPS", "TFIELDS",
        "THEAP", "END", "CHECKSUM", "DATASUM", "ZIMAGE", "ZBITPIX", "ZNAXIS", "ZCMPTYPE",
        "ZQUANTIZ", "ZDITHER0", "ZSIMPLE", "ZTENSION", "ZEXTEND", "ZPCOUNT", "ZGCOUNT", "ZHECKSUM",
        "ZDATASUM", "ZBLANK", "ZSCALE", "ZZERO",
    ];
    const NUMBERED: &[&str] = &[
        "NAXIS", "TFORM", "TBCOL", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL",
    ];
    FIXED.contains(&k.as_str())
        || NUMBERED.iter().any(|p| {
            k.strip_prefix(p)
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// A value typed from command-line text as astropy would store the Python value it names:
/// `T`/`F`/`True`/`False` → logical, `42` → integer, `1.5`, `1e3`, `2.5D-3` → real,
/// `(1.5, 2)` → complex, `'text'` → string (quotes removed, `''` → `'`), anything else → the
/// string as given. Returns the value and a comment when the text has one after `/` (after a
/// quoted string or a number; after an unquoted string only when set off as ` / `).
pub fn value_from_text(text: &str) -> (Value, Option<String>) {
    let t = text.trim();
    match t {
        "True" | "true" => return (Value::Bool(true), None),
        "False" | "false" => return (Value::Bool(false), None),
        _ => {}
    }
    if let Some((v, c)) = crate::card::parse_value_comment(t) {
        match v {
            Value::Undefined | Value::Invalid(_) | Value::Text(_) => {}
            Value::Float(_) if !t.contains(['.', 'e', 'E', 'd', 'D']) => {}
            v => return (v, c.filter(|c| !c.is_empty())),
        }
    }
    // numbers with a lower-case exponent, which the card parser (FITS syntax) may not take
    if let Ok(i) = t.parse::<i64>() {
        return (Value::Int(i), None);
    }
    if let Ok(x) = t.parse::<f64>() {
        if x.is_finite() {
            return (Value::Float(x), None);
        }
    }
    // an unquoted string: a comment only after " / "
    match t.split_once(" / ") {
        Some((v, c)) => (Value::Str(v.trim().to_string()), Some(c.trim().to_string())),
        None => (Value::Str(t.to_string()), None),
    }
}

fn is_blank(c: &Card) -> bool {
    c.keyword().is_empty() && c.raw().trim().is_empty()
}

fn is_commentary_key(k: &str) -> bool {
    COMMENTARY.contains(&k)
}

/// Insert `card` at `at`, then drop as many trailing blank cards as it has images (astropy's
/// `useblanks`).
fn insert_using_blanks(h: &mut Header, at: usize, card: Card) {
    let images = card.num_images();
    h.insert(at, card);
    for _ in 0..images {
        match h.cards().last() {
            Some(c) if is_blank(c) => {
                let n = h.len() - 1;
                h.remove_at(n);
            }
            _ => break,
        }
    }
}

/// The position astropy's `Header.append(card, bottom)` inserts at.
fn append_position(h: &Header, commentary: bool, bottom: bool) -> usize {
    let cards = h.cards();
    let mut idx = cards.len();
    while idx > 0 && is_blank(&cards[idx - 1]) {
        idx -= 1;
    }
    if !bottom && !commentary {
        while idx > 0 && is_commentary_key(cards[idx - 1].keyword()) {
            idx -= 1;
        }
    }
    idx
}

/// Apply one edit to a header (in memory), as astropy places cards.
///
/// # Errors
/// [`Error::Invalid`] for a protected keyword, a value or text a card cannot hold, or a deletion
/// that matches nothing.
pub fn apply(h: &mut Header, edit: &Edit) -> Result<usize> {
    match edit {
        Edit::Set {
            keyword,
            value,
            comment,
        } => {
            let key = crate::card::normalize_key(keyword).trim();
            if is_protected(key) {
                return Err(Error::Invalid(format!(
                    "{key} describes the data layout (or is kept by nd); it cannot be edited"
                )));
            }
            if is_commentary_key(&key.to_ascii_uppercase()) {
                let text = match value {
                    Value::Str(s) | Value::Text(s) => s.clone(),
                    other => other_text(other),
                };
                return commentary(h, &key.to_ascii_uppercase(), &text).map(|_| 0);
            }
            match h.position(key) {
                Some(_) => h.set(key, value.clone(), comment.as_deref())?,
                None => {
                    let card = Card::new(key, value.clone(), comment.as_deref())?;
                    let at = append_position(h, false, false);
                    insert_using_blanks(h, at, card);
                }
            }
            Ok(0)
        }
        Edit::Delete { keyword } => {
            let key = crate::card::normalize_key(keyword).trim().to_string();
            let pattern = key.contains(['*', '?']);
            if !pattern && is_protected(&key) {
                return Err(Error::Invalid(format!(
                    "{key} describes the data layout (or is kept by nd); it cannot be deleted"
                )));
            }
            let before = h.len();
            if pattern {
                let up = key.to_ascii_uppercase();
                h.retain(|c| {
                    is_protected(c.keyword())
                        || !wildcard(&up, &c.keyword().to_ascii_uppercase())
                        || is_blank(c)
                });
            } else {
                h.remove_all(&key);
            }
            let removed = before - h.len();
            if removed == 0 {
                return Err(Error::Invalid(format!("keyword {key} not found")));
            }
            Ok(removed)
        }
        Edit::History(t) => commentary(h, "HISTORY", t).map(|_| 0),
        Edit::Comment(t) => commentary(h, "COMMENT", t).map(|_| 0),
    }
}

fn other_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(s) | Value::Str(s) | Value::Text(s) | Value::Invalid(s) => s.clone(),
        Value::Float(x) => crate::card::format::py_float_repr(*x),
        Value::Complex(r, i) => format!("({r}, {i})"),
        Value::Undefined => String::new(),
    }
}

/// A HISTORY / COMMENT card after the last card of its keyword, else after the last non-blank
/// card (astropy's `_update` for commentary keywords).
fn commentary(h: &mut Header, key: &str, text: &str) -> Result<()> {
    let card = Card::commentary(key, text)?;
    let last = h.cards().iter().rposition(|c| c.keyword() == key);
    let at = match last {
        Some(i) => i + 1,
        None => append_position(h, true, true),
    };
    // one card per 72-character piece, each using up a trailing blank card
    let pieces = card.split_images();
    for (k, c) in pieces.into_iter().enumerate() {
        insert_using_blanks(h, at + k, c);
    }
    Ok(())
}

/// `*` and `?` wildcards over a whole keyword.
fn wildcard(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star) = (0, 0, None);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Edit the header of HDU `hdu` of the FITS file at `path` (uncompressed, local) and replace
/// the file atomically (see the module documentation).
///
/// Cost: one kernel copy of the file (or, when the header changes size, a copy through user
/// space), one read of the HDU's data when it carries CHECKSUM/DATASUM.
///
/// # Errors
/// [`Error::Invalid`] for a gzip-compressed file, a protected keyword, a bad value or a deletion
/// that matches nothing; the file's own errors when it cannot be read; [`Error::Io`] when the
/// new file cannot be written (the original is then untouched).
pub fn edit_file(path: &Path, hdu: usize, edits: &[Edit]) -> Result<EditOutcome> {
    // through a symbolic link, the file it names is edited (the link stays a link)
    let real = std::fs::canonicalize(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let path = real.as_path();
    let fits = crate::fits::Fits::open(path)?;
    if fits.is_gzipped() {
        return Err(Error::Invalid(format!(
            "{}: a gzip-compressed file cannot be edited in place (decompress it first)",
            path.display()
        )));
    }
    let h = fits.hdu(hdu)?;
    let mut header = h.header.clone();
    let mut out = EditOutcome {
        hdu,
        ..EditOutcome::default()
    };
    for e in edits {
        out.removed += apply(&mut header, e).map_err(|e| match e {
            Error::Invalid(m) => Error::Invalid(format!("HDU {hdu}: {m}")),
            other => other,
        })?;
    }
    let size = fits.source().len();
    let (hstart, dstart, dend) = (h.header_offset, h.data_offset, h.end_offset().min(size));
    let io = |e: std::io::Error| Error::io(path.display().to_string(), e);
    let bytes = if header.contains("CHECKSUM") || header.contains("DATASUM") {
        out.checksum_updated = true;
        let mut f = File::open(path).map_err(io)?;
        f.seek(SeekFrom::Start(dstart)).map_err(io)?;
        let mut sum = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        let mut left = dend.saturating_sub(dstart);
        while left > 0 {
            let n = (left.min(buf.len() as u64)) as usize;
            f.read_exact(&mut buf[..n]).map_err(io)?;
            sum = add_words(sum, &buf[..n]);
            left -= n as u64;
        }
        crate::write::finish_checksums(&mut header, crate::checksum::fold(sum))?
    } else {
        header.to_bytes()
    };
    drop(fits);
    let perms = std::fs::metadata(path).map_err(io)?.permissions();
    let mut tmp = TempFile::create(path)?;
    let ctx = tmp.path().display().to_string();
    let tio = |e: std::io::Error| Error::io(ctx.clone(), e);
    let mut src = File::open(path).map_err(io)?;
    if bytes.len() as u64 == dstart - hstart {
        // same size: a kernel copy, then the header blocks over it
        std::io::copy(&mut src, tmp.file_mut()).map_err(tio)?;
        nd_core::io::write_all_at(tmp.file(), &bytes, hstart).map_err(tio)?;
    } else {
        out.moved = true;
        std::io::copy(&mut (&mut src).take(hstart), tmp.file_mut()).map_err(tio)?;
        tmp.file_mut().write_all(&bytes).map_err(tio)?;
        src.seek(SeekFrom::Start(dstart)).map_err(io)?;
        std::io::copy(&mut src, tmp.file_mut()).map_err(tio)?;
    }
    tmp.file().set_permissions(perms).map_err(tio)?;
    tmp.persist()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[Card], blanks: usize) -> Header {
        let mut h = Header::new();
        for c in cards {
            h.push(c.clone());
        }
        for _ in 0..blanks {
            h.push(Card::commentary("", "").unwrap());
        }
        h
    }

    #[test]
    fn new_keywords_go_before_trailing_commentary_and_use_blanks() {
        let mut h = header(
            &[
                Card::new("SIMPLE", true, None).unwrap(),
                Card::new("OBJECT", "M31", None).unwrap(),
                Card::commentary("HISTORY", "one").unwrap(),
            ],
            2,
        );
        apply(
            &mut h,
            &Edit::Set {
                keyword: "EXPTIME".into(),
                value: Value::Float(1.5),
                comment: Some("s".into()),
            },
        )
        .unwrap();
        let keys: Vec<&str> = h.cards().iter().map(|c| c.keyword()).collect();
        assert_eq!(keys, ["SIMPLE", "OBJECT", "EXPTIME", "HISTORY", ""]);
        apply(&mut h, &Edit::History("two".into())).unwrap();
        let keys: Vec<&str> = h.cards().iter().map(|c| c.keyword()).collect();
        assert_eq!(keys, ["SIMPLE", "OBJECT", "EXPTIME", "HISTORY", "HISTORY"]);
        assert!(apply(
            &mut h,
            &Edit::Set {
                keyword: "NAXIS1".into(),
                value: Value::Int(3),
                comment: None
            }
        )
        .is_err());
        assert!(apply(
            &mut h,
            &Edit::Delete {
                keyword: "NOPE".into()
            }
        )
        .is_err());
        assert_eq!(
            apply(
                &mut h,
                &Edit::Delete {
                    keyword: "HIST*".into()
                }
            )
            .unwrap(),
            2
        );
    }

    #[test]
    fn values_are_typed_from_text() {
        assert_eq!(value_from_text("T").0, Value::Bool(true));
        assert_eq!(value_from_text("False").0, Value::Bool(false));
        assert_eq!(value_from_text("42").0, Value::Int(42));
        assert_eq!(value_from_text("1.5").0, Value::Float(1.5));
        assert_eq!(value_from_text("1e3").0, Value::Float(1000.0));
        assert_eq!(value_from_text("'it''s'").0, Value::Str("it's".into()));
        assert_eq!(value_from_text("HST").0, Value::Str("HST".into()));
        assert_eq!(
            value_from_text("'a b' / why"),
            (Value::Str("a b".into()), Some("why".into()))
        );
        assert_eq!(value_from_text("(1.5, 2)").0, Value::Complex(1.5, 2.0));
    }
}
