//! The error type of nd-remote. Messages carry the URL (without user info or query string) and
//! the byte range, never a credential: every message from the object store is passed through a
//! redactor that removes the configured secret values.

use std::ops::Range;

/// Result alias for nd-remote.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading a remote object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL that could not be understood or has an unsupported scheme.
    #[error("invalid remote URL '{url}': {reason}")]
    Url {
        /// The URL (user info and query removed).
        url: String,
        /// Why.
        reason: String,
    },
    /// A bad option value.
    #[error("remote option {key}: {reason}")]
    Config {
        /// The option or environment variable.
        key: String,
        /// Why.
        reason: String,
    },
    /// The object does not exist (HTTP 404).
    #[error("{url}: not found (HTTP 404)")]
    NotFound {
        /// The object's URL.
        url: String,
    },
    /// The server refused access (HTTP 401 or 403): wrong or missing credentials, a private
    /// bucket read with `anonymous`, or a policy that denies it.
    #[error("{url}: access denied (HTTP {status})")]
    Denied {
        /// The object's URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// No answer within the timeout (the server accepted the connection and went silent, or a
    /// connection could not be established in time). Not retried.
    #[error("{url}: timed out after {} s{}", secs(*after), if *connecting { " connecting" } else { "" })]
    TimedOut {
        /// The object's URL.
        url: String,
        /// The timeout that expired.
        after: std::time::Duration,
        /// True when the connection itself timed out (`connect_timeout`).
        connecting: bool,
    },
    /// The server could not be reached: the host name does not resolve, the connection was
    /// refused, or another connection failure (after the bounded retries).
    #[error("{url}: {cause}")]
    Unreachable {
        /// The object's URL.
        url: String,
        /// In plain words: `cannot resolve host example.org`, `connection refused`, ….
        cause: String,
    },
    /// A cloud URL with no credentials to sign requests with, and neither anonymous access nor
    /// the instance-metadata endpoint allowed.
    #[error("{url}: no credentials: {hint}")]
    NoCredentials {
        /// The URL.
        url: String,
        /// What to set.
        hint: String,
    },
    /// The server ignores range requests and the object is larger than
    /// `RemoteOptions::max_full_download`, the most nd downloads whole in its place.
    #[error("{url}: the server ignores range requests and the object is {size} bytes, over the {limit}-byte full-download limit (ND_REMOTE_MAX_FULL_DOWNLOAD)")]
    TooLarge {
        /// The object's URL.
        url: String,
        /// The object's size (from the response).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The object changed (size, ETag or modification time) after it was opened: reading on
    /// would mix two versions.
    #[error("{url}: the object changed while it was being read ({detail}); reopen it")]
    Changed {
        /// The object's URL.
        url: String,
        /// What differed.
        detail: String,
    },
    /// The server answered with fewer (or more) bytes than asked, after all retries.
    #[error("{url}: bytes {}..{} answered with {got} bytes after {attempts} attempts", range.start, range.end)]
    Short {
        /// The object's URL.
        url: String,
        /// The range asked for.
        range: Range<u64>,
        /// Bytes received.
        got: u64,
        /// Requests made.
        attempts: usize,
    },
    /// A request failed (after the bounded retries for errors where retrying is safe).
    #[error("{url}{}: {message}", fmt_range(range))]
    Request {
        /// The object's URL.
        url: String,
        /// The byte range, when one was asked.
        range: Option<Range<u64>>,
        /// What the object store reported, with secrets removed.
        message: String,
    },
    /// A response that contradicts itself or the request (a multipart part whose body is not
    /// as long as its `Content-Range`, a range past the end of the object, a malformed part):
    /// never used, never retried.
    #[error("{url}: invalid response: {detail}")]
    BadResponse {
        /// The object's URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// A read past the end of the object.
    #[error("{url}: read of bytes {}..{} is past the end of the object ({size} bytes)", range.start, range.end)]
    OutOfBounds {
        /// The object's URL.
        url: String,
        /// The range asked for.
        range: Range<u64>,
        /// The object's size.
        size: u64,
    },
    /// An operation this source or store does not support (listing plain HTTP, writing
    /// without `writable`).
    #[error("{url}: not supported: {what}")]
    Unsupported {
        /// The URL.
        url: String,
        /// The operation.
        what: String,
    },
    /// The internal runtime could not be started.
    #[error("nd-remote runtime: {0}")]
    Runtime(String),
}

/// Seconds without trailing zeros: `30`, `0.3`, `2.5`.
fn secs(d: std::time::Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn fmt_range(r: &Option<Range<u64>>) -> String {
    match r {
        Some(r) => format!(" (bytes {}..{})", r.start, r.end),
        None => String::new(),
    }
}

impl From<Error> for nd_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::OutOfBounds { range, size, .. } => nd_core::Error::OutOfBounds {
                offset: range.start,
                len: range.end.saturating_sub(range.start),
                size,
            },
            e => nd_core::Error::Other(Box::new(e)),
        }
    }
}

