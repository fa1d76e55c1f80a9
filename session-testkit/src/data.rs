//! Session data from JSON.

use session_core::SessionData;

/// The session data a JSON object literal describes, as tests write it: `data(json!({…}))`.
///
/// # Panics
/// When `value` is not a JSON object.
pub fn data(value: serde_json::Value) -> SessionData {
    SessionData::try_from(value).expect("test data must be a JSON object")
}
