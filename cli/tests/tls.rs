//! TLS verification is always on: a server with a certificate no trusted CA signed is
//! refused (`tls` transport failures, then `network_error`), never talked to.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn self_signed_certificate_is_refused() {
    if Command::new("openssl").arg("version").output().is_err() {
        return skip("the TLS test needs the openssl command");
    }
    let home = Home::new("tls");
    std::fs::create_dir_all(&home.0).unwrap();
    let (key, cert) = (home.0.join("key.pem"), home.0.join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-key")
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = cli(&home);
    c.args([
        "--json",
        "login",
        "--issuer",
        &format!("https://127.0.0.1:{port}"),
        "--client-id",
        "x",
    ]);
    let o = run(c);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(
        out.contains("network_error") && out.contains("tls"),
        "{out}"
    );
}
