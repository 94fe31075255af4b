//! Measures approval-to-token latency and `slow_down` replies against a real
//! server: `cargo run -p deviceflow --example approval_latency -- ISSUER CLIENT_ID ROUNDS APPROVER...`
//! `APPROVER...` is a command that approves the user code given as its last argument
//! (e.g. `node tests/e2e/approve.mjs --issuer URL --user-code`). See bench/README.md.
//!
//! Round `r` starts the approval `5.5 s + frac(0.5 + r × 0.618…) × 11 s` after the code is
//! shown: a golden-ratio sequence over 11 s, spread evenly modulo any poll period, so the
//! figures do not depend on where a schedule's polls happen to fall (an evenly spaced grid
//! lines up with one period and not another). `MARGIN_MS` overrides `timing.margin_ms`
//! (500 reproduces the spacing before part three of the client core).

use deviceflow::*;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

fn send(req: &HttpRequest) -> Result<(HttpResponse, Duration), TransportError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut b = ureq::http::Request::builder()
        .method(req.method.as_str())
        .uri(&req.url);
    for h in &req.headers {
        b = b.header(&h.name, &h.value);
    }
    let t0 = Instant::now();
    let mut resp = agent
        .run(b.body(req.body.clone()).unwrap())
        .map_err(|_| TransportError::Connect)?;
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), v.to_str().unwrap_or("")))
        .collect();
    let body = resp
        .body_mut()
        .read_to_vec()
        .map_err(|_| TransportError::Io)?;
    Ok((
        HttpResponse {
            status: resp.status().as_u16(),
            headers,
            body,
        },
        t0.elapsed(),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (issuer, client_id, rounds) = (&args[0], &args[1], args[2].parse::<u32>().unwrap());
    let approver = &args[3..];
    let mut worst_excess = f64::MIN;
    let mut total_slow_downs = 0;
    let mut latencies = Vec::new();
    let mut config = Config::from_issuer(client_id, issuer).with_scope("openid");
    if let Ok(m) = std::env::var("MARGIN_MS") {
        config.timing.margin_ms = m.parse().expect("MARGIN_MS: milliseconds");
    }
    for round in 0..rounds {
        let mut flow = DeviceFlow::new(config.clone(), now()).unwrap();
        let (mut approved_at, mut rtt, mut slow_downs, mut interval) = (None, Duration::ZERO, 0, 0);
        let tokens_at = loop {
            match flow.poll_action(now()) {
                Action::Send(req) => match send(&req) {
                    Ok((resp, took)) => {
                        rtt = took;
                        if resp.body.windows(9).any(|w| w == b"slow_down") {
                            slow_downs += 1;
                        }
                        flow.handle_response(req.id, resp, now()).unwrap();
                    }
                    Err(kind) => flow.handle_transport_error(req.id, kind, now()).unwrap(),
                },
                Action::Display(p) => {
                    interval = p.interval;
                    // Low-discrepancy over 11 s: even modulo any poll period.
                    let golden = (0.5 + f64::from(round) * 0.618_033_988_75).fract();
                    let offset = Duration::from_millis(5_500 + (golden * 11_000.0) as u64);
                    let (cmd, code) = (approver.to_vec(), p.user_code.clone());
                    let (tx, rx) = std::sync::mpsc::channel();
                    std::thread::spawn(move || {
                        std::thread::sleep(offset);
                        let ok = Command::new(&cmd[0])
                            .args(&cmd[1..])
                            .arg(&code)
                            .output()
                            .unwrap()
                            .status
                            .success();
                        tx.send((ok, Instant::now())).unwrap();
                    });
                    approved_at = Some(rx);
                }
                Action::Wait { delay_ms, .. } => {
                    std::thread::sleep(Duration::from_millis(delay_ms))
                }
                Action::Done(_) => break Instant::now(),
                Action::Failed(e) => panic!("round {round}: {e}"),
                Action::AwaitingResponse { .. } | Action::Sign { .. } => unreachable!(),
            }
        };
        let (ok, approved) = approved_at.unwrap().recv().unwrap();
        assert!(ok, "approval failed");
        let latency = tokens_at.duration_since(approved).as_secs_f64();
        latencies.push(latency);
        let excess = latency - interval as f64 - rtt.as_secs_f64();
        worst_excess = worst_excess.max(excess);
        total_slow_downs += slow_downs;
        println!(
            "round {round}: interval {interval} s, approval->token {latency:.3} s, last rtt {:.1} ms, excess over interval+rtt {excess:+.3} s, slow_down {slow_downs}",
            rtt.as_secs_f64() * 1e3
        );
    }
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    let median = if n % 2 == 1 {
        latencies[n / 2]
    } else {
        (latencies[n / 2 - 1] + latencies[n / 2]) / 2.0
    };
    println!(
        "approval->token over {n} rounds: min {:.3} s, median {median:.3} s, mean {:.3} s, max {:.3} s",
        latencies[0],
        latencies.iter().sum::<f64>() / n as f64,
        latencies[n - 1]
    );
    println!("worst excess over interval + one round trip: {worst_excess:+.3} s (margin {} ms); slow_down replies: {total_slow_downs}", config.timing.margin_ms);
}
