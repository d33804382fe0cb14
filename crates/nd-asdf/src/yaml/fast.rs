//! A fast path for the YAML that PyYAML and nd-asdf emit for ASDF trees: block mappings and
//! sequences (indentless sequences too), one-line plain and simple quoted scalars, one-line flow
//! sequences of plain scalars, `%TAG` shorthand tags. It feeds the same [`Loader`] as the full
//! parser, so everything after tokenising (PyYAML scalar resolution, duplicate keys, merges,
//! budgets) is shared. Anything outside this subset — anchors, aliases, comments, tabs, block or
//! multi-line scalars, escapes, flow mappings, complex keys, continuation lines, errors of any
//! kind — makes it give up (`None`) and the caller parses the text with `saphyr-parser`, so the
//! fast path only ever returns trees the full parser returns too (checked by differential tests
//! and the `asdf_yaml` fuzz target).

use super::loader::{LoadOptions, Loader};
use super::node::{Node, Tag};
use saphyr_parser::{Marker, ScalarStyle, Span};

/// A line that holds something: its indent, its text without the spaces around it, where it
/// starts in the document.
struct Line<'a> {
    indent: usize,
    text: &'a str,
    offset: usize,
    /// Blank lines came before this one.
    after_blank: bool,
}

/// The lines of the document that hold something, read one at a time as the parser moves on (no
/// list of them is built: a tree of thousands of arrays has tens of thousands of lines).
struct Lines<'a> {
    text: &'a str,
    /// The line the parser is on; `None` past the last.
    cur: Option<Line<'a>>,
    /// Where the text after the current line starts.
    rest: usize,
    /// Where the line before the current one starts.
    prev_offset: usize,
}

impl<'a> Lines<'a> {
    /// The lines of `text`, on its first; `Bail` for a byte outside printable ASCII (tabs, CR,
    /// NEL, BOM and non-ASCII questions are left to the full parser).
    fn new(text: &'a str) -> R<Self> {
        // printable ASCII and newlines only: one pass without an early exit, which the compiler
        // turns into vector code
        if text
            .bytes()
            .fold(false, |bad, c| bad | (c < 0x20 && c != b'\n') | (c >= 0x7f))
        {
            return Err(Bail);
        }
        let mut lines = Lines {
            text,
            cur: None,
            rest: 0,
            prev_offset: 0,
        };
        lines.advance()?;
        Ok(lines)
    }

    /// The first line holding something at or after byte `start`, and where the text after it
    /// starts; `Bail` for a comment line.
    fn scan(&self, mut start: usize) -> R<Option<(Line<'a>, usize)>> {
        let b = self.text.as_bytes();
        let mut blank = false;
        while start <= b.len() {
            let end = b
                .get(start..)
                .and_then(|t| memchr::memchr(b'\n', t))
                .map_or(b.len(), |i| start + i);
            let line = b.get(start..end).ok_or(Bail)?;
            let indent = line.iter().take_while(|&&c| c == b' ').count();
            match line.get(indent) {
                None => blank = true,
                Some(b'#') => return Err(Bail),
                Some(_) => {
                    let trail = line.iter().rev().take_while(|&&c| c == b' ').count();
                    let text = self.text.get(start + indent..end - trail).ok_or(Bail)?;
                    let line = Line {
                        indent,
                        text,
                        offset: start,
                        after_blank: blank,
                    };
                    return Ok(Some((line, end + 1)));
                }
            }
            start = end + 1;
        }
        Ok(None)
    }

    /// Move to the next line.
    fn advance(&mut self) -> R {
        if let Some(l) = &self.cur {
            self.prev_offset = l.offset;
        }
        match self.scan(self.rest)? {
            Some((line, rest)) => {
                self.cur = Some(line);
                self.rest = rest;
            }
            None => {
                self.cur = None;
                self.rest = self.text.len() + 1;
            }
        }
        Ok(())
    }

    /// The line after the current one, without moving to it.
    fn peek(&self) -> R<Option<Line<'a>>> {
        Ok(self.scan(self.rest)?.map(|(line, _)| line))
    }
}

struct P<'a> {
    lines: Lines<'a>,
    handles: Vec<(&'a str, &'a str)>,
    ld: Loader,
    /// The last tag token resolved and its tag: the nodes of a tree repeat a few tags (thousands
    /// of `!core/ndarray-1.1.0`), and the handles do not change after the directives.
    last_tag: Option<(&'a str, Tag)>,
}

