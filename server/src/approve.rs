//! Approving or denying through the real verification pages, exactly as a browser would: GET the
//! page (cookie set, code moved out of the URL), read the CSRF token, POST the code, check the
//! confirmation shows the same code, POST the decision. For unattended demos and tests, with the
//! dev sign-in (`SignIn::Dev`: the name is typed on the code form); any other sign-in sends the
//! browser elsewhere first, which this reports as an unexpected page at `entry`.

use std::time::Duration;

use ureq::http::Response;
use ureq::Body;

use crate::engine::codes::normalize_user_code;

/// What the page reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Denied,
}

#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] ureq::Error),
    /// The server answered with a page we did not expect (`step` names where).
    #[error("unexpected page at {step} (HTTP {status}): {message}")]
    UnexpectedPage {
        step: &'static str,
        status: u16,
        message: String,
    },
}

/// Drives `{base_url}/device?user_code=…` through to approval (`approve`) or denial, signed in
/// as `username`. `base_url` is the issuer (a trailing `/device` is also accepted).
pub fn approve_via_page(
    base_url: &str,
    user_code: &str,
    username: &str,
    approve: bool,
) -> Result<Decision, ApproveError> {
    let base = base_url.trim_end_matches('/').trim_end_matches("/device");
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let code_param: String = form_urlencoded::byte_serialize(user_code.as_bytes()).collect();

    let first = agent
        .get(&format!("{base}/device?user_code={code_param}"))
        .call()?;
    let cookie = session_cookie(&first).ok_or_else(|| unexpected("start", &first, "no cookie"))?;
    let mut entry = agent
        .get(&format!("{base}/device"))
        .header("Cookie", &cookie)
        .call()?;
    let page = read(&mut entry)?;
    expect(&entry, &page, "entry", "entry")?;
    let csrf = csrf_token(&page).ok_or_else(|| unexpected("entry", &entry, "no CSRF token"))?;

    let mut confirm = agent
        .post(&format!("{base}/device"))
        .header("Cookie", &cookie)
        .send_form([
            ("csrf", csrf.as_str()),
            ("username", username),
            ("user_code", user_code),
        ])?;
    let page = read(&mut confirm)?;
    expect(&confirm, &page, "code entry", "confirm")?;
    let shown = between(&page, "id=\"user-code\">", "<").and_then(normalize_user_code);
    if shown.is_none() || shown != normalize_user_code(user_code) {
        return Err(unexpected(
            "confirm",
            &confirm,
            "the page shows another code",
        ));
    }

    // The session (a signed cookie) now names the request on the confirmation page.
    let cookie = session_cookie(&confirm).unwrap_or(cookie);
    let decision = if approve { "approve" } else { "deny" };
    let mut done = agent
        .post(&format!("{base}/device/confirm"))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str()), ("decision", decision)])?;
    let page = read(&mut done)?;
    let outcome = if approve { "approved" } else { "denied" };
    expect(&done, &page, "decision", outcome)?;
    Ok(if approve {
        Decision::Approved
    } else {
        Decision::Denied
    })
}

fn read(resp: &mut Response<Body>) -> Result<String, ApproveError> {
    Ok(resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()?)
}

fn session_cookie(resp: &Response<Body>) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| {
            [
                "deviceflow_session=",
                "__Host-deviceflow_session=",
                "__Secure-deviceflow_session=",
            ]
            .iter()
            .any(|name| kv.starts_with(name))
        })
        .map(str::to_owned)
}

fn csrf_token(page: &str) -> Option<String> {
    between(page, "name=\"csrf\" value=\"", "\"").map(str::to_owned)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// The page must be a 200 with `data-outcome="{outcome}"`; otherwise report its error text.
fn expect(
    resp: &Response<Body>,
    page: &str,
    step: &'static str,
    outcome: &str,
) -> Result<(), ApproveError> {
    if resp.status() == 200 && page.contains(&format!("data-outcome=\"{outcome}\"")) {
        return Ok(());
    }
    let message = between(page, "role=\"alert\">", "<")
        .or_else(|| between(page, "<h1>", "<"))
        .unwrap_or("");
    Err(unexpected(step, resp, message))
}

fn unexpected(step: &'static str, resp: &Response<Body>, message: &str) -> ApproveError {
    ApproveError::UnexpectedPage {
        step,
        status: resp.status().as_u16(),
        message: message.to_owned(),
    }
}
