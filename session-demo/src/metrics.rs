//! `/metrics`: the session middleware's metrics (see `session_tower::metrics`) in the
//! Prometheus text format, through `metrics-exporter-prometheus`.
//!
//! The middleware only talks to the `metrics` facade; which exporter receives the numbers is
//! the application's choice, made here: [`install`] once at start-up, then [`route`] adds the
//! endpoint. The endpoint sits outside the session layer, so a scrape never creates a session
//! or moves a counter.

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Bucket bounds of the store-latency histogram, in seconds: from a local Redis round trip
/// (well under a millisecond) to the stores' default timeouts (2 s for Redis, 5 s for the
/// others).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A Prometheus recorder, not yet installed, and the handle that renders it: for tests, which
/// install it where they need it.
///
/// # Errors
/// When the bucket bounds are refused (never, for [`LATENCY_BUCKETS`]).
pub fn recorder() -> Result<
    (
        metrics_exporter_prometheus::PrometheusRecorder,
        PrometheusHandle,
    ),
    BuildError,
> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(session_tower::metrics::STORE_OPERATION_DURATION.to_owned()),
            LATENCY_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    Ok((recorder, handle))
}

/// Installs a Prometheus recorder as the process's `metrics` recorder, describes the session
/// metrics to it, and answers the handle [`route`] renders.
///
/// # Errors
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let (recorder, handle) = recorder()?;
    metrics::set_global_recorder(recorder).map_err(BuildError::FailedToSetGlobalRecorder)?;
    session_tower::describe_metrics();
    Ok(handle)
}

/// `app` with `GET /metrics` answering what `handle` renders.
pub fn route(app: Router, handle: PrometheusHandle) -> Router {
    app.route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}