/// Give up: the text is outside the fast subset (or in error).
struct Bail;

type R<T = ()> = Result<T, Bail>;

/// Load `text` on the fast path, or `None` when it needs the full parser.
pub(super) fn load(text: &str, opts: LoadOptions) -> Option<Node> {
    let mut p = P {
        lines: Lines::new(text).ok()?,
        handles: vec![("!", "!"), ("!!", "tag:yaml.org,2002:")],
        ld: Loader::new(opts, 0),
        last_tag: None,
    };
    p.document().ok()?;
    if p.ld.in_collection() {
        return None;
    }
    p.ld.root.take()
}

fn span(offset: usize) -> Span {
    Span::empty(Marker::new(offset, 0, 0))
}

/// Characters a plain scalar may not start with (besides `-`, allowed before a non-space).
fn bad_start(c: u8) -> bool {
    matches!(
        c,
        b'?' | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

/// A one-line plain scalar in block context, restricted to what is unambiguous.
fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&c0) = b.first() else {
        return false;
    };
    if bad_start(c0) || (c0 == b'-' && b.get(1).is_none_or(|&c| c == b' ')) {
        return false;
    }
    if (c0 == b'-' || c0 == b'.') && (s.starts_with("---") || s.starts_with("...")) {
        return false;
    }
    // one pass: no comment or flow indicator, no control character, no `: `, no final `:`
    let mut colon = false;
    for &c in b {
        let class = PLAIN_CLASS[usize::from(c)];
        if class == NOT_PLAIN || (class == SPACE && colon) {
            return false;
        }
        colon = class == COLON;
    }
    !colon
}

/// [`plain_ok`]'s classes of bytes: one table look-up a byte instead of a chain of comparisons.
const NOT_PLAIN: u8 = 1;
const COLON: u8 = 2;
const SPACE: u8 = 3;
static PLAIN_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b'#' | b',' | b'[' | b']' | b'{' | b'}' | 0..=0x1f | 0x7f => NOT_PLAIN,
            b':' => COLON,
            b' ' => SPACE,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// Tag characters accepted on the fast path: a small subset of the URI characters YAML allows,
/// enough for `tag:stsci.edu:asdf/core/ndarray-1.0.0` and `asdf://...` tags.
fn uri_ok(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:".contains(&c))
}

