//! The JSON API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
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
    headers: HeaderMap,
    Json(login): Json<Login>,
) -> Result<Response, SessionError> {
    let username = login.username.clone();
    let checked = off_the_workers(move || users.verify(&login.username, &login.password)).await;
    let ok = match checked {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
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
    // The user owns the session from now on: it shows in their "Your sessions" list, labelled
    // with the browser it came from.
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown browser");
    session.set_owner(&username, [("browser", agent)]).await?;
    Ok(Json(Me { username }).into_response())
}

/// Runs `f` on the blocking pool: argon2 takes tens of milliseconds of CPU on purpose, which
/// must not stall the async workers. A panic in `f` is the server's fault, so it answers 500;
/// turning it into a 401 would tell a user with the right password that it was wrong.
async fn off_the_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "the password check failed");
        error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })
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

/// The logged-in user's sessions: handles, times and browsers, never a session id.
pub(crate) async fn sessions(session: Session) -> Result<Response, SessionError> {
    if session.owner().await?.is_none() {
        return Ok(error(StatusCode::UNAUTHORIZED, "not logged in"));
    }
    Ok(Json(session.sessions().await?).into_response())
}

/// Logs out one of the user's sessions, by handle (this one included).
pub(crate) async fn end_session(
    session: Session,
    Path(handle): Path<String>,
) -> Result<Response, SessionError> {
    if session.owner().await?.is_none() {
        return Ok(error(StatusCode::UNAUTHORIZED, "not logged in"));
    }
    Ok(if session.end_session(&handle).await? {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "no such session")
    })
}

/// Logs out every other session of the user.
pub(crate) async fn end_other_sessions(session: Session) -> Result<Response, SessionError> {
    if session.owner().await?.is_none() {
        return Ok(error(StatusCode::UNAUTHORIZED, "not logged in"));
    }
    let ended = session.end_other_sessions().await?;
    Ok(Json(json!({ "ended": ended })).into_response())
}

/// A strict read-modify-write: concurrent requests (a page opened in several tabs at once)
/// never lose an increment.
pub(crate) async fn count(session: Session) -> Result<Json<serde_json::Value>, SessionError> {
    let n = session
        .update(COUNT, |n: Option<u64>| n.unwrap_or(0).saturating_add(1))
        .await?;
    Ok(Json(json!({ "count": n })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_password_check_answers_500_not_401() {
        let Err(response) = off_the_workers(|| -> bool { panic!("argon2 failed") }).await else {
            panic!("a panic was taken for an answer")
        };
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn a_completed_password_check_passes_its_answer_through() {
        assert!(matches!(off_the_workers(|| false).await, Ok(false)));
    }
}
