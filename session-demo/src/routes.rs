//! The JSON API.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use session_tower::{Session, SessionError};

use crate::Users;

/// Session field holding the logged-in username.
const USER: &str = "user";
/// Session field holding the visit counter.
const COUNT: &str = "count";

/// The body of `POST /users/login`.
#[derive(Debug, Deserialize)]
pub(crate) struct Login {
    username: String,
    password: String,
}

/// What `/users/me` and a successful login return.
#[derive(Debug, Serialize)]
pub(crate) struct Me {
    username: String,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

pub(crate) async fn login(
    State(users): State<Arc<Users>>,
    session: Session,
    Json(login): Json<Login>,
) -> Result<Response, SessionError> {
    let username = login.username.clone();
    // argon2 takes tens of milliseconds of CPU on purpose: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || users.verify(&login.username, &login.password))
        .await
        .unwrap_or(false);
    if !ok {
        // The session is not touched: no store I/O, no cookie.
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "invalid username or password",
        ));
    }
    // A new id at the privilege change, so an id planted before login is worthless after it.
    // The data (the visit counter) moves to the new id.
    session.regenerate().await?;
    session.insert(USER, &username).await?;
    Ok(Json(Me { username }).into_response())
}

pub(crate) async fn logout(session: Session) -> StatusCode {
    session.destroy().await;
    StatusCode::NO_CONTENT
}

pub(crate) async fn me(session: Session) -> Result<Response, SessionError> {
    Ok(match session.get::<String>(USER).await? {
        Some(username) => Json(Me { username }).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "not logged in"),
    })
}

pub(crate) async fn count(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
    let n = session
        .get::<u64>(COUNT)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    session.insert(COUNT, n).await?;
    Ok(Json(json!({ "count": n })))
}
