//! Shared test helpers: the loopback servers started by `.ci/servers.sh`, generated files.
#![allow(dead_code)]

use nd_remote::RemoteOptions;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The servers' addresses, from the environment or from `target/nd-test-servers.env`.
#[derive(Debug, Clone)]
pub struct Servers {
    pub http_url: Option<String>,
    pub http_root: Option<PathBuf>,
    pub http_log: Option<PathBuf>,
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
}

fn env_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/nd-test-servers.env")
}

pub fn servers() -> Servers {
    let mut vars: HashMap<String, String> = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(env_file()) {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    for k in [
        "ND_TEST_HTTP_URL",
        "ND_TEST_HTTP_ROOT",
        "ND_TEST_HTTP_LOG",
        "ND_TEST_S3_ENDPOINT",
        "ND_TEST_S3_BUCKET",
    ] {
        if let Ok(v) = std::env::var(k) {
            vars.insert(k.to_string(), v);
        }
    }
    let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
    Servers {
        http_url: get("ND_TEST_HTTP_URL"),
        http_root: get("ND_TEST_HTTP_ROOT").map(PathBuf::from),
        http_log: get("ND_TEST_HTTP_LOG").map(PathBuf::from),
        s3_endpoint: get("ND_TEST_S3_ENDPOINT"),
        s3_bucket: get("ND_TEST_S3_BUCKET"),
    }
}

fn reachable(url: &str) -> bool {
    let hostport = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    use std::net::ToSocketAddrs;
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        })
}

/// A configured server's address and its other setting, or `None` (with a printed reason) when
/// not configured. A configured server that does not answer is a failure, not a skip: `.ci/run`
/// starts it.
fn configured<T>(
    test: &str,
    kind: &str,
    addr: Option<String>,
    other: Option<T>,
) -> Option<(String, T)> {
    match (addr, other) {
        (Some(a), Some(o)) => {
            assert!(
                reachable(&a),
                "{test}: the {kind} test server {a} from {} does not answer (run `bash .ci/servers.sh`)",
                env_file().display()
            );
            Some((a, o))
        }
        _ => {
            eprintln!(
                "SKIP {test}: no {kind} test server (run `bash .ci/servers.sh`, which writes {})",
                env_file().display()
            );
            None
        }
    }
}

/// The nginx server (url, root dir), or `None` (with a printed reason) when not configured.
pub fn http(test: &str) -> Option<(String, PathBuf)> {
    let s = servers();
    configured(test, "HTTP", s.http_url, s.http_root)
}

/// The S3 server (endpoint, bucket), or `None` with a printed reason.
pub fn s3(test: &str) -> Option<(String, String)> {
    let s = servers();
    configured(test, "S3", s.s3_endpoint, s.s3_bucket)
}

/// Options for the moto server (it accepts any credentials).
pub fn s3_options(endpoint: &str) -> RemoteOptions {
    RemoteOptions::default()
        .with_option("aws_endpoint", endpoint)
        .with_option("aws_access_key_id", "testing")
        .with_option("aws_secret_access_key", "testing-secret")
        .with_option("aws_region", "us-east-1")
        .with_option("allow_http", "true")
}

/// Write `bytes` to `root/rel` atomically unless a file of that size is already there.
pub fn put_file(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    if std::fs::metadata(&p).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return p;
    }
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    nd_core::write_atomic(&p, bytes).unwrap();
    p
}

/// Upload `bytes` to `s3://bucket/key`.
pub fn s3_put(endpoint: &str, bucket: &str, key: &str, bytes: &[u8]) {
    let mut o = s3_options(endpoint);
    o.writable = true;
    let st = nd_remote::open_store(&format!("s3://{bucket}"), &o).unwrap();
    st.set(key, bytes).unwrap();
}

