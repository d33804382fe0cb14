//! URL parsing, object-store construction, the internal runtime, and the one request primitive
//! (a validated, retried range GET) every source and store uses.

use crate::error::{display_url, Error, Redactor, Result};
use crate::options::RemoteOptions;
use crate::stats::{CountingConnector, DnsFailure, MetadataBlocked, NdResolver};
use bytes::Bytes;
use object_store::client::HttpClient;
#[cfg(feature = "http")]
use object_store::client::HttpConnector;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt,
    RetryConfig,
};
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// URL schemes nd-remote reads.
pub const SCHEMES: &[&str] = &[
    "http", "https", "s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss",
];

/// True when `s` looks like a URL nd-remote reads (`http(s)://`, `s3://`, `gs://`, `az://`, …),
/// as opposed to a local path.
pub fn is_url(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, rest)) => {
            !rest.is_empty() && SCHEMES.iter().any(|k| scheme.eq_ignore_ascii_case(k))
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// runtime

static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("nd-remote")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

/// Run a future to completion on the internal runtime, from synchronous code. Called from
/// inside another tokio runtime, it blocks a helper thread instead of that runtime's thread.
pub(crate) fn block_on<F>(f: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(f))
                .join()
                .map_err(|_| Error::Runtime("a remote read panicked".into()))
        })
    } else {
        Ok(rt.block_on(f))
    }
}

// ---------------------------------------------------------------------------------------------
// backends

/// An object store with the options, counters and limits of one opened URL.
#[derive(Debug)]
pub(crate) struct Remote {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The URL for messages (no user info, no query).
    pub(crate) url: String,
    /// The path of the object (source) or prefix (store) inside the store.
    pub(crate) path: Path,
    pub(crate) opts: RemoteOptions,
    pub(crate) redactor: Redactor,
    pub(crate) in_flight: Arc<Semaphore>,
    /// True for plain HTTP(S) stores (no listing without WebDAV).
    pub(crate) is_http: bool,
    /// HTTP(S) only: the server's base URL and a client built like the object store's (same
    /// options, same counters), for the requests object_store cannot send (multi-range GETs).
    pub(crate) http_base: Option<url::Url>,
    pub(crate) http_client: Option<HttpClient>,
    /// What the server did with multi-range requests: 0 unknown, 1 answered one, 2 answered
    /// one uselessly (200, another status, an oversized body; later batches use ordinary
    /// coalescing).
    pub(crate) multi_range_state: AtomicU8,
    /// The URL scheme, lower case (for messages).
    scheme: String,
    /// Why the server's multi-range answers were refused, once they were.
    pub(crate) multi_range_note: std::sync::Mutex<Option<String>>,
    /// The whole object at `path` with its metadata, once a server that ignores range requests
    /// made nd download it (`max_full_download`); every later read is served from it.
    full: tokio::sync::Mutex<Option<(Bytes, ObjectMeta)>>,
    has_full: AtomicBool,
}

/// The object's identity at open time: reads check every response against it.
#[derive(Debug, Clone)]
pub(crate) struct Pin {
    pub(crate) size: u64,
    pub(crate) e_tag: Option<String>,
    /// Last-Modified as RFC 3339 text (compared only when there is no ETag).
    pub(crate) last_modified: String,
    /// Last-Modified in seconds since the epoch (0 when the server sent none).
    pub(crate) last_modified_ts: i64,
    pub(crate) version: Option<String>,
}

impl Pin {
    pub(crate) fn from_meta(m: &ObjectMeta) -> Pin {
        Pin {
            size: m.size,
            e_tag: m.e_tag.clone(),
            last_modified: m.last_modified.to_rfc3339(),
            last_modified_ts: m.last_modified.timestamp(),
            version: m.version.clone(),
        }
    }

