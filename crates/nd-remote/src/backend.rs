//! URL parsing, object-store construction, the internal runtime, and the one request primitive
//! (a validated, retried range GET) every source and store uses.

use crate::error::{display_url, Error, Redactor, Result};
use crate::options::RemoteOptions;
use crate::stats::CountingConnector;
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
use std::sync::atomic::{AtomicU8, Ordering};
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
    /// Why the server's multi-range answers were refused, once they were.
    pub(crate) multi_range_note: std::sync::Mutex<Option<String>>,
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
            .with_http_connector($connector)
            .with_skip_signature($opts.anonymous);
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

fn client_options(o: &RemoteOptions) -> ClientOptions {
    ClientOptions::new()
        .with_timeout(o.timeout)
        .with_connect_timeout(o.connect_timeout)
        .with_allow_http(true)
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
        let connector = || CountingConnector {
            stats: opts.stats.clone(),
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
                    let base = match parsed.port() {
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
                    let base = format!("{scheme}://{}", parsed.authority());
                    let azure =
                        object_store::azure::MicrosoftAzureBuilder::from_env().with_url(base);
                    let b = cloud_builder!(azure, opts, connector());
                    Arc::new(b.build().map_err(|e| bad(&e.to_string()))?)
                }
                #[cfg(not(feature = "azure"))]
                return Err(unknown("az"));
            }
            other => return Err(bad(&format!("unsupported scheme {other:?}"))),
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
        })
    }

    /// True when batched reads may use multi-range requests (HTTP(S), enabled, not refused).
    pub(crate) fn multi_range(&self) -> bool {
        self.http_client.is_some()
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
            e => Error::Request {
                url,
                range,
                message: self.redactor.clean(&error_chain(&e)),
            },
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
        let _permit = self.permit().await?;
        let url = || self.url_of(path);
        let mut backoff = self.opts.retry_backoff;
        let mut attempt = 0usize;
        loop {
            attempt += 1;
            let options = GetOptions {
                range: range.clone().map(GetRange::Bounded),
                if_match: pin.and_then(|p| p.e_tag.clone()),
                ..Default::default()
            };
            let res = self
                .store
                .get_opts(path, options)
                .await
                .map_err(|e| self.err(path, range.clone(), e))?;
            let meta = res.meta.clone();
            if let Some(p) = pin {
                if let Some(detail) = p.differs(&meta) {
                    return Err(Error::Changed { url: url(), detail });
                }
            }
            let expected = match &range {
                Some(r) => r.end.min(meta.size).saturating_sub(r.start),
                None => meta.size,
            };
            let last = attempt > self.opts.retries;
            match res.bytes().await {
                Ok(b) if b.len() as u64 == expected => return Ok((b, meta)),
                Ok(b) => {
                    if last {
                        return Err(Error::Short {
                            url: url(),
                            range: range.clone().unwrap_or(0..meta.size),
                            got: b.len() as u64,
                            attempts: attempt,
                        });
                    }
                }
                Err(e) => {
                    if last {
                        return Err(self.err(path, range.clone(), e));
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
        // Only ND_REMOTE_* variables, which no other test sets or reads.
        std::env::set_var("ND_REMOTE_BLOCK_SIZE", "64K");
        std::env::set_var("ND_REMOTE_RETRIES", "5");
        std::env::set_var("ND_REMOTE_ANONYMOUS", "yes");
        let o = RemoteOptions::from_env();
        std::env::set_var("ND_REMOTE_MAX_IN_FLIGHT", "0");
        let bad = RemoteOptions::from_env();
        for k in crate::options::ENV_VARS {
            std::env::remove_var(k);
        }
        let o = o.unwrap();
        assert_eq!((o.block_size, o.retries, o.anonymous), (65536, 5, true));
        assert!(bad.unwrap_err().to_string().contains("max_in_flight"));
    }
}
