//! Source arguments with shell wildcards (`survey/*.fits`), expanded here so that a quoted
//! pattern works the same on every shell and from Python.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Expand local-path patterns with `*`, `?` and `[…]` (`[!…]` negated, `a-z` ranges) in any
/// path component into the matching files, each pattern's matches sorted by name; arguments
/// without a wildcard, and URLs, are kept as given. A name starting with `.` is matched only by
/// a pattern component that starts with `.`.
///
/// # Errors
/// [`Error::Input`] for a pattern that matches no file, a wildcard in a URL (object stores are
/// not listed), or a directory that cannot be read.
pub fn expand_sources(args: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for a in args {
        // a FITS extended filename (`f.fits[1]`) is not a pattern: kept for `open` to judge
        let extended = matches!(crate::extended::ExtendedName::parse(a), Ok(Some(x))
            if nd_remote::is_url(&x.path) || Path::new(&x.path).is_file());
        if !has_wildcard(a) || extended {
            out.push(a.clone());
            continue;
        }
        if nd_remote::is_url(a) {
            return Err(Error::input(format!(
                "{a}: wildcards are expanded in local paths only; list the URLs"
            )));
        }
        let mut found = expand(Path::new(a))?;
        found.retain(|p| p.is_file());
        if found.is_empty() {
            return Err(Error::input(format!("{a}: no file matches")));
        }
        found.sort();
        for p in found {
            out.push(
                p.to_str()
                    .ok_or_else(|| Error::input(format!("{}: not valid UTF-8", p.display())))?
                    .to_string(),
            );
        }
    }
    Ok(out)
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Every path matching `pattern`, component by component.
fn expand(pattern: &Path) -> Result<Vec<PathBuf>> {
    let mut bases = vec![PathBuf::new()];
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy();
        if !has_wildcard(&text) {
            for b in &mut bases {
                b.push(comp);
            }
            continue;
        }
        let pat: Vec<char> = text.chars().collect();
        let mut next = Vec::new();
        for b in &bases {
            let dir = if b.as_os_str().is_empty() {
                Path::new(".")
            } else {
                b.as_path()
            };
            if !dir.is_dir() {
                continue;
            }
            let entries = std::fs::read_dir(dir)
                .map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
            for e in entries {
                let e = e.map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
                let fname = e.file_name();
                let Some(n) = fname.to_str() else { continue };
                if n.starts_with('.') && pat.first() != Some(&'.') {
                    continue;
                }
                let chars: Vec<char> = n.chars().collect();
                if wild_match(&pat, &chars) {
                    next.push(b.join(n));
                }
            }
        }
        bases = next;
    }
    Ok(bases)
}

/// Shell-style (`fnmatch`) match of a whole `name` against `pattern`: `*`, `?`, `[abc]`,
/// `[a-z]`, `[!a]`; case-sensitive (callers fold case when the names are case-insensitive, as
/// FITS keywords are).
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    wild_match(&p, &s)
}

/// True when `s` holds a wildcard character (`*`, `?`, `[`).
pub fn is_pattern(s: &str) -> bool {
    has_wildcard(s)
}

/// Shell-style match of a whole name.
fn wild_match(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], s[si]) {
                        if ok {
                            pi += len;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == '[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A `[…]` class at the start of `p`: whether `c` is in it, and the class's length; `None` when
/// the bracket is not closed (then it is a literal `[`).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        wild_match(
            &p.chars().collect::<Vec<_>>(),
            &s.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn matches_like_a_shell() {
        assert!(m("*.fits", "a.fits"));
        assert!(m("*.fits", ".fits"));
        assert!(!m("*.fits", "a.fits.gz"));
        assert!(m("img_??.fits", "img_01.fits"));
        assert!(!m("img_??.fits", "img_1.fits"));
        assert!(m("img_[0-4].fits", "img_3.fits"));
        assert!(!m("img_[!0-4].fits", "img_3.fits"));
        assert!(m("img_[!0-4].fits", "img_7.fits"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[ab", "[ab"));
        assert!(m("[]]", "]"));
    }

    #[test]
    fn expands_sorted_and_refuses_no_match() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.fits", "a.fits", "c.asdf", ".h.fits"] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/d.fits"), b"x").unwrap();
        let d = dir.path().to_str().unwrap();
        let got = expand_sources(&[format!("{d}/*.fits"), format!("{d}/s*/*.fits")]).unwrap();
        let want: Vec<String> = ["a.fits", "b.fits", "sub/d.fits"]
            .iter()
            .map(|n| format!("{d}/{n}"))
            .collect();
        assert_eq!(got, want);
        let e = expand_sources(&[format!("{d}/*.zarr")]).unwrap_err();
        assert!(e.to_string().contains("no file matches"), "{e}");
        let e = expand_sources(&["https://h/x/*.fits".into()]).unwrap_err();
        assert!(e.to_string().contains("local paths only"), "{e}");
        assert_eq!(
            expand_sources(&["plain.fits".into()]).unwrap(),
            vec!["plain.fits".to_string()]
        );
    }
}
