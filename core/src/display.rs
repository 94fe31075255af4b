//! Safety of everything that may reach a screen or a browser.
//!
//! Server strings are hostile input (whoever answers in the server's place chooses them):
//! URIs must be absolute `https` (or `http` to a loopback host), carry no userinfo
//! and no control or format characters; free text is stripped of them and bounded.

/// Longest URI accepted for display or as an endpoint.
pub const MAX_URI_LEN: usize = 2048;
/// Longest user code accepted (RFC 8628 §6.1 codes are about 8-12 characters).
pub const MAX_USER_CODE_LEN: usize = 32;
/// Longest free text (server `message`, `error_description`) kept, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;

/// True for characters that must never reach a terminal: C0, DEL, C1 and the
/// Unicode format characters used for BiDi spoofing and invisible text.
pub fn is_unsafe_char(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(u, 0xad | 0x61c | 0x180e | 0xfeff)
        || (0x200b..=0x200f).contains(&u)
        || (0x2028..=0x202e).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
}

/// Free text with unsafe characters removed (newlines and tabs become spaces),
/// bounded to [`MAX_TEXT_CHARS`]. Terminal escape sequences go whole, not just
/// their ESC byte: `ESC [ ... m` (CSI, also as the C1 byte U+009B), `ESC ] ... BEL`
/// (OSC, such as hyperlinks), `ESC ( B` and two-character `ESC x`.
pub fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT_CHARS));
    let mut chars = s.chars().take(MAX_TEXT_CHARS).peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' | '\r' => out.push(' '),
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']') => skip_osc(&mut chars),
                // nF escapes (`ESC ( B`): intermediate bytes, then one final byte.
                Some(' '..='/') => {
                    for c in chars.by_ref() {
                        if !(' '..='/').contains(&c) {
                            break;
                        }
                    }
                }
                _ => {} // a two-character escape (or a lone ESC at the end)
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_osc(&mut chars),
            c if is_unsafe_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// After CSI: parameter and intermediate bytes, then one final byte (ECMA-48 §5.4).
fn skip_csi(chars: &mut impl Iterator<Item = char>) {
    for c in chars {
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return; // the final byte (or anything unexpected) ends it
        }
    }
}

/// After OSC: everything up to BEL, ST (`ESC \\` or U+009C), or the end.
fn skip_osc(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// A parsed absolute http(s) URL, just enough to judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub https: bool,
    /// Host without port or brackets, lower-cased by the caller if needed.
    pub host: &'a str,
    /// `scheme://authority`.
    pub origin: &'a str,
    /// Everything after the authority (path, query, fragment), may be empty.
    pub rest: &'a str,
}

