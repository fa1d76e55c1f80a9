//! A request's own changes to a session, by top-level field, so that a save that lost to a
//! concurrent request can re-apply exactly them on top of the newer record.

use serde_json::Value;
use session_core::SessionData;

/// The top-level fields a request inserted, replaced or removed, relative to the record it
/// loaded. Fields it left alone are not in here, so re-applying the changes onto another
/// version of the record keeps that version's values for them.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Changes {
    set: Vec<(String, Value)>,
    removed: Vec<String>,
}

impl Changes {
    /// What turned `original` into `data`.
    pub(crate) fn between(original: &SessionData, data: &SessionData) -> Self {
        let set = data
            .iter()
            .filter(|(name, value)| original.get_value(name) != Some(*value))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let removed = original
            .iter()
            .filter(|(name, _)| data.get_value(name).is_none())
            .map(|(name, _)| name.clone())
            .collect();
        Changes { set, removed }
    }

    /// `onto` with these changes applied: the fields set take this request's values (last
    /// writer wins per field), the fields removed are gone, every other field is `onto`'s.
    pub(crate) fn applied_to(&self, mut onto: SessionData) -> SessionData {
        let map = onto.as_map_mut();
        for name in &self.removed {
            map.remove(name);
        }
        for (name, value) in &self.set {
            map.insert(name.clone(), value.clone());
        }
        onto
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data(v: Value) -> SessionData {
        SessionData::try_from(v).unwrap()
    }

    #[test]
    fn only_the_fields_a_request_touched_move_onto_a_newer_record() {
        let original = data(json!({"a": 1, "b": 1, "gone": true, "same": [1]}));
        let mine = data(json!({"a": 2, "b": 1, "new": "x", "same": [1]}));
        let changes = Changes::between(&original, &mine);
        // Another request changed `b` and `same` and added `theirs` meanwhile.
        let newer = data(json!({"a": 1, "b": 5, "gone": true, "same": [2], "theirs": 1}));
        assert_eq!(
            changes.applied_to(newer),
            data(json!({"a": 2, "b": 5, "new": "x", "same": [2], "theirs": 1}))
        );
    }

    #[test]
    fn no_change_is_empty_and_leaves_any_record_as_it_is() {
        let original = data(json!({"a": 1}));
        let changes = Changes::between(&original, &original.clone());
        assert_eq!(changes, Changes::default());
        let newer = data(json!({"a": 7, "b": 2}));
        assert_eq!(changes.applied_to(newer.clone()), newer);
    }
}
