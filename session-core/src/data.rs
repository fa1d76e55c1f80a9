//! Session data: a JSON object with typed helpers.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The contents of a session: a JSON object, as in koa-session and express-session.
///
/// Every JSON value round-trips exactly through every store: integers from `i64::MIN` to
/// `u64::MAX`, floats (bit for bit, including `-0.0`), nested objects and arrays, any Unicode text.
///
/// ```
/// use session_core::SessionData;
///
/// let mut data = SessionData::new();
/// data.insert("user_id", 42_u64)?;
/// data.insert("roles", vec!["admin", "dev"])?;
/// assert_eq!(data.get::<u64>("user_id")?, Some(42));
/// assert_eq!(data.get::<Vec<String>>("roles")?.map(|r| r.len()), Some(2));
/// assert_eq!(data.remove("user_id"), Some(serde_json::json!(42)));
/// # Ok::<(), session_core::Error>(())
/// ```
///
/// Cloning is cheap: clones share the object until one of them changes it (copy on write), so a
/// store can hand out the session it holds without a deep copy, and the first change a handler
/// makes copies it once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionData(Arc<Map<String, Value>>);

impl Serialize for SessionData {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SessionData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Map::deserialize(deserializer).map(SessionData::from)
    }
}

impl SessionData {
    /// An empty session.
    pub fn new() -> Self {
        SessionData::default()
    }

    /// The value under `name`, deserialized as `T`; `Ok(None)` when absent.
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] when the value exists but is not a `T`. (Not a decode error: the
    /// session is intact, the caller asked for the wrong type.)
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|source| Error::TypeMismatch {
                    name: name.to_owned(),
                    source,
                }),
        }
    }

    /// The raw JSON value under `name`.
    pub fn get_value(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Stores `value` under `name`, returning the previous raw value.
    ///
    /// # Errors
    /// [`Error::Encode`] when `value` cannot be represented as JSON (for example a map whose keys
    /// are not strings).
    pub fn insert<T: Serialize>(
        &mut self,
        name: impl Into<String>,
        value: T,
    ) -> Result<Option<Value>> {
        let value = serde_json::to_value(value).map_err(Error::Encode)?;
        Ok(Arc::make_mut(&mut self.0).insert(name.into(), value))
    }

    /// Removes `name`, returning its raw value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        if !self.0.contains_key(name) {
            return None;
        }
        Arc::make_mut(&mut self.0).remove(name)
    }

    /// `true` when the session holds no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of top-level values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        if !self.0.is_empty() {
            self.0 = Arc::default();
        }
    }

    /// Iterates over the top-level names and values.
    pub fn iter(&self) -> serde_json::map::Iter<'_> {
        self.0.iter()
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The underlying JSON object, mutably.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        Arc::make_mut(&mut self.0)
    }

    /// Consumes the session, returning the JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl From<Map<String, Value>> for SessionData {
    fn from(map: Map<String, Value>) -> Self {
        SessionData(Arc::new(map))
    }
}

impl From<SessionData> for Map<String, Value> {
    fn from(data: SessionData) -> Self {
        data.into_map()
    }
}

impl TryFrom<Value> for SessionData {
    type Error = Error;
    fn try_from(value: Value) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(SessionData::from(map)),
            _ => Err(Error::Decode(crate::DecodeError::NotAnObject)),
        }
    }
}

impl<'a> IntoIterator for &'a SessionData {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_get_of_the_wrong_type_is_a_type_mismatch_naming_the_value() {
        let mut data = SessionData::new();
        data.insert("n", "not a number").unwrap();
        let err = data.get::<u32>("n").unwrap_err();
        assert!(
            matches!(&err, Error::TypeMismatch { name, .. } if name == "n"),
            "{err:?}"
        );
        assert!(!err.is_decode());
        assert_eq!(data.get::<u32>("absent").ok(), Some(None));
    }

    #[test]
    fn clones_share_until_one_changes_and_then_neither_sees_the_other() {
        let mut a = SessionData::new();
        a.insert("n", 1).unwrap();
        let mut b = a.clone();
        assert!(
            std::ptr::eq(a.as_map(), b.as_map()),
            "a clone copied the object"
        );
        b.insert("n", 2).unwrap();
        assert_eq!(a.get::<u32>("n").unwrap(), Some(1));
        assert_eq!(b.get::<u32>("n").unwrap(), Some(2));
        let c = a.clone();
        a.as_map_mut().insert("m".into(), Value::Bool(true));
        assert_eq!(c.get_value("m"), None);
        let d = c.clone();
        let mut e = c.clone();
        assert_eq!(e.remove("absent"), None);
        assert!(
            std::ptr::eq(d.as_map(), e.as_map()),
            "removing nothing copied"
        );
        e.clear();
        assert!(e.is_empty() && d.len() == 1);
        assert_eq!(d.clone().into_map(), *c.as_map());
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(c.as_map()).unwrap()
        );
        let back: SessionData = serde_json::from_str(r#"{"x":[1,{"y":null}]}"#).unwrap();
        assert_eq!(
            back.get_value("x"),
            Some(&serde_json::json!([1, {"y": null}]))
        );
    }

    #[test]
    fn non_object_json_is_rejected() {
        assert!(SessionData::try_from(serde_json::json!([1, 2])).is_err());
        assert!(SessionData::try_from(serde_json::json!({"a": 1})).is_ok());
    }
}