/// Splits an absolute `http`/`https` URL. Refuses control characters, spaces,
/// non-ASCII (RFC 3986 URIs are ASCII; a raw Unicode host is a homograph risk),
/// backslashes (browsers read `\` as `/`, which moves the host), userinfo,
/// empty hosts and overlong input.
pub fn parse_url(url: &str) -> Result<UrlParts<'_>, String> {
    if url.len() > MAX_URI_LEN {
        return Err(format!("URL longer than {MAX_URI_LEN} bytes"));
    }
    if !url.is_ascii() {
        return Err("URL has non-ASCII characters (RFC 3986 allows only ASCII)".into());
    }
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err("URL contains control or space characters".into());
    }
    if url.contains('\\') {
        return Err("URL contains a backslash".into());
    }
    // The checks above make the URL pure ASCII, so byte slicing is safe.
    let scheme = |prefix: &str| {
        url.as_bytes()
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let (https, after) = if scheme("https://") {
        (true, &url[8..])
    } else if scheme("http://") {
        (false, &url[7..])
    } else {
        return Err("URL is not absolute http(s)".into());
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.contains('@') {
        return Err("URL carries userinfo".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, tail) = v6
            .split_once(']')
            .ok_or("URL has an unclosed IPv6 bracket")?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("URL has an invalid IPv6 address".into());
        }
        (inside, tail.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("URL has no host".into());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    {
        return Err("URL host has characters a host name cannot have".into());
    }
    if let Some(p) = port {
        if !p.is_empty() && (p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err("URL port is not a number".into());
        }
    }
    let scheme_len = url.len() - after.len();
    Ok(UrlParts {
        https,
        host,
        origin: &url[..scheme_len + end],
        rest: &after[end..],
    })
}

/// True for hosts that never leave the machine: `localhost` and `*.localhost`
/// (RFC 6761 §6.3), `127.0.0.0/8` and `::1` as IP literals. A DNS name that
/// merely starts with `127.` is not one.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// An endpoint or displayed URI must be https, or http only to a loopback host.
pub fn check_secure_url(url: &str) -> Result<UrlParts<'_>, String> {
    let parts = parse_url(url)?;
    if !parts.https && !is_loopback_host(parts.host) {
        return Err(format!(
            "refusing non-HTTPS URL to non-loopback host {}",
            parts.host
        ));
    }
    Ok(parts)
}

/// A user code must be short, printable ASCII letters, digits, dashes and spaces.
pub fn check_user_code(code: &str) -> Result<(), String> {
    if code.is_empty() || code.len() > MAX_USER_CODE_LEN {
        return Err(format!(
            "user_code must be 1 to {MAX_USER_CODE_LEN} characters"
        ));
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
    {
        return Err("user_code has characters other than letters, digits, '-' and space".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_secure_url("https://example.com/device").is_ok());
        assert!(check_secure_url("http://127.0.0.1:8080/device").is_ok());
        assert!(check_secure_url("http://[::1]:80/x").is_ok());
        assert!(check_secure_url("http://localhost/x").is_ok());
        assert!(check_secure_url("http://example.com/device").is_err());
        assert!(check_secure_url("javascript:alert(1)").is_err());
        assert!(check_secure_url("https://user:pw@example.com/").is_err());
        assert!(check_secure_url("https://example.com/\u{1b}[31m").is_err());
        assert!(check_secure_url("https://exa\u{202e}mple.com/").is_err());
        assert!(check_secure_url("https:///path").is_err());
        assert!(check_secure_url("http://127.attacker.example/x").is_err());
        assert!(check_secure_url("http://127.0.0.1.evil.example/x").is_err());
        assert!(check_secure_url("http://127.1.2.3:9/x").is_ok());
        assert!(check_secure_url("https://evil.example\\.as.example.com/").is_err());
        assert!(check_secure_url("https://\u{430}s.example.com/").is_err());
        assert!(check_secure_url("http:/\u{45e}").is_err()); // fuzz finding: no panic
        assert!(check_secure_url("https://example.com:80x/").is_err());
        assert!(check_secure_url("http://[::1/").is_err());
        assert!(check_secure_url("http://127.0.0.1./x").is_err()); // a DNS name, not the IP
        assert!(check_secure_url("http://a.localhost/x").is_ok());
        let p = parse_url("https://Login.Example.com:8443/device?x=1").unwrap();
        assert_eq!(p.host, "Login.Example.com");
        assert_eq!(p.origin, "https://Login.Example.com:8443");
        assert_eq!(p.rest, "/device?x=1");
    }

    #[test]
    fn text_and_codes() {
        assert_eq!(clean_text("a\u{1b}[2Jb\u{9b}1;2Hc\nd"), "abc d");
        assert_eq!(clean_text("\u{1b}[1;31mred\u{1b}[0m"), "red");
        assert_eq!(
            clean_text("see \u{1b}]8;;https://evil.example\u{7}here\u{1b}]8;;\u{1b}\\ now"),
            "see here now"
        );
        assert_eq!(clean_text("a\u{1b}(Bb\u{1b}"), "ab");
        assert_eq!(clean_text("\u{1b}[99999999999999999"), "");
        assert!(check_user_code("WDJB-MJHT").is_ok());
        assert!(check_user_code("019 450 730").is_ok());
        assert!(check_user_code("").is_err());
        assert!(check_user_code("AB\u{1b}CD").is_err());
        assert!(check_user_code(&"A".repeat(33)).is_err());
    }
}
