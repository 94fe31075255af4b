//! `deviceflow demo --web`: the browser and TV-app story on one machine. The authorization
//! server runs on one loopback port; the TV example app (examples/tv/, embedded in this
//! binary) and the npm package's browser build (pkg/, read from disk: it is built, not
//! committed) are served from another, a different origin, which the server's CORS allows
//! for the demo's `deviceflow-tv` client. A person opens the TV page in one window and the
//! verification page (or the QR code, on a phone on the same machine) in another.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deviceflow_server::engine::Client;
use deviceflow_server::{ServerConfig, SignIn};
use serde_json::json;

use super::{start, DemoArgs};
use crate::exit::{CliError, FAILURE};
use crate::{browser, human, ndjson};

/// The public client of the TV app.
pub const TV_CLIENT: &str = "deviceflow-tv";
const TV_SCOPE: &str = "openid profile offline_access";

// tv/ holds links to examples/tv/ (the files live there; the links put them inside the
// crate, so the crates.io package carries them).
const INDEX_HTML: &str = include_str!("tv/index.html");
const APP_JS: &str = include_str!("tv/app.js");
const QR_JS: &str = include_str!("tv/qr.js");
const STYLE_CSS: &str = include_str!("tv/style.css");

/// Where the npm package is when this binary was built from the repository.
const PKG_IN_REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../pkg");
/// At most this many connections to the web server at once (it is a demo on loopback).
const MAX_CONNECTIONS: usize = 64;

struct Site {
    pkg: PathBuf,
    config_json: String,
    csp: String,
    open: AtomicUsize,
}

/// The package directory, checked to hold the browser build.
fn locate_pkg(given: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = given.map_or_else(|| PathBuf::from(PKG_IN_REPO), Path::to_path_buf);
    let wasm = dir.join("web/deviceflow_wasm_bg.wasm");
    if dir.join("browser.js").is_file() && wasm.is_file() {
        return Ok(dir);
    }
    Err(CliError::new(
        "missing_package",
        format!(
            "the npm package's browser build is missing ({} not found). Build it from the \
             repository with `npm run build --prefix pkg` (or `bash tests/suites/js.sh`), or \
             point --pkg-dir at a built `deviceflow` package",
            wasm.display()
        ),
        FAILURE,
    ))
}

pub fn run(args: &DemoArgs, json: bool) -> Result<(), CliError> {
    let pkg = locate_pkg(args.pkg_dir.as_deref())?;
    let interval = args.interval.unwrap_or(2);
    let ttl = args.code_ttl.unwrap_or(600);
    if interval == 0 || interval > 60 || ttl <= interval || ttl > 3600 {
        return Err(CliError::input(
            "--interval must be 1..60 s and --code-ttl longer than it, at most 3600 s",
        ));
    }
    let listener = TcpListener::bind(("127.0.0.1", args.web_port)).map_err(|e| {
        CliError::new(
            "server_error",
            format!("could not listen on 127.0.0.1:{}: {e}", args.web_port),
            FAILURE,
        )
    })?;
    let web_port = listener.local_addr().map_err(io_error)?.port();
    let app_url = format!("http://127.0.0.1:{web_port}/");
    let origins = vec![
        format!("http://127.0.0.1:{web_port}"),
        format!("http://localhost:{web_port}"),
    ];

    let mut config = ServerConfig::on_port(args.port);
    // The demo's page asks for a name and believes it: fine on loopback, for a demo.
    config.sign_in = SignIn::Dev;
    config.interval_secs = interval;
    config.device_code_ttl_secs = ttl;
    config.clients.push(Client::public(
        TV_CLIENT,
        "Living-room TV (demo)",
        &["openid", "profile", "offline_access"],
    ));
    config
        .allowed_origins
        .insert(TV_CLIENT.to_owned(), origins.clone());
    let server = start(config)?;
    let issuer = server.issuer().to_owned();
    let site = Arc::new(Site {
        pkg,
        config_json: json!({
            "issuer": issuer,
            "client_id": TV_CLIENT,
            "scope": TV_SCOPE,
            "app_name": "deviceflow TV demo",
        })
        .to_string(),
        csp: format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self'; connect-src 'self' {issuer}; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'"
        ),
        open: AtomicUsize::new(0),
    });
    let accept_site = site.clone();
    std::thread::Builder::new()
        .name("demo-web".into())
        .spawn(move || accept(listener, accept_site))
        .map_err(io_error)?;

    if json {
        ndjson::emit(&[
            ("status", json!("web_demo")),
            ("app", json!(app_url)),
            ("issuer", json!(issuer)),
            ("verification_uri", json!(server.verification_uri())),
            ("client_id", json!(TV_CLIENT)),
            ("allowed_origins", json!(origins)),
        ]);
    } else {
        human::say(&format!(
            "Local authorization server: {issuer}  (SQLite in memory; dev sign-in: its page \
             believes any name typed in)"
        ));
        human::say(&format!(
            "\n  1. The TV:    {app_url}\n     open it in one browser window (full screen: F11). \
             Use the arrow keys and Enter, as with a remote."
        ));
        human::say(&format!(
            "  2. The phone: {}\n     open it in a second window (or scan the QR code), sign in \
             with any name and approve the code the TV shows.",
            server.verification_uri()
        ));
        human::say(&format!(
            "\nThe TV page is another origin; the server allows it by CORS for the public client \
             \"{TV_CLIENT}\". Codes live {ttl} s; the TV polls every {interval} s.\n\
             Press Ctrl-C to stop."
        ));
    }
    if args
        .prompt
        .open()
        .unwrap_or(browser::headless_reason_here().is_none())
    {
        if let Err(e) = browser::open(&app_url) {
            human::say(&format!("(could not open a browser: {e})"));
        }
    }
    crate::serve::run_until_interrupted(server, json);
    Ok(())
}

