//! `nd` on URLs that fail: one line on stderr naming the URL and the cause, exit status 2, and
//! `--timeout` bounding a server that never answers. Loopback only.

mod common;
use common::nd;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A listener that accepts and never answers, for `secs` seconds at most.
fn silent_server(secs: u64) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut held = Vec::new();
        while Instant::now() < end {
            match l.accept() {
                Ok((c, _)) => held.push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    url
}

#[test]
fn timeout_flag_bounds_a_silent_server() {
    let base = silent_server(30);
    let url = format!("{base}/cube.fits");
    let t = Instant::now();
    let o = nd(&["info", "--timeout", "1", &url]);
    let took = t.elapsed();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr, format!("nd: {url}: timed out after 1 s\n"));
    assert!(took < Duration::from_secs(4), "{took:?}");
    // a bad value is a usage error
    let o = nd(&["info", "--timeout", "soon", &url]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--timeout"), "{}", o.stderr);
}

#[test]
fn unreachable_urls_are_one_plain_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (url, cause) in [
        (
            format!("http://127.0.0.1:{port}/x.fits"),
            "connection refused".to_string(),
        ),
        (
            "http://nd-test.invalid/x.fits".to_string(),
            "cannot resolve host nd-test.invalid".to_string(),
        ),
    ] {
        let o = nd(&["info", "--anon", &url]);
        assert_eq!(o.code, 2);
        assert_eq!(o.stderr, format!("nd: {url}: {cause}\n"));
    }
}
