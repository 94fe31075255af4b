//! Checks on single values, shared by the file and by `deviceflow serve`'s flags.

use std::net::IpAddr;

use crate::http::IpNet;

/// An issuer is an absolute https URL with a host and no query, fragment or userinfo; plain
/// http only on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`). Returns why not.
pub fn check_issuer(issuer: &str) -> Result<(), &'static str> {
    let rest = if let Some(rest) = issuer.strip_prefix("https://") {
        rest
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        let bracketed = rest.strip_prefix('[').and_then(|r| r.split_once(']'));
        let loopback = host == "localhost"
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || bracketed
                .is_some_and(|(ip, _)| ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()));
        if !loopback {
            return Err("must be https (plain http only on loopback)");
        }
        rest
    } else {
        return Err("must start with https://");
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || rest.contains(['?', '#', '@', ' ', '\\'])
        || rest.chars().any(char::is_control)
    {
        return Err("must be a URL with a host and no query, fragment or user");
    }
    Ok(())
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`127.0.0.1` = `/32`).
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    text.parse()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// An OAuth scope token (RFC 6749 §3.3): printable ASCII without space, `"` or `\`.
pub(crate) fn check_scope(scope: &str) -> Result<(), &'static str> {
    if scope.is_empty() {
        return Err("a scope cannot be empty");
    }
    let ok = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if !scope.bytes().all(ok) {
        return Err("a scope is printable ASCII without spaces, `\"` or `\\`");
    }
    Ok(())
}

/// A client id: 1 to 255 printable ASCII characters, no spaces.
pub(crate) fn check_client_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a client id is 1 to 255 printable ASCII characters without spaces");
    }
    Ok(())
}

/// A name shown to people: 1 to 100 characters, no control characters.
pub(crate) fn check_display_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("a name is 1 to 100 characters without control characters");
    }
    Ok(())
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 255 characters. Checked
/// before the variable is read, so that a secret pasted here by mistake is never echoed.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 255
}

/// An HTTP header name (RFC 9110 §5.1: a token).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        for ok in [
            "https://login.example.com",
            "https://login.example.com:8443/tenant",
            "http://127.0.0.1:8628",
            "http://localhost:1",
            "http://[::1]:8628",
        ] {
            assert_eq!(check_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://login.example.com",
            "http://10.0.0.1:8628",
            "ftp://x",
            "https://",
            "https:///path",
            "https://a.example?x=1",
            "https://a.example#top",
            "https://user@a.example",
            "login.example.com",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        for bad in ["10.0.0.0/33", "10.0.0/8", "localhost", ""] {
            assert!(parse_cidr(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn scopes_ids_names_env_headers() {
        assert!(check_scope("offline_access").is_ok());
        assert!(check_scope("https://api.example.com/read").is_ok());
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(check_scope(bad).is_err(), "{bad:?}");
        }
        assert!(check_client_id("tv-app").is_ok());
        assert!(check_client_id("tv app").is_err());
        assert!(check_client_id("").is_err());
        assert!(check_display_name("Living-room TV").is_ok());
        assert!(check_display_name(" ").is_err());
        assert!(check_display_name("a\u{1b}[31m").is_err());
        assert!(is_env_name("DEVICEFLOW_TV_SECRET"));
        assert!(is_env_name("_x1"));
        for bad in ["", "1X", "A-B", "s3cr3t!", "A B"] {
            assert!(!is_env_name(bad), "{bad}");
        }
        assert!(is_header_name("X-Auth-Request-User"));
        assert!(!is_header_name("X Auth"));
        assert!(!is_header_name("X:Auth"));
    }
}
