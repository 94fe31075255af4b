//! Who is signed in on the verification pages. The page knows the user from a real source
//! before it shows a code entry; [`SignIn`] (the `sign_in` field of `ServerConfig`) says which:
//!
//! * [`SignIn::Host`]: the host application's own sign-in, through an [`Authenticator`] it
//!   implements (the server embedded with [`crate::http::embed`]);
//! * [`SignIn::Header`]: an authenticating proxy (oauth2-proxy's `X-Auth-Request-User`, ...)
//!   names the user in a header, believed only from `trusted_proxies`: any other peer is
//!   refused (403) without the header being read;
//! * [`SignIn::Upstream`]: an upstream OpenID provider, authorization code flow with PKCE; the
//!   validated user is kept in the signed session cookie for the session's 30 minutes;
//! * [`SignIn::Dev`]: a name box, believed as typed. For demos and tests only; it is the
//!   default of `ServerConfig::default()` (which the tests and `approve_via_page` use).
//!
//! Code-entry limits count per signed-in user (`user:<id>`), so they follow the user across
//! browsers; only the dev sign-in counts per browser session, since anyone can type a name.

mod fetch;
mod id_token;
mod routes;
mod upstream;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::HeaderName;

pub(crate) use routes::routes;
use upstream::Upstream;
pub use upstream::{UpstreamError, UpstreamSignIn};

use super::client_ip::TrustedProxies;
use super::session::Session;

/// A signed-in user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable and unique: becomes the `sub` of the tokens (at most 255 bytes, no control
    /// characters; anything else is refused).
    pub id: String,
    /// Shown on the pages ("Signed in as …"); cut to 64 characters, control and BiDi
    /// characters removed. Empty: the id is shown.
    pub display_name: String,
}

impl User {
    /// A user shown by their id.
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        User {
            display_name: id.clone(),
            id,
        }
    }
}

/// An [`Authenticator`]'s answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// This user is signed in.
    SignedIn(User),
    /// Nobody is: send the browser here (303) to sign in, typically the host's login page with
    /// [`SignInRequest::return_to`] as where to come back to. On a form POST the page shows a
    /// link instead (a redirect to another origin would break the form's CSP).
    SignIn { redirect_to: String },
    /// Someone is signed in but may not use this page: a 403 page with `reason`.
    Refused { reason: String },
}

/// What an [`Authenticator`] is asked about: one request to the verification pages.
#[derive(Clone, Copy, Debug)]
pub struct SignInRequest<'a> {
    /// The request head: headers (the host's cookies), URI (as seen inside the nested router),
    /// and extensions (whatever the host's own layers put there, axum's `OriginalUri`).
    pub parts: &'a Parts,
    /// The TCP peer (behind a proxy: the proxy).
    pub peer: SocketAddr,
    /// The verification page's path, mount prefix included (`/login/device/device`): where
    /// to come back to after signing in.
    pub return_to: &'a str,
}

/// What [`Authenticator::authenticate`] returns: a boxed future (use [`ready`] for an answer
/// at hand).
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Auth> + Send + 'a>>;

/// The host application's sign-in, asked on every request to the verification pages (code
/// entry, confirmation, decision). The decision is checked against the user the confirmation
/// was shown to, so a user switching mid-way approves nothing.
///
/// ```
/// use deviceflow_server::http::signin::{ready, Auth, AuthFuture, Authenticator, SignInRequest, User};
///
/// struct MyLogin;
/// impl Authenticator for MyLogin {
///     fn authenticate<'a>(&'a self, req: SignInRequest<'a>) -> AuthFuture<'a> {
///         let user = req.parts.headers.get("x-demo-user").and_then(|v| v.to_str().ok());
///         ready(match user {
///             Some(name) => Auth::SignedIn(User::new(name)),
///             None => Auth::SignIn { redirect_to: format!("/login?next={}", req.return_to) },
///         })
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync {
    /// Who is signed in, or where to sign in. Async so that a host can look its session up in a
    /// database; it runs on the server's async workers, so it must not block.
    fn authenticate<'a>(&'a self, req: SignInRequest<'a>) -> AuthFuture<'a>;

    /// Where "Not you?" leads once this page has forgotten the user (the host's sign-out or
    /// account switch); `return_to` as in [`SignInRequest`]. Default: back to the page.
    fn sign_out_url(&self, return_to: &str) -> Option<String> {
        let _ = return_to;
        None
    }
}

/// An [`AuthFuture`] that is already resolved.
pub fn ready<'a>(auth: Auth) -> AuthFuture<'a> {
    Box::pin(std::future::ready(auth))
}