/// A tag handle: `!`, `!!` or `!word!`.
fn handle_ok(h: &str) -> bool {
    h == "!"
        || h == "!!"
        || h.len() > 2
            && h.starts_with('!')
            && h.ends_with('!')
            && h[1..h.len() - 1] // ok: len > 2, ASCII `!` at both ends
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// Split `key: rest` / `key:` at the first `: ` or a final `:`.
fn split_key(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let i = b
        .windows(2)
        .position(|w| w == b": ")
        .or_else(|| s.ends_with(':').then(|| s.len() - 1))?;
    let key = s.get(..i)?;
    let rest = s.get(i + 1..)?.trim_start_matches(' ');
    Some((key, rest))
}

impl<'a> P<'a> {
    fn line(&self) -> Option<&Line<'a>> {
        self.lines.cur.as_ref()
    }

    fn ok(&self, r: crate::error::Result<()>) -> R {
        r.map_err(|_| Bail)
    }

    fn document(&mut self) -> R {
        // directives (each at most once, the usual forms only)
        let mut version = false;
        let mut declared: Vec<&str> = Vec::new();
        while let Some(l) = self.line() {
            let t = l.text;
            if let Some(v) = t.strip_prefix("%YAML ") {
                if version || !(v == "1.1" || v == "1.2") || l.indent != 0 {
                    return Err(Bail);
                }
                version = true;
            } else if let Some(rest) = t.strip_prefix("%TAG ") {
                let mut w = rest.split(' ').filter(|s| !s.is_empty());
                let (Some(h), Some(pfx), None) = (w.next(), w.next(), w.next()) else {
                    return Err(Bail);
                };
                if l.indent != 0
                    || !h.starts_with('!')
                    || !h.ends_with('!')
                    || !uri_ok(pfx.strip_prefix('!').unwrap_or(pfx))
                    || !handle_ok(h)
                    || declared.contains(&h)
                {
                    return Err(Bail);
                }
                declared.push(h);
                self.handles.retain(|(x, _)| *x != h);
                self.handles.push((h, pfx));
            } else {
                break;
            }
            self.lines.advance()?;
        }
        let l = self.line().ok_or(Bail)?;
        if l.indent != 0 {
            return Err(Bail);
        }
        let tag = if l.text == "---" {
            None
        } else if let Some(t) = l.text.strip_prefix("--- ") {
            let (tag, rest) = self.tag(t.trim_start_matches(' '))?;
            if !rest.is_empty() {
                return Err(Bail);
            }
            Some(tag)
        } else {
            return Err(Bail);
        };
        self.lines.advance()?;
        match self.line() {
            Some(l) if l.text != "..." => self.block_node(0, tag, 1)?,
            _ => return Err(Bail),
        }
        match self.line() {
            None => Ok(()),
            Some(l) if l.indent == 0 && l.text == "..." => Ok(()),
            _ => Err(Bail),
        }
    }

    /// A tag token at the start of `s`: the full tag and what follows it (trimmed).
    fn tag(&mut self, s: &'a str) -> R<(Tag, &'a str)> {
        let end = s.bytes().position(|c| c == b' ').unwrap_or(s.len());
        let tok = &s[..end]; // ok: the position of an ASCII space is a char boundary
        let rest = s[end..].trim_start_matches(' ');
        if let Some((t, tag)) = &self.last_tag {
            if *t == tok {
                return Ok((tag.clone(), rest));
            }
        }
        if tok.len() < 2 || tok.contains('%') {
            return Err(Bail);
        }
        if let Some(v) = tok.strip_prefix("!<") {
            // verbatim `!<uri>`
            let uri = v.strip_suffix('>').ok_or(Bail)?;
            if uri.is_empty() || !uri_ok(uri) {
                return Err(Bail);
            }
            let tag = self.ld.tag(uri);
            self.last_tag = Some((tok, tag.clone()));
            return Ok((tag, rest));
        }
        // the handle: `!!`, `!name!` or `!`
        let (handle, suffix) = match tok[1..].find('!') {
            Some(i) => tok.split_at(i + 2),
            None => tok.split_at(1),
        };
        if suffix.is_empty() || !uri_ok(suffix) {
            return Err(Bail);
        }
        let prefix = self
            .handles
            .iter()
            .rev()
            .find(|(h, _)| *h == handle)
            .map(|(_, p)| *p)
            .ok_or(Bail)?;
        let tag = self.ld.intern_tag(prefix, suffix);
        self.last_tag = Some((tok, tag.clone()));
        Ok((tag, rest))
    }

    /// The block node starting at the current line (indent at least `min`).
    fn block_node(&mut self, min: usize, tag: Option<Tag>, depth: usize) -> R {
        if depth > self.ld.max_depth {
            return Err(Bail);
        }
        let l = self.line().ok_or(Bail)?;
        if l.indent < min {
            return Err(Bail);
        }
        let ind = l.indent;
        if l.text == "-" || l.text.starts_with("- ") {
            self.block_seq(ind, tag, depth)
        } else {
            self.block_map(ind, tag, depth)
        }
    }

    /// The value after `key:` or `- ` when the line ends there: a nested block, an indentless
    /// sequence (mapping values only), or an empty scalar.
    fn nested(&mut self, ind: usize, tag: Option<Tag>, in_map: bool, depth: usize) -> R {
        self.lines.advance()?;
        match self.line() {
            Some(l) if l.indent > ind => self.block_node(ind + 1, tag, depth + 1),
            Some(l) if in_map && l.indent == ind && (l.text == "-" || l.text.starts_with("- ")) => {
                self.block_seq(ind, tag, depth + 1)
            }
            // an empty tagged scalar: left to the full parser
            _ if tag.is_some() => Err(Bail),
            _ => {
                let at = self.lines.prev_offset;
                let r = self.ld.on_scalar("", ScalarStyle::Plain, 0, tag, span(at));
                self.ok(r)
            }
        }
    }

    fn block_map(&mut self, ind: usize, tag: Option<Tag>, depth: usize) -> R {
        let r = self.ld.on_start(false, 0, tag, 0);
        self.ok(r)?;
        while let Some(l) = self.line() {
            if l.indent < ind || (l.indent == 0 && (l.text == "..." || l.text == "---")) {
                break;
            }
            if l.indent > ind {
                return Err(Bail);
            }
            let (text, at) = (l.text, l.offset);
            let (key, rest) = split_key(text).ok_or(Bail)?;
            if !plain_ok(key) || key.ends_with(' ') {
                return Err(Bail);
            }
            let r = self
                .ld
                .on_scalar(key, ScalarStyle::Plain, 0, None, span(at));
            self.ok(r)?;
            self.value(ind, rest, at, true, depth)?;
        }
        let r = self.ld.on_end(span(0));
        self.ok(r)
    }

    /// The value of a mapping entry or sequence item: `rest` of the line at indent `ind`.
    fn value(&mut self, ind: usize, rest: &'a str, at: usize, in_map: bool, depth: usize) -> R {
        if rest.is_empty() {
            return self.nested(ind, None, in_map, depth);
        }
        if rest.starts_with('!') {
            let (tag, rest) = self.tag(rest)?;
            if rest.is_empty() {
                return self.nested(ind, Some(tag), in_map, depth);
            }
            self.inline(rest, Some(tag), at, depth)?;
        } else {
            self.inline(rest, None, at, depth)?;
        }
        self.lines.advance()?;
        Ok(())
    }

    fn block_seq(&mut self, ind: usize, tag: Option<Tag>, depth: usize) -> R {
        let r = self.ld.on_start(true, 0, tag, 0);
        self.ok(r)?;
        while let Some(l) = self.line() {
            if l.indent < ind {
                break;
            }
            if l.indent > ind {
                return Err(Bail);
            }
            let Some(item) = l.text.strip_prefix('-') else {
                break; // a key of the enclosing mapping after an indentless sequence
            };
            if !item.is_empty() && !item.starts_with(' ') {
                return Err(Bail);
            }
            let at = l.offset;
            let rest = item.trim_start_matches(' ');
            let col = ind + 1 + (item.len() - rest.len());
            if rest == "-" || rest.starts_with("- ") {
                return Err(Bail);
            }
            let b0 = rest.bytes().next().unwrap_or(b' ');
            if !rest.is_empty() && !bad_start(b0) && split_key(rest).is_some() {
                // `- key: value`: a mapping whose keys are at the item's column
                let line = self.lines.cur.as_mut().ok_or(Bail)?;
                line.indent = col;
                line.text = rest;
                self.block_map(col, None, depth + 1)?;
                continue;
            }
            if rest.starts_with('!') {
                // what follows the tag token (`value` resolves the tag itself)
                let after = rest[rest.bytes().position(|c| c == b' ').unwrap_or(rest.len())..]
                    .trim_start_matches(' '); // ok: the position of an ASCII space is a char boundary
                if after.contains(": ") || after.ends_with(':') {
                    return Err(Bail);
                }
            }
            self.value(ind, rest, at, false, depth)?;
        }
        let r = self.ld.on_end(span(0));
        self.ok(r)
    }

    /// A value that ends on its line (a flow collection may continue on more indented lines):
    /// flow sequence or mapping, quoted or plain scalar. Leaves the parser on its last line.
    fn inline(&mut self, s: &'a str, tag: Option<Tag>, at: usize, depth: usize) -> R {
        let sp = span(at);
        match s.as_bytes().first() {
            Some(b'[') | Some(b'{') => {
                let ind = self.line().map_or(0, |l| l.indent);
                // continuation lines joined with one space (a copy only when there are some)
                let mut joined = None::<String>;
                while !flow_closed(joined.as_deref().unwrap_or(s))? {
                    let next = self.lines.peek()?.ok_or(Bail)?;
                    if next.indent <= ind || next.after_blank {
                        return Err(Bail);
                    }
                    let buf = joined.get_or_insert_with(|| s.to_string());
                    buf.push(' ');
                    buf.push_str(next.text);
                    self.lines.advance()?;
                }
                let rest = self.flow(joined.as_deref().unwrap_or(s), tag, at, depth)?;
                if !rest.trim_start_matches(' ').is_empty() {
                    return Err(Bail);
                }
                Ok(())
            }
            Some(b'\'') | Some(b'"') => {
                let (v, style, rest) = quoted(s)?;
                if !rest.is_empty() {
                    return Err(Bail);
                }
                let r = self.ld.on_scalar(&v, style, 0, tag, sp);
                self.ok(r)
            }
            _ => {
                if !plain_ok(s) {
                    return Err(Bail);
                }
                let r = self.ld.on_scalar(s, ScalarStyle::Plain, 0, tag, sp);
                self.ok(r)
            }
        }
    }

    /// A flow node at the start of `s` (one line: continuation lines already joined); what follows it.
    fn flow<'s>(&mut self, s: &'s str, tag: Option<Tag>, at: usize, depth: usize) -> R<&'s str> {
        if depth > self.ld.max_depth {
            return Err(Bail);
        }
        let sp = span(at);
        let (open, close, seq) = match s.as_bytes().first() {
            Some(b'[') => ('[', ']', true),
            Some(b'{') => ('{', '}', false),
            Some(b'\'') | Some(b'"') => {
                if tag.is_some() {
                    return Err(Bail);
                }
                let (v, style, rest) = quoted(s)?;
                let r = self.ld.on_scalar(&v, style, 0, None, sp);
                self.ok(r)?;
                return Ok(rest);
            }
            _ => {
                if tag.is_some() {
                    return Err(Bail);
                }
                let end = s.find([',', ']', '}']).unwrap_or(s.len());
                let item = s[..end].trim_end_matches(' '); // ok: find gives a boundary
                if !plain_ok(item) || item.contains(':') {
                    return Err(Bail);
                }
                let r = self.ld.on_scalar(item, ScalarStyle::Plain, 0, None, sp);
                self.ok(r)?;
                return Ok(&s[end..]); // ok: as above
            }
        };
        let r = self.ld.on_start(seq, 0, tag, flat_items(s));
        self.ok(r)?;
        let mut rest = s.strip_prefix(open).ok_or(Bail)?.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(close) {
            let r = self.ld.on_end(sp);
            self.ok(r)?;
            return Ok(after);
        }
        loop {
            if !seq {
                // `key: value` with a plain key
                let i = rest.find(": ").ok_or(Bail)?;
                let key = &rest[..i]; // ok: find gives a boundary
                if !plain_ok(key) || key.contains(':') || key.ends_with(' ') {
                    return Err(Bail);
                }
                let r = self.ld.on_scalar(key, ScalarStyle::Plain, 0, None, sp);
                self.ok(r)?;
                rest = rest[i + 2..].trim_start_matches(' '); // ok: after ": "
            }
            rest = self
                .flow(rest, None, at, depth + 1)?
                .trim_start_matches(' ');
            if let Some(after) = rest.strip_prefix(close) {
                let r = self.ld.on_end(sp);
                self.ok(r)?;
                return Ok(after);
            }
            rest = rest.strip_prefix(',').ok_or(Bail)?.trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with([']', '}', ',']) {
                return Err(Bail);
            }
        }
    }
}

