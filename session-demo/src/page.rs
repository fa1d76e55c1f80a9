//! The HTML page: static, with inline script calling the JSON API.

use axum::http::header;
use axum::response::{Html, IntoResponse};

const PAGE: &str = include_str!("page.html");

pub(crate) async fn index() -> impl IntoResponse {
    // The session cookie is HttpOnly; the page never needs it. no-store keeps a shared cache
    // from serving one user's page state to another.
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}
