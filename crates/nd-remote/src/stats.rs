//! What crossed the wire: every HTTP request the object store sends goes through a counting
//! connector that records the request (method, path, `Range` header, status) and the response
//! body bytes received, retries included.

use async_trait::async_trait;
use http_body_util::BodyExt;
use object_store::client::{
    DnsFuture, DnsResolver, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest,
    HttpResponse, HttpResponseBody, HttpService, ReqwestConnector,
};
use object_store::ClientOptions;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Most request records kept (counters keep counting past it).
const MAX_LOG: usize = 100_000;

/// One HTTP request as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET`, `HEAD`, `PUT`, …
    pub method: String,
    /// The URL path (no host, no query).
    pub path: String,
    /// The `Range` header, when present (`bytes=0-99`).
    pub range: Option<String>,
    /// The response status, or 0 when no response arrived (connection error).
    pub status: u16,
}

#[derive(Debug, Default)]
struct Inner {
    requests: AtomicU64,
    gets: AtomicU64,
    heads: AtomicU64,
    others: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    log: Mutex<Vec<RequestRecord>>,
    warnings: Mutex<Vec<String>>,
}

/// Counters of requests and bytes, shared (cheap to clone) by every source and store opened with
/// the same [`RemoteOptions`](crate::RemoteOptions).
#[derive(Debug, Clone, Default)]
pub struct Stats(Arc<Inner>);

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// GET requests.
    pub gets: u64,
    /// HEAD requests.
    pub heads: u64,
    /// Other requests (LIST, PUT, DELETE, PROPFIND).
    pub others: u64,
    /// Response body bytes received.
    pub bytes: u64,
    /// Requests that failed: connection errors and 5xx responses.
    pub errors: u64,
}

impl Stats {
    /// New, zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.0.requests.load(Ordering::Relaxed)
    }

    /// Response body bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }

    /// All counters at once.
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: l(&self.0.requests),
            gets: l(&self.0.gets),
            heads: l(&self.0.heads),
            others: l(&self.0.others),
            bytes: l(&self.0.bytes),
            errors: l(&self.0.errors),
        }
    }

    /// The requests sent so far (the first 100,000), in the order they were sent.
    pub fn log(&self) -> Vec<RequestRecord> {
        self.0.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Warnings about how remote objects had to be read (each distinct one once, in the order
    /// they arose), e.g. a server that ignores range requests and was read by downloading the
    /// whole object. nd-remote prints nothing: front ends show these (`nd: warning: …`).
    pub fn warnings(&self) -> Vec<String> {
        self.0
            .warnings
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// Add a warning unless the same text was added before.
    pub(crate) fn warn(&self, text: String) {
        if let Ok(mut w) = self.0.warnings.lock() {
            if !w.contains(&text) && w.len() < 1000 {
                w.push(text);
            }
        }
    }

    /// Zero the counters and clear the log.
    pub fn reset(&self) {
        for a in [
            &self.0.requests,
            &self.0.gets,
            &self.0.heads,
            &self.0.others,
            &self.0.bytes,
            &self.0.errors,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        if let Ok(mut l) = self.0.log.lock() {
            l.clear();
        }
    }

    fn record(&self, method: &str, rec: RequestRecord) -> usize {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        match method {
            "GET" => &self.0.gets,
            "HEAD" => &self.0.heads,
            _ => &self.0.others,
        }
        .fetch_add(1, Ordering::Relaxed);
        match self.0.log.lock() {
            Ok(mut l) if l.len() < MAX_LOG => {
                l.push(rec);
                l.len() - 1
            }
            _ => usize::MAX,
        }
    }

    fn set_status(&self, idx: usize, status: u16) {
        if status == 0 || status >= 500 {
            self.0.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut l) = self.0.log.lock() {
            if let Some(r) = l.get_mut(idx) {
                r.status = status;
            }
        }
    }

    fn add_bytes(&self, n: u64) {
        self.0.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

impl std::fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests ({} GET, {} HEAD, {} other, {} failed), {} bytes received",
            self.requests, self.gets, self.heads, self.others, self.errors, self.bytes
        )
    }
}

/// An [`HttpConnector`] that builds object_store's usual reqwest client and counts through it.
/// It also refuses requests to cloud metadata addresses unless `imds`, and makes timeouts and
/// refused lookups final (object_store would otherwise retry them, multiplying the wait).
#[derive(Debug)]
pub(crate) struct CountingConnector {
    pub(crate) stats: Stats,
    pub(crate) imds: bool,
}

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CountingService {
            inner,
            stats: self.stats.clone(),
            imds: self.imds,
        }))
    }
}

#[derive(Debug)]
struct CountingService {
    inner: HttpClient,
    stats: Stats,
    imds: bool,
}

/// A request nd refused to send: to a cloud metadata endpoint (without `imds`).
#[derive(Debug)]
pub(crate) struct MetadataBlocked(pub(crate) String);

impl std::fmt::Display for MetadataBlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "nd does not contact the cloud metadata endpoint {} (set ND_REMOTE_IMDS=1 to allow it)",
            self.0
        )
    }
}

impl std::error::Error for MetadataBlocked {}

/// A host name that did not resolve.
#[derive(Debug)]
pub(crate) struct DnsFailure {
    pub(crate) host: String,
    pub(crate) reason: String,
}

impl std::fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot resolve host {}: {}", self.host, self.reason)
    }
}

impl std::error::Error for DnsFailure {}