fn io_error(e: std::io::Error) -> CliError {
    CliError::new("server_error", e.to_string(), FAILURE)
}

fn accept(listener: TcpListener, site: Arc<Site>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if site.open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            site.open.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: closes the connection
        }
        let site = site.clone();
        let spawned = std::thread::Builder::new()
            .name("demo-web-conn".into())
            .spawn(move || {
                let _ = serve(stream, &site);
                site.open.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One request per connection (`Connection: close`): GET or HEAD of a known file.
fn serve(mut stream: TcpStream, site: &Site) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() + n > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let reply = if method != "GET" && method != "HEAD" {
        Reply::text(405, "method not allowed")
    } else {
        route(path, site)
    };
    write(&mut stream, &reply, method == "HEAD", site)
}

struct Reply {
    status: u16,
    kind: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            kind: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }
    fn ok(kind: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status: 200,
            kind,
            body: body.into(),
        }
    }
}

const JS: &str = "text/javascript; charset=utf-8";

fn route(path: &str, site: &Site) -> Reply {
    match path {
        "/" | "/index.html" => Reply::ok("text/html; charset=utf-8", INDEX_HTML),
        "/app.js" => Reply::ok(JS, APP_JS),
        "/qr.js" => Reply::ok(JS, QR_JS),
        "/style.css" => Reply::ok("text/css; charset=utf-8", STYLE_CSS),
        "/config.json" => Reply::ok("application/json", site.config_json.clone()),
        "/favicon.ico" => Reply {
            status: 204,
            kind: "text/plain",
            body: Vec::new(),
        },
        _ => match package_file(path) {
            Some((rel, kind)) => match std::fs::read(site.pkg.join(rel)) {
                Ok(body) => Reply::ok(kind, body),
                Err(_) => Reply::text(404, "not found (is the npm package built?)"),
            },
            None => Reply::text(404, "not found"),
        },
    }
}

/// The package files a browser loads, and nothing else: `/pkg/browser.js`, `/pkg/src/NAME.js`,
/// `/pkg/web/deviceflow_wasm.js` and its `.wasm`.
fn package_file(path: &str) -> Option<(&str, &'static str)> {
    let rel = path.strip_prefix("/pkg/")?;
    match rel {
        "browser.js" | "web/deviceflow_wasm.js" => Some((rel, JS)),
        "web/deviceflow_wasm_bg.wasm" => Some((rel, "application/wasm")),
        _ => {
            let name = rel.strip_prefix("src/")?.strip_suffix(".js")?;
            let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase());
            plain.then_some((rel, JS))
        }
    }
}

fn write(
    stream: &mut TcpStream,
    reply: &Reply,
    head_only: bool,
    site: &Site,
) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        204 => "No Content",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n",
        reply.status,
        reply.kind,
        reply.body.len()
    );
    if reply.kind.starts_with("text/html") {
        out.push_str(&format!(
            "Content-Security-Policy: {}\r\nX-Frame-Options: DENY\r\n",
            site.csp
        ));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    if !head_only {
        stream.write_all(&reply.body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::package_file;

    #[test]
    fn only_the_package_files_a_browser_needs_are_served() {
        assert_eq!(
            package_file("/pkg/browser.js").map(|f| f.0),
            Some("browser.js")
        );
        assert_eq!(
            package_file("/pkg/src/driver.js").map(|f| f.0),
            Some("src/driver.js")
        );
        assert_eq!(
            package_file("/pkg/web/deviceflow_wasm_bg.wasm").map(|f| f.1),
            Some("application/wasm")
        );
        for bad in [
            "/pkg/../Cargo.toml",
            "/pkg/src/../../Cargo.toml",
            "/pkg/src/.js",
            "/pkg/src/a/b.js",
            "/pkg/package.json",
            "/pkg/node/deviceflow_wasm.js",
            "/pkg/src/%2e%2e.js",
            "/etc/passwd",
        ] {
            assert_eq!(package_file(bad), None, "{bad}");
        }
    }
}
