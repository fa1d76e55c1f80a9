//! axum integration (feature `axum`): `Session` as an extractor, `SessionError` as a response.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::{Session, SessionError};

/// The rejection when a handler asks for a [`Session`] but no
/// [`SessionLayer`](crate::SessionLayer) runs in front of it: `500 Internal Server Error`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no SessionLayer in front of this handler")]
#[non_exhaustive]
pub struct MissingSessionLayer;

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// [`SessionError::status`] with a short text body. Not logged again: the middleware logged the
/// store failure when it happened, and replaces this response with the same status anyway.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = self.status();
        let text = status.canonical_reason().unwrap_or("session error");
        (status, text).into_response()
    }
}
