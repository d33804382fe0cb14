//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/remote_multipart.rs`) and the
//! corpus replay test: the parsers of untrusted server answers, with their invariants checked.

use bytes::Bytes;

/// Parse `data` as a multipart/byteranges answer: the first line is the boundary, the rest the
/// body. Also feeds the first line to the `Content-Type`, `Content-Range` and HTTP-date parsers.
/// Panics only when a parser breaks an invariant (a part whose bytes are not as long as its
/// range).
pub fn multipart(data: &[u8]) {
    let (first, body) = match data.iter().position(|&c| c == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]), // ok: i < data.len()
        None => (data, &[][..]),
    };
    let line = String::from_utf8_lossy(first);
    let line = line.trim_end_matches('\r');
    let _ = crate::multirange::multipart_boundary(line);
    if let Some((r, _)) = crate::multirange::parse_content_range(line) {
        assert!(r.start < r.end);
    }
    let _ = crate::multirange::parse_http_date(line);
    if line.is_empty() {
        return;
    }
    if let Ok(parts) = crate::multirange::parse_multipart(&Bytes::copy_from_slice(body), line) {
        for (r, _, d) in parts {
            assert_eq!(d.len() as u64, r.end - r.start, "part bytes vs its range");
        }
    }
}

/// Parse `data` as a location: [`crate::is_url`], the URL parser every remote open uses
/// (`Location::parse`), and the message forms (host, redaction). Invariants: an accepted URL
/// has a known scheme and a host and is a URL by [`crate::is_url`]'s test when written with
/// `://`; redaction never shows the URL's password as user info.
pub fn url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let looks = crate::is_url(text);
    let shown = crate::error::display_url(text);
    if let Ok(u) = url::Url::parse(text) {
        if let Some(pw) = u.password().filter(|p| p.len() >= 3) {
            let raw = format!(":{pw}@");
            if text.contains(&raw) {
                assert!(
                    !shown.contains(&raw),
                    "password of {text:?} shown: {shown:?}"
                );
            }
        }
    }
    let _ = crate::backend::url_host(text);
    if let Ok(loc) = crate::backend::Location::parse(text) {
        assert!(
            crate::SCHEMES.contains(&loc.scheme.as_str()),
            "scheme {}",
            loc.scheme
        );
        assert!(!loc.host.is_empty(), "an accepted URL has a host");
        if text.starts_with(&format!("{}://", loc.scheme)) {
            assert!(looks, "{text:?} parses as a URL but is_url says no");
        }
    }
}
