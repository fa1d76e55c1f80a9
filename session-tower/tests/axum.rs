//! The `axum` feature: `Session` as an extractor, `SessionError` as a response. Needs no server.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use session_core::{Error, SessionData, SessionStore};
use session_memory::MemoryStore;
use session_tower::{Session, SessionError};

use support::{NEW, send, signed};

async fn visits(session: Session) -> Result<String, SessionError> {
    let n = session.get::<u32>("visits").await?.unwrap_or(0) + 1;
    session.insert("visits", n).await?;
    Ok(n.to_string())
}

#[tokio::test]
async fn session_is_an_extractor_behind_the_layer() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let app = Router::new()
        .route("/", get(visits))
        .layer(signed(store, &[NEW]));
    let r = send(&app, "/", None).await;
    assert_eq!(r.body, "1");
    assert_eq!(send(&app, "/", Some(&r.cookie())).await.body, "2");
}

#[tokio::test]
async fn a_handler_without_the_layer_gets_a_500_naming_the_mistake() {
    let app = Router::new().route("/", get(visits));
    let r = send(&app, "/", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("SessionLayer"), "{}", r.body);
}

#[test]
fn session_errors_answer_503_when_transient_and_500_otherwise() {
    let timeout = SessionError::Store(Error::Timeout {
        backend: "redis",
        after: std::time::Duration::from_secs(1),
    });
    assert_eq!(
        timeout.into_response().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let denied = SessionError::Store(Error::backend("mysql", std::io::Error::other("denied")));
    assert_eq!(
        denied.into_response().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let mut data = SessionData::new();
    data.insert("visits", "many").unwrap();
    let mismatch = SessionError::Value(data.get::<u32>("visits").unwrap_err());
    assert_eq!(
        mismatch.into_response().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
