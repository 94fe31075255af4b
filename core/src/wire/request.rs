//! Form-encoded requests with client authentication (RFC 6749 §2.3.1, §3.2.1).

use crate::config::{Client, ClientAuth};
use crate::http::{Header, HttpRequest, Method, RequestId};

/// Builds a POST with an `application/x-www-form-urlencoded` body, authenticated
/// the way `client` says. Parameter order is stable (it is pinned by the vectors).
pub(crate) fn form_post(
    id: RequestId,
    url: &str,
    client: &Client,
    params: &[(&str, &str)],
) -> HttpRequest {
    let mut headers = vec![
        Header::new("content-type", "application/x-www-form-urlencoded"),
        Header::new("accept", "application/json"),
    ];
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        body.append_pair(name, value);
    }
    match (client.auth_method(), &client.client_secret) {
        (ClientAuth::ClientSecretBasic, Some(secret)) => {
            headers.push(Header::new(
                "authorization",
                basic_auth(&client.client_id, secret.expose()),
            ));
        }
        (ClientAuth::ClientSecretPost, Some(secret)) => {
            body.append_pair("client_id", &client.client_id);
            body.append_pair("client_secret", secret.expose());
        }
        _ => {
            body.append_pair("client_id", &client.client_id);
        }
    }
    HttpRequest {
        id,
        method: Method::Post,
        url: url.to_owned(),
        headers,
        body: body.finish().into_bytes(),
        timeout_ms: None,
    }
}

/// A GET that accepts JSON (discovery).
pub(crate) fn json_get(id: RequestId, url: &str) -> HttpRequest {
    HttpRequest {
        id,
        method: Method::Get,
        url: url.to_owned(),
        headers: vec![Header::new("accept", "application/json")],
        body: Vec::new(),
        timeout_ms: None,
    }
}

/// RFC 6749 §2.3.1: id and secret are each form-urlencoded, joined by ':', then base64.
fn basic_auth(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!("Basic {}", super::base64_standard(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_each_part_first() {
        // "a b:c" -> "a+b%3Ac"
        assert_eq!(
            basic_auth("a b", "c:d"),
            format!(
                "Basic {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "a+b:c%3Ad")
            )
        );
    }
}