    /// Why `m` is not the pinned object, or `None` when it is.
    fn differs(&self, m: &ObjectMeta) -> Option<String> {
        if m.size != self.size {
            return Some(format!("size was {} bytes, is now {}", self.size, m.size));
        }
        match (&self.e_tag, &m.e_tag) {
            (Some(a), Some(b)) if a != b => return Some(format!("ETag was {a}, is now {b}")),
            (Some(a), None) => return Some(format!("ETag was {a}, now absent")),
            _ => {}
        }
        if self.e_tag.is_none() && m.e_tag.is_none() {
            let now = m.last_modified.to_rfc3339();
            if now != self.last_modified {
                return Some(format!(
                    "last modified was {}, is now {now}",
                    self.last_modified
                ));
            }
        }
        None
    }
}

/// A cloud object-store builder (S3, GCS, Azure) given the shared options: client options, retries,
/// the counting connector, anonymous access, then the `key=value` options in their own key type
/// (`?` returns a config error from the calling function).
#[allow(unused_macros)] // no cloud feature enabled
macro_rules! cloud_builder {
    ($builder:expr, $opts:expr, $connector:expr) => {{
        let mut b = $builder
            .with_client_options(client_options($opts))
            .with_retry(retry_config($opts))
            .with_http_connector($connector);
        if $opts.anonymous {
            // unsigned requests, no credential lookup (the environment may also ask for it)
            b = b.with_skip_signature(true);
        }
        for (k, v) in &$opts.options {
            let key = k.parse().map_err(|e| config_err(k, e))?;
            b = b.with_config(key, v);
        }
        b
    }};
}

fn config_err(key: &str, e: impl std::fmt::Display) -> Error {
    Error::Config {
        key: key.to_string(),
        reason: e.to_string(),
    }
}

/// The client options of every request: the read timeout (to the first response byte, then
/// between body reads; no bound on a transfer that keeps moving), the connect timeout, nd's
/// resolver (`.invalid` never looked up; metadata addresses refused without `imds`).
fn client_options(o: &RemoteOptions) -> ClientOptions {
    ClientOptions::new()
        .with_timeout_disabled()
        .with_read_timeout(o.timeout)
        .with_connect_timeout(o.connect_timeout)
        .with_allow_http(true)
        .with_dns_resolver(Arc::new(NdResolver { imds: o.imds }))
}

/// The hint of a "no credentials" error for a URL scheme.
fn credentials_hint(scheme: &str) -> String {
    let what = match scheme {
        "s3" | "s3a" => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the aws_access_key_id / aws_secret_access_key options)",
        "gs" | "gcs" => "set GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS",
        _ => "set AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY or a client secret",
    };
    format!(
        "{what}, or use --anon (ND_REMOTE_ANONYMOUS=1) for a public bucket; on a cloud VM, \
         ND_REMOTE_IMDS=1 allows its metadata endpoint"
    )
}

fn retry_config(o: &RemoteOptions) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: o.retry_backoff,
            max_backoff: Duration::from_secs(2).max(o.retry_backoff),
            base: 2.0,
        },
        max_retries: o.retries,
        retry_timeout: o.retry_timeout,
    }
}

/// A URL nd-remote reads, taken apart: what [`Remote::open`] builds a store from (no store is
/// built and no request made here).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Location {
    /// One of [`SCHEMES`], lower case.
    pub(crate) scheme: String,
    /// The host (or bucket, or storage account); never empty.
    pub(crate) host: String,
    /// The explicit port, if any.
    pub(crate) port: Option<u16>,
    /// The authority as written after `scheme://` (host and port).
    pub(crate) authority: String,
    /// The object path in the store.
    pub(crate) path: Path,
}