/// How the verification page knows who is signed in (the `sign_in` field of `ServerConfig`;
/// `[sign_in]` in the configuration file). See the module documentation.
#[derive(Clone, Default)]
pub enum SignIn {
    /// A name box, believed as typed: demos and tests only (`deviceflow serve --dev-sign-in`
    /// warns). The library default.
    #[default]
    Dev,
    /// A header set by an authenticating proxy (`--user-header NAME`, with `--trust-proxy`).
    Header(HeaderSignIn),
    /// An upstream OpenID provider (`--upstream-issuer URL --upstream-client-id ID`).
    Upstream(UpstreamSignIn),
    /// The host application's own sign-in.
    Host(Arc<dyn Authenticator>),
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignIn::Dev => f.write_str("Dev"),
            SignIn::Header(h) => f.debug_tuple("Header").field(h).finish(),
            SignIn::Upstream(u) => f.debug_tuple("Upstream").field(u).finish(),
            SignIn::Host(_) => f.write_str("Host(<authenticator>)"),
        }
    }
}

/// Sign-in by a header from an authenticating proxy in front of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSignIn {
    /// The header naming the user (`X-Auth-Request-User` for oauth2-proxy's auth-request mode,
    /// `X-Forwarded-User` for its proxy mode). Its value is the user id.
    pub header: String,
    /// Where "Not you?" leads: the proxy's sign-out (oauth2-proxy: `/oauth2/sign_out`).
    pub sign_out_url: Option<String>,
}

impl HeaderSignIn {
    pub fn new(header: impl Into<String>) -> Self {
        HeaderSignIn {
            header: header.into(),
            sign_out_url: None,
        }
    }
}

/// The upstream redirect URI for a server with this issuer: `{issuer}/device/callback`.
pub fn callback_uri(issuer: &str) -> String {
    format!("{}/device/callback", issuer.trim_end_matches('/'))
}

/// The sign-in as the server runs it.
pub(crate) struct Signer {
    mode: Mode,
}

enum Mode {
    Dev,
    Header {
        name: HeaderName,
        /// As configured, for messages (`name` is lower case).
        label: String,
        sign_out_url: Option<String>,
    },
    Upstream(Arc<Upstream>),
    Host(Arc<dyn Authenticator>),
}

/// Who the pages are dealing with.
pub(crate) enum Who {
    User(User),
    /// Dev sign-in, nobody yet: the entry form asks for a name.
    AskName,
    Redirect(String),
    Refused(String),
}

impl Signer {
    /// Checks the configuration: a header sign-in needs trusted proxies, an upstream issuer
    /// must be https (or http on loopback).
    pub(crate) fn new(
        sign_in: &SignIn,
        issuer: &str,
        trusted: &TrustedProxies,
    ) -> io::Result<Self> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let mode = match sign_in {
            SignIn::Dev => Mode::Dev,
            SignIn::Header(h) => {
                let name = HeaderName::try_from(h.header.as_str()).map_err(|_| {
                    bad(format!(
                        "sign-in header {:?} is not a header name",
                        h.header
                    ))
                })?;
                if trusted.0.is_empty() {
                    return Err(bad(format!(
                        "sign-in by the {name} header needs the proxies it is believed from \
                         (trusted_proxies, --trust-proxy)"
                    )));
                }
                Mode::Header {
                    name,
                    label: h.header.clone(),
                    sign_out_url: h.sign_out_url.clone(),
                }
            }
            SignIn::Upstream(u) => {
                if !safe_url(&u.issuer) {
                    return Err(bad(format!(
                        "upstream issuer {:?} must be an https URL (http only on loopback)",
                        u.issuer
                    )));
                }
                if u.client_id.is_empty() {
                    return Err(bad("the upstream client id is empty".into()));
                }
                if !u.scope.split(' ').any(|s| s == "openid") {
                    return Err(bad("the upstream scope must include openid".into()));
                }
                Mode::Upstream(Arc::new(Upstream::new(u.clone(), callback_uri(issuer))))
            }
            SignIn::Host(a) => Mode::Host(a.clone()),
        };
        Ok(Signer { mode })
    }

    pub(crate) fn is_dev(&self) -> bool {
        matches!(self.mode, Mode::Dev)
    }

    fn upstream(&self) -> Option<&Arc<Upstream>> {
        match &self.mode {
            Mode::Upstream(u) => Some(u),
            _ => None,
        }
    }

    /// Who is signed in for this request. `base` is the pages' path prefix.
    pub(crate) async fn who(
        &self,
        parts: &Parts,
        peer: SocketAddr,
        session: &Session,
        trusted: &TrustedProxies,
        base: &str,
        now_ms: i64,
    ) -> Who {
        let from_session = || {
            session
                .user
                .as_ref()
                .filter(|u| now_ms < u.until_ms)
                .map(|u| User {
                    id: u.id.clone(),
                    display_name: u.name.clone(),
                })
        };
        match &self.mode {
            Mode::Dev => from_session().map_or(Who::AskName, Who::User),
            Mode::Upstream(_) => from_session()
                .map_or_else(|| Who::Redirect(format!("{base}/device/signin")), Who::User),
            Mode::Header { name, label, .. } => {
                if !trusted.contains(peer.ip()) {
                    return Who::Refused(
                        "This page is served only through the sign-in proxy.".into(),
                    );
                }
                let mut values = parts.headers.get_all(name).iter();
                match (values.next().map(|v| v.to_str()), values.next()) {
                    (Some(Ok(id)), None) => checked(User::new(id.trim())),
                    _ => Who::Refused(format!(
                        "The sign-in proxy did not say who you are (one {label} header expected)."
                    )),
                }
            }
            Mode::Host(auth) => {
                let return_to = format!("{base}/device");
                let req = SignInRequest {
                    parts,
                    peer,
                    return_to: &return_to,
                };
                match auth.authenticate(req).await {
                    Auth::SignedIn(user) => checked(user),
                    Auth::SignIn { redirect_to } => Who::Redirect(redirect_to),
                    Auth::Refused { reason } => Who::Refused(reason),
                }
            }
        }
    }

    /// The key the per-session entry limit counts under: the user, so it follows them across
    /// browsers; for the dev sign-in the browser session (a typed name is anyone's to claim, and
    /// keying on it would let anyone lock that name out).
    pub(crate) fn limit_key(&self, user: &User, session: &Session) -> String {
        match self.mode {
            Mode::Dev => session.id.clone(),
            _ => format!("user:{}", user.id),
        }
    }

    /// Where "Not you?" leads after the page forgot the user: `None` = back to the page.
    pub(crate) fn sign_out_url(&self, base: &str) -> Option<String> {
        match &self.mode {
            Mode::Header { sign_out_url, .. } => sign_out_url.clone(),
            Mode::Host(auth) => auth.sign_out_url(&format!("{base}/device")),
            Mode::Dev | Mode::Upstream(_) => None,
        }
    }
}

