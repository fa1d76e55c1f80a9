//! The `axum` feature: `Session` as an extractor, `SessionError` as a response. Needs no server.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{Request, StatusCode, header};
use session_core::{Error, SessionStore};
use session_memory::MemoryStore;
use session_tower::{KeyRing, Session, SessionError, SessionLayer};
use tower::ServiceExt as _;

async fn visits(session: Session) -> Result<String, SessionError> {
    let n = session.get::<u32>("visits").await?.unwrap_or(0) + 1;
    session.insert("visits", n).await?;
    Ok(n.to_string())
}

fn request(cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get("/");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::empty()).unwrap_or_else(|e| panic!("{e}"))
}

async fn body(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn session_is_an_extractor_behind_the_layer() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let keys =
        KeyRing::new([b"0123456789abcdef0123456789abcdef"]).unwrap_or_else(|e| panic!("{e}"));
    let app = Router::new()
        .route("/", get(visits))
        .layer(SessionLayer::new(store, keys));
    let res = app
        .clone()
        .oneshot(request(None))
        .await
        .unwrap_or_else(|e| match e {});
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(body(res).await, "1");
    let res = app
        .oneshot(request(Some(&cookie)))
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(body(res).await, "2");
}

#[tokio::test]
async fn a_handler_without_the_layer_gets_a_500_naming_the_mistake() {
    let app = Router::new().route("/", get(visits));
    let res = app
        .oneshot(request(None))
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body(res).await.contains("SessionLayer"));
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
}
