//! Options of remote sources and stores: tuning, retries, credentials.

use crate::error::{Error, Result};
use crate::stats::Stats;
use std::collections::BTreeMap;
use std::time::Duration;

/// How remote sources and stores read: block cache, coalescing, concurrency, retries, and the
/// object-store configuration (credentials, endpoint, region) as a key/value map.
///
/// Object-store keys are the ones `object_store`'s builders accept (`aws_endpoint`,
/// `aws_region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`,
/// `google_service_account`, `azure_storage_account_name`, …, and client keys such as
/// `allow_http`). The builders also read the usual environment variables (`AWS_*`, `GOOGLE_*`,
/// `AZURE_*`) themselves; keys given here win over the environment.
///
/// The `Debug` output hides the values of every map entry (they may be secrets).
#[derive(Clone)]
pub struct RemoteOptions {
    /// Block size of the read cache of a [`open_source`](crate::open_source) source: small reads
    /// fetch whole aligned blocks. Default 256 KiB (91 FITS blocks).
    pub block_size: u64,
    /// Capacity of the block cache of one source, in bytes. Default 64 MiB.
    pub cache_size: u64,
    /// Most blocks one sequential read-ahead fetches in one request (the read-ahead doubles
    /// while reads stay sequential). Default 32 (8 MiB with the default block size).
    pub max_readahead_blocks: u64,
    /// Batched reads (`read_ranges`, `get_many`) merge ranges whose gap is at most this many
    /// bytes into one request, reading the gaps. Default 1 MiB (object_store's choice: on a
    /// network with a few milliseconds of latency, a round trip costs about as much as a
    /// megabyte). This is the rule for S3, GCS and Azure (their APIs have no multi-range read),
    /// and for HTTP(S) when `multi_range` is off or the server refuses multi-range requests.
    pub coalesce_gap: u64,
    /// HTTP(S) sources: send the ranges of a batched read (`read_ranges`) as multi-range
    /// requests (`Range: bytes=a-b,c-d,…`, answered `multipart/byteranges`), so that a batch of
    /// scattered ranges costs one request and only its bytes (plus about 100 bytes of framing per
    /// range). A server that ignores them (200) or answers uselessly is detected on the first
    /// try, and the source falls back to `coalesce_gap` coalescing. Default true.
    pub multi_range: bool,
    /// With multi-range requests, ranges whose gap is at most this many bytes (and at most
    /// `coalesce_gap`) are still merged into one range, reading the gap: it saves a part's
    /// framing and keeps the `Range` header short. Default 4 KiB.
    pub multi_range_gap: u64,
    /// Most ranges in one multi-range request (the `Range` header is also kept under 7,000
    /// bytes, and the data of one request under `part_size`). Default 200 (Apache's
    /// `MaxRanges` default; nginx has no limit unless `max_ranges` is set).
    pub max_ranges_per_request: usize,
    /// Largest single request; bigger reads are split into parts fetched concurrently.
    /// Default 8 MiB.
    pub part_size: u64,
    /// Most requests in flight at once for one source or store. Default 8.
    pub max_in_flight: usize,
    /// Retries of a failed request (5xx, dropped connection, timeout, short body). Default 3.
    pub retries: usize,
    /// First retry delay; it doubles on each retry, capped at 2 s. Default 100 ms.
    pub retry_backoff: Duration,
    /// Give up retrying after this long. Default 60 s.
    pub retry_timeout: Duration,
    /// Read timeout: the longest wait for a response to start, and then for each piece of its
    /// body (the wait restarts whenever bytes arrive, so a large download is not cut while it
    /// moves). Default 30 s: far above a healthy object store's worst latency (S3's own advice
    /// for latency-sensitive clients is a few seconds), short enough that a server which
    /// accepted the connection and went silent is reported while the user still waits.
    /// A timed-out request is **not** retried (see `retries`), so a silent server fails after
    /// this long. `ND_REMOTE_TIMEOUT` (seconds), `nd --timeout`.
    pub timeout: Duration,
    /// Timeout of establishing a connection (DNS, TCP, TLS). Default 10 s: a connection that
    /// takes longer is a host that is down or filtered, not a slow one; long enough for a
    /// slow TLS handshake across continents. Not retried either. `ND_REMOTE_CONNECT_TIMEOUT`.
    pub connect_timeout: Duration,
    /// Unsigned requests (public buckets): no credential lookup at all, no `Authorization`
    /// header. Default false; `ND_REMOTE_ANONYMOUS=1`, `AWS_NO_SIGN_REQUEST=YES`,
    /// `AWS_SKIP_SIGNATURE=true`, `nd --anon`.
    pub anonymous: bool,
    /// Allow cloud instance-metadata endpoints (EC2/ECS IMDS `169.254.169.254`, GCE
    /// `metadata.google.internal`, Azure IMDS) as a credential source. Default false: nd is
    /// often run on laptops, where that lookup is only a slow, opaque failure, so without
    /// credentials an `s3://` URL is a clear "no credentials" error at open and no request is
    /// ever sent to a metadata address (every request is checked). On a cloud VM set
    /// `ND_REMOTE_IMDS=1` (ignored when `AWS_EC2_METADATA_DISABLED=true`) or pass explicit
    /// credentials.
    pub imds: bool,
    /// A server that ignores range requests (answers `200` with the whole object) is read by
    /// downloading the object once, if it is at most this many bytes, and serving every read
    /// from that copy (a warning says so, see [`Stats::warnings`]); a larger object is
    /// [`Error::TooLarge`]. Default 256 MiB; `ND_REMOTE_MAX_FULL_DOWNLOAD` (`K`/`M`/`G`).
    /// 0 disables the fallback.
    pub max_full_download: u64,
    /// Allow writes through [`open_store`](crate::open_store) stores. Default false.
    pub writable: bool,
    /// Object-store configuration keys (see the type docs).
    pub options: BTreeMap<String, String>,
    /// Request and byte counters shared by everything opened with these options.
    pub stats: Stats,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            block_size: 256 * 1024,
            cache_size: 64 * 1024 * 1024,
            max_readahead_blocks: 32,
            coalesce_gap: 1024 * 1024,
            multi_range: true,
            multi_range_gap: 4096,
            max_ranges_per_request: 200,
            part_size: 8 * 1024 * 1024,
            max_in_flight: 8,
            retries: 3,
            retry_backoff: Duration::from_millis(100),
            retry_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            anonymous: false,
            imds: false,
            max_full_download: 256 * 1024 * 1024,
            writable: false,
            options: BTreeMap::new(),
            stats: Stats::default(),
        }
    }
}