/// Upload every file under `dir` to `s3://bucket/prefix/…`.
pub fn s3_put_dir(endpoint: &str, bucket: &str, prefix: &str, dir: &Path) {
    let mut o = s3_options(endpoint);
    o.writable = true;
    let st = nd_remote::open_store(&format!("s3://{bucket}/{prefix}"), &o).unwrap();
    let local = nd_core::DirStore::open_read_only(dir).unwrap();
    use nd_core::Store;
    for k in local.list_prefix("").unwrap() {
        st.set(&k, &local.get(&k).unwrap().unwrap()).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// generated FITS files

fn card(s: &str) -> [u8; 80] {
    let mut c = [b' '; 80];
    c[..s.len()].copy_from_slice(s.as_bytes());
    c
}

fn header(cards: &[String]) -> Vec<u8> {
    let mut h = Vec::new();
    for c in cards {
        h.extend_from_slice(&card(c));
    }
    h.extend_from_slice(&card("END"));
    while h.len() % 2880 != 0 {
        h.push(b' ');
    }
    h
}

fn kv(k: &str, v: &str) -> String {
    format!("{k:<8}= {v:>20}")
}

/// A `ny` x `nx` float32 image (value = row * nx + col, exact up to 2^24).
pub fn fits_f32_image(ny: u64, nx: u64) -> Vec<u8> {
    let mut f = header(&[
        kv("SIMPLE", "T"),
        kv("BITPIX", "-32"),
        kv("NAXIS", "2"),
        kv("NAXIS1", &nx.to_string()),
        kv("NAXIS2", &ny.to_string()),
        kv("OBJECT", "'remote test'"),
    ]);
    f.reserve((ny * nx * 4) as usize + 2880);
    for i in 0..ny * nx {
        f.extend_from_slice(&(i as f32).to_be_bytes());
    }
    while !f.len().is_multiple_of(2880) {
        f.push(0);
    }
    f
}

/// A primary HDU and `n - 1` small int16 image extensions named `EXT{i}`.
pub fn fits_many_hdus(n: usize) -> Vec<u8> {
    let mut f = header(&[
        kv("SIMPLE", "T"),
        kv("BITPIX", "16"),
        kv("NAXIS", "0"),
        kv("EXTEND", "T"),
    ]);
    for i in 1..n {
        f.extend(header(&[
            kv("XTENSION", "'IMAGE   '"),
            kv("BITPIX", "16"),
            kv("NAXIS", "2"),
            kv("NAXIS1", "10"),
            kv("NAXIS2", "10"),
            kv("PCOUNT", "0"),
            kv("GCOUNT", "1"),
            kv("EXTNAME", &format!("'EXT{i}'")),
        ]));
        let start = f.len();
        for j in 0..100i16 {
            f.extend_from_slice(&(j + i as i16).to_be_bytes());
        }
        f.resize(start + 2880, 0);
    }
    f
}

/// The current length of the nginx access log (to read what a test adds after it).
pub fn nginx_log_mark() -> u64 {
    servers()
        .http_log
        .and_then(|l| std::fs::metadata(l).ok())
        .map_or(0, |m| m.len())
}

/// Requests for `path` in the nginx access log after `mark`: (method, `"range"` status bytes).
/// nginx writes a request's line when it finalises the request, which can come a moment after
/// the client has read the last byte of the response: the log is read again (for up to 5 s)
/// until it holds at least `expect` such lines, so a busy machine does not make the caller see
/// fewer requests than were sent.
pub fn nginx_log_since(mark: u64, path: &str, expect: usize) -> Vec<(String, String)> {
    let Some(log) = servers().http_log else {
        return Vec::new();
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = std::fs::read(&log).unwrap_or_default();
        let text = String::from_utf8_lossy(text.get(mark as usize..).unwrap_or(&[]));
        let seen: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(3, ' ');
                let (m, p, rest) = (it.next()?, it.next()?, it.next()?);
                (p == path).then(|| (m.to_string(), rest.to_string()))
            })
            .collect();
        if seen.len() >= expect || std::time::Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
