//! `[sign_in]`: how a person signs in on the verification page. Each method's keys are
//! checked, and a key of another method is refused.

use toml::Spanned;

use super::check::{check_client_id, check_issuer, check_scope, is_env_name, is_header_name};
use super::schema::{SignIn as Section, SignInMethod};
use super::{ConfigError, Ctx};
use crate::http::signin::{HeaderSignIn, SignIn, UpstreamSignIn};

pub(super) fn build(s: &Section, cx: &Ctx) -> Result<SignIn, ConfigError> {
    let method = *s.method.get_ref();
    let own: &[&str] = match method {
        SignInMethod::Dev => &[],
        SignInMethod::Header => &["header", "sign_out_url"],
        SignInMethod::Upstream => &["issuer", "client_id", "client_secret_env", "scopes"],
    };
    let span = |v: Option<&Spanned<String>>| v.map(Spanned::span);
    for (key, at) in [
        ("header", span(s.header.as_ref())),
        ("sign_out_url", span(s.sign_out_url.as_ref())),
        ("issuer", span(s.issuer.as_ref())),
        ("client_id", span(s.client_id.as_ref())),
        ("client_secret_env", span(s.client_secret_env.as_ref())),
        ("scopes", s.scopes.as_ref().map(Spanned::span)),
    ] {
        if let Some(at) = at.filter(|_| !own.contains(&key)) {
            return Err(cx.invalid(
                format!("sign_in.{key}"),
                at,
                format!("not a key of method = {:?}", method_name(method)),
            ));
        }
    }
    let missing = |key: &str| {
        cx.invalid(
            "sign_in.method",
            s.method.span(),
            format!("method = {:?} needs `{key}`", method_name(method)),
        )
    };
    match method {
        SignInMethod::Dev => Ok(SignIn::Dev),
        SignInMethod::Header => {
            let header = s.header.as_ref().ok_or_else(|| missing("header"))?;
            if !is_header_name(header.get_ref()) {
                return Err(cx.invalid(
                    "sign_in.header",
                    header.span(),
                    format!("{:?} is not an HTTP header name", header.get_ref()),
                ));
            }
            let mut h = HeaderSignIn::new(header.get_ref());
            if let Some(url) = &s.sign_out_url {
                let u = url.get_ref();
                let ok =
                    (u.starts_with('/') || u.starts_with("https://") || u.starts_with("http://"))
                        && !u.chars().any(|c| c.is_control() || c == ' ' || c == '"');
                if !ok {
                    return Err(cx.invalid(
                        "sign_in.sign_out_url",
                        url.span(),
                        "must be a path (\"/oauth2/sign_out\") or an http(s) URL",
                    ));
                }
                h.sign_out_url = Some(u.clone());
            }
            Ok(SignIn::Header(h))
        }
        SignInMethod::Upstream => {
            let issuer = s.issuer.as_ref().ok_or_else(|| missing("issuer"))?;
            check_issuer(issuer.get_ref()).map_err(|why| {
                cx.invalid(
                    "sign_in.issuer",
                    issuer.span(),
                    format!("{:?} {why}", issuer.get_ref()),
                )
            })?;
            let client_id = s.client_id.as_ref().ok_or_else(|| missing("client_id"))?;
            check_client_id(client_id.get_ref())
                .map_err(|why| cx.invalid("sign_in.client_id", client_id.span(), why))?;
            let mut up = UpstreamSignIn::new(issuer.get_ref(), client_id.get_ref());
            if let Some(var) = &s.client_secret_env {
                up.client_secret = Some(secret_from_env(var, cx)?);
            }
            if let Some(list) = &s.scopes {
                let mut scopes: Vec<&str> = Vec::new();
                for (j, scope) in list.get_ref().iter().enumerate() {
                    let key = format!("sign_in.scopes[{j}]");
                    check_scope(scope.get_ref())
                        .map_err(|why| cx.invalid(&key, scope.span(), why))?;
                    if scopes.contains(&scope.get_ref().as_str()) {
                        return Err(cx.invalid(&key, scope.span(), "listed twice"));
                    }
                    scopes.push(scope.get_ref());
                }
                if !scopes.contains(&"openid") {
                    return Err(cx.invalid(
                        "sign_in.scopes",
                        list.span(),
                        "must include \"openid\" (the sign-in is OpenID Connect)",
                    ));
                }
                up.scope = scopes.join(" ");
            }
            Ok(SignIn::Upstream(up))
        }
    }
}

/// The upstream client's secret, from the variable named by `client_secret_env`.
fn secret_from_env(var: &Spanned<String>, cx: &Ctx) -> Result<String, ConfigError> {
    let name = var.get_ref();
    let key = "sign_in.client_secret_env";
    if !is_env_name(name) {
        // Not echoed: it may be the secret itself, pasted in the wrong place.
        return Err(cx.invalid(
            key,
            var.span(),
            "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*): give the variable's name, never the secret",
        ));
    }
    match (cx.env)(name) {
        None => Err(cx.invalid(
            key,
            var.span(),
            format!("environment variable {name} is not set"),
        )),
        Some(v) if v.is_empty() => Err(cx.invalid(
            key,
            var.span(),
            format!("environment variable {name} is empty"),
        )),
        Some(secret) => Ok(secret),
    }
}

fn method_name(m: SignInMethod) -> &'static str {
    match m {
        SignInMethod::Dev => "dev",
        SignInMethod::Header => "header",
        SignInMethod::Upstream => "upstream",
    }
}
