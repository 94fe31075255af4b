//! Human output on stderr: the address and code (only as the core validated and cleaned them,
//! with the verification host named), a QR code, a live countdown.

use deviceflow::display::{check_secure_url, clean_text, parse_url};
use deviceflow::{Prompt, Timestamp};
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use std::io::{IsTerminal, Write};

/// How stderr can be written to.
pub struct Term {
    pub tty: bool,
    pub color: bool,
    pub width: Option<u16>,
    pub unicode: bool,
}

impl Term {
    pub fn detect() -> Term {
        let tty = std::io::stderr().is_terminal();
        let term = std::env::var("TERM").unwrap_or_default();
        let dumb = term == "dumb";
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let unicode = cfg!(windows)
            || locale.contains("utf-8")
            || locale.contains("utf8")
            || (locale.is_empty() && !dumb && tty);
        Term {
            tty,
            color: tty && !dumb && std::env::var_os("NO_COLOR").is_none(),
            width: terminal_width(),
            unicode,
        }
    }

    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn terminal_width() -> Option<u16> {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills a winsize struct we own.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            return Some(ws.ws_col);
        }
    }
    std::env::var("COLUMNS").ok()?.parse().ok()
}

fn err_line(s: &str) {
    let _ = writeln!(std::io::stderr(), "{s}");
}

/// The registrable part of a host, roughly: the last two labels (IP addresses whole).
fn site(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() || !h.contains('.') {
        return h;
    }
    let labels: Vec<&str> = h.rsplit('.').take(3).collect();
    // "example.co.uk": keep three labels when the second-level label is a short generic one.
    let keep = if labels.len() == 3
        && matches!(
            labels[1],
            "co" | "com" | "ac" | "gov" | "org" | "net" | "edu"
        )
        && labels[0].len() == 2
    {
        3
    } else {
        2
    };
    labels[..keep.min(labels.len())]
        .iter()
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join(".")
}

/// Does the verification host belong to the server we talk to? (A server that is not who it
/// claims can send people to a look-alike page.)
/// `trusted` holds the hosts of the issuer and endpoints plus a provider's known hosts.
pub fn host_is_expected(verification_host: &str, trusted: &[String]) -> bool {
    let v = site(verification_host);
    trusted.iter().any(|t| site(t) == v)
}

/// Host of a URL, for the trusted list.
pub fn host_of(url: &str) -> Option<String> {
    parse_url(url).ok().map(|p| p.host.to_ascii_lowercase())
}

/// Prints the sign-in instructions.
pub fn show_prompt(term: &Term, prompt: &Prompt, expected_host: bool, qr: bool) {
    let host = clean_text(&prompt.verification_host);
    let uri = clean_text(&prompt.verification_uri);
    let code = clean_text(&prompt.user_code);
    err_line("");
    err_line("To sign in, open this page in a browser on any device:");
    err_line("");
    err_line(&format!("    {}", term.bold(&uri)));
    err_line(&format!("    (site: {})", term.bold(&host)));
    err_line("");
    err_line(&format!("and enter the code:  {}", term.bold(&code)));
    err_line("");
    err_line(&format!(
        "Only enter this code at {host}. Never enter a code that someone sent you."
    ));
    if !expected_host {
        err_line(&format!(
            "WARNING: {host} is not the site of the server you are signing in to. \
             Continue only if you expected this."
        ));
    }
    if let Some(msg) = &prompt.message {
        err_line(&format!("Server note: {}", clean_text(msg)));
    }
    if let (true, Some(complete)) = (qr, &prompt.verification_uri_complete) {
        if let Some(lines) = qr_lines(term, complete) {
            err_line("");
            err_line("Or scan this QR code (it opens the page with the code filled in):");
            err_line("");
            for l in lines {
                err_line(&l);
            }
            err_line(&format!("    {host}  code {code}"));
        }
    }
    err_line("");
}