/// Removes secrets from text: the configured secret values, user info in URLs, query strings.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub(crate) fn new(mut secrets: Vec<String>) -> Self {
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub(crate) fn clean(&self, text: &str) -> String {
        let mut s = text.to_string();
        for secret in &self.secrets {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "[redacted]");
            }
        }
        redact_urls(&s)
    }
}

/// Remove user info and query strings from every URL in `text`, and signature-like parameters.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // the authority and path run to the next whitespace or quote
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == ')')
            .unwrap_or(tail.len());
        let (url, after) = tail.split_at(end);
        let (url, query) = match url.split_once('?') {
            Some((u, _)) => (u, true),
            None => (url, false),
        };
        let slash = url.find('/').unwrap_or(url.len());
        let url = match url[..slash].rfind('@') {
            Some(at) => {
                out.push_str("[redacted]@");
                &url[at + 1..]
            }
            None => url,
        };
        // the rest may hold another URL (`https://h://u:p@h2`): redacted the same way
        out.push_str(&redact_urls(url));
        if query {
            out.push_str("?[redacted]");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A URL for messages: user info and query removed.
pub(crate) fn display_url(url: &str) -> String {
    let mut shown = redact_urls(url);
    // the URL parser is more lenient than the text scan (`https:/u:p@h` is `https://u:p@h`):
    // the user info it finds is hidden too
    if let Some(pw) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        shown = shown.replace(&format!(":{pw}@"), ":[redacted]@");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_user_info_and_queries() {
        assert_eq!(
            redact_urls("GET https://user:pw@host/a/b?X-Amz-Signature=abc failed"),
            "GET https://[redacted]@host/a/b?[redacted] failed"
        );
        assert_eq!(redact_urls("s3://bucket/key"), "s3://bucket/key");
        // found by the remote_url fuzz target: a second URL inside the first kept its password
        assert_eq!(
            redact_urls("https://u:secret@ho://user:secret@host:8/x"),
            "https://[redacted]@ho://[redacted]@host:8/x"
        );
        // found by the fuzzer too: one slash after the scheme is still a URL to the parser
        assert_eq!(
            display_url("https:/user:secret@host/x"),
            "https:/user:[redacted]@host/x"
        );
        assert_eq!(
            redact_urls("http://h/a://u:pw@b?q=1"),
            "http://h/a://[redacted]@b?[redacted]"
        );
        let r = Redactor::new(vec!["hunter22".into(), "hunter2".into()]);
        assert_eq!(
            r.clean("token=hunter22 and hunter2"),
            "token=[redacted] and [redacted]"
        );
    }

    #[test]
    fn out_of_bounds_maps_to_core() {
        let e: nd_core::Error = Error::OutOfBounds {
            url: "u".into(),
            range: 5..10,
            size: 7,
        }
        .into();
        assert!(matches!(
            e,
            nd_core::Error::OutOfBounds {
                offset: 5,
                len: 5,
                size: 7
            }
        ));
    }
}