/// How many items the flow collection opening `s` holds when it closes before any nested
/// collection or quote (`[64]`, `[512, 512]`: one comma fewer), else 0 (not known).
fn flat_items(s: &str) -> usize {
    let mut commas = 0;
    for &c in s.as_bytes().iter().skip(1) {
        match c {
            b',' => commas += 1,
            b']' | b'}' => return commas + 1,
            b'[' | b'{' | b'\'' | b'"' => return 0,
            _ => {}
        }
    }
    0
}

/// A single- or double-quoted scalar at the start of `s` (no escapes in double quotes): its
/// value, style, and what follows.
fn quoted(s: &str) -> R<(String, ScalarStyle, &str)> {
    let b = s.as_bytes();
    let q = *b.first().ok_or(Bail)?;
    let mut i = 1;
    let mut v = String::new();
    let mut from = 1;
    loop {
        let c = *b.get(i).ok_or(Bail)?;
        if q == b'"' && c == b'\\' {
            return Err(Bail);
        }
        if c == q {
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                v.push_str(s.get(from..=i).ok_or(Bail)?);
                i += 2;
                from = i;
                continue;
            }
            v.push_str(s.get(from..i).ok_or(Bail)?);
            let style = if q == b'"' {
                ScalarStyle::DoubleQuoted
            } else {
                ScalarStyle::SingleQuoted
            };
            return Ok((
                v,
                style,
                s.get(i + 1..).ok_or(Bail)?.trim_start_matches(' '),
            ));
        }
        i += 1;
    }
}

/// True when the flow collections opened in `s` are all closed (quotes skipped).
fn flow_closed(s: &str) -> R<bool> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b'\'' | b'"' => {
                // skip to the closing quote
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Ok(false),
                        Some(&d) if d == c => {
                            if c == b'\'' && b.get(i + 1) == Some(&b'\'') {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        Some(b'\\') if c == b'"' => return Err(Bail),
                        _ => i += 1,
                    }
                }
            }
            _ => {}
        }
        if depth < 0 {
            return Err(Bail);
        }
        if depth == 0 {
            return Ok(true);
        }
        i += 1;
    }
    Ok(false)
}