/// True for the addresses and names of cloud instance-metadata services: link-local IPv4
/// (`169.254.0.0/16`: EC2/ECS/EKS, GCE, Azure IMDS), EC2's IPv6 `fd00:ec2::254`, and GCE's
/// `metadata.google.internal`.
pub(crate) fn is_metadata_host(host: &str) -> bool {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if h == "metadata.google.internal" || h == "metadata" {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => is_metadata_ip(&ip),
        Err(_) => false,
    }
}

fn is_metadata_ip(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_link_local(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            *v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

/// The resolver every nd client uses: the system's (`getaddrinfo`, on a blocking thread), except
/// that names under `.invalid` (RFC 6761: never resolve) fail without a lookup leaving the
/// machine, and, without `imds`, names resolving to a metadata address are refused.
#[derive(Debug)]
pub(crate) struct NdResolver {
    pub(crate) imds: bool,
}

impl DnsResolver for NdResolver {
    fn resolve(&self, host: &str) -> DnsFuture {
        let host = host.trim_end_matches('.').to_string();
        let imds = self.imds;
        Box::pin(async move {
            let fail = |reason: &str| -> object_store::client::DnsError {
                Box::new(DnsFailure {
                    host: host.clone(),
                    reason: reason.to_string(),
                })
            };
            let lower = host.to_ascii_lowercase();
            if lower == "invalid" || lower.ends_with(".invalid") {
                return Err(fail("a reserved name that never resolves (RFC 6761)"));
            }
            if !imds && is_metadata_host(&lower) {
                return Err(Box::new(MetadataBlocked(host.clone())));
            }
            let h2 = host.clone();
            let found = tokio::task::spawn_blocking(move || {
                use std::net::ToSocketAddrs;
                (h2.as_str(), 0)
                    .to_socket_addrs()
                    .map(|it| it.map(|a| a.ip()).collect::<Vec<_>>())
            })
            .await;
            let ips = match found {
                Ok(Ok(ips)) if !ips.is_empty() => ips,
                Ok(Ok(_)) => return Err(fail("no addresses")),
                Ok(Err(e)) => return Err(fail(&e.to_string())),
                Err(e) => return Err(fail(&e.to_string())),
            };
            if !imds && ips.iter().any(is_metadata_ip) {
                return Err(Box::new(MetadataBlocked(host.clone())));
            }
            Ok(ips)
        })
    }
}

/// True when `e` or one of its sources is one of ours that must not be retried (a refused
/// metadata request, a failed lookup) or a timeout.
fn is_final(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut n = 0;
    while let Some(c) = cur {
        if c.is::<MetadataBlocked>() || c.is::<DnsFailure>() {
            return true;
        }
        if c.downcast_ref::<HttpError>()
            .is_some_and(|h| h.kind() == HttpErrorKind::Timeout)
        {
            return true;
        }
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = c.source();
        n += 1;
        if n > 16 {
            break;
        }
    }
    false
}

#[async_trait]
impl HttpService for CountingService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        if !self.imds {
            if let Some(host) = req.uri().host().filter(|h| is_metadata_host(h)) {
                return Err(HttpError::new(
                    HttpErrorKind::Unknown,
                    MetadataBlocked(host.to_string()),
                ));
            }
        }
        let method = req.method().as_str().to_string();
        let rec = RequestRecord {
            method: method.clone(),
            path: req.uri().path().to_string(),
            range: req
                .headers()
                .get(http::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            status: 0,
        };
        let idx = self.stats.record(&method, rec);
        match self.inner.execute(req).await {
            Ok(resp) => {
                self.stats.set_status(idx, resp.status().as_u16());
                let stats = self.stats.clone();
                Ok(resp.map(move |body| {
                    HttpResponseBody::new(body.map_frame(move |frame| {
                        if let Some(d) = frame.data_ref() {
                            stats.add_bytes(d.len() as u64);
                        }
                        frame
                    }))
                }))
            }
            Err(e) => {
                self.stats.set_status(idx, 0);
                // A timeout or a failed lookup is final: `Unknown` is the kind object_store
                // does not retry; the original error stays the source (for the message).
                if is_final(&e) {
                    Err(HttpError::new(HttpErrorKind::Unknown, e))
                } else {
                    Err(e)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_hosts() {
        for h in [
            "169.254.169.254",
            "169.254.170.2",
            "[fd00:ec2::254]",
            "metadata.google.internal",
            "METADATA.google.internal.",
            "fe80::1",
        ] {
            assert!(is_metadata_host(h), "{h}");
        }
        for h in [
            "127.0.0.1",
            "s3.amazonaws.com",
            "10.0.0.1",
            "::1",
            "example.org",
        ] {
            assert!(!is_metadata_host(h), "{h}");
        }
    }

    #[test]
    fn invalid_names_fail_without_a_lookup_and_metadata_names_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = NdResolver { imds: false };
        let e = rt.block_on(r.resolve("nd-test.invalid")).unwrap_err();
        assert!(e.is::<DnsFailure>(), "{e}");
        assert!(
            e.to_string()
                .contains("cannot resolve host nd-test.invalid"),
            "{e}"
        );
        let e = rt
            .block_on(r.resolve("metadata.google.internal"))
            .unwrap_err();
        assert!(e.is::<MetadataBlocked>(), "{e}");
        let ok = rt.block_on(r.resolve("127.0.0.1")).unwrap();
        assert!(ok.iter().all(|ip| ip.is_loopback()));
        // timeouts and our own refusals are final, other errors are not
        let t = HttpError::new(
            HttpErrorKind::Timeout,
            std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out"),
        );
        assert!(is_final(&t));
        let c = HttpError::new(
            HttpErrorKind::Connect,
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"),
        );
        assert!(!is_final(&c));
    }
}
