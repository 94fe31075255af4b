//! Whether a browser can exist here, and opening one without a shell.
//!
//! The rules: never
//! through a shell, refuse anything that could be read as an option, and only
//! for a URL the core has already validated (https, or http to loopback).

use std::path::Path;
use std::process::{Command, Stdio};

/// The environment facts headless detection looks at (injectable for tests).
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub exists: &'a dyn Fn(&str) -> bool,
    pub os: &'a str,
}

impl Env<'_> {
    fn set(&self, name: &str) -> bool {
        (self.var)(name).is_some_and(|v| !v.is_empty())
    }
}

/// Why no browser can be opened here, or `None` when one probably can.
pub fn headless_reason(env: &Env<'_>) -> Option<&'static str> {
    if env.set("SSH_CONNECTION") || env.set("SSH_TTY") || env.set("SSH_CLIENT") {
        return Some("SSH session");
    }
    if (env.var)("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false") {
        return Some("CI");
    }
    if env.set("KUBERNETES_SERVICE_HOST") {
        return Some("Kubernetes pod");
    }
    if (env.exists)("/.dockerenv") || (env.exists)("/run/.containerenv") {
        return Some("container");
    }
    let unix_desktop = !matches!(env.os, "macos" | "windows" | "ios" | "android");
    if unix_desktop && !env.set("DISPLAY") && !env.set("WAYLAND_DISPLAY") {
        return Some("no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)");
    }
    None
}

/// Headless detection on the real process environment.
pub fn headless_reason_here() -> Option<&'static str> {
    let var = |n: &str| std::env::var(n).ok();
    let exists = |p: &str| Path::new(p).exists();
    headless_reason(&Env {
        var: &var,
        exists: &exists,
        os: std::env::consts::OS,
    })
}

/// The launcher and its fixed arguments; the URL is appended as one argv entry.
fn launcher() -> (&'static str, &'static [&'static str]) {
    match std::env::consts::OS {
        "macos" => ("open", &[]),
        // rundll32 hands the URL to the default handler without cmd.exe.
        "windows" => ("rundll32", &["url.dll,FileProtocolHandler"]),
        _ => ("xdg-open", &[]),
    }
}

/// Starts the default browser on `url` (argv, no shell). Does not wait for it.
pub fn open(url: &str) -> Result<(), String> {
    if url.starts_with('-') {
        return Err("refusing a URL that starts with '-'".into());
    }
    deviceflow::display::check_secure_url(url)?;
    let (program, fixed) = launcher();
    Command::new(program)
        .args(fixed)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("could not start {program}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn reason(vars: &[(&str, &str)], files: &[&str], os: &str) -> Option<&'static str> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let var = |n: &str| vars.get(n).cloned();
        let exists = |p: &str| files.contains(&p);
        headless_reason(&Env {
            var: &var,
            exists: &exists,
            os,
        })
    }

    #[test]
    fn linux_desktop_is_not_headless() {
        assert_eq!(reason(&[("DISPLAY", ":0")], &[], "linux"), None);
        assert_eq!(
            reason(&[("WAYLAND_DISPLAY", "wayland-0")], &[], "linux"),
            None
        );
    }

    #[test]
    fn linux_without_display_is_headless() {
        assert!(reason(&[], &[], "linux").unwrap().contains("DISPLAY"));
        assert!(reason(&[("DISPLAY", "")], &[], "freebsd").is_some());
    }

    #[test]
    fn macos_and_windows_need_no_display() {
        assert_eq!(reason(&[], &[], "macos"), None);
        assert_eq!(reason(&[], &[], "windows"), None);
    }

    #[test]
    fn ssh_ci_containers_are_headless_even_with_a_display() {
        let d = ("DISPLAY", ":0");
        assert_eq!(
            reason(
                &[d, ("SSH_CONNECTION", "10.0.0.1 5 10.0.0.2 22")],
                &[],
                "linux"
            ),
            Some("SSH session")
        );
        assert_eq!(
            reason(&[d, ("SSH_TTY", "/dev/pts/1")], &[], "macos"),
            Some("SSH session")
        );
        assert_eq!(reason(&[d, ("CI", "true")], &[], "linux"), Some("CI"));
        assert_eq!(reason(&[d, ("CI", "false")], &[], "linux"), None);
        assert_eq!(
            reason(&[d, ("KUBERNETES_SERVICE_HOST", "10.96.0.1")], &[], "linux"),
            Some("Kubernetes pod")
        );
        assert_eq!(reason(&[d], &["/.dockerenv"], "linux"), Some("container"));
        assert_eq!(
            reason(&[d], &["/run/.containerenv"], "linux"),
            Some("container")
        );
    }

    #[test]
    fn open_refuses_option_like_and_unsafe_urls() {
        assert!(open("-oProxyCommand=evil").is_err());
        assert!(open("http://example.com/device").is_err());
        assert!(open("javascript:alert(1)").is_err());
        assert!(open("https://example.com/\u{1b}[2J").is_err());
    }
}