impl std::fmt::Debug for RemoteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.options.keys().map(String::as_str).collect();
        f.debug_struct("RemoteOptions")
            .field("block_size", &self.block_size)
            .field("cache_size", &self.cache_size)
            .field("max_readahead_blocks", &self.max_readahead_blocks)
            .field("coalesce_gap", &self.coalesce_gap)
            .field("multi_range", &self.multi_range)
            .field("multi_range_gap", &self.multi_range_gap)
            .field("max_ranges_per_request", &self.max_ranges_per_request)
            .field("part_size", &self.part_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("retry_timeout", &self.retry_timeout)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("anonymous", &self.anonymous)
            .field("imds", &self.imds)
            .field("max_full_download", &self.max_full_download)
            .field("writable", &self.writable)
            .field("options (values hidden)", &keys)
            .finish()
    }
}

/// Environment variables read by [`RemoteOptions::from_env`] (besides the object stores' own).
pub const ENV_VARS: &[&str] = &[
    "ND_REMOTE_BLOCK_SIZE",
    "ND_REMOTE_CACHE_SIZE",
    "ND_REMOTE_COALESCE_GAP",
    "ND_REMOTE_MULTI_RANGE",
    "ND_REMOTE_MULTI_RANGE_GAP",
    "ND_REMOTE_PART_SIZE",
    "ND_REMOTE_MAX_IN_FLIGHT",
    "ND_REMOTE_RETRIES",
    "ND_REMOTE_TIMEOUT",
    "ND_REMOTE_CONNECT_TIMEOUT",
    "ND_REMOTE_ANONYMOUS",
    "ND_REMOTE_IMDS",
    "ND_REMOTE_MAX_FULL_DOWNLOAD",
    "AWS_NO_SIGN_REQUEST",
    "AWS_SKIP_SIGNATURE",
    "AWS_EC2_METADATA_DISABLED",
];