impl Location {
    /// Parse `url` ([`Error::Url`] naming the URL, user info and query removed, with the
    /// reason): no credentials, query or fragment, a host, a valid object path, a known scheme.
    pub(crate) fn parse(url: &str) -> Result<Location> {
        let bad = |reason: &str| Error::Url {
            url: display_url(url),
            reason: reason.to_string(),
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials in the URL are not accepted; pass them as options or environment variables",
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad("query strings and fragments are not supported"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host or bucket"))?
            .to_string();
        let path = Path::from_url_path(parsed.path()).map_err(|e| bad(&e.to_string()))?;
        let scheme = parsed.scheme().to_ascii_lowercase();
        if !SCHEMES.contains(&scheme.as_str()) {
            return Err(bad(&format!("unsupported scheme {scheme}")));
        }
        Ok(Location {
            scheme,
            host,
            port: parsed.port(),
            authority: parsed.authority().to_string(),
            path,
        })
    }
}

impl Remote {
    /// Parse `url` and build its object store. `trailing_dir` keeps a store prefix apart from
    /// an object path (no difference to object_store, only to messages).
    pub(crate) fn open(url: &str, opts: &RemoteOptions) -> Result<Remote> {
        opts.validate()?;
        let shown = display_url(url);
        let bad = |reason: &str| Error::Url {
            url: shown.clone(),
            reason: reason.to_string(),
        };
        let imds = opts.imds;
        #[cfg_attr(not(feature = "azure"), allow(unused_variables))]
        let Location {
            scheme,
            host,
            port,
            authority,
            path,
        } = Location::parse(url)?;
        let connector = || CountingConnector {
            stats: opts.stats.clone(),
            imds,
        };
        let unknown = |scheme: &str| -> Error {
            bad(&format!(
                "the {scheme} backend is not compiled in (enable the nd-remote feature)"
            ))
        };
        #[cfg_attr(not(feature = "http"), allow(unused_mut))]
        let mut http_base = None;
        #[cfg_attr(not(feature = "http"), allow(unused_mut))]
        let mut http_client = None;
        let store: Arc<dyn ObjectStore> = match scheme.as_str() {
            "http" | "https" => {
                #[cfg(feature = "http")]
                {
                    let base = match port {
                        Some(p) => format!("{scheme}://{host}:{p}"),
                        None => format!("{scheme}://{host}"),
                    };
                    let mut b = object_store::http::HttpBuilder::new()
                        .with_url(base.clone())
                        .with_client_options(client_options(opts))
                        .with_retry(retry_config(opts))
                        .with_http_connector(connector());
                    let mut co = client_options(opts);
                    for (k, v) in &opts.options {
                        let key: object_store::ClientConfigKey =
                            k.parse().map_err(|e| config_err(k, e))?;
                        b = b.with_config(key, v);
                        co = co.with_config(key, v);
                    }
                    if opts.multi_range {
                        http_base = Some(url::Url::parse(&base).map_err(|e| bad(&e.to_string()))?);
                        http_client =
                            Some(connector().connect(&co).map_err(|e| bad(&e.to_string()))?);
                    }
                    Arc::new(b.build().map_err(|e| bad(&e.to_string()))?)
                }
                #[cfg(not(feature = "http"))]
                return Err(unknown("http"));
            }
            "s3" | "s3a" => {
                #[cfg(feature = "aws")]
                {
                    let s3 = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&host);
                    let mut b = cloud_builder!(s3, opts, connector());
                    if !opts.anonymous && !opts.imds && !s3_has_credentials(&b) {
                        return Err(Error::NoCredentials {
                            url: shown.clone(),
                            hint: credentials_hint(&scheme),
                        });
                    }
                    if std::env::var("AWS_REGION").is_err()
                        && std::env::var("AWS_DEFAULT_REGION").is_err()
                        && !opts.options.keys().any(|k| k.contains("region"))
                    {
                        b = b.with_region("us-east-1");
                    }
                    Arc::new(b.build().map_err(|e| bad(&e.to_string()))?)
                }
                #[cfg(not(feature = "aws"))]
                return Err(unknown("s3"));
            }
            "gs" | "gcs" => {
                #[cfg(feature = "gcp")]
                {
                    let gcs = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                        .with_bucket_name(&host);
                    let b = cloud_builder!(gcs, opts, connector());
                    Arc::new(b.build().map_err(|e| bad(&e.to_string()))?)
                }
                #[cfg(not(feature = "gcp"))]
                return Err(unknown("gs"));
            }
            "az" | "azure" | "abfs" | "abfss" => {
                #[cfg(feature = "azure")]
                {
                    let base = format!("{scheme}://{authority}");
                    let azure =
                        object_store::azure::MicrosoftAzureBuilder::from_env().with_url(base);
                    let b = cloud_builder!(azure, opts, connector());
                    Arc::new(b.build().map_err(|e| bad(&e.to_string()))?)
                }
                #[cfg(not(feature = "azure"))]
                return Err(unknown("az"));
            }
            other => return Err(bad(&format!("unsupported scheme {other}"))), // refused by Location::parse
        };
        #[allow(unused)]
        let _ = unknown;
        Ok(Remote {
            store,
            url: shown,
            path,
            opts: opts.clone(),
            redactor: Redactor::new(opts.secret_values()),
            in_flight: Arc::new(Semaphore::new(opts.max_in_flight)),
            is_http: scheme == "http" || scheme == "https",
            http_base,
            http_client,
            multi_range_state: AtomicU8::new(0),
            multi_range_note: std::sync::Mutex::new(None),
            full: tokio::sync::Mutex::new(None),
            has_full: AtomicBool::new(false),
            scheme,
        })
    }

    /// True when batched reads may use multi-range requests (HTTP(S), enabled, not refused).
    pub(crate) fn multi_range(&self) -> bool {
        self.http_client.is_some()
            && !self.has_full.load(Ordering::Relaxed)
            && self.opts.max_ranges_per_request >= 2
            && self.multi_range_state.load(Ordering::Relaxed) != 2
    }

    /// True once the server answered (or refused) a multi-range request.
    pub(crate) fn multi_range_known(&self) -> bool {
        self.multi_range_state.load(Ordering::Relaxed) != 0
    }

    /// The server answered a multi-range request usefully.
    pub(crate) fn multi_range_works(&self) {
        let _ = self
            .multi_range_state
            .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The server refused a multi-range request: no more of them for this URL.
    pub(crate) fn multi_range_refused(&self, why: String) {
        self.multi_range_state.store(2, Ordering::Relaxed);
        if let Ok(mut n) = self.multi_range_note.lock() {
            n.get_or_insert(why);
        }
    }

    /// The URL of `path` on an HTTP(S) server (as object_store's HTTP store builds it).
    pub(crate) fn http_url(&self, path: &Path) -> Option<url::Url> {
        let mut u = self.http_base.clone()?;
        u.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(path.parts());
        Some(u)
    }

    /// The URL of `path` for messages.
    /// One of the `max_in_flight` request slots, held until dropped.
    pub(crate) async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.in_flight
            .acquire()
            .await
            .map_err(|e| Error::Runtime(e.to_string()))
    }

    pub(crate) fn url_of(&self, path: &Path) -> String {
        match self.url.split_once("://") {
            Some((scheme, rest)) => {
                let authority = rest.split('/').next().unwrap_or(rest);
                format!("{scheme}://{authority}/{path}")
            }
            None => format!("{}/{path}", self.url),
        }
    }

    /// Turn an object-store error into ours, secrets removed.
    pub(crate) fn err(
        &self,
        path: &Path,
        range: Option<Range<u64>>,
        e: object_store::Error,
    ) -> Error {
        let url = self.url_of(path);
        match e {
            object_store::Error::NotFound { .. } => Error::NotFound { url },
            object_store::Error::Precondition { .. } => Error::Changed {
                url,
                detail: "the server reports the ETag no longer matches".into(),
            },
            object_store::Error::NotImplemented { .. }
            | object_store::Error::NotSupported { .. } => Error::Unsupported {
                url,
                what: self.redactor.clean(&e.to_string()),
            },
            e => match self.classify(&url, &e) {
                Some(c) => c,
                None if matches!(e, object_store::Error::PermissionDenied { .. }) => {
                    Error::Denied { url, status: 403 }
                }
                None if matches!(e, object_store::Error::Unauthenticated { .. }) => {
                    Error::Denied { url, status: 401 }
                }
                None => Error::Request {
                    url,
                    range,
                    message: self.redactor.clean(&error_chain(&e)),
                },
            },
        }
    }

    /// The plain-words error for a transport failure anywhere in `e`'s chain: a timeout, a
    /// refused metadata request (no credentials), a failed lookup, a refused connection.
    pub(crate) fn classify(
        &self,
        url: &str,
        e: &(dyn std::error::Error + 'static),
    ) -> Option<Error> {
        let kind = classify_chain(e)?;
        let url = url.to_string();
        Some(match kind {
            Transport::TimedOut { connecting } => Error::TimedOut {
                url,
                after: if connecting {
                    self.opts.connect_timeout
                } else {
                    self.opts.timeout
                },
                connecting,
            },
            Transport::NoCredentials => Error::NoCredentials {
                url,
                hint: credentials_hint(&self.scheme),
            },
            Transport::Dns(host) => {
                let host = if host.is_empty() {
                    url_host(&url)
                } else {
                    host
                };
                Error::Unreachable {
                    url,
                    cause: format!("cannot resolve host {host}"),
                }
            }
            Transport::Refused => Error::Unreachable {
                url,
                cause: "connection refused".into(),
            },
        })
    }

    /// The whole object at `path` (the source's own object only), downloaded once when the
    /// server ignored a range request: at most `max_full_download` bytes, checked against
    /// `pin`, kept for every later read, and reported once as a warning.
    async fn full_object(&self, path: &Path, pin: Option<&Pin>) -> Result<(Bytes, ObjectMeta)> {
        let url = self.url_of(path);
        let mut full = self.full.lock().await;
        if let Some(f) = full.as_ref() {
            return Ok(f.clone());
        }
        let limit = self.opts.max_full_download;
        let res = self
            .store
            .get_opts(path, GetOptions::default())
            .await
            .map_err(|e| self.err(path, None, e))?;
        let meta = res.meta.clone();
        if meta.size > limit {
            // dropped unread: the connection closes
            return Err(Error::TooLarge {
                url,
                size: meta.size,
                limit,
            });
        }
        if let Some(detail) = pin.and_then(|p| p.differs(&meta)) {
            return Err(Error::Changed { url, detail });
        }
        let bytes = res.bytes().await.map_err(|e| self.err(path, None, e))?;
        if bytes.len() as u64 != meta.size {
            return Err(Error::Short {
                url,
                range: 0..meta.size,
                got: bytes.len() as u64,
                attempts: 1,
            });
        }
        self.opts.stats.warn(format!(
            "{url}: the server ignores range requests; downloaded the whole object ({} bytes) once and read it from memory",
            meta.size
        ));
        *full = Some((bytes.clone(), meta.clone()));
        self.has_full.store(true, Ordering::Relaxed);
        Ok((bytes, meta))
    }

    /// `range` of the whole-object copy, as a ranged GET would have answered it.
    fn slice_full(full: (Bytes, ObjectMeta), range: Option<&GetRange>) -> (Bytes, ObjectMeta) {
        let (b, meta) = full;
        match range.map(|r| resolve(r, b.len() as u64)) {
            Some(r) => {
                let end = r.end.min(b.len() as u64) as usize;
                let start = (r.start as usize).min(end);
                (b.slice(start..end), meta)
            }
            None => (b, meta),
        }
    }

    /// GET `range` of `path` (the whole object when `None`), checked against `pin`, retried
    /// (bounded) on short or broken bodies. Returns the bytes and the response's metadata.
    pub(crate) async fn get(
        &self,
        path: &Path,
        range: Option<Range<u64>>,
        pin: Option<&Pin>,
    ) -> Result<(Bytes, ObjectMeta)> {
        self.get_req(path, range.map(GetRange::Bounded), pin).await
    }

    /// GET the last `len` bytes of `path` (an HTTP suffix range, `bytes=-len`): the whole
    /// object when it is shorter (the caller compares the returned size).
    pub(crate) async fn get_suffix(&self, path: &Path, len: u64) -> Result<(Bytes, ObjectMeta)> {
        self.get_req(path, Some(GetRange::Suffix(len)), None).await
    }

    async fn get_req(
        &self,
        path: &Path,
        range: Option<GetRange>,
        pin: Option<&Pin>,
    ) -> Result<(Bytes, ObjectMeta)> {
        let _permit = self.permit().await?;
        let url = || self.url_of(path);
        // the range for messages (a suffix's start is unknown until the size is)
        let bounded = || match &range {
            Some(GetRange::Bounded(r)) => Some(r.clone()),
            _ => None,
        };
        let own = *path == self.path;
        if own && self.has_full.load(Ordering::Relaxed) {
            return Ok(Self::slice_full(
                self.full_object(path, pin).await?,
                range.as_ref(),
            ));
        }
        let mut backoff = self.opts.retry_backoff;
        let mut attempt = 0usize;
        loop {
            attempt += 1;
            let options = GetOptions {
                range: range.clone(),
                if_match: pin.and_then(|p| p.e_tag.clone()),
                ..Default::default()
            };
            let res = match self.store.get_opts(path, options).await {
                Ok(res) => res,
                // 200 with the whole object to a range request: a server without range
                // support (its body was not read). Download it once, bounded.
                Err(e) if own && range.is_some() && is_not_partial(&e) => {
                    return Ok(Self::slice_full(
                        self.full_object(path, pin).await?,
                        range.as_ref(),
                    ));
                }
                Err(e) => return Err(self.err(path, bounded(), e)),
            };
            let meta = res.meta.clone();
            if let Some(p) = pin {
                if let Some(detail) = p.differs(&meta) {
                    return Err(Error::Changed { url: url(), detail });
                }
            }
            let want = range
                .as_ref()
                .map_or(0..meta.size, |r| resolve(r, meta.size));
            let expected = want.end.min(meta.size).saturating_sub(want.start);
            let last = attempt > self.opts.retries;
            match res.bytes().await {
                Ok(b) if b.len() as u64 == expected => return Ok((b, meta)),
                Ok(b) => {
                    if last {
                        return Err(Error::Short {
                            url: url(),
                            range: want,
                            got: b.len() as u64,
                            attempts: attempt,
                        });
                    }
                }
                Err(e) => {
                    // a timeout is final (not retried: the wait would multiply)
                    if last || classify_chain(&e).is_some() {
                        return Err(self.err(path, bounded(), e));
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// HEAD `path`.
    pub(crate) async fn head(&self, path: &Path) -> Result<ObjectMeta> {
        let _permit = self.permit().await?;
        self.store
            .head(path)
            .await
            .map_err(|e| self.err(path, None, e))
    }
}

/// The byte range a `GetRange` asks of an object of `size` bytes (clamped to it).
fn resolve(r: &GetRange, size: u64) -> Range<u64> {
    match r {
        GetRange::Bounded(r) => r.clone(),
        GetRange::Offset(o) => *o..size,
        GetRange::Suffix(n) => size.saturating_sub(*n)..size,
    }
}

/// A transport failure in plain words.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    TimedOut { connecting: bool },
    NoCredentials,
    Dns(String),
    Refused,
}

/// What went wrong on the wire, from an error's chain: our own markers (a refused metadata
/// request, a failed lookup), `io::ErrorKind`s, object_store's timeout kind, and, for errors
/// that only carry text (hyper, reqwest), the words they use.
pub(crate) fn classify_chain(e: &(dyn std::error::Error + 'static)) -> Option<Transport> {
    let mut text = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut timed_out = false;
    let mut refused = false;
    let mut n = 0;
    while let Some(c) = cur {
        if c.is::<MetadataBlocked>() {
            return Some(Transport::NoCredentials);
        }
        if let Some(d) = c.downcast_ref::<DnsFailure>() {
            return Some(Transport::Dns(d.host.clone()));
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        if let Some(h) = c.downcast_ref::<object_store::client::HttpError>() {
            timed_out |= h.kind() == object_store::client::HttpErrorKind::Timeout;
        }
        text.push_str(&c.to_string().to_ascii_lowercase());
        text.push('\n');
        cur = c.source();
        n += 1;
        if n > 16 {
            break;
        }
    }
    if text.contains("metadata endpoint") && text.contains("nd does not contact") {
        return Some(Transport::NoCredentials);
    }
    if let Some(i) = text.find("cannot resolve host ") {
        let host = text[i + 20..]
            .split(|c: char| c == ':' || c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_string();
        return Some(Transport::Dns(host));
    }
    if timed_out || text.contains("timed out") || text.contains("deadline has elapsed") {
        let connecting = text.contains("(connect)") || text.contains("connect timeout");
        return Some(Transport::TimedOut { connecting });
    }
    if refused || text.contains("connection refused") {
        return Some(Transport::Refused);
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return Some(Transport::Dns(String::new()));
    }
    None
}

/// The host of a URL for messages (`s3://bucket/…` gives the bucket).
pub(crate) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => authority.to_string(),
    }
}

/// True for object_store's error when a range request was answered 200 (whole object).
fn is_not_partial(e: &object_store::Error) -> bool {
    let t = error_chain(e).to_ascii_lowercase();
    t.contains("non-partial response when range requested")
        || t.contains("range request not supported")
}

/// True when the S3 builder has a credential source that needs no metadata endpoint: static
/// keys, a web-identity token (STS), or an ECS/EKS container endpoint (itself refused without
/// `imds`, with a clear message).
#[cfg(feature = "aws")]
fn s3_has_credentials(b: &object_store::aws::AmazonS3Builder) -> bool {
    use object_store::aws::AmazonS3ConfigKey as K;
    let has = |k: K| b.get_config_value(&k).is_some_and(|v| !v.is_empty());
    has(K::AccessKeyId)
        || has(K::SecretAccessKey)
        || (has(K::WebIdentityTokenFile) && has(K::RoleArn))
        || has(K::ContainerCredentialsRelativeUri)
        || has(K::ContainerCredentialsFullUri)
        || b.get_config_value(&K::SkipSignature)
            .is_some_and(|v| v == "true")
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    let mut n = 0;
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
        n += 1;
        if n > 8 {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised() {
        for u in [
            "http://h/x",
            "HTTPS://h/x",
            "s3://b/k",
            "gs://b/k",
            "az://c/k",
            "abfss://c@a.dfs.core.windows.net/k",
        ] {
            assert!(is_url(u), "{u}");
        }
        for p in [
            "/tmp/x.fits",
            "x.fits",
            "C:\\x",
            "file.zarr",
            "ftp://h/x",
            "s3://",
        ] {
            assert!(!is_url(p), "{p}");
        }
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_secrets() {
        let o = RemoteOptions::default();
        let e = Remote::open("http://user:pw@h/x", &o)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw"), "{e}");
        let e = Remote::open("https://h/x?sig=SECRET", &o)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET"), "{e}");
        assert!(Remote::open("ftp://h/x", &o).is_err());
        let e = Remote::open("s3://b/k", &o.clone().with_option("no_such_key", "v"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no_such_key"), "{e}");
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;

    /// An error with a source, like hyper's and reqwest's wrappers.
    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn std::error::Error + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.1)
        }
    }

    fn generic(e: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic {
            store: "HTTP",
            source: Box::new(e),
        }
    }

    /// The error chains object_store hands back for each failure, mapped without a network.
    #[test]
    fn transport_failures_in_plain_words() {
        let r = Remote::open("http://h.example:1/x.fits", &RemoteOptions::default()).unwrap();
        let p = r.path.clone();
        let msg = |e| r.err(&p, None, e).to_string();
        // the system resolver's failure, as hyper-util reports it when nd's resolver is not
        // in the way (a name that is not `.invalid`)
        let dns = generic(Wrap(
            "error sending request",
            Box::new(Wrap(
                "client error (Connect)",
                Box::new(Wrap(
                    "dns error",
                    Box::new(std::io::Error::other(
                        "failed to lookup address information: Name or service not known",
                    )),
                )),
            )),
        ));
        assert_eq!(
            msg(dns),
            "http://h.example:1/x.fits: cannot resolve host h.example"
        );
        let ours = generic(Wrap(
            "client error (Connect)",
            Box::new(DnsFailure {
                host: "h.example".into(),
                reason: "Name or service not known".into(),
            }),
        ));
        assert_eq!(
            msg(ours),
            "http://h.example:1/x.fits: cannot resolve host h.example"
        );
        let refused = generic(Wrap(
            "client error (Connect)",
            Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ));
        assert_eq!(
            msg(refused),
            "http://h.example:1/x.fits: connection refused"
        );
        let connect_timeout = generic(Wrap(
            "client error (Connect)",
            Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        ));
        assert_eq!(
            msg(connect_timeout),
            "http://h.example:1/x.fits: timed out after 10 s connecting"
        );
        let blocked = generic(MetadataBlocked("169.254.169.254".into()));
        assert!(msg(blocked).starts_with("http://h.example:1/x.fits: no credentials: "));
        let denied = object_store::Error::PermissionDenied {
            path: "x.fits".into(),
            source: Box::new(std::io::Error::other("Forbidden")),
        };
        assert_eq!(
            msg(denied),
            "http://h.example:1/x.fits: access denied (HTTP 403)"
        );
    }
}

#[cfg(test)]
mod builder_tests {
    use super::*;

    /// Every backend builds from its URL without a network request (anonymous GCS and Azure
    /// need no credentials; S3 takes its endpoint from the options).
    #[test]
    fn every_scheme_builds() {
        let anon = RemoteOptions {
            anonymous: true,
            ..Default::default()
        };
        for (url, opts) in [
            ("https://example.org/a/b.fits", anon.clone()),
            (
                "s3://bucket/key.fits",
                anon.clone()
                    .with_option("aws_endpoint", "http://127.0.0.1:9"),
            ),
            ("gs://bucket/dir/cube.zarr", anon.clone()),
            (
                "az://container/dir/x.asdf",
                anon.clone()
                    .with_option("azure_storage_account_name", "acct"),
            ),
        ] {
            let r = Remote::open(url, &opts).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!r.path.as_ref().is_empty(), "{url}");
            assert!(r.url_of(&r.path).ends_with(r.path.as_ref()), "{url}");
        }
    }

    #[test]
    fn options_from_env() {
        // Only variables of ENV_VARS, which no other unit test sets or reads. The environment
        // may disable the metadata endpoint (tests should): restored at the end.
        let imds_disabled = std::env::var_os("AWS_EC2_METADATA_DISABLED");
        std::env::remove_var("AWS_EC2_METADATA_DISABLED");
        std::env::set_var("ND_REMOTE_BLOCK_SIZE", "64K");
        std::env::set_var("ND_REMOTE_RETRIES", "5");
        std::env::set_var("ND_REMOTE_ANONYMOUS", "yes");
        std::env::set_var("ND_REMOTE_TIMEOUT", "2.5");
        std::env::set_var("ND_REMOTE_CONNECT_TIMEOUT", "3");
        std::env::set_var("ND_REMOTE_MAX_FULL_DOWNLOAD", "1M");
        std::env::set_var("ND_REMOTE_IMDS", "1");
        let o = RemoteOptions::from_env();
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("ND_REMOTE_ANONYMOUS");
        std::env::set_var("AWS_NO_SIGN_REQUEST", "YES");
        let o2 = RemoteOptions::from_env();
        std::env::set_var("ND_REMOTE_TIMEOUT", "0");
        let bad_timeout = RemoteOptions::from_env();
        std::env::set_var("ND_REMOTE_TIMEOUT", "10");
        std::env::set_var("ND_REMOTE_MAX_IN_FLIGHT", "0");
        let bad = RemoteOptions::from_env();
        for k in crate::options::ENV_VARS {
            std::env::remove_var(k);
        }
        if let Some(v) = imds_disabled {
            std::env::set_var("AWS_EC2_METADATA_DISABLED", v);
        }
        let o = o.unwrap();
        assert_eq!((o.block_size, o.retries, o.anonymous), (65536, 5, true));
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert_eq!(o.connect_timeout, Duration::from_secs(3));
        assert_eq!((o.max_full_download, o.imds), (1 << 20, true));
        let o2 = o2.unwrap();
        // AWS_EC2_METADATA_DISABLED wins over ND_REMOTE_IMDS; AWS_NO_SIGN_REQUEST is --anon
        assert_eq!((o2.imds, o2.anonymous), (false, true));
        let e = bad_timeout.unwrap_err().to_string();
        assert!(e.contains("ND_REMOTE_TIMEOUT"), "{e}");
        assert!(bad.unwrap_err().to_string().contains("max_in_flight"));
        let d = RemoteOptions::default();
        assert_eq!(
            (d.timeout, d.connect_timeout, d.imds, d.max_full_download),
            (
                Duration::from_secs(30),
                Duration::from_secs(10),
                false,
                256 << 20
            )
        );
    }
}
