//! `/metrics` in the Prometheus text format: after a login, a request and a logout through the
//! demo, the session counters and the store-latency histogram are there with the documented
//! names and labels, the page links the endpoint, and scraping creates no session.
//!
//! Runs on the memory store; needs no server.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;

use common::{Client, KEY_A, Server, config};
use reqwest::StatusCode;
use session_core::SessionStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_shows_session_counters_and_store_latency() {
    let (recorder, handle) = session_demo::metrics::recorder().unwrap();
    // This test binary's only recorder.
    metrics::set_global_recorder(recorder).unwrap();
    session_tower::describe_metrics();
    let store: Arc<dyn SessionStore> = Arc::new(session_memory::MemoryStore::new());
    let router = session_demo::app(store, config(&[KEY_A])).unwrap();
    let server = Server::start(session_demo::metrics::route(router, handle)).await;
    let mut client = Client::new(&server);

    let page = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert!(page.text().await.unwrap().contains("href=\"/metrics\""));
    assert_eq!(client.login("test", "test").await.status, StatusCode::OK);
    assert!(client.get("/count").await.status.is_success());
    assert!(client.post("/users/logout", None).await.status.is_success());

    let scrape = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(scrape.headers().get("set-cookie").is_none());
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = scrape.text().await.unwrap();
    println!("{text}");
    for line in [
        "# TYPE session_created_total counter",
        "session_loaded_total ",
        "session_destroyed_total 1",
        "# TYPE session_store_operation_duration_seconds histogram",
        "session_store_operation_duration_seconds_bucket{backend=\"memory\",operation=\"load\",le=\"0.001\"}",
        "session_store_operation_duration_seconds_count{backend=\"memory\",operation=\"write\"}",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}