/// A user from outside (header, host, upstream) made safe to keep and show, or refused.
fn checked(user: User) -> Who {
    match clean_user(user) {
        Some(user) => Who::User(user),
        None => Who::Refused("The sign-in named no usable user.".into()),
    }
}

/// The id as given if it is 1..=255 bytes without control characters and with something
/// visible; the display name without control, BiDi or invisible formatting characters, cut to
/// 64 characters (the id's start when nothing is left).
pub(crate) fn clean_user(user: User) -> Option<User> {
    let id = user.id;
    if id.is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
        return None;
    }
    let shown = |s: &str| -> String {
        s.chars()
            .filter(|&c| !c.is_control() && !is_format(c))
            .collect::<String>()
            .trim()
            .chars()
            .take(64)
            .collect()
    };
    let mut display_name = shown(&user.display_name);
    if display_name.is_empty() {
        display_name = shown(&id);
    }
    // An id with nothing visible in it cannot be shown to the person it names.
    (!display_name.is_empty()).then_some(User { id, display_name })
}

/// BiDi controls and invisible formatting characters (they can make a name read as another).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// https, or http to a loopback address; no userinfo, fragment or whitespace.
pub(crate) fn safe_url(url: &str) -> bool {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => rest.split(['/', ':', '?']).next().unwrap_or(""),
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return false;
        }
        rest
    } else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    !authority.is_empty()
        && !authority.contains('@')
        && !url.contains('#')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_from_outside_are_checked_and_their_names_cleaned() {
        let u = clean_user(User {
            id: "alice".into(),
            display_name: "\u{202E}ecilA\u{202C} \u{7}".into(),
        })
        .unwrap();
        assert_eq!(u.display_name, "ecilA");
        let long = clean_user(User {
            id: "bob".into(),
            display_name: "x".repeat(100),
        })
        .unwrap();
        assert_eq!(long.display_name.chars().count(), 64);
        assert!(clean_user(User::new("\u{200B}")).is_none());
        assert!(clean_user(User::new("")).is_none());
        assert!(clean_user(User::new("a\nb")).is_none());
        assert!(clean_user(User::new("x".repeat(256))).is_none());
        assert!(clean_user(User::new("x".repeat(255))).is_some());
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_safe() {
        for ok in [
            "https://op.example",
            "https://op.example:8443/tenant/v2.0",
            "http://127.0.0.1:9000",
            "http://localhost/x",
            "http://[::1]:80/",
        ] {
            assert!(safe_url(ok), "{ok}");
        }
        for bad in [
            "http://op.example",
            "http://127.0.0.1.evil.example/",
            "https://user@op.example",
            "https://op.example/#frag",
            "https://",
            "ftp://op.example",
            "https://op.example/a b",
        ] {
            assert!(!safe_url(bad), "{bad}");
        }
    }

    #[test]
    fn the_header_sign_in_needs_trusted_proxies() {
        let header = SignIn::Header(HeaderSignIn::new("X-Auth-Request-User"));
        let err = Signer::new(&header, "https://a.example", &TrustedProxies::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
        let trusted = TrustedProxies(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(Signer::new(&header, "https://a.example", &trusted).is_ok());
        let bad_name = SignIn::Header(HeaderSignIn::new("X Bad"));
        assert!(Signer::new(&bad_name, "https://a.example", &trusted).is_err());
        let plain = SignIn::Upstream(UpstreamSignIn::new("http://op.example", "c"));
        assert!(Signer::new(&plain, "https://a.example", &trusted).is_err());
    }
}