impl RemoteOptions {
    /// Defaults, overridden by `ND_REMOTE_*` environment variables (sizes accept `K`/`M`/`G`
    /// suffixes, times are seconds): `ND_REMOTE_BLOCK_SIZE`, `ND_REMOTE_CACHE_SIZE`,
    /// `ND_REMOTE_COALESCE_GAP`, `ND_REMOTE_MULTI_RANGE` (0/1), `ND_REMOTE_MULTI_RANGE_GAP`,
    /// `ND_REMOTE_PART_SIZE`, `ND_REMOTE_MAX_IN_FLIGHT`, `ND_REMOTE_RETRIES`,
    /// `ND_REMOTE_TIMEOUT`, `ND_REMOTE_CONNECT_TIMEOUT`, `ND_REMOTE_MAX_FULL_DOWNLOAD`,
    /// `ND_REMOTE_ANONYMOUS` (1/true; also `AWS_NO_SIGN_REQUEST=YES` and
    /// `AWS_SKIP_SIGNATURE=true`), `ND_REMOTE_IMDS` (1/true, unless
    /// `AWS_EC2_METADATA_DISABLED=true`). Credentials come from the object stores' own
    /// variables (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, `GOOGLE_SERVICE_ACCOUNT`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`, …), read when a store is built.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable when a value does not parse.
    pub fn from_env() -> Result<Self> {
        let mut o = RemoteOptions::default();
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        // a size variable when set: Ok(None) when unset or empty
        let size = |k: &str| var(k).map(|v| parse_size(k, &v)).transpose();
        let flag = |k: &str| var(k).map(|v| parse_bool(k, &v)).transpose();
        o.block_size = size("ND_REMOTE_BLOCK_SIZE")?.unwrap_or(o.block_size);
        o.cache_size = size("ND_REMOTE_CACHE_SIZE")?.unwrap_or(o.cache_size);
        o.coalesce_gap = size("ND_REMOTE_COALESCE_GAP")?.unwrap_or(o.coalesce_gap);
        o.multi_range = flag("ND_REMOTE_MULTI_RANGE")?.unwrap_or(o.multi_range);
        o.multi_range_gap = size("ND_REMOTE_MULTI_RANGE_GAP")?.unwrap_or(o.multi_range_gap);
        o.part_size = size("ND_REMOTE_PART_SIZE")?.unwrap_or(o.part_size);
        let max_in_flight = size("ND_REMOTE_MAX_IN_FLIGHT")?;
        o.max_in_flight = max_in_flight.map_or(o.max_in_flight, |n| n as usize);
        o.retries = size("ND_REMOTE_RETRIES")?.map_or(o.retries, |n| n as usize);
        o.max_full_download = size("ND_REMOTE_MAX_FULL_DOWNLOAD")?.unwrap_or(o.max_full_download);
        if let Some(v) = var("ND_REMOTE_TIMEOUT") {
            o.timeout = parse_seconds("ND_REMOTE_TIMEOUT", &v)?;
        }
        if let Some(v) = var("ND_REMOTE_CONNECT_TIMEOUT") {
            o.connect_timeout = parse_seconds("ND_REMOTE_CONNECT_TIMEOUT", &v)?;
        }
        for k in [
            "ND_REMOTE_ANONYMOUS",
            "AWS_NO_SIGN_REQUEST",
            "AWS_SKIP_SIGNATURE",
        ] {
            o.anonymous |= flag(k)?.unwrap_or(false);
        }
        o.imds = flag("ND_REMOTE_IMDS")?.unwrap_or(false)
            && !flag("AWS_EC2_METADATA_DISABLED")?.unwrap_or(false);
        o.validate()?;
        Ok(o)
    }

