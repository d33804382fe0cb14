//! Fault tests against a tiny misbehaving HTTP server on 127.0.0.1 (std::net, in this test):
//! 500s, dropped connections, short bodies, ignored ranges, hangs, an object that changes size or
//! ETag between requests. Retries are bounded, errors are clear, data is never silently wrong.

use nd_core::ByteSource;
use nd_remote::{open_source, open_store, Error, RemoteOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A parsed request.
#[derive(Debug, Clone)]
#[allow(dead_code)]
struct Req {
    method: String,
    path: String,
    /// The range, when exactly one was asked.
    range: Option<(u64, u64)>,
    /// Every range asked (inclusive ends), in order.
    ranges: Vec<(u64, u64)>,
    headers: String,
}

/// What the server does with a request.
enum Act {
    /// A normal answer for `data` with this ETag (206 for a range, 200 otherwise).
    Serve {
        data: Arc<Vec<u8>>,
        etag: &'static str,
    },
    /// A status with a body.
    Status(u16, String),
    /// A 206 whose body stops after `keep` bytes, connection closed (Content-Length promised more).
    Truncate { data: Arc<Vec<u8>>, keep: usize },
    /// A 206 that states a shorter Content-Length than the range asked (consistent, but short).
    Short { data: Arc<Vec<u8>> },
    /// 200 with the whole object whatever the Range.
    IgnoreRange { data: Arc<Vec<u8>> },
    /// A multi-range answer: `multipart/byteranges` with the parts listed (inclusive ranges,
    /// any order), each labelled `label(range)` and holding `body(range)`, cut after `keep`
    /// body bytes when set (Content-Length promising the whole).
    Multi {
        data: Arc<Vec<u8>>,
        parts: Vec<(u64, u64)>,
        label: fn(u64, u64, usize) -> String,
        body_len: fn(u64, u64) -> u64,
        keep: Option<usize>,
    },
    /// A single-part 206 for the span of every range asked (a server that merged them).
    SingleSpan { data: Arc<Vec<u8>> },
    /// Close the connection without answering.
    Close,
    /// Answer nothing for this long.
    Hang(Duration),
}

type Behaviour = dyn Fn(usize, &Req) -> Act + Send + Sync;

struct Server {
    url: String,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
    reqs: Arc<Mutex<Vec<Req>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_req(s: &mut TcpStream) -> Option<Req> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = String::new();
    let mut ranges = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        headers.push_str(&h);
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            for one in v.trim().split(',') {
                let (a, b) = one.trim().split_once('-')?;
                ranges.push((a.parse().ok()?, b.parse().ok()?));
            }
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; content_length.min(1 << 20)];
    r.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        path,
        range: (ranges.len() == 1).then(|| ranges[0]),
        ranges,
        headers,
    })
}

