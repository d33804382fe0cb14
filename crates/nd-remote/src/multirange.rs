//! HTTP multi-range requests: many byte ranges of one object in one `GET`
//! (`Range: bytes=a-b,c-d,…`), answered by a `206` with a `multipart/byteranges` body.
//!
//! object_store has no such request, so it is sent directly through an HTTP client built by the
//! same counting connector and client options as the object store's own (same timeouts, same
//! request and byte counters). The answer is trusted only as far as it can be checked:
//!
//! - every part is placed by its own `Content-Range` (parts may come in any order, and a server
//!   may merge ranges); the part's body length must equal what its `Content-Range` states (the
//!   parser reads exactly that many bytes and then requires the boundary), and the total size it
//!   states must be the pinned size;
//! - the ETag (or, without one, Last-Modified) must be the pinned one;
//! - a requested range that no part covers is reported as missing (the caller fetches it alone);
//! - a `200` (Range ignored) is never read: the connection is dropped and the caller falls back
//!   to one request per range; a single-part `206` is accepted when its range covers requested
//!   ranges, within the same size bound as a multipart body.

use crate::backend::{Pin, Remote};
use crate::error::{Error, Result};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use object_store::client::{HttpRequestBody, HttpResponse};
use std::ops::Range;
use std::time::Duration;

/// Longest `Range` header value sent (servers commonly limit a header line to 8 KiB).
pub(crate) const MAX_RANGE_HEADER: usize = 7000;

/// Framing bytes allowed per part on top of the data (boundary line, part headers), when
/// bounding how large a multipart answer may be before it is refused.
const FRAMING_PER_PART: u64 = 1024;

/// Longest part header block accepted.
const MAX_PART_HEADERS: usize = 8192;

/// The `Range` header value for `ranges` (non-empty, half-open, non-empty ranges).
pub(crate) fn range_header(ranges: &[Range<u64>]) -> String {
    let mut s = String::from("bytes=");
    for (i, r) in ranges.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{}-{}", r.start, r.end.saturating_sub(1)));
    }
    s
}

/// Length of `a-b,` for a range (what it adds to the header).
pub(crate) fn range_header_len(r: &Range<u64>) -> usize {
    fn digits(mut v: u64) -> usize {
        let mut n = 1;
        while v >= 10 {
            v /= 10;
            n += 1;
        }
        n
    }
    digits(r.start) + digits(r.end.saturating_sub(1)) + 2
}

/// Why a multipart body could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PartsError {
    /// The body ended before the closing boundary (a cut connection): retry.
    Truncated(String),
    /// The body contradicts itself or the object (a part longer or shorter than its
    /// `Content-Range`, a range past the end, a bad header): an error, not retried.
    Malformed(String),
}

/// One `Content-Range: bytes a-b/total` value: the range (half-open) and the total, when given.
pub(crate) fn parse_content_range(v: &str) -> Option<(Range<u64>, Option<u64>)> {
    let v = v.trim();
    let rest = v
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("bytes "))
        .and_then(|_| v.get(6..))?
        .trim_start();
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.trim().split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b: u64 = b.trim().parse().ok()?;
    if b < a {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((a..b.checked_add(1)?, total))
}

