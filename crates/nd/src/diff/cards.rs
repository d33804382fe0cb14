//! Header comparison as astropy's `HeaderDiff` (the header part of `fitsdiff`).
//!
//! Cards are grouped by keyword (blank cards left out); keywords found on one side only, a
//! keyword repeated a different number of times, values and comments that differ (the n-th card
//! of a keyword against the n-th of the other side) are reported. The number of cards is compared
//! too, before ignored keywords are taken out — as astropy does, so a header with one more ignored
//! keyword still differs in its card count.

use super::DiffOptions;
use nd_fits::{Card, Value};
use serde_json::{json, Value as J};

/// The differences between two headers.
#[derive(Debug, Clone, Default)]
pub struct HeaderDiff {
    /// The numbers of (non-blank) cards, when they differ.
    pub card_count: Option<(usize, usize)>,
    /// Keywords only in a (sorted).
    pub only_in_a: Vec<String>,
    /// Keywords only in b (sorted).
    pub only_in_b: Vec<String>,
    /// Keywords present a different number of times: (keyword, count in a, count in b).
    pub duplicates: Vec<(String, usize, usize)>,
    /// Keywords whose values differ: the keyword and each differing (a, b) pair, in card order.
    pub values: Vec<(String, Vec<(J, J)>)>,
    /// Keywords whose comments differ, as `values`.
    pub comments: Vec<(String, Vec<(String, String)>)>,
}

impl HeaderDiff {
    /// True when no difference was found.
    pub fn is_identical(&self) -> bool {
        self.card_count.is_none()
            && self.only_in_a.is_empty()
            && self.only_in_b.is_empty()
            && self.duplicates.is_empty()
            && self.values.is_empty()
            && self.comments.is_empty()
    }