fn respond(s: &mut TcpStream, req: &Req, act: Act) {
    let head = |status: u16, reason: &str, extra: &str, len: usize| {
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {len}\r\nConnection: close\r\n\
             Last-Modified: Mon, 02 Jan 2023 03:04:05 GMT\r\n{extra}\r\n"
        )
    };
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    match act {
        Act::Serve { data, etag } => {
            let etag_h = format!("ETag: \"{etag}\"\r\n");
            match req.range {
                Some((a, b)) if (a as usize) < data.len() => {
                    let b = (b as usize).min(data.len() - 1);
                    let body = &data[a as usize..=b];
                    let extra = format!(
                        "{etag_h}Content-Range: bytes {a}-{b}/{}\r\nAccept-Ranges: bytes\r\n",
                        data.len()
                    );
                    let h = head(206, "Partial Content", &extra, body.len());
                    let _ = s.write_all(h.as_bytes());
                    if req.method != "HEAD" {
                        let _ = s.write_all(body);
                    }
                }
                Some(_) => {
                    let extra = format!("Content-Range: bytes */{}\r\n", data.len());
                    let _ = s.write_all(head(416, "Range Not Satisfiable", &extra, 0).as_bytes());
                }
                None => {
                    let _ = s.write_all(head(200, "OK", &etag_h, data.len()).as_bytes());
                    if req.method != "HEAD" {
                        let _ = s.write_all(&data);
                    }
                }
            }
        }
        Act::Status(code, body) => {
            let _ = s.write_all(head(code, "Error", "", body.len()).as_bytes());
            let _ = s.write_all(body.as_bytes());
        }
        Act::Truncate { data, keep } => {
            let (a, b) = req.range.unwrap_or((0, data.len() as u64 - 1));
            let b = (b as usize).min(data.len() - 1);
            let body = &data[a as usize..=b];
            let extra = format!(
                "ETag: \"v1\"\r\nContent-Range: bytes {a}-{b}/{}\r\n",
                data.len()
            );
            let _ = s.write_all(head(206, "Partial Content", &extra, body.len()).as_bytes());
            let _ = s.write_all(&body[..keep.min(body.len())]);
            let _ = s.flush();
            // drop: the client sees the connection end before Content-Length bytes
        }
        Act::Short { data } => {
            let (a, b) = req.range.unwrap_or((0, data.len() as u64 - 1));
            let b = (b as usize).min(data.len() - 1);
            let body = &data[a as usize..=b];
            let half = &body[..body.len() / 2];
            let extra = format!(
                "ETag: \"v1\"\r\nContent-Range: bytes {a}-{b}/{}\r\n",
                data.len()
            );
            let _ = s.write_all(head(206, "Partial Content", &extra, half.len()).as_bytes());
            let _ = s.write_all(half);
        }
        Act::IgnoreRange { data } => {
            let _ = s.write_all(head(200, "OK", "ETag: \"v1\"\r\n", data.len()).as_bytes());
            let _ = s.write_all(&data);
        }
        Act::Multi {
            data,
            parts,
            label,
            body_len,
            keep,
        } => {
            let n = data.len();
            let mut body = Vec::new();
            body.extend_from_slice(b"preamble to ignore\r\n");
            for (a, b) in parts {
                let len = body_len(a, b) as usize;
                let chunk = &data[a as usize..(a as usize + len).min(n)];
                body.extend_from_slice(
                    format!(
                        "--BND\r\nContent-Type: application/octet-stream\r\nContent-Range: {}\r\n\r\n",
                        label(a, b, n)
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(chunk);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--BND--\r\n");
            let extra = "ETag: \"v1\"\r\nContent-Type: multipart/byteranges; boundary=BND\r\n";
            let _ = s.write_all(head(206, "Partial Content", extra, body.len()).as_bytes());
            let _ = s.write_all(&body[..keep.unwrap_or(body.len()).min(body.len())]);
            let _ = s.flush();
        }
        Act::SingleSpan { data } => {
            let a = req.ranges.first().map_or(0, |r| r.0);
            let b = req.ranges.last().map_or(0, |r| r.1);
            let body = &data[a as usize..=b as usize];
            let extra = format!(
                "ETag: \"v1\"\r\nContent-Range: bytes {a}-{b}/{}\r\n",
                data.len()
            );
            let _ = s.write_all(head(206, "Partial Content", &extra, body.len()).as_bytes());
            let _ = s.write_all(body);
        }
        Act::Close => {}
        Act::Hang(d) => {
            let end = Instant::now() + d;
            while Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Start a server answering by `f(request number, request)`. It stops when dropped, and in any
/// case after 120 s or 10,000 connections.
fn server(f: impl Fn(usize, &Req) -> Act + Send + Sync + 'static) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let reqs = Arc::new(Mutex::new(Vec::new()));
    let f: Arc<Behaviour> = Arc::new(f);
    let (st, c, rq) = (stop.clone(), count.clone(), reqs.clone());
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut handlers = Vec::new();
        let mut n = 0;
        while !st.load(Ordering::SeqCst) && Instant::now() < deadline && n < 10_000 {
            match l.accept() {
                Ok((mut s, _)) => {
                    n += 1;
                    let _ = s.set_nonblocking(false);
                    let (f, c, rq) = (f.clone(), c.clone(), rq.clone());
                    handlers.push(std::thread::spawn(move || {
                        if let Some(req) = read_req(&mut s) {
                            let i = c.fetch_add(1, Ordering::SeqCst);
                            rq.lock().unwrap().push(req.clone());
                            let act = f(i, &req);
                            respond(&mut s, &req, act);
                        }
                    }));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        for h in handlers {
            let _ = h.join();
        }
    });
    Server {
        url,
        stop,
        count,
        reqs,
        thread: Some(thread),
    }
}

fn data(n: usize) -> Arc<Vec<u8>> {
    Arc::new((0..n).map(|i| (i * 7 + i / 251) as u8).collect())
}

/// A normal answer for `d` with ETag "v1".
fn serve(d: &Arc<Vec<u8>>) -> Act {
    Act::Serve {
        data: d.clone(),
        etag: "v1",
    }
}

/// Open `f.bin` on the server as a byte source.
fn open_f(s: &Server, o: &RemoteOptions) -> Arc<dyn ByteSource> {
    open_source(&format!("{}/f.bin", s.url), o).unwrap()
}

fn opts() -> RemoteOptions {
    RemoteOptions {
        block_size: 4096,
        retries: 3,
        retry_backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    }
}

#[test]
fn healthy_server_baseline() {
    let d = data(100_000);
    let d2 = d.clone();
    let s = server(move |_, _| serve(&d2));
    let o = opts();
    let src = open_f(&s, &o);
    assert_eq!(src.len(), 100_000);
    assert_eq!(&src.read_range(5000..5100).unwrap()[..], &d[5000..5100]);
    assert_eq!(
        &src.read_range(10_000..90_000).unwrap()[..],
        &d[10_000..90_000]
    );
    let reqs = s.reqs.lock().unwrap().clone();
    assert_eq!(o.stats.requests(), reqs.len() as u64);
    // every request after the first carried If-Match with the pinned ETag
    assert!(reqs[1..]
        .iter()
        .all(|r| r.headers.to_ascii_lowercase().contains("if-match: \"v1\"")));
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let d = data(50_000);
    let d2 = d.clone();
    // requests 1 and 2 (after the open) fail with 500, then the server recovers
    let s = server(move |i, _| match i {
        1 | 2 => Act::Status(500, "boom".into()),
        _ => serve(&d2),
    });
    let o = opts();
    let src = open_f(&s, &o);
    assert_eq!(
        &src.read_range(20_000..20_100).unwrap()[..],
        &d[20_000..20_100]
    );
    assert_eq!(s.count.load(Ordering::SeqCst), 4);
    assert_eq!(o.stats.snapshot().errors, 2);
}

#[test]
fn persistent_server_errors_give_a_clear_bounded_error() {
    let d = data(50_000);
    let s = server(move |i, _| match i {
        0 => serve(&d),
        _ => Act::Status(503, "unavailable".into()),
    });
    let o = opts();
    let src = open_f(&s, &o);
    let t = Instant::now();
    let e = src.read_range(20_000..20_100).unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(20));
    // 1 open + 1 try + 3 retries
    assert_eq!(s.count.load(Ordering::SeqCst), 5, "{e}");
    assert!(e.contains("/f.bin") && e.contains("503"), "{e}");
    // the bytes that were asked on the wire: the cache block holding 20000..20100
    assert!(e.contains("bytes 16384..20480"), "{e}");
}

#[test]
fn dropped_connections_are_retried() {
    let d = data(50_000);
    let d2 = d.clone();
    let s = server(move |i, _| match i {
        1 | 2 => Act::Close,
        _ => serve(&d2),
    });
    let o = opts();
    let src = open_f(&s, &o);
    assert_eq!(
        &src.read_range(30_000..31_000).unwrap()[..],
        &d[30_000..31_000]
    );
    assert_eq!(s.count.load(Ordering::SeqCst), 4);
}

#[test]
fn truncated_bodies_are_retried_and_never_returned() {
    let d = data(50_000);
    let d2 = d.clone();
    // the first read after the open gets a body cut in the middle
    let s = server(move |i, _| match i {
        1 => Act::Truncate {
            data: d2.clone(),
            keep: 1000,
        },
        _ => serve(&d2),
    });
    let o = opts();
    let src = open_f(&s, &o);
    let got = src.read_range(10_000..30_000).unwrap();
    assert_eq!(&got[..], &d[10_000..30_000]);
    assert!(s.count.load(Ordering::SeqCst) >= 3);

    // always truncated: an error, after a bounded number of requests
    let d = data(50_000);
    let s = server(move |i, _| match i {
        0 => serve(&d),
        _ => Act::Truncate {
            data: d.clone(),
            keep: 1000,
        },
    });
    let src = open_f(&s, &o);
    let e = src.read_range(10_000..30_000).unwrap_err();
    let n = s.count.load(Ordering::SeqCst);
    assert!((2..=1 + 4 * 4).contains(&n), "{n} requests: {e}");
}

#[test]
fn short_but_consistent_bodies_are_an_error() {
    let d = data(50_000);
    let s = server(move |i, _| match i {
        0 => serve(&d),
        _ => Act::Short { data: d.clone() },
    });
    let o = opts();
    let src = open_f(&s, &o);
    let e = src.read_range(10_000..30_000).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("10000..30000"), "{msg}");
    // 1 open + 1 + 3 retries
    assert_eq!(s.count.load(Ordering::SeqCst), 5, "{msg}");
}

#[test]
fn an_object_that_changes_size_is_an_error_not_mixed_data() {
    let v1 = data(50_000);
    let v2 = Arc::new((0..60_000).map(|i| (i % 13) as u8).collect::<Vec<u8>>());
    let s = server(move |i, _| {
        if i == 0 {
            serve(&v1)
        } else {
            // the file was replaced: new size and ETag (this server ignores If-Match)
            Act::Serve {
                data: v2.clone(),
                etag: "v2",
            }
        }
    });
    let o = opts();
    let src = open_f(&s, &o);
    let e = src.read_range(20_000..20_100).unwrap_err();
    assert!(
        matches!(e.downcast_remote(), Some(Error::Changed { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("changed"), "{e}");
}

#[test]
fn an_object_that_changes_etag_is_an_error() {
    let d = data(50_000);
    let s = server(move |i, req| {
        let etag = if i == 0 { "v1" } else { "v2" };
        // a server that honours If-Match answers 412 when the ETag moved on
        if i > 0
            && req
                .headers
                .to_ascii_lowercase()
                .contains("if-match: \"v1\"")
            && i % 2 == 0
        {
            return Act::Status(412, "precondition failed".into());
        }
        Act::Serve {
            data: d.clone(),
            etag,
        }
    });
    let o = opts();
    let src = open_f(&s, &o);
    for r in [20_000..20_100, 40_000..40_100] {
        let e = src.read_range(r).unwrap_err();
        assert!(
            matches!(e.downcast_remote(), Some(Error::Changed { .. })),
            "{e}"
        );
    }
}

#[test]
fn a_server_without_range_support_is_downloaded_once_within_the_limit() {
    let d = data(50_000);
    let d2 = d.clone();
    let s = server(move |_, _| Act::IgnoreRange { data: d2.clone() });
    let o = opts();
    let src = open_source(&format!("{}/f.bin", s.url), &o).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(src.len(), 50_000);
    assert_eq!(
        &src.read_range(20_000..20_100).unwrap()[..],
        &d[20_000..20_100]
    );
    let ranges = [100..200, 30_000..30_500, 49_000..50_000];
    let got = src.read_ranges(&ranges).unwrap();
    for (r, g) in ranges.iter().zip(&got) {
        assert_eq!(&g[..], &d[r.start as usize..r.end as usize]);
    }
    // the refused range request, then one whole download; every later read from memory
    assert_eq!(s.count.load(Ordering::SeqCst), 2);
    let w = o.stats.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("/f.bin") && w[0].contains("ignores range requests"),
        "{w:?}"
    );
    assert!(w[0].contains("50000 bytes"), "{w:?}");

    // over the limit: a clear error, the body never read
    let mut small = opts();
    small.max_full_download = 10_000;
    let e = open_source(&format!("{}/f.bin", s.url), &small).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                size: 50_000,
                limit: 10_000,
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("/f.bin") && msg.contains("ignores range requests"),
        "{msg}"
    );
    assert!(msg.contains("ND_REMOTE_MAX_FULL_DOWNLOAD"), "{msg}");
}

#[test]
fn a_hanging_server_times_out() {
    let d = data(50_000);
    let s = server(move |i, _| match i {
        0 => serve(&d),
        _ => Act::Hang(Duration::from_secs(3)),
    });
    let mut o = opts();
    o.timeout = Duration::from_millis(300);
    o.retries = 1;
    let src = open_f(&s, &o);
    let t = Instant::now();
    let e = src.read_range(20_000..20_100).unwrap_err();
    // a timeout is not retried: one request, one timeout
    assert!(t.elapsed() < Duration::from_millis(1500), "{e}");
    assert_eq!(s.count.load(Ordering::SeqCst), 2, "{e}");
    assert!(e.to_string().contains("timed out after 0.3 s"), "{e}");
}

/// A listener that accepts connections and never answers (nor reads), counting them; it stops
/// when dropped and in any case after 60 s.
struct Silent {
    url: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn silent_server() -> Silent {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (a, st) = (accepted.clone(), stop.clone());
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(60);
        let mut held = Vec::new();
        while !st.load(Ordering::SeqCst) && Instant::now() < end {
            match l.accept() {
                Ok((c, _)) => {
                    a.fetch_add(1, Ordering::SeqCst);
                    held.push(c);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Silent {
        url,
        accepted,
        stop,
    }
}

#[test]
fn a_server_that_accepts_and_never_answers_fails_within_the_timeout() {
    let s = silent_server();
    let mut o = opts();
    o.timeout = Duration::from_secs(1);
    o.retries = 3;
    let url = format!("{}/cube.fits", s.url);
    let t = Instant::now();
    let e = open_source(&url, &o).unwrap_err();
    let took = t.elapsed();
    let msg = e.to_string();
    assert_eq!(msg, format!("{url}: timed out after 1 s"));
    // the stated bound: the timeout once (timeouts are not retried), never (retries + 1)×
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(o.stats.requests(), 1);
}

#[test]
fn refused_unresolvable_denied_and_missing_are_one_plain_line() {
    // a closed port
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/x.fits");
    let t = Instant::now();
    let e = open_source(&url, &opts()).unwrap_err();
    assert_eq!(e.to_string(), format!("{url}: connection refused"));
    assert!(t.elapsed() < Duration::from_secs(5));

    // `.invalid` never resolves, and nd does not even ask (RFC 6761)
    let o = opts();
    let e = open_source("http://nd-test.invalid:8080/x.fits", &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "http://nd-test.invalid:8080/x.fits: cannot resolve host nd-test.invalid"
    );

    let s = server(|_, r| match r.path.as_str() {
        "/secret.fits" => Act::Status(403, "<Error>AccessDenied</Error>".into()),
        "/login.fits" => Act::Status(401, "".into()),
        _ => Act::Status(404, "".into()),
    });
    for (p, want) in [
        ("secret.fits", "access denied (HTTP 403)"),
        ("login.fits", "access denied (HTTP 401)"),
        ("nope.fits", "not found (HTTP 404)"),
    ] {
        let url = format!("{}/{p}", s.url);
        let e = open_source(&url, &opts()).unwrap_err();
        assert_eq!(e.to_string(), format!("{url}: {want}"));
    }
}

/// No AWS credentials in this process's environment (a developer's shell may have some).
fn no_aws_credentials_in_env() -> bool {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_SKIP_SIGNATURE",
        "AWS_NO_SIGN_REQUEST",
    ]
    .iter()
    .all(|k| std::env::var_os(k).is_none())
}

#[test]
fn s3_without_credentials_is_a_clear_error_and_anon_sends_unsigned_requests() {
    let d = data(10_000);
    let d2 = d.clone();
    let s = server(move |_, _| serve(&d2));
    let o = opts()
        .with_option("aws_endpoint", s.url.clone())
        .with_option("allow_http", "true");
    if no_aws_credentials_in_env() {
        let e = open_source("s3://bucket/key.fits", &o).unwrap_err();
        assert!(matches!(e, Error::NoCredentials { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("s3://bucket/key.fits: no credentials: set AWS_ACCESS_KEY_ID"),
            "{msg}"
        );
        assert!(msg.contains("--anon"), "{msg}");
        assert_eq!(o.stats.requests(), 0, "no request, no metadata lookup");
    } else {
        eprintln!("SKIP the no-credentials half: AWS credentials are set in the environment");
    }
    // anonymous: unsigned, no credential lookup
    let mut anon = o.clone();
    anon.anonymous = true;
    let src = open_source("s3://bucket/key.fits", &anon).unwrap();
    assert_eq!(&src.read_range(0..100).unwrap()[..], &d[..100]);
    let reqs = s.reqs.lock().unwrap().clone();
    assert!(!reqs.is_empty());
    assert!(reqs
        .iter()
        .all(|r| !r.headers.to_ascii_lowercase().contains("authorization:")));
}

#[test]
fn metadata_endpoints_are_never_contacted() {
    // An ECS-style credential source points at 169.254.170.2: refused before any packet, said
    // as "no credentials".
    let o = opts()
        .with_option("aws_endpoint", "http://127.0.0.1:9")
        .with_option(
            "aws_container_credentials_relative_uri",
            "/v2/credentials/x",
        )
        .with_option("allow_http", "true");
    let e = open_source("s3://bucket/key.fits", &o).unwrap_err();
    assert!(matches!(e, Error::NoCredentials { .. }), "{e}");
    assert!(e.to_string().contains("ND_REMOTE_IMDS=1"), "{e}");
    assert!(o
        .stats
        .log()
        .iter()
        .all(|r| !r.path.contains("credentials")));
    // a URL on a metadata address itself
    let e = open_source("http://169.254.169.254/latest/meta-data/x", &opts()).unwrap_err();
    assert!(matches!(e, Error::NoCredentials { .. }), "{e}");
}

#[test]
fn missing_objects_and_keys() {
    let s = server(|_, r| match r.method.as_str() {
        "PROPFIND" => Act::Status(405, "not allowed".into()),
        _ => Act::Status(404, "not here".into()),
    });
    let e = open_source(&format!("{}/nope.fits", s.url), &opts()).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let st = open_store(&format!("{}/cube.zarr", s.url), &opts()).unwrap();
    assert!(st.get(".zmetadata").unwrap().is_none());
    assert!(st.get("../escape").is_err());
    // plain HTTP cannot list: a clear "not supported"
    let e = st.list_prefix("").unwrap_err().to_string();
    assert!(e.contains("not supported"), "{e}");
    // read-only unless asked
    assert!(matches!(
        st.set("x", b"1"),
        Err(nd_core::Error::ReadOnly(_))
    ));
}

#[test]
fn secrets_never_appear_in_errors() {
    // An S3 endpoint that echoes the request headers back in a 403 body.
    let s = server(|_, req| Act::Status(403, format!("<Error>{}</Error>", req.headers)));
    let o = opts()
        .with_option("aws_endpoint", s.url.clone())
        .with_option("aws_access_key_id", "AKIDEXAMPLE")
        .with_option("aws_secret_access_key", "wJalrXUtnFEMI-SECRET-KEY")
        .with_option("aws_session_token", "SESSION-TOKEN-VERY-SECRET-123")
        .with_option("allow_http", "true");
    let e = open_source("s3://bucket/key.fits", &o).unwrap_err();
    let msg = format!("{e} {e:?}");
    assert!(
        s.reqs.lock().unwrap()[0]
            .headers
            .contains("SESSION-TOKEN-VERY-SECRET-123"),
        "the token was sent"
    );
    assert!(!msg.contains("SESSION-TOKEN-VERY-SECRET-123"), "{msg}");
    assert!(!msg.contains("wJalrXUtnFEMI-SECRET-KEY"), "{msg}");
    assert!(
        msg.contains("403") || msg.contains("Forbidden") || msg.contains("denied"),
        "{msg}"
    );
    assert!(!format!("{o:?}").contains("SECRET"));
}

#[test]
fn requests_in_flight_are_bounded() {
    let d = data(400_000);
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l2, p2, d2) = (live.clone(), peak.clone(), d.clone());
    let s = server(move |_, _| {
        let n = l2.fetch_add(1, Ordering::SeqCst) + 1;
        p2.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        l2.fetch_sub(1, Ordering::SeqCst);
        serve(&d2)
    });
    let mut o = opts();
    o.max_in_flight = 3;
    o.coalesce_gap = 0;
    o.multi_range = false; // one request per range
    let src = open_f(&s, &o);
    let ranges: Vec<_> = (0..40u64).map(|i| i * 10_000..i * 10_000 + 100).collect();
    let got = src.read_ranges(&ranges).unwrap();
    for (r, g) in ranges.iter().zip(&got) {
        assert_eq!(&g[..], &d[r.start as usize..r.end as usize]);
    }
    let p = peak.load(Ordering::SeqCst);
    assert!((2..=3).contains(&p), "peak {p} in flight");
}

/// Reach the nd-remote error inside an nd-core error.
trait DowncastRemote {
    fn downcast_remote(&self) -> Option<&Error>;
}

impl DowncastRemote for nd_core::Error {
    fn downcast_remote(&self) -> Option<&Error> {
        match self {
            nd_core::Error::Other(b) => b.downcast_ref::<Error>(),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP multi-range requests (batched reads): `Act::Serve` answers single ranges only and a
// multi-range request with 200 and the whole object, like a server without multi-range support;
// `Act::Multi` is a server with it, or a misbehaving one.

fn label_ok(a: u64, b: u64, n: usize) -> String {
    format!("bytes {a}-{b}/{n}")
}

fn len_ok(a: u64, b: u64) -> u64 {
    b - a + 1
}

fn multi(data: &Arc<Vec<u8>>, parts: Vec<(u64, u64)>) -> Act {
    multi_cut(data, parts, None)
}

/// A correct multipart answer, cut after `keep` body bytes when set.
fn multi_cut(data: &Arc<Vec<u8>>, parts: Vec<(u64, u64)>, keep: Option<usize>) -> Act {
    Act::Multi {
        data: data.clone(),
        parts,
        label: label_ok,
        body_len: len_ok,
        keep,
    }
}

/// A server for `d` that answers single ranges normally and multi-range requests with
/// `f(request number, request)`.
fn multi_server(
    d: &Arc<Vec<u8>>,
    f: impl Fn(usize, &Req) -> Act + Send + Sync + 'static,
) -> Server {
    let d = d.clone();
    server(move |i, req| {
        if req.ranges.len() > 1 {
            f(i, req)
        } else {
            serve(&d)
        }
    })
}

/// 30 ranges of 300 bytes, 10,000 apart.
fn scattered() -> Vec<std::ops::Range<u64>> {
    (0..30u64)
        .map(|i| 20_000 + i * 10_000..20_000 + i * 10_000 + 300)
        .collect()
}

fn check(d: &[u8], ranges: &[std::ops::Range<u64>], got: &[bytes::Bytes]) {
    assert_eq!(got.len(), ranges.len());
    for (r, g) in ranges.iter().zip(got) {
        assert_eq!(&g[..], &d[r.start as usize..r.end as usize], "bytes {r:?}");
    }
}

fn open_remote(s: &Server, o: &RemoteOptions) -> nd_remote::RemoteSource {
    nd_remote::RemoteSource::open(&format!("{}/f.bin", s.url), o).unwrap()
}

#[test]
fn a_batch_is_one_multi_range_request() {
    let d = data(400_000);
    for reorder in [false, true] {
        let d2 = d.clone();
        let s = multi_server(&d, move |_, req| {
            let mut parts = req.ranges.clone();
            if reorder {
                // parts in another order, and the first two merged into one part
                let (a, b) = (parts[0], parts[1]);
                parts.drain(..2);
                parts.reverse();
                parts.insert(3, (a.0, b.1));
            }
            multi(&d2, parts)
        });
        let o = opts();
        let src = open_remote(&s, &o);
        let ranges = scattered();
        let got = src.read_ranges(&ranges).unwrap();
        check(&d, &ranges, &got);
        let reqs = s.reqs.lock().unwrap().clone();
        assert_eq!(reqs.len(), 2, "open + one request: {reqs:?}");
        assert_eq!(reqs[1].ranges.len(), 30);
        assert!(reqs[1]
            .headers
            .to_ascii_lowercase()
            .contains("if-match: \"v1\""));
        assert_eq!(o.stats.requests(), 2);
        // the first block, the data, the framing (about 80 bytes a part here) and the
        // preamble; the merged part adds its 9,700-byte gap
        let data_bytes = 4096 + 30 * 300 + if reorder { 9_700 } else { 0 };
        let b = o.stats.bytes();
        assert!(b >= data_bytes && b <= data_bytes + 30 * 160 + 100, "{b}");
        assert_eq!(src.multi_range_status(), Ok(()));
        // served again from what the batch fetched
        let again = src.read_ranges(&ranges[3..9]).unwrap();
        check(&d, &ranges[3..9], &again);
        assert_eq!(o.stats.requests(), 2);
    }
}

#[test]
fn a_server_ignoring_multi_range_requests_is_detected_and_the_batch_falls_back() {
    let d = data(4_000_000);
    let d2 = d.clone();
    let s = server(move |_, _| serve(&d2));
    let mut o = opts();
    o.coalesce_gap = 0;
    let src = open_remote(&s, &o);
    let ranges: Vec<_> = (0..30u64)
        .map(|i| 10_000 + i * 100_000..10_000 + i * 100_000 + 500)
        .collect();
    let got = src.read_ranges(&ranges).unwrap();
    check(&d, &ranges, &got);
    let why = src.multi_range_status().unwrap_err();
    assert!(why.contains("200"), "{why}");
    let reqs = s.reqs.lock().unwrap().clone();
    // open, the refused multi-range request (alone: the server's support was unknown), then
    // one request per range (coalesce_gap 0)
    assert_eq!(reqs.len(), 1 + 1 + 30, "{reqs:?}");
    assert_eq!(reqs[1].ranges.len(), 30);
    assert!(reqs[2..].iter().all(|r| r.range.is_some()));
    // the 4 MB answer to the multi-range request was not read
    assert!(
        o.stats.bytes() < 4096 + 30 * 500 + 1_000_000,
        "{}",
        o.stats.bytes()
    );
    // later batches do not try again
    let more: Vec<_> = ranges
        .iter()
        .map(|r| r.start + 1000..r.end + 1000)
        .collect();
    check(&d, &more, &src.read_ranges(&more).unwrap());
    assert!(s.reqs.lock().unwrap()[32..]
        .iter()
        .all(|r| r.ranges.len() == 1));
}

#[test]
fn a_single_part_answer_is_used_when_it_covers_the_ranges() {
    let d = data(4_000_000);
    let d2 = d.clone();
    let s = multi_server(&d, move |_, _| Act::SingleSpan { data: d2.clone() });
    let o = opts();
    let src = open_remote(&s, &o);
    // a span of 290 KB for 9 KB asked: within the bound (asked + max(asked, 1 MiB)), used
    let ranges = scattered();
    check(&d, &ranges, &src.read_ranges(&ranges).unwrap());
    assert_eq!(s.count.load(Ordering::SeqCst), 2);
    assert_eq!(src.multi_range_status(), Ok(()));
    // a span of 2.9 MB for 15 KB asked is refused before its body is read: fallback
    let mut o = opts();
    o.coalesce_gap = 0;
    let src = open_remote(&s, &o);
    let far: Vec<_> = (0..30u64)
        .map(|i| 10_000 + i * 100_000..10_000 + i * 100_000 + 500)
        .collect();
    check(&d, &far, &src.read_ranges(&far).unwrap());
    assert!(src.multi_range_status().is_err());
    assert!(
        o.stats.bytes() < 4096 + 30 * 500 + 1_000_000,
        "{}",
        o.stats.bytes()
    );
}

#[test]
fn a_missing_part_is_fetched_alone() {
    let d = data(400_000);
    let d2 = d.clone();
    let s = multi_server(&d, move |_, req| {
        let mut parts = req.ranges.clone();
        parts.remove(5);
        multi(&d2, parts)
    });
    let o = opts();
    let src = open_remote(&s, &o);
    let ranges = scattered();
    check(&d, &ranges, &src.read_ranges(&ranges).unwrap());
    let reqs = s.reqs.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_eq!(
        reqs[2].range,
        Some((ranges[5].start, ranges[5].end - 1)),
        "{reqs:?}"
    );
}

#[test]
fn a_cut_multipart_body_is_retried_then_a_clear_error() {
    let d = data(400_000);
    // cut once, then whole
    let d2 = d.clone();
    let s = multi_server(&d, move |i, req| {
        multi_cut(&d2, req.ranges.clone(), (i == 1).then_some(2000))
    });
    let o = opts();
    let src = open_remote(&s, &o);
    let ranges = scattered();
    check(&d, &ranges, &src.read_ranges(&ranges).unwrap());
    assert_eq!(s.count.load(Ordering::SeqCst), 3);

    // always cut: an error after 1 + retries attempts, never partial data
    let d2 = d.clone();
    let s = multi_server(&d, move |_, req| {
        multi_cut(&d2, req.ranges.clone(), Some(5000))
    });
    let src = open_remote(&s, &o);
    let e = src.read_ranges(&ranges).unwrap_err().to_string();
    assert_eq!(s.count.load(Ordering::SeqCst), 1 + 4, "{e}");
    assert!(e.contains("/f.bin") && e.contains("multi-range"), "{e}");
}

#[test]
fn lying_multipart_answers_are_errors() {
    let d = data(400_000);
    type Lie = (
        fn(u64, u64, usize) -> String,
        fn(u64, u64) -> u64,
        &'static str,
    );
    let lies: [Lie; 4] = [
        // a part one byte longer than its Content-Range
        (label_ok, |a, b| b - a + 2, "not followed by the boundary"),
        // one byte shorter
        (label_ok, |a, b| b - a, "not followed by the boundary"),
        // a part placed past the end of the object
        (
            |a, b, n| format!("bytes {}-{}/{n}", a + n as u64, b + n as u64),
            len_ok,
            "past the end",
        ),
        // another total size: the object changed
        (|a, b, _| format!("bytes {a}-{b}/999999"), len_ok, "changed"),
    ];
    for (label, body_len, what) in lies {
        let d2 = d.clone();
        let s = multi_server(&d, move |_, req| Act::Multi {
            data: d2.clone(),
            parts: req.ranges.clone(),
            label,
            body_len,
            keep: None,
        });
        let o = opts();
        let src = open_remote(&s, &o);
        let e = src.read_ranges(&scattered()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(what) && msg.contains("/f.bin"),
            "{what}: {msg}"
        );
        // not retried, not silently replaced by other requests
        assert_eq!(s.count.load(Ordering::SeqCst), 2, "{what}: {msg}");
    }
}
