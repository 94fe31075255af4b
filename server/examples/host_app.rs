//! A host application that embeds the device-flow server with its own sign-in.
//!
//! The host is an axum app with its own login page (`/login`: a username form that sets the
//! host's own signed cookie) and home page. It nests the server's router under
//! `/login/device` and tells it who is signed in by implementing `Authenticator` on its login:
//! a browser that is not signed in is sent to `/login?next=…` and comes back to the code entry.
//!
//! `cargo run -p deviceflow-server --example host_app [-- PORT]` prints the issuer on one stdout
//! line and serves until stdin closes. `server/tests/signin/` runs it in-process.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use deviceflow_server::engine::Random;
use deviceflow_server::http::signin::{
    ready, Auth, AuthFuture, Authenticator, SignIn, SignInRequest, User,
};
use deviceflow_server::{embed, Embedded, ServerConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Where the host nests the device-flow server.
pub const PREFIX: &str = "/login/device";
const COOKIE: &str = "host_user";

/// The host's own sign-in: a cookie `host_user=<name>.<HMAC>` under the host's key.
pub struct HostLogin {
    key: [u8; 32],
}

impl HostLogin {
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        deviceflow_server::OsRandom.fill(&mut key);
        HostLogin { key }
    }

    fn mac(&self, name: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(name.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// The `Set-Cookie` value that signs `name` in.
    fn cookie_for(&self, name: &str) -> String {
        let value = format!("{}.{}", B64.encode(name), self.mac(name));
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax")
    }

    /// Who the host's cookie names, if its signature holds.
    fn user(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)?
            .1;
        let (name, mac) = value.split_once('.')?;
        let name = String::from_utf8(B64.decode(name).ok()?).ok()?;
        let good = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("any key length")
            .chain_update(name.as_bytes())
            .verify_slice(&B64.decode(mac).ok()?)
            .is_ok();
        good.then_some(name)
    }
}

impl Default for HostLogin {
    fn default() -> Self {
        Self::new()
    }
}

/// The device-flow pages ask the host who is signed in.
impl Authenticator for HostLogin {
    fn authenticate<'a>(&'a self, req: SignInRequest<'a>) -> AuthFuture<'a> {
        ready(match self.user(&req.parts.headers) {
            Some(name) => Auth::SignedIn(User::new(name)),
            None => Auth::SignIn {
                redirect_to: format!("/login?next={}", encode(req.return_to)),
            },
        })
    }

    fn sign_out_url(&self, return_to: &str) -> Option<String> {
        Some(format!("/logout?next={}", encode(return_to)))
    }
}

/// The host's whole app on `origin` (`http://127.0.0.1:PORT`): its own pages and the
/// device-flow server nested at [`PREFIX`], whose issuer is `{origin}{PREFIX}`.
pub async fn host_app(
    origin: &str,
    mut config: ServerConfig,
) -> std::io::Result<(Router, Embedded)> {
    let login = Arc::new(HostLogin::new());
    config.issuer = Some(format!("{origin}{PREFIX}"));
    config.sign_in = SignIn::Host(login.clone());
    let embedded = embed(config).await?;
    let app = Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", get(logout))
        .with_state(login)
        .nest(PREFIX, embedded.router.clone());
    Ok((app, embedded))
}

/// The value of `name` in a query string or form body ("" when absent).
fn field(form: &[u8], name: &str) -> String {
    form_urlencoded::parse(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn query(uri: &Uri) -> &[u8] {
    uri.query().unwrap_or("").as_bytes()
}

async fn home(State(login): State<Arc<HostLogin>>, headers: HeaderMap) -> Html<String> {
    let who = login.user(&headers).unwrap_or_else(|| "nobody".into());
    Html(format!(
        "<!doctype html><title>Host</title><h1>Host app</h1><p>Signed in: {}</p>\
         <p><a href=\"{PREFIX}/device\">Sign in a device</a></p>",
        escape(&who)
    ))
}

async fn login_page(uri: Uri) -> Html<String> {
    Html(format!(
        "<!doctype html><title>Host login</title><h1>Host login</h1>\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>Username <input name=\"username\" id=\"username\" required maxlength=\"64\"></label>\
         <button type=\"submit\">Sign in</button></form>",
        escape(&field(query(&uri), "next"))
    ))
}

async fn login_submit(State(login): State<Arc<HostLogin>>, body: Bytes) -> Response {
    let username = field(&body, "username");
    let name = username.trim();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return (StatusCode::BAD_REQUEST, "a username, please").into_response();
    }
    let mut resp = see_other(local_path(&field(&body, "next")));
    if let Ok(v) = HeaderValue::from_str(&login.cookie_for(name)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn logout(uri: Uri) -> Response {
    let next = field(query(&uri), "next");
    let mut resp = see_other(&format!("/login?next={}", encode(local_path(&next))));
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("host_user=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    resp
}

/// `next` if it is a path on this host, else `/` (no open redirect).
fn local_path(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next
    } else {
        "/"
    }
}

fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let (app, embedded) = host_app(&origin, ServerConfig::default()).await?;
        println!("{}", embedded.issuer);
        // Serve until stdin closes (the parent closed the pipe or died).
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stdin_closed.await;
        })
        .await
    })
}
