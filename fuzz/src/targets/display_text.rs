//! (f) The display-safety helpers on arbitrary text.

use deviceflow::display::{
    check_secure_url, check_user_code, clean_text, is_loopback_host, is_unsafe_char, parse_url,
    MAX_TEXT_CHARS,
};

/// Loopback by RFC 6761 §6.3 names or by address (127.0.0.0/8, ::1).
fn truly_loopback(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The target's body: one input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);

    let clean = clean_text(&text);
    assert!(
        !clean.chars().any(is_unsafe_char),
        "unsafe char in {clean:?}"
    );
    assert!(
        !clean.chars().any(char::is_control),
        "control char in {clean:?}"
    );
    assert!(clean.chars().count() <= MAX_TEXT_CHARS);
    assert_eq!(clean_text(&clean), clean, "clean_text is idempotent");

    if let Ok(parts) = parse_url(&text) {
        assert!(!parts.host.is_empty());
        assert!(text.starts_with(parts.origin));
        assert_eq!(format!("{}{}", parts.origin, parts.rest), text);
        assert!(text.is_ascii() && !text.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'\\'));
        assert!(!parts.origin.contains('@'));
        if check_secure_url(&text).is_ok() {
            assert!(parts.https || is_loopback_host(parts.host));
        }
        if is_loopback_host(parts.host) {
            assert!(
                truly_loopback(parts.host),
                "{:?} is not a loopback host",
                parts.host
            );
        }
    }
    if check_user_code(&text).is_ok() {
        assert!(text.len() <= 32 && text.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
    }
}
