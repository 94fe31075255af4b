//! Prometheus metrics (text exposition format), served on a listen address of their own
//! (`ServerConfig::metrics_addr`, `deviceflow serve --metrics ADDR:PORT`) so they never share
//! the public port.
//!
//! * `deviceflow_http_requests_total{route, status}`: every request, by route and HTTP status;
//! * `deviceflow_oauth_responses_total{endpoint, outcome}`: the JSON endpoints, by outcome
//!   (`ok` or the OAuth error code: `authorization_pending`, `slow_down`, `invalid_grant`, …);
//! * `deviceflow_code_entries_total{outcome}`: codes typed on the page (`ok`, `invalid`,
//!   `too_many_attempts`, `paced`);
//! * `deviceflow_pending_codes`: device codes waiting for a decision, read at scrape time;
//! * `deviceflow_engine_call_seconds`: each engine call, with its store round trips.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::reply::Reply;
use super::{now_ms, AppState, SharedEngine};

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    oauth: Family<Labels, Counter>,
    entries: Family<Labels, Counter>,
    pending: Gauge,
    engine_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("deviceflow");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let oauth = Family::<Labels, Counter>::default();
        registry.register(
            "oauth_responses",
            "Responses of the JSON endpoints by outcome (ok or the OAuth error code)",
            oauth.clone(),
        );
        let entries = Family::<Labels, Counter>::default();
        registry.register(
            "code_entries",
            "User codes entered on the verification page, by outcome",
            entries.clone(),
        );
        let pending = Gauge::default();
        registry.register(
            "pending_codes",
            "Device codes waiting for the user's decision",
            pending.clone(),
        );
        // 50 µs … ~0.8 s.
        let engine_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 15));
        registry.register(
            "engine_call_seconds",
            "Time of one engine call, with its store round trips",
            engine_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            oauth,
            entries,
            pending,
            engine_seconds,
        }
    }
}

impl Metrics {
    pub fn oauth(&self, endpoint: &'static str, outcome: &str) {
        self.oauth
            .get_or_create(&vec![
                ("endpoint", endpoint.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    pub fn entry(&self, outcome: &'static str) {
        self.entries
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    pub fn engine_call(&self, started: Instant) {
        self.engine_seconds.observe(started.elapsed().as_secs_f64());
    }

    /// The exposition text, with the pending-code gauge read from the store now.
    pub fn render(&self, engine: &SharedEngine) -> String {
        if let Ok(Some(n)) = engine.store.pending_count(now_ms()) {
            self.pending.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts every request by its route (the pattern, never the raw path) and status.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Reply {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    app.metrics
        .requests
        .get_or_create(&vec![
            ("route", route),
            ("status", resp.status().as_u16().to_string()),
        ])
        .inc();
    resp
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(State(app): State<AppState>) -> impl IntoResponse {
    let metrics = app.metrics.clone();
    let text = app.blocking(move |engine| metrics.render(engine)).await;
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
}

/// The metrics router (one route), sharing the server's state.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

/// Keeps `Arc<Metrics>` cheap to name.
pub type Shared = Arc<Metrics>;