    /// The JSON form `nd diff --json` gives.
    pub fn to_json(&self) -> J {
        json!({
            "identical": self.is_identical(),
            "card_count": self.card_count.map(|(a, b)| json!([a, b])),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "duplicates": self.duplicates.iter().map(|(k, a, b)| json!({"keyword": k, "a": a, "b": b})).collect::<Vec<_>>(),
            "values": self.values.iter().map(|(k, v)| json!({"keyword": k, "differences": v.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "comments": self.comments.iter().map(|(k, v)| json!({"keyword": k, "differences": v.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        })
    }

    /// The report lines (fitsdiff's wording), indented by `pad`.
    pub fn report(&self, pad: &str, out: &mut String) {
        use std::fmt::Write;
        if let Some((a, b)) = self.card_count {
            let _ = writeln!(
                out,
                "{pad}Headers have different number of cards:\n{pad}  a: {a}\n{pad}  b: {b}"
            );
        }
        for k in &self.only_in_a {
            let _ = writeln!(out, "{pad}Extra keyword {k:<8} in a");
        }
        for k in &self.only_in_b {
            let _ = writeln!(out, "{pad}Extra keyword {k:<8} in b");
        }
        for (k, a, b) in &self.duplicates {
            let _ = writeln!(
                out,
                "{pad}Inconsistent duplicates of keyword {k:<8}:\n{pad}  Occurs {a} time(s) in a, {b} times in (b)"
            );
        }
        for (k, v) in &self.values {
            for (a, b) in v {
                let _ = writeln!(
                    out,
                    "{pad}Keyword {k:<8} has different values:\n{pad}   a> {}\n{pad}   b> {}",
                    show(a),
                    show(b)
                );
            }
        }
        for (k, v) in &self.comments {
            for (a, b) in v {
                let _ = writeln!(
                    out,
                    "{pad}Keyword {k:<8} has different comments:\n{pad}   a> {a}\n{pad}   b> {b}"
                );
            }
        }
    }
}

/// True when `key` is ignored by one of `patterns` (upper case; `*`, `?`, `[…]` wildcards).
pub(crate) fn ignored(patterns: &[String], key: &str) -> bool {
    patterns
        .iter()
        .any(|p| p == "*" || p == key || crate::refs::wildcard_match(p, key))
}

/// Compare two lists of cards as astropy's `HeaderDiff` with `ignore_blanks` and
/// `ignore_blank_cards` (its defaults and fitsdiff's).
pub fn diff_cards(a: &[Card], b: &[Card], opts: &DiffOptions) -> HeaderDiff {
    let (ka, va, ca) = group(a);
    let (kb, vb, cb) = group(b);
    let mut d = HeaderDiff::default();
    let na = a.iter().filter(|c| !is_blank(c)).count();
    let nb = b.iter().filter(|c| !is_blank(c)).count();
    if na != nb {
        d.card_count = Some((na, nb));
    }
    if opts.ignore_keywords.iter().any(|p| p == "*") {
        return d;
    }
    let keep = |k: &&String| !ignored(&opts.ignore_keywords, k);
    let mut only_a: Vec<String> = ka
        .iter()
        .filter(keep)
        .filter(|k| !kb.contains(k))
        .cloned()
        .collect();
    let mut only_b: Vec<String> = kb
        .iter()
        .filter(keep)
        .filter(|k| !ka.contains(k))
        .cloned()
        .collect();
    only_a.sort();
    only_b.sort();
    d.only_in_a = only_a;
    d.only_in_b = only_b;
    let mut common: Vec<&String> = ka.iter().filter(|k| kb.contains(k)).collect();
    common.sort();
    for k in common {
        if ignored(&opts.ignore_keywords, k) {
            continue;
        }
        let (xa, xb) = (&va[k.as_str()], &vb[k.as_str()]);
        if xa.len() != xb.len() {
            d.duplicates.push((k.clone(), xa.len(), xb.len()));
        }
        let vals: Vec<(J, J)> = xa
            .iter()
            .zip(xb.iter())
            .filter(|(x, y)| values_differ(x, y, opts.rtol, opts.atol))
            .map(|(x, y)| (value_json(x), value_json(y)))
            .collect();
        if !vals.is_empty() {
            d.values.push((k.clone(), vals));
        }
        if ignored(&opts.ignore_comments, k) {
            continue;
        }
        let (ma, mb) = (&ca[k.as_str()], &cb[k.as_str()]);
        let coms: Vec<(String, String)> = ma
            .iter()
            .zip(mb.iter())
            .filter(|(x, y)| x != y)
            .map(|(x, y)| (x.clone(), y.clone()))
            .collect();
        if !coms.is_empty() {
            d.comments.push((k.clone(), coms));
        }
    }
    d
}

/// An 80-space card (astropy's `BLANK_CARD`).
fn is_blank(c: &Card) -> bool {
    c.keyword().is_empty() && c.raw().trim().is_empty()
}

type Grouped<'a> = (
    Vec<String>,
    std::collections::HashMap<&'a str, Vec<&'a Value>>,
    std::collections::HashMap<&'a str, Vec<String>>,
);

/// Keywords in order of first appearance, and each keyword's values and comments in card order.
fn group(cards: &[Card]) -> Grouped<'_> {
    let mut keys = Vec::new();
    let mut values: std::collections::HashMap<&str, Vec<&Value>> = Default::default();
    let mut comments: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for c in cards.iter().filter(|c| !is_blank(c)) {
        let k = c.keyword();
        if !values.contains_key(k) {
            keys.push(k.to_string());
        }
        values.entry(k).or_default().push(c.value());
        comments
            .entry(k)
            .or_default()
            .push(c.comment().unwrap_or("").to_string());
    }
    (keys, values, comments)
}

/// astropy's `diff_values` over Python's equality: floats within `atol + rtol·|b|` (two NaNs
/// equal), numbers of different kinds equal when equal as numbers (`1 == 1.0 == True`), strings
/// with trailing blanks dropped.
fn values_differ(a: &Value, b: &Value, rtol: f64, atol: f64) -> bool {
    use Value as V;
    match (a, b) {
        (V::Float(x), V::Float(y)) => {
            if y.is_finite() {
                // NaN on the left differs, as `not abs(a - b) <= tol` does in Python
                !matches!(
                    (x - y).abs().partial_cmp(&(atol + rtol * y.abs())),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                )
            } else if x.is_nan() && y.is_nan() {
                false
            } else {
                x != y
            }
        }
        (V::Str(x) | V::Text(x) | V::Invalid(x), V::Str(y) | V::Text(y) | V::Invalid(y)) => {
            x.trim_end() != y.trim_end()
        }
        (V::Undefined, V::Undefined) => false,
        (V::BigInt(x), V::BigInt(y)) => x != y,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        },
    }
}

/// A number as Python compares it across int, float, bool and complex: exact integers as i128.
#[derive(PartialEq)]
enum Num {
    Int(i128),
    Real(f64, f64),
}

fn number(v: &Value) -> Option<Num> {
    let n = match v {
        Value::Bool(b) => Num::Int(i128::from(*b)),
        Value::Int(i) => Num::Int(i128::from(*i)),
        Value::BigInt(s) => Num::Int(s.trim().parse().ok()?),
        Value::Float(x) => Num::Real(*x, 0.0),
        Value::Complex(r, i) => Num::Real(*r, *i),
        _ => return None,
    };
    // an integral real compares equal to the integer
    Some(match n {
        Num::Real(r, im) if im == 0.0 && r.fract() == 0.0 && r.abs() < 1.7e38 => {
            Num::Int(r as i128)
        }
        n => n,
    })
}

/// A value as the text report shows it: strings without quotes, logicals as Python's.
pub(crate) fn show(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

/// A card value as JSON (as `nd header --json` and `Dataset::metadata` give it).
pub(crate) fn value_json(v: &Value) -> J {
    crate::formats::fits::card_value(v)
}