/// The boundary of a `multipart/byteranges` content type, or `None` for another type.
pub(crate) fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut it = content_type.split(';');
    let mime = it.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/byteranges") {
        return None;
    }
    for p in it {
        let (k, v) = match p.split_once('=') {
            Some(kv) => kv,
            None => continue,
        };
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            if v.is_empty() || v.len() > 200 {
                return None;
            }
            return Some(v.to_string());
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Skip a line end (CRLF, or a bare LF) at `p`; `None` when there is none.
fn line_end(b: &[u8], p: usize) -> Option<usize> {
    match (b.get(p), b.get(p + 1)) {
        (Some(b'\r'), Some(b'\n')) => Some(p + 2),
        (Some(b'\n'), _) => Some(p + 1),
        _ => None,
    }
}

/// One part of a multipart answer: its range, the total size it states, its bytes.
pub(crate) type Part = (Range<u64>, Option<u64>, Bytes);

/// Parse a `multipart/byteranges` body: the parts, each placed by its `Content-Range`, with
/// the total sizes they state. Each part body is exactly as long as its `Content-Range` says
/// and must be followed by the boundary; a preamble, transport padding, extra part headers,
/// bare-LF line ends and an epilogue are accepted.
pub(crate) fn parse_multipart(
    body: &Bytes,
    boundary: &str,
) -> std::result::Result<Vec<Part>, PartsError> {
    let b = &body[..];
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let trunc = |what: &str| PartsError::Truncated(what.to_string());
    let bad = |what: String| PartsError::Malformed(what);
    // The first delimiter: at the start, or at the start of a line after a preamble.
    let mut p = 0;
    loop {
        let at = find(b, delim, p).ok_or_else(|| trunc("no multipart boundary in the body"))?;
        if at == 0 || b.get(at - 1) == Some(&b'\n') {
            p = at + delim.len();
            break;
        }
        p = at + 1;
    }
    let mut parts = Vec::new();
    loop {
        // after a delimiter: `--` closes, else padding and a line end open a part
        match (b.get(p), b.get(p + 1)) {
            (Some(b'-'), Some(b'-')) => return Ok(parts),
            (None, _) | (Some(b'-'), None) => return Err(trunc("the closing boundary is missing")),
            _ => {}
        }
        while matches!(b.get(p), Some(b' ') | Some(b'\t')) {
            p += 1;
        }
        let after = p;
        p = line_end(b, p).ok_or_else(|| {
            if b"\r\n".starts_with(b.get(p..).unwrap_or_default()) {
                trunc("the body ends after a boundary")
            } else {
                bad(format!("no line end after the boundary at byte {p}"))
            }
        })?;
        // The part keeps the line ends its boundary line used: after the body exactly that
        // line end must follow (accepting either there would let a body one byte short of
        // its Content-Range pass, its last byte being the CR of a CRLF).
        let eol: &[u8] = if p - after == 2 { b"\r\n" } else { b"\n" };
        // part headers, up to an empty line
        let mut content_range = None;
        let start = p;
        loop {
            if p - start > MAX_PART_HEADERS {
                return Err(bad(format!(
                    "part headers longer than {MAX_PART_HEADERS} bytes at byte {start}"
                )));
            }
            let nl = match find(b, b"\n", p) {
                Some(nl) => nl,
                None => return Err(trunc("the body ends inside part headers")),
            };
            let line = &b[p..nl]; // ok: p <= nl < b.len()
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            p = nl + 1;
            if line.is_empty() {
                break;
            }
            let text = std::str::from_utf8(line).map_err(|_| {
                bad(format!(
                    "a part header at byte {} is not text",
                    nl - line.len()
                ))
            })?;
            if let Some((k, v)) = text.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-range") {
                    content_range =
                        Some(parse_content_range(v).ok_or_else(|| {
                            bad(format!("bad part Content-Range '{}'", v.trim()))
                        })?);
                }
            }
        }
        let (range, total) = content_range
            .ok_or_else(|| bad(format!("a part at byte {start} has no Content-Range")))?;
        let len = usize::try_from(range.end - range.start).map_err(|_| {
            bad(format!(
                "part bytes {}..{} too large",
                range.start, range.end
            ))
        })?;
        let end = p
            .checked_add(len)
            .ok_or_else(|| bad("part length overflows".into()))?;
        if end > b.len() {
            return Err(trunc("the body ends inside a part"));
        }
        let data = body.slice(p..end);
        // the part must be followed by the line end and the boundary: a body longer or
        // shorter than its Content-Range lands anywhere else
        let follow = [eol, delim].concat();
        let rest = b.get(end..).unwrap_or_default();
        if !rest.starts_with(&follow) {
            if follow.starts_with(rest) {
                return Err(trunc("the body ends after a part"));
            }
            return Err(bad(format!(
                "the part stated as bytes {}-{} is not followed by the boundary: its body is not {} bytes long",
                range.start,
                range.end - 1,
                len
            )));
        }
        parts.push((range, total, data));
        p = end + follow.len();
    }
}

