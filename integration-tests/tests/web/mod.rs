//! Driving an axum app in-process, for the tests that log users in through the middleware.

use axum::Router;
use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// `GET path` with `cookie`; the body and the new cookie (`name=value`), if any.
pub(crate) async fn call(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
) -> (String, Option<String>) {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), set_cookie)
}

/// The id in a `sid=<id>.<expiry>.<mac>` cookie.
pub(crate) fn id_of(cookie: &str) -> &str {
    cookie.split_once('=').unwrap().1.split('.').next().unwrap()
}
