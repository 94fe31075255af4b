//! The upstream provider over HTTP (discovery, JWKS, token endpoint): blocking `ureq`, run on
//! tokio's blocking pool by the callers. Every request has one deadline, no redirects are
//! followed, and bodies are capped.

use std::time::Duration;

use serde_json::Value;

/// One deadline for the whole request: connect, TLS, headers and body.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents and key sets are a few KiB; anything this big is not one.
const MAX_BODY: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS, timeout or an oversized body. The message names the URL, never a body.
    #[error("{url}: {source}")]
    Transport { url: String, source: ureq::Error },
    #[error("{url}: HTTP {status} with a body that is not JSON")]
    NotJson { url: String, status: u16 },
}

/// A JSON answer and its status.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("deviceflow-server/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn get_json(&self, url: &str) -> Result<Answer, FetchError> {
        let resp = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call();
        read(url, resp)
    }

    /// POSTs a form; `basic` = (client_id, secret) for `client_secret_basic` (RFC 6749 §2.3.1:
    /// both form-urlencoded before base64).
    pub fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Answer, FetchError> {
        let mut req = self.agent.post(url).header("Accept", "application/json");
        if let Some((id, secret)) = basic {
            req = req.header("Authorization", &basic_auth(id, secret));
        }
        read(url, req.send_form(form.iter().copied()))
    }
}

fn read(
    url: &str,
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_owned(),
        source,
    };
    let mut resp = resp.map_err(transport)?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(transport)?;
    let body = serde_json::from_str(&text).map_err(|_| FetchError::NotJson {
        url: url.to_owned(),
        status,
    })?;
    Ok(Answer { status, body })
}

pub fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_form_encodes_both_halves() {
        // "a b:c" / "s:é" → "a+b%3Ac:s%3A%C3%A9"
        assert_eq!(
            basic_auth("a b:c", "s:é"),
            format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    "a+b%3Ac:s%3A%C3%A9"
                )
            )
        );
    }
}