/// The QR code as terminal lines, or `None` if it cannot be shown here.
pub fn qr_lines(term: &Term, data: &str) -> Option<Vec<String>> {
    check_secure_url(data).ok()?; // only from a validated URI
    if !term.unicode {
        return None;
    }
    let code = QrCode::new(data.as_bytes()).ok()?;
    let rendered = if term.color {
        // Explicit black on white: scannable whatever the terminal's own colours.
        code.render::<Dense1x2>().quiet_zone(true).build()
    } else {
        // No colour codes: assume a dark background, so draw the light modules.
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build()
    };
    let lines: Vec<String> = rendered.lines().map(str::to_owned).collect();
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    if let Some(w) = term.width {
        if widest + 4 > w as usize {
            return None;
        }
    }
    Some(
        lines
            .into_iter()
            .map(|l| {
                if term.color {
                    format!("    \x1b[30;107m{l}\x1b[0m")
                } else {
                    format!("    {l}")
                }
            })
            .collect(),
    )
}

/// `m:ss` (or `h:mm:ss`) for a countdown.
pub fn clock_text(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// "in 59 minutes" style text for an expiry.
pub fn in_words(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=89 => format!("{s} seconds"),
        90..=5399 => format!("{} minutes", (s + 30) / 60),
        5400..=129_599 => format!("{} hours", (s + 1800) / 3600),
        _ => format!("{} days", (s + 43_200) / 86_400),
    }
}

/// One countdown frame, redrawn in place (TTY only).
pub fn countdown(term: &Term, expires_at: Timestamp, now: Timestamp, note: &str) {
    let left = expires_at.since(now);
    let spinner = ["|", "/", "-", "\\"][((now.0 / 1000) % 4) as usize];
    let line = format!(
        "{spinner} Waiting for approval: {} left{note}  (Ctrl-C to cancel)",
        clock_text(left)
    );
    // One terminal row at most, or the next redraw could not erase what wrapped.
    let max = term
        .width
        .map_or(usize::MAX, |w| (w as usize).saturating_sub(1));
    let line: String = line.chars().take(max).collect();
    let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    let _ = std::io::stderr().flush();
}

/// Ends the countdown line.
pub fn clear_line(term: &Term) {
    if term.tty {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}

pub fn say(s: &str) {
    err_line(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites() {
        assert_eq!(site("login.microsoftonline.com"), "microsoftonline.com");
        assert_eq!(site("www.example.co.uk"), "example.co.uk");
        assert_eq!(site("127.0.0.1"), "127.0.0.1");
        assert!(host_is_expected(
            "auth.example.com",
            &["example.com".into()]
        ));
        assert!(!host_is_expected("evil.com", &["auth.example.com".into()]));
        assert!(!host_is_expected(
            "example.com.evil.io",
            &["example.com".into()]
        ));
    }

    #[test]
    fn qr_only_for_safe_urls_and_fits_width() {
        let term = Term {
            tty: true,
            color: false,
            width: Some(120),
            unicode: true,
        };
        let lines = qr_lines(&term, "https://example.com/device?user_code=WDJB-MJHT").unwrap();
        assert!(lines.len() > 10);
        assert!(lines.iter().all(|l| !l.contains('\x1b')));
        assert!(qr_lines(&term, "javascript:alert(1)").is_none());
        let narrow = Term {
            width: Some(20),
            ..term
        };
        assert!(qr_lines(&narrow, "https://example.com/device?user_code=WDJB-MJHT").is_none());
        let ascii = Term {
            unicode: false,
            width: Some(200),
            tty: true,
            color: false,
        };
        assert!(qr_lines(&ascii, "https://example.com/d").is_none());
    }

    #[test]
    fn times() {
        assert_eq!(clock_text(600_000), "10:00");
        assert_eq!(clock_text(59_001), "1:00");
        assert_eq!(clock_text(3_723_000), "1:02:03");
        assert_eq!(in_words(3_600_000), "60 minutes");
        assert_eq!(in_words(30_000), "30 seconds");
    }
}
