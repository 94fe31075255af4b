//! node-oidc-provider (`tests/e2e/provider.mjs`) on 127.0.0.1 for the end-to-end tests, its
//! approval script, a blocking transport and the clock.

use deviceflow::{Header, HttpRequest, HttpResponse, Timestamp, TransportError};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

/// The provider child; killed on drop (it also exits when its stdin closes).
pub struct Provider {
    child: Child,
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether node-oidc-provider is installed; says SKIPPED (and fails under CI=true) if not.
pub fn provider_available() -> bool {
    let ok = repo().join("tests/node_modules/oidc-provider").exists();
    if !ok {
        super::skip("the node-oidc-provider tests need `npm ci --prefix tests`");
    }
    ok
}

/// Starts the provider (interval 1 s, at most 120 s of life) with `env` added.
pub fn start_provider(env: &[(&str, &str)]) -> Provider {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/e2e/provider.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd.env("DEVICE_INTERVAL", "1").env("MAX_LIFETIME", "120");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
    Provider {
        child,
        issuer: v["issuer"].as_str().unwrap().to_owned(),
    }
}

/// Approves (or denies) `user_code` through the provider's own pages, in the background.
pub fn approve(issuer: &str, user_code: &str, deny: bool) -> Child {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/e2e/approve.mjs")).args([
        "--issuer",
        issuer,
        "--user-code",
        user_code,
    ]);
    if deny {
        cmd.arg("--deny");
    }
    cmd.stdout(Stdio::null()).spawn().expect("node")
}

/// A blocking transport: no redirects, timeouts, every status returned as data.
pub fn send(req: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(req.method.as_str())
        .uri(&req.url);
    for h in &req.headers {
        builder = builder.header(&h.name, &h.value);
    }
    let request = builder.body(req.body.clone()).unwrap();
    let mut resp = agent.run(request).map_err(|e| match e {
        ureq::Error::Timeout(_) => TransportError::Timeout,
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            TransportError::Connect
        }
        _ => TransportError::Other,
    })?;
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), v.to_str().unwrap_or("")))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .map_err(|_| TransportError::Io)?;
    Ok(HttpResponse {
        status: resp.status().as_u16(),
        headers,
        body,
    })
}