    /// Set the read timeout and the connect timeout (builder style; see the fields).
    pub fn with_timeouts(mut self, read: Duration, connect: Duration) -> Self {
        self.timeout = read;
        self.connect_timeout = connect;
        self
    }

    /// Set an object-store configuration key (builder style).
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Check the tuning values (non-zero sizes, sane limits).
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, reason: &str| {
            Err(Error::Config {
                key: key.into(),
                reason: reason.into(),
            })
        };
        if self.block_size == 0 || self.block_size > 1 << 30 {
            return bad("block_size", "must be between 1 byte and 1 GiB");
        }
        if self.part_size == 0 {
            return bad("part_size", "must be positive");
        }
        if self.max_in_flight == 0 || self.max_in_flight > 1024 {
            return bad("max_in_flight", "must be between 1 and 1024");
        }
        if self.max_ranges_per_request == 0 || self.max_ranges_per_request > 10_000 {
            return bad("max_ranges_per_request", "must be between 1 and 10000");
        }
        if self.retries > 100 {
            return bad("retries", "at most 100");
        }
        for (key, t) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if t.is_zero() || t > Duration::from_secs(1_000_000) {
                return bad(key, "must be between 1 ms and 1,000,000 s");
            }
        }
        Ok(())
    }

    /// Values of the options map that look like secrets (redacted from every error message).
    pub(crate) fn secret_values(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .options
            .iter()
            .filter(|(k, _)| is_secret_key(k))
            .map(|(_, v)| v.clone())
            .collect();
        for (k, val) in std::env::vars() {
            if (k.starts_with("AWS_") || k.starts_with("AZURE_") || k.starts_with("GOOGLE_"))
                && is_secret_key(&k)
            {
                v.push(val);
            }
        }
        v.retain(|s| s.len() >= 4);
        v
    }
}

/// True for configuration keys whose values are credentials.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "key",
        "sas",
        "credential",
        "signature",
    ]
    .iter()
    .any(|w| k.contains(w))
        && !k.ends_with("key_id")
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" => Ok(true),
        "0" | "false" | "no" | "off" | "n" => Ok(false),
        _ => Err(Error::Config {
            key: key.into(),
            reason: format!("not a boolean: '{v}'"),
        }),
    }
}

/// Seconds (a positive number, fractions allowed) as a duration.
pub(crate) fn parse_seconds(key: &str, v: &str) -> Result<Duration> {
    let s: f64 = v.trim().parse().map_err(|_| Error::Config {
        key: key.into(),
        reason: format!("not a number of seconds: '{v}'"),
    })?;
    if !(0.001..=1e6).contains(&s) {
        return Err(Error::Config {
            key: key.into(),
            reason: format!("out of range (0.001 to 1000000 seconds): '{v}'"),
        });
    }
    Ok(Duration::from_secs_f64(s))
}

fn parse_size(key: &str, v: &str) -> Result<u64> {
    let t = v.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], 1 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| Error::Config {
            key: key.into(),
            reason: format!("not a size: '{v}'"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("k", "64K").unwrap(), 65536);
        assert_eq!(parse_size("k", "2m").unwrap(), 2 << 20);
        assert_eq!(parse_size("k", "123").unwrap(), 123);
        assert!(parse_size("k", "x").is_err());
        assert!(parse_size("k", "99999999999999G").is_err());
    }

    #[test]
    fn debug_hides_values() {
        let o = RemoteOptions::default().with_option("aws_secret_access_key", "SUPERSECRET");
        let s = format!("{o:?}");
        assert!(s.contains("aws_secret_access_key"));
        assert!(!s.contains("SUPERSECRET"));
        assert!(is_secret_key("aws_session_token"));
        assert!(!is_secret_key("aws_access_key_id"));
        assert!(!is_secret_key("aws_region"));
        assert_eq!(o.secret_values(), vec!["SUPERSECRET".to_string()]);
    }
}
