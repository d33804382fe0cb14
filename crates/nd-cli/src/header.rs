//! `nd header`: list header cards, attributes and tree values of many files (as astropy's
//! `fitsheader`), and edit FITS headers (`set`, `delete`, `history`, `comment`).

use crate::{open, CliError, CliResult};
use nd::header::{HeaderQuery, HeaderRow};
use std::io::Write;

/// Arguments of `nd header`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HeaderArgs {
    #[command(subcommand)]
    edit: Option<Edit>,
    /// Files or stores; quoted local patterns ('raw/*.fits') are expanded by nd. `nd header
    /// FILE HDU` (one file, then an HDU index or EXTNAME) prints that HDU's cards.
    paths: Vec<String>,
    /// Keyword to show (repeatable; wildcards `*`, `?`, `...`). FITS: case-insensitive, a plain
    /// keyword gives its first card; Zarr: attribute names; ASDF: tree paths (`meta/file/*`).
    #[arg(short = 'k', long = "keyword")]
    keywords: Vec<String>,
    /// HDU to show (repeatable): index, EXTNAME or EXTNAME,EXTVER; Zarr: node path; ASDF: subtree.
    #[arg(short = 'e', long = "extension")]
    extensions: Vec<String>,
    /// A table as `fitsheader -t` prints it: filename, hdu, keyword, value.
    #[arg(short = 't', long = "table")]
    table: bool,
    /// One JSON list of {filename, hdu, keyword, value, comment}.
    #[arg(long)]
    json: bool,
}

