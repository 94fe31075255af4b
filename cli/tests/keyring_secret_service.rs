//! The Linux Secret Service backend of the default build (pure-Rust D-Bus, no libdbus) against
//! a real one: gnome-keyring-daemon on a private session bus from `dbus-run-session`, its
//! login keyring unlocked with a known password. Tokens are stored there by `login`, read back
//! by other processes (`deviceflow token` and libsecret's `secret-tool`), rotated, moved to
//! the file and back (never in both), and deleted by `logout`. Without a keyring, `--store
//! auto` falls back to the 0600 file with a one-line notice.
#![cfg(all(target_os = "linux", feature = "server"))]

mod common;
mod helpers;
use common::*;
use helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A private session bus with gnome-keyring-daemon's secrets component on it.
struct Keyring {
    bus: Child,
    bus_stdin: Option<ChildStdin>,
    daemon: Child,
    address: String,
    dir: PathBuf,
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Keyring {
    fn start(dir: PathBuf) -> Keyring {
        std::fs::create_dir_all(dir.join("run")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        // The session lives as long as `cat` does, i.e. until we close its stdin.
        let mut bus = Command::new("dbus-run-session")
            .args([
                "--",
                "sh",
                "-c",
                "echo \"$DBUS_SESSION_BUS_ADDRESS\"; exec cat >/dev/null",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "bus address {address:?}");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon");
        // The login keyring's password, then end of input.
        daemon.stdin.take().unwrap().write_all(b"pw").unwrap();
        let bus_stdin = bus.stdin.take();
        let k = Keyring {
            bus,
            bus_stdin,
            daemon,
            address,
            dir,
        };
        for _ in 0..100 {
            let o = k
                .env(Command::new("dbus-send"))
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus"])
                .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
                .arg("string:org.freedesktop.secrets")
                .output()
                .unwrap();
            if text(&o.stdout).contains("boolean true") {
                return k;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("gnome-keyring-daemon did not appear on the session bus");
    }

    fn env(&self, mut c: Command) -> Command {
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", self.dir.join("run"));
        c
    }

    /// libsecret's view of the profile's entry (another program reading what we stored).
    fn lookup(&self, profile: &str) -> Option<Value> {
        let o = self
            .env(Command::new("secret-tool"))
            .args(["lookup", "service", "deviceflow", "username", profile])
            .output()
            .unwrap();
        o.status
            .success()
            .then(|| serde_json::from_slice(&o.stdout).expect("the entry is JSON"))
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        drop(self.bus_stdin.take());
        let _ = self.bus.wait();
    }
}

#[test]
fn secret_service_store_read_rotate_move_delete() {
    let missing: Vec<&str> = [
        "dbus-run-session",
        "dbus-send",
        "gnome-keyring-daemon",
        "secret-tool",
    ]
    .into_iter()
    .filter(|c| !have(c))
    .collect();
    if !missing.is_empty() {
        return skip(&format!(
            "the Secret Service test needs {missing:?} (apt-get install dbus gnome-keyring libsecret-tools)"
        ));
    }
    let home = Home::new("keyring");
    let kr = Keyring::start(home.0.join("session"));
    let mut server = Serve::start();
    let run_dir = kr.dir.join("run");
    let bus = [
        ("DBUS_SESSION_BUS_ADDRESS", kr.address.as_str()),
        ("XDG_RUNTIME_DIR", run_dir.to_str().unwrap()),
    ];
    let cmd = |args: &[&str]| {
        let mut c = kr.env(cli(&home));
        c.args(args);
        let o = run(c);
        (o.status.code().unwrap(), text(&o.stdout), text(&o.stderr))
    };

    // `--store auto` (the default) finds the keyring: the file keeps no secret.
    let (code, out, err) = login(&home, &server.issuer, &[], &bus);
    assert_eq!(code, 0, "{out:?} {err:?}");
    assert!(!err.iter().any(|l| l.starts_with("note:")), "{err:?}");
    let file = home.stored("default");
    assert_eq!(file["profile"]["store"], "keyring");
    assert!(file["secrets"].is_null(), "secrets in the file too: {file}");
    let raw = std::fs::read_to_string(home.profile_file("default")).unwrap();
    assert!(!raw.contains("access_token") && !raw.contains("refresh_token"));
    let (_, status, _) = cmd(&["--json", "status"]);
    assert_eq!(
        serde_json::from_str::<Value>(&status).unwrap()["store"],
        "keyring"
    );

    // Read back by a second process, and by libsecret.
    let (code, t1, err) = cmd(&["token"]);
    assert_eq!(code, 0, "{err}");
    let entry = kr.lookup("default").expect("the keyring entry");
    assert_eq!(entry["tokens"]["access_token"].as_str(), Some(t1.trim()));
    let r1 = entry["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A refresh rotates the tokens in the keyring.
    let (code, t2, err) = cmd(&["token", "--min-valid", "100000"]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(t1, t2);
    let entry = kr.lookup("default").unwrap();
    assert_eq!(entry["tokens"]["access_token"].as_str(), Some(t2.trim()));
    assert_ne!(entry["tokens"]["refresh_token"].as_str(), Some(r1.as_str()));
    assert_eq!(server.audit_events("refresh"), 1);

    // Moving the login to the file removes the keyring entry; back again empties the file.
    let (code, _, err) = login(&home, &server.issuer, &["--store", "file"], &bus);
    assert_eq!(code, 0, "{err:?}");
    assert!(kr.lookup("default").is_none(), "tokens left in the keyring");
    assert!(home.stored("default")["secrets"]["tokens"].is_object());
    let (code, _, err) = login(&home, &server.issuer, &["--store", "keyring"], &bus);
    assert_eq!(code, 0, "{err:?}");
    assert!(home.stored("default")["secrets"].is_null());
    assert!(kr.lookup("default").is_some());

    // logout deletes the entry.
    let (code, out, err) = cmd(&["--json", "logout"]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(kr.lookup("default").is_none());
    assert!(!home.profile_file("default").exists());
    assert_eq!(cmd(&["token"]).0, 6);

    // No keyring answers: `auto` says so in one line and uses the 0600 file; `keyring` refuses.
    let nobus = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let (code, out, err) = login(&home, &server.issuer, &[], &nobus);
    assert_eq!(code, 0, "{out:?} {err:?}");
    let notes: Vec<_> = err.iter().filter(|l| l.starts_with("note:")).collect();
    assert_eq!(notes.len(), 1, "{err:?}");
    assert!(notes[0].contains("profiles/default.json") && notes[0].contains("0600"));
    assert_eq!(home.stored("default")["profile"]["store"], "file");
    assert!(home.stored("default")["secrets"]["tokens"].is_object());
    let mut c = cli(&home);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args([
            "--json",
            "login",
            "--issuer",
            &server.issuer,
            "--client-id",
            "x",
            "--store",
            "keyring",
        ]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    server.stop();
}
