//! Database URLs: recognised, and shown without their password (in `Debug`, logs and the
//! startup line).

/// Whether `url` names a PostgreSQL database: `postgres://…` or `postgresql://…`.
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with every password replaced by `***`: the one in the user info
/// (`postgres://user:***@host/db`) and any `password=` parameter, in a URL's query or in a
/// `key=value` connection string.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return redact_password_params(url, &[' ', '\t', '\n']);
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    let mut out = url[..start].to_owned();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(&redact_password_params(&url[authority_end..], &['&', '#']));
    out
}

/// `url` with a `password` query parameter (percent-encoded, as the driver decodes it): how a
/// password kept out of files and command lines (an environment variable) joins the URL.
pub fn with_password(url: &str, password: &str) -> String {
    let mut out = url.to_owned();
    out.push(if url.contains('?') { '&' } else { '?' });
    out.push_str("password=");
    for b in password.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces the value of each `password=` parameter (a parameter starts the text or follows one
/// of `separators` or `?`; a quoted value ends at its closing quote).
fn redact_password_params(text: &str, separators: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_start = true;
    while !rest.is_empty() {
        if at_start && rest.len() >= 9 && rest[..9].eq_ignore_ascii_case("password=") {
            out.push_str(&rest[..9]);
            out.push_str("***");
            rest = &rest[9..];
            let end = if let Some(quoted) = rest.strip_prefix('\'') {
                // `password='a b\' c'`: up to the first quote not escaped by a backslash.
                let mut end = quoted.len();
                let mut escaped = false;
                for (i, c) in quoted.char_indices() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '\'' if !escaped => {
                            end = i + 1;
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                (1 + end).min(rest.len())
            } else {
                rest.find(separators).unwrap_or(rest.len())
            };
            rest = &rest[end..];
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        at_start = c == '?' || separators.contains(&c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let cases = [
            (
                "postgres://app:s3cret@db.example:5432/deviceflow",
                "postgres://app:***@db.example:5432/deviceflow",
            ),
            (
                "postgresql://app:p%40ss@10.0.0.1/df?sslmode=disable&password=other",
                "postgresql://app:***@10.0.0.1/df?sslmode=disable&password=***",
            ),
            (
                "postgres://app@localhost/df?password=s3cret#x",
                "postgres://app@localhost/df?password=***#x",
            ),
            ("postgres://localhost/df", "postgres://localhost/df"),
            (
                "host=db user=app password=s3cret dbname=df",
                "host=db user=app password=*** dbname=df",
            ),
            (
                "host=db password='s3 \\' cret' dbname=df",
                "host=db password=*** dbname=df",
            ),
            ("password=s3cret", "password=***"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
            assert!(!redact_url(url).contains("s3"), "{url}");
        }
    }

    #[test]
    fn a_password_added_reads_back_as_given_and_is_redacted() {
        for password in ["s3cret", "a b&c=d%e+f'g/h@i?j#", "pässwörd"] {
            for base in [
                "postgres://app@db:5432/df",
                "postgres://app@db/df?sslmode=disable",
            ] {
                let url = with_password(base, password);
                let parsed: tokio_postgres::Config = url.parse().unwrap();
                assert_eq!(parsed.get_password(), Some(password.as_bytes()), "{url}");
                assert!(redact_url(&url).ends_with("password=***"), "{url}");
            }
        }
    }

    #[test]
    fn postgres_urls_are_recognised_by_scheme() {
        assert!(is_postgres_url("postgres://localhost/df"));
        assert!(is_postgres_url("PostgreSQL://localhost/df"));
        assert!(!is_postgres_url("postgres:/localhost"));
        assert!(!is_postgres_url("mysql://localhost/df"));
        assert!(!is_postgres_url("db.sqlite"));
        assert!(!is_postgres_url(""));
    }
}