/// Seconds since the epoch of an HTTP date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (_, rest) = s.split_once(',')?;
    let mut it = rest.split_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let year: i64 = it.next()?.parse().ok()?;
    let time = it.next()?;
    let zone = it.next()?;
    if !(zone.eq_ignore_ascii_case("GMT") || zone.eq_ignore_ascii_case("UTC")) {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = MONTHS.iter().position(|x| mon.eq_ignore_ascii_case(x))? as i64 + 1;
    let mut t = time.split(':');
    let (h, mi, se): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    // negative fields or a year far out would overflow the arithmetic below
    if !(1..=31).contains(&day)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&mi)
        || !(0..=60).contains(&se)
        || !(0..=1_000_000).contains(&year)
    {
        return None;
    }
    // days from civil (proleptic Gregorian)
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// What a multi-range request gave.
pub(crate) enum MultiOutcome {
    /// One entry per requested range: its bytes, or `None` when no part covered it.
    Parts(Vec<Option<Bytes>>),
    /// The server does not answer multi-range requests usefully (why): fetch one by one.
    Unsupported(String),
}

/// Place `parts` onto `ranges`: each requested range from a part containing it.
fn place(ranges: &[Range<u64>], parts: &[(Range<u64>, Bytes)]) -> Vec<Option<Bytes>> {
    ranges
        .iter()
        .map(|r| {
            parts.iter().find_map(|(pr, d)| {
                (pr.start <= r.start && r.end <= pr.end)
                    .then(|| d.slice((r.start - pr.start) as usize..(r.end - pr.start) as usize))
            })
        })
        .collect()
}

enum Attempt {
    Done(MultiOutcome),
    /// Retry (why), when retries are left.
    Retry(Error),
}

