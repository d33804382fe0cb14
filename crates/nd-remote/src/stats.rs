//! What crossed the wire: every HTTP request the object store sends goes through a counting
//! connector that records the request (method, path, `Range` header, status) and the response
//! body bytes received, retries included.

use async_trait::async_trait;
use http_body_util::BodyExt;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpResponseBody, HttpService,
    ReqwestConnector,
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
#[derive(Debug)]
pub(crate) struct CountingConnector {
    pub(crate) stats: Stats,
}

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CountingService {
            inner,
            stats: self.stats.clone(),
        }))
    }
}

#[derive(Debug)]
struct CountingService {
    inner: HttpClient,
    stats: Stats,
}

#[async_trait]
impl HttpService for CountingService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
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
                Err(e)
            }
        }
    }
}
