//! A YAML emitter for ASDF trees that PyYAML (YAML 1.1) reads back to the same values: strings
//! that YAML 1.1 would misread (`yes`, `017`, `1:30`, `~`) are quoted, floats always carry a `.`.

use crate::yaml::{resolve_plain, Implicit, Node, Value, YAML_TAG_PREFIX};

/// The ASDF tag prefix bound to `!` by the `%TAG` directive we write.
pub const ASDF_PREFIX: &str = "tag:stsci.edu:asdf/";

/// Emit `node` as the body of a document (after `--- `).
pub fn emit_document(node: &Node) -> String {
    let mut out = String::new();
    if let Some(t) = &node.tag {
        out.push_str(&tag_text(t));
    }
    match &node.value {
        Value::Map(e) if !e.is_empty() => {
            out.push('\n');
            emit_map(e, 0, &mut out);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            emit_seq(s, 0, &mut out);
        }
        _ => {
            if node.tag.is_some() {
                out.push(' ');
            }
            out.push_str(&flow(node));
            out.push('\n');
        }
    }
    out
}

/// The text of a tag: `!core/...` for ASDF tags (the `%TAG !` handle), `!<...>` otherwise.
pub fn tag_text(t: &str) -> String {
    if let Some(rest) = t.strip_prefix(ASDF_PREFIX) {
        if rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && !rest.is_empty()
        {
            return format!("!{rest}");
        }
    }
    if let Some(rest) = t.strip_prefix(YAML_TAG_PREFIX) {
        if rest.chars().all(|c| c.is_ascii_alphanumeric()) && !rest.is_empty() {
            return format!("!!{rest}");
        }
    }
    format!("!<{}>", t.replace('>', "%3E"))
}

fn is_scalar(n: &Node) -> bool {
    !matches!(n.value, Value::Map(_) | Value::Seq(_))
}

/// True when a collection is small and flat enough to write in flow style (`[1, 2, 3]`).
fn flowable(n: &Node) -> bool {
    match &n.value {
        Value::Seq(s) => s.len() <= 64 && s.iter().all(|x| is_scalar(x) || flowable(x)),
        Value::Map(m) => m.is_empty(),
        _ => true,
    }
}

fn emit_map(entries: &[(Node, Node)], indent: usize, out: &mut String) {
    for (k, v) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(k));
        out.push(':');
        emit_value(v, indent, out);
    }
}

fn emit_seq(items: &[Node], indent: usize, out: &mut String) {
    for v in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        emit_value(v, indent, out);
    }
}

fn emit_value(v: &Node, indent: usize, out: &mut String) {
    let tag = v.tag.as_deref().map(tag_text);
    if let Some(t) = &tag {
        out.push(' ');
        out.push_str(t);
    }
    match &v.value {
        Value::Map(e) if !e.is_empty() => {
            out.push('\n');
            emit_map(e, indent + 2, out);
        }
        Value::Seq(s) if !s.is_empty() && !flowable(v) => {
            out.push('\n');
            emit_seq(s, indent + 2, out);
        }
        _ => {
            out.push(' ');
            out.push_str(&flow_untagged(v));
            out.push('\n');
        }
    }
}

fn key_text(k: &Node) -> String {
    let s = flow(k);
    if is_scalar(k) {
        s
    } else {
        // complex keys are rare in ASDF; write their flow form as a string
        quote(&s)
    }
}

/// Flow-style text of a node, with its tag.
fn flow(n: &Node) -> String {
    match &n.tag {
        Some(t) => format!("{} {}", tag_text(t), flow_untagged(n)),
        None => flow_untagged(n),
    }
}

fn flow_untagged(n: &Node) -> String {
    match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::Str(s) => {
            // tagged strings with a YAML core scalar tag (big ints, timestamps) are written plain
            let core_plain = n.tag.as_deref().is_some_and(|t| {
                t == "tag:yaml.org,2002:int" || t == "tag:yaml.org,2002:timestamp"
            });
            if (core_plain && !s.contains(['\n', '#', ':']))
                || (n.tag.is_some() && plain_ok_tagged(s))
            {
                s.to_string()
            } else {
                str_text(s)
            }
        }
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(e) => {
            let parts: Vec<String> = e
                .iter()
                .map(|(k, v)| format!("{}: {}", key_text(k), flow(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn plain_ok_tagged(s: &str) -> bool {
    !s.is_empty() && plain_safe(s)
}

/// A float as PyYAML writes it: always with a `.` (`1.0e+20`), `.nan`, `.inf`, `-.inf`.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let r = crate::yaml::python_float_repr(f);
    if let Some((m, e)) = r.split_once('e') {
        if m.contains('.') {
            r
        } else {
            format!("{m}.0e{e}")
        }
    } else {
        r
    }
}

/// True when `s` can be written as a plain scalar and reads back as the same string.
fn plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if b"-?:,[]{}#&*!|>'\"%@`".contains(&first) || first == b' ' {
        return false;
    }
    if s.ends_with(' ') || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_graphic() && !",[]{}".contains(c) || c == ' ')
}

/// A string scalar: plain when YAML 1.1 reads it back as the same string, double-quoted otherwise.
pub fn str_text(s: &str) -> String {
    if plain_safe(s) && resolve_plain(s) == Implicit::Str {
        s.to_string()
    } else {
        quote(s)
    }
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                q.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) || c == '\u{feff}' => {
                q.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    #[test]
    fn round_trip_tricky_scalars() {
        let mut entries = Vec::new();
        for s in [
            "yes",
            "no",
            "on",
            "off",
            "017",
            "0x1F",
            "1_000",
            "1:30",
            "~",
            "null",
            "",
            " lead",
            "trail ",
            "a: b",
            "#x",
            "- x",
            "1.5",
            ".nan",
            "2001-12-14",
            "héllo ☃",
            "tab\there",
            "line\nbreak",
            "quote\"s",
            "[x]",
            "y",
            "08",
        ] {
            entries.push((Node::str(s), Node::str(s)));
        }
        entries.push((Node::str("f"), Node::new(Value::Float(1e20))));
        entries.push((Node::str("g"), Node::new(Value::Float(-0.0))));
        entries.push((Node::str("n"), Node::new(Value::Float(f64::NEG_INFINITY))));
        entries.push((Node::str("i"), Node::new(Value::int(-17))));
        let tree = Node::tagged(
            "tag:stsci.edu:asdf/core/asdf-1.1.0",
            Value::Map(entries.into()),
        );
        let text = format!(
            "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- {}...\n",
            emit_document(&tree)
        );
        let back = load(&text, 0).unwrap();
        assert_eq!(back, tree, "{text}");
    }
}
