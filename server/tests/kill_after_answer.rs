//! A device authorization answered with 200 is stored: the server (a child process on a SQLite
//! file, under a load that makes its requests share group commits) is killed with SIGKILL while
//! requests are in flight, and every device code a client received is in the file afterwards.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deviceflow_server::engine::codes::device_code_key;
use deviceflow_server::engine::Store;
use deviceflow_server::store::SqliteStore;

const CHILD_DB: &str = "DEVICEFLOW_TEST_KILL_CHILD_DB";

/// The child: a server on the file `CHILD_DB` names, until it is killed (or 60 s pass, so it
/// always stops by itself). Does nothing when run as an ordinary test.
#[test]
fn child_server() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let mut config = deviceflow_server::ServerConfig::on_port(0);
    config.database = Some(path.into());
    config.issuance.per_source = u32::MAX;
    config.issuance.per_client = u32::MAX;
    let server = deviceflow_server::spawn(config).unwrap();
    println!("ISSUER {}", server.issuer());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn every_code_answered_before_a_kill_9_is_in_the_file() {
    const CLIENTS: usize = 16;
    const BEFORE_KILL: usize = 300;
    let dir = std::env::temp_dir().join(format!("deviceflow-kill-answer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_server", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let issuer = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| Some(l.split_once("ISSUER ")?.1.trim().to_owned()))
        .expect("the child server printed its issuer");

    let codes = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (codes, killed, url) = (
                codes.clone(),
                killed.clone(),
                format!("{issuer}/device_authorization"),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                // Until the server is gone: requests in flight at the kill fail, and are not
                // counted as answered.
                loop {
                    let sent = agent
                        .post(&url)
                        .send_form([("client_id", "deviceflow-cli")]);
                    let Ok(mut r) = sent else { break };
                    let Ok(body) = r.body_mut().read_to_string() else {
                        break;
                    };
                    assert_eq!(r.status(), 200, "{body}");
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                    codes
                        .lock()
                        .unwrap()
                        .push(v["device_code"].as_str().unwrap().to_owned());
                    if killed.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while codes.lock().unwrap().len() < BEFORE_KILL && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL, with requests in flight
    killed.store(true, Ordering::Relaxed);
    child.wait().unwrap();
    for c in clients {
        c.join().unwrap();
    }

    let codes = codes.lock().unwrap().clone();
    assert!(codes.len() >= BEFORE_KILL, "only {} answers", codes.len());
    let store = SqliteStore::open(&path).unwrap();
    let lost: Vec<&String> = codes
        .iter()
        .filter(|c| store.device_by_code(&device_code_key(c)).unwrap().is_none())
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} answered codes lost",
        lost.len(),
        codes.len()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