/// Header edits (FITS files, in place and atomic).
#[derive(clap::Subcommand)]
enum Edit {
    /// Set a keyword: `nd header set FILE[HDU] KEY=VALUE [/ comment]`. VALUE is typed as
    /// astropy would store it: T/F/True/False logical, 42 integer, 1.5 or 1e3 real, (1, 2)
    /// complex, 'quoted' string (spaces kept), anything else a string.
    Set {
        /// FITS file, optionally with the HDU in brackets: f.fits[1], f.fits[SCI], f.fits[SCI,2].
        file: String,
        /// KEY=VALUE, optionally followed by `/ comment` (quote the whole for the shell).
        #[arg(required = true, num_args = 1..)]
        assignment: Vec<String>,
        /// HDU (index, EXTNAME or EXTNAME,EXTVER); default the primary.
        #[arg(long)]
        hdu: Option<String>,
        /// The card's comment (replaces the existing one; without it the comment is kept).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Delete every card of the keywords (wildcards allowed).
    Delete {
        /// FITS file, optionally FILE[HDU].
        file: String,
        /// Keywords.
        #[arg(required = true)]
        keywords: Vec<String>,
        /// HDU (index, EXTNAME or EXTNAME,EXTVER); default the primary.
        #[arg(long)]
        hdu: Option<String>,
    },
    /// Add a HISTORY card (after the last one; long text continues on more cards).
    History {
        /// FITS file, optionally FILE[HDU].
        file: String,
        /// The text.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// HDU (index, EXTNAME or EXTNAME,EXTVER); default the primary.
        #[arg(long)]
        hdu: Option<String>,
    },
    /// Add a COMMENT card.
    Comment {
        /// FITS file, optionally FILE[HDU].
        file: String,
        /// The text.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// HDU (index, EXTNAME or EXTNAME,EXTVER); default the primary.
        #[arg(long)]
        hdu: Option<String>,
    },
}

/// Run `nd header`.
pub fn run(args: HeaderArgs, out: &mut dyn Write) -> CliResult<u8> {
    if let Some(e) = args.edit {
        return edit(e);
    }
    if args.paths.is_empty() {
        return Err(CliError::input(
            "nd header: give one or more files (or `set`, `delete`, `history`, `comment`)",
        ));
    }
    let listing =
        args.keywords.is_empty() && args.extensions.is_empty() && !args.table && !args.json;
    // the one-file forms `nd header FILE` and `nd header FILE HDU`: the cards as in the file
    if listing && legacy(&args.paths) {
        let ds = open(&args.paths[0])?;
        let hdu = args.paths.get(1).map(String::as_str);
        let text = if ds.format() == nd::Format::Fits {
            ds.header_text(hdu)?
        } else {
            let q = HeaderQuery {
                extensions: hdu.map(|h| vec![h.to_string()]).unwrap_or_default(),
                ..HeaderQuery::default()
            };
            nd::header::listing_text(&nd::header::header_rows(&ds, &q)?.0, true)
        };
        out.write_all(text.as_bytes()).map_err(CliError::output)?;
        return Ok(0);
    }
    let files = nd::refs::expand_sources(&args.paths)?;
    let all_cards = args.keywords.is_empty();
    let q = HeaderQuery {
        keywords: args.keywords,
        extensions: args.extensions,
    };
    let mut rows: Vec<HeaderRow> = Vec::new();
    let mut failed = false;
    for f in &files {
        // as fitsheader: an unreadable file is reported and the others are listed
        let got = open(f)
            .map_err(CliError::from)
            .and_then(|ds| nd::header::header_rows(&ds, &q).map_err(CliError::from));
        match got {
            Ok((r, warnings)) => {
                for w in warnings {
                    eprintln!("nd: warning: {w}");
                }
                rows.extend(r);
            }
            Err(e) => {
                failed = true;
                eprintln!("nd: {}", e.msg);
            }
        }
    }
    let text = if args.json {
        let list: Vec<serde_json::Value> = rows.iter().map(HeaderRow::to_json).collect();
        format!("{}\n", serde_json::Value::from(list))
    } else if args.table {
        if rows.is_empty() {
            String::new()
        } else {
            nd::header::table_text(&rows)
        }
    } else {
        nd::header::listing_text(&rows, all_cards)
    };
    out.write_all(text.as_bytes()).map_err(CliError::output)?;
    Ok(if failed { 2 } else { 0 })
}

/// `nd header FILE` or `nd header FILE HDU` (the second argument an HDU, not a file). FILE may
/// carry cfitsio's brackets (`f.fits[SCI]`), which are not a glob when the file exists.
fn legacy(paths: &[String]) -> bool {
    let literal = |p: &str| {
        !nd::refs::is_pattern(p) || std::path::Path::new(&nd::extended::file_part(p)).exists()
    };
    match paths {
        [one] => literal(one),
        [file, hdu] => {
            literal(file) && !nd::refs::is_pattern(hdu) && !std::path::Path::new(hdu).exists()
        }
        _ => false,
    }
}

/// `FILE[HDU]` → (FILE, HDU); a file name without brackets is returned whole.
fn split_target(target: &str, hdu: Option<String>) -> CliResult<(String, Option<String>)> {
    if let (Some(stripped), Some(open)) = (target.strip_suffix(']'), target.rfind('[')) {
        if !std::path::Path::new(target).exists() {
            if hdu.is_some() {
                return Err(CliError::input(format!(
                    "{target}: the HDU is given twice (in brackets and --hdu)"
                )));
            }
            return Ok((
                target[..open].to_string(),
                Some(stripped[open + 1..].to_string()),
            ));
        }
    }
    Ok((target.to_string(), hdu))
}

fn edit(e: Edit) -> CliResult<u8> {
    use nd::fits::edit::Edit as E;
    let (target, hdu, edits, what) = match e {
        Edit::Set {
            file,
            assignment,
            hdu,
            comment,
        } => {
            let text = assignment.join(" ");
            let (key, rest) = text
                .split_once('=')
                .ok_or_else(|| CliError::input(format!("'{text}': give KEY=VALUE")))?;
            let (value, c) = nd::fits::edit::value_from_text(rest);
            let key = key.trim().to_string();
            let what = format!("set {key}");
            (
                file,
                hdu,
                vec![E::Set {
                    keyword: key,
                    value,
                    comment: comment.or(c),
                }],
                what,
            )
        }
        Edit::Delete {
            file,
            keywords,
            hdu,
        } => {
            let what = format!("deleted {}", keywords.join(", "));
            let edits = keywords
                .into_iter()
                .map(|k| E::Delete { keyword: k })
                .collect();
            (file, hdu, edits, what)
        }
        Edit::History { file, text, hdu } => (
            file,
            hdu,
            vec![E::History(text.join(" "))],
            "added HISTORY".into(),
        ),
        Edit::Comment { file, text, hdu } => (
            file,
            hdu,
            vec![E::Comment(text.join(" "))],
            "added COMMENT".into(),
        ),
    };
    let (file, hdu) = split_target(&target, hdu)?;
    let done = nd::header::edit_header(&file, hdu.as_deref(), &edits)?;
    let mut notes = Vec::new();
    if done.removed > 0 {
        notes.push(format!("{} card(s) removed", done.removed));
    }
    if done.checksum_updated {
        notes.push("CHECKSUM/DATASUM updated".into());
    }
    if done.moved {
        notes.push("the header changed size: the file was rewritten".into());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    eprintln!("nd: {file}: HDU {}: {what}{notes}", done.hdu);
    Ok(0)
}