impl Remote {
    /// GET `ranges` (sorted, disjoint, at least two) of the pinned object in one multi-range
    /// request, retried with backoff on 5xx, connection errors and cut bodies.
    pub(crate) async fn get_multi(&self, ranges: &[Range<u64>], pin: &Pin) -> Result<MultiOutcome> {
        let (Some(client), Some(url)) = (&self.http_client, self.http_url(&self.path)) else {
            return Ok(MultiOutcome::Unsupported("not an HTTP source".into()));
        };
        let _permit = self.permit().await?;
        let header = range_header(ranges);
        let mut backoff = self.opts.retry_backoff;
        let mut attempt = 0usize;
        loop {
            attempt += 1;
            let mut req = http::Request::builder()
                .method(http::Method::GET)
                .uri(url.as_str())
                .header(http::header::RANGE, header.as_str());
            if let Some(e) = &pin.e_tag {
                req = req.header(http::header::IF_MATCH, e.as_str());
            }
            let req = req
                .body(HttpRequestBody::empty())
                .map_err(|e| Error::Runtime(format!("building a request: {e}")))?;
            let res = client.execute(req).await;
            let last = attempt > self.opts.retries;
            let outcome = match res {
                Ok(resp) => self.answer(resp, ranges, pin).await?,
                // a timeout, a failed lookup, a refused metadata request: final, in plain
                // words; a refused connection is retried, then said plainly
                Err(e) => match self.classify(&self.url_of(&self.path), &e) {
                    Some(c @ Error::Unreachable { .. }) if last => return Err(c),
                    Some(Error::Unreachable { .. }) => {
                        Attempt::Retry(self.request_err(ranges, &e.to_string()))
                    }
                    Some(c) => return Err(c),
                    None => Attempt::Retry(self.request_err(ranges, &e.to_string())),
                },
            };
            match outcome {
                Attempt::Done(o) => return Ok(o),
                Attempt::Retry(e) if last => return Err(e),
                Attempt::Retry(_) => {}
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2).max(self.opts.retry_backoff));
        }
    }

    fn request_err(&self, ranges: &[Range<u64>], message: &str) -> Error {
        let span = ranges.first().map_or(0, |r| r.start)..ranges.last().map_or(0, |r| r.end);
        Error::Request {
            url: self.url_of(&self.path),
            range: Some(span),
            message: self.redactor.clean(&format!(
                "multi-range request of {} ranges: {message}",
                ranges.len()
            )),
        }
    }

    /// Read and check one response.
    async fn answer(
        &self,
        resp: HttpResponse,
        ranges: &[Range<u64>],
        pin: &Pin,
    ) -> Result<Attempt> {
        let url = self.url_of(&self.path);
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let h = |name: http::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match status {
            206 => {}
            // Range ignored: never read the (whole-object) body; dropping it closes the
            // connection.
            200 => {
                return Ok(Attempt::Done(MultiOutcome::Unsupported(
                    "the server ignored a multi-range request (200)".into(),
                )))
            }
            404 => return Err(Error::NotFound { url }),
            412 => {
                return Err(Error::Changed {
                    url,
                    detail: "the server reports the ETag no longer matches".into(),
                })
            }
            408 | 429 | 500..=599 => {
                return Ok(Attempt::Retry(
                    self.request_err(ranges, &format!("server answered {status}")),
                ))
            }
            s => {
                return Ok(Attempt::Done(MultiOutcome::Unsupported(format!(
                    "the server answered a multi-range request with {s}"
                ))))
            }
        }
        // identity
        let etag = h(http::header::ETAG);
        match (&pin.e_tag, &etag) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::Changed {
                    url,
                    detail: format!("ETag was {a}, is now {b}"),
                })
            }
            (Some(a), None) => {
                return Err(Error::Changed {
                    url,
                    detail: format!("ETag was {a}, now absent"),
                })
            }
            (None, None) => {
                let lm = match h(http::header::LAST_MODIFIED) {
                    Some(v) => match parse_http_date(&v) {
                        Some(t) => t,
                        None => {
                            return Ok(Attempt::Done(MultiOutcome::Unsupported(format!(
                                "unreadable Last-Modified '{v}'"
                            ))))
                        }
                    },
                    None => 0,
                };
                if lm != pin.last_modified_ts {
                    return Err(Error::Changed {
                        url,
                        detail: format!(
                            "last modified was {}, is now {}",
                            pin.last_modified,
                            h(http::header::LAST_MODIFIED).unwrap_or_default()
                        ),
                    });
                }
            }
            _ => {}
        }
        // the size bound: the data asked, framing, and as much again (a server may merge
        // ranges and send the gaps between them) up to at least 1 MiB
        let asked: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        let limit = asked + asked.max(1 << 20) + FRAMING_PER_PART * ranges.len() as u64 + 4096;
        if let Some(cl) = h(http::header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok())
        {
            if cl > limit {
                return Ok(Attempt::Done(MultiOutcome::Unsupported(format!(
                    "a {cl}-byte answer to a multi-range request for {asked} bytes"
                ))));
            }
        }
        let ctype = h(http::header::CONTENT_TYPE).unwrap_or_default();
        let boundary = multipart_boundary(&ctype);
        let single = match &boundary {
            Some(_) => None,
            None => match h(http::header::CONTENT_RANGE).as_deref().and_then(parse_content_range) {
                Some(cr) => Some(cr),
                None => {
                    return Err(Error::BadResponse {
                        url,
                        detail: format!(
                            "a 206 answer to a multi-range request with neither a multipart body nor a Content-Range (Content-Type '{ctype}')"
                        ),
                    })
                }
            },
        };
        // the body, bounded
        let mut stream = resp.into_body().bytes_stream();
        let mut buf = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => {
                    if buf.len() as u64 + c.len() as u64 > limit {
                        return Ok(Attempt::Done(MultiOutcome::Unsupported(format!(
                            "an answer to a multi-range request for {asked} bytes grew past {limit} bytes"
                        ))));
                    }
                    buf.extend_from_slice(&c);
                }
                Err(e) => {
                    return Ok(Attempt::Retry(self.request_err(
                        ranges,
                        &format!("body broken after {} bytes: {e}", buf.len()),
                    )))
                }
            }
        }
        let body = buf.freeze();
        let parts: Vec<Part> = match single {
            None => match parse_multipart(&body, boundary.as_deref().unwrap_or_default()) {
                Ok(p) => p,
                Err(PartsError::Truncated(why)) => {
                    return Ok(Attempt::Retry(self.request_err(
                        ranges,
                        &format!("multipart body cut after {} bytes: {why}", body.len()),
                    )))
                }
                Err(PartsError::Malformed(why)) => {
                    return Err(Error::BadResponse { url, detail: why })
                }
            },
            Some((r, total)) => {
                if body.len() as u64 != r.end - r.start {
                    return Ok(Attempt::Retry(self.request_err(
                        ranges,
                        &format!(
                            "single-part answer for bytes {}-{} has {} bytes",
                            r.start,
                            r.end - 1,
                            body.len()
                        ),
                    )));
                }
                vec![(r, total, body)]
            }
        };
        let mut placed = Vec::with_capacity(parts.len());
        for (r, total, data) in parts {
            if let Some(t) = total {
                if t != pin.size {
                    return Err(Error::Changed {
                        url,
                        detail: format!("size was {} bytes, is now {t}", pin.size),
                    });
                }
            }
            if r.end > pin.size {
                return Err(Error::BadResponse {
                    url,
                    detail: format!(
                        "a part states bytes {}-{}, past the end of the {}-byte object",
                        r.start,
                        r.end - 1,
                        pin.size
                    ),
                });
            }
            placed.push((r, data));
        }
        Ok(Attempt::Done(MultiOutcome::Parts(place(ranges, &placed))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn headers_and_values() {
        assert_eq!(range_header(&[0..4, 100..104]), "bytes=0-3,100-103");
        assert_eq!(range_header_len(&(100..104)), "100-103,".len());
        assert_eq!(range_header_len(&(0..1)), "0-0,".len());
        assert_eq!(
            parse_content_range("bytes 10-19/200"),
            Some((10..20, Some(200)))
        );
        assert_eq!(parse_content_range(" Bytes  5-5/*"), Some((5..6, None)));
        assert_eq!(parse_content_range("bytes 9-3/200"), None);
        assert_eq!(parse_content_range("items 0-3/10"), None);
        assert_eq!(parse_content_range("bytes 0-x/10"), None);
        assert_eq!(
            multipart_boundary("multipart/byteranges; boundary=00000000000000000001"),
            Some("00000000000000000001".into())
        );
        assert_eq!(
            multipart_boundary("Multipart/ByteRanges;charset=x; BOUNDARY=\"a b:c\""),
            Some("a b:c".into())
        );
        assert_eq!(multipart_boundary("application/octet-stream"), None);
        assert_eq!(multipart_boundary("multipart/byteranges"), None);
        assert_eq!(
            parse_http_date("Mon, 02 Jan 2023 03:04:05 GMT"),
            Some(1_672_628_645)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 PST"), None);
    }

    /// nginx's exact formatting: a CRLF before the first boundary, one Content-Type and one
    /// Content-Range per part.
    #[test]
    fn nginx_style_body() {
        let b = body(
            b"\r\n--00001\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\nABCD\r\n\
              --00001\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 50-51/100\r\n\r\nxy\r\n--00001--\r\n",
        );
        let p = parse_multipart(&b, "00001").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].0.clone(), p[0].1, &p[0].2[..]),
            (0..4, Some(100), &b"ABCD"[..])
        );
        assert_eq!(
            (p[1].0.clone(), p[1].1, &p[1].2[..]),
            (50..52, Some(100), &b"xy"[..])
        );
    }

    /// A preamble, transport padding after boundaries, extra and oddly cased headers, bare LF
    /// line ends, a part body holding CRLF and boundary-like bytes, parts out of order, an
    /// epilogue.
    #[test]
    fn odd_formatting() {
        let b = body(
            b"This is a preamble.\r\nIt has --xyz inside a line.\r\n--xyz  \t\r\n\
              X-Extra: 1\r\ncontent-range:bytes 20-30/*\r\nContent-Type: text/plain\r\n\r\n\
              0\r\n--xyz\r\n9\r\n--xyz\n\
              CONTENT-RANGE: bytes 3-4/40\n\n\
              ab\n--xyz--   \r\nepilogue --xyz\r\n",
        );
        let p = parse_multipart(&b, "xyz").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, 20..31);
        assert_eq!(p[0].1, None);
        assert_eq!(&p[0].2[..], b"0\r\n--xyz\r\n9");
        assert_eq!((p[1].0.clone(), &p[1].2[..]), (3..5, &b"ab"[..]));
        // placed by Content-Range, whatever the order
        let placed = place(
            &[3..4, 21..25, 0..2, 28..31],
            &p.iter()
                .map(|x| (x.0.clone(), x.2.clone()))
                .collect::<Vec<_>>(),
        );
        assert_eq!(placed[0].as_deref(), Some(&b"a"[..]));
        assert_eq!(placed[1].as_deref(), Some(&b"\r\n--"[..]));
        assert_eq!(placed[2], None);
        assert_eq!(placed[3].as_deref(), Some(&b"\r\n9"[..]));
    }

    #[test]
    fn cut_bodies_are_truncated() {
        let full: &[u8] = b"--b\r\nContent-Range: bytes 0-3/10\r\n\r\nABCD\r\n--b\r\nContent-Range: bytes 6-7/10\r\n\r\nxy\r\n--b--\r\n";
        // every cut before the closing `--b--` is a truncation, never a parsed answer
        let close = full.len() - 2;
        for cut in 0..close {
            match parse_multipart(&body(&full[..cut]), "b") {
                Err(PartsError::Truncated(_)) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        assert_eq!(
            parse_multipart(&body(&full[..close]), "b").unwrap().len(),
            2
        );
    }

    #[test]
    fn lies_are_malformed() {
        let lies: [(&str, &[u8]); 6] = [
            (
                "the part is longer than its Content-Range says",
                b"--b\r\nContent-Range: bytes 0-3/10\r\n\r\nABCDE\r\n--b--\r\n",
            ),
            (
                "shorter",
                b"--b\r\nContent-Range: bytes 0-5/10\r\n\r\nABCD\r\n--b--\r\nmore bytes here",
            ),
            (
                "one byte shorter, so that the CR of the CRLF after it would complete it",
                b"--b\r\nContent-Range: bytes 0-4/10\r\n\r\nABCD\r\n--b--\r\n",
            ),
            (
                "the same with bare LF line ends",
                b"--b\nContent-Range: bytes 0-4/10\n\nABCD\n--b--\n",
            ),
            (
                "no Content-Range",
                b"--b\r\nContent-Type: x\r\n\r\nABCD\r\n--b--\r\n",
            ),
            (
                "a bad one",
                b"--b\r\nContent-Range: bytes 4-1/10\r\n\r\nABCD\r\n--b--\r\n",
            ),
        ];
        for (what, raw) in lies {
            let r = parse_multipart(&body(raw), "b");
            assert!(matches!(r, Err(PartsError::Malformed(_))), "{what}: {r:?}");
        }
        // garbage after a boundary
        let b = body(b"--bX\r\nContent-Range: bytes 0-3/10\r\n\r\nABCD\r\n--b--\r\n");
        assert!(parse_multipart(&b, "b").is_err());
        // a huge claimed length ends in a truncation, not an allocation
        let b = body(b"--b\r\nContent-Range: bytes 0-18446744073709551614/*\r\n\r\nAB");
        assert!(parse_multipart(&b, "b").is_err());
    }
}
