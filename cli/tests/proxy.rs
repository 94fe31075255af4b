//! Proxy environment variables are honoured for remote hosts, and loopback hosts are
//! always reached directly.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A "proxy" that records the first line of every request and hangs up.
fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(stream).read_line(&mut line);
            log.lock().unwrap().push(line.trim().to_owned());
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn https_proxy_is_used_for_remote_hosts() {
    let (proxy, seen) = recording_proxy();
    let home = Home::new("proxy");
    let mut c = cli(&home);
    c.env("HTTPS_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    c.args([
        "--json",
        "login",
        "--issuer",
        "https://auth.example.com",
        "--client-id",
        "x",
    ]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stdout));
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT auth.example.com:443")),
        "the proxy saw {seen:?}"
    );
}

#[test]
fn loopback_never_goes_through_the_proxy() {
    let (proxy, seen) = recording_proxy();
    let base = hostile_server(400, br#"{"error":"access_denied"}"#.to_vec());
    let home = Home::new("noproxy");
    let mut c = cli(&home);
    c.env("HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("ALL_PROXY", &proxy);
    c.args([
        "--json",
        "login",
        "--device-endpoint",
        &format!("{base}/device"),
    ])
    .args([
        "--token-endpoint",
        &format!("{base}/token"),
        "--client-id",
        "x",
    ]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(seen.lock().unwrap().is_empty());
}
