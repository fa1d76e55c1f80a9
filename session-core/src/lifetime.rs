//! The absolute lifetime of a session: an end that no activity moves.
//!
//! The idle lifetime (`max_age`) ends a session nobody uses; a session in use can be rolled or
//! renewed forever, so an id stolen once would stay good as long as the thief keeps using it.
//! An absolute lifetime caps that: the session ends at most a fixed time after it was created,
//! whatever its activity (OWASP's session management guidance asks for both).
//!
//! The end travels *in the session data*, under the reserved top-level field
//! [`LIFETIME_FIELD`], as `{"created": <epoch ms>, "until": <epoch ms>}`. So every backend
//! enforces it from the record itself, not only the cookie:
//!
//! - a read ([`SessionStore::load`](crate::SessionStore::load) and `get`) never returns a record
//!   whose `until` has passed (the stores check [`lifetime_over`] after decoding), even when its
//!   idle expiry is later;
//! - a write never gives a record an expiry past its `until` ([`write_expiry`]);
//! - the middleware caps the cookie, touches and rolling reads at `until`.
//!
//! A malformed field counts as over: a record whose end cannot be read is not served.

use serde_json::{Map, Value};
use time::Duration;

use crate::{Result, SessionData, max_age_ms, now_ms};

/// The reserved top-level field that holds a session's absolute lifetime.
pub const LIFETIME_FIELD: &str = "$lifetime";

/// A session's absolute lifetime, as the data holds it under [`LIFETIME_FIELD`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// When the lifetime started (session creation, or the login that restarted it), epoch ms.
    pub created: i64,
    /// When the session ends whatever its activity, epoch ms.
    pub until: i64,
}

impl Lifetime {
    /// A lifetime of `length` starting at `now` (epoch ms).
    ///
    /// # Errors
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge) when `length` is not positive or
    /// longer than [`MAX_MAX_AGE`](crate::MAX_MAX_AGE).
    pub fn starting(now: i64, length: Duration) -> Result<Lifetime> {
        Ok(Lifetime {
            created: now,
            until: now.saturating_add(max_age_ms(length)?),
        })
    }

    /// The lifetime in `data`: `None` when the field is absent, `Some(Err(()))` when it is there
    /// but malformed.
    pub fn from_data(data: &SessionData) -> Option<std::result::Result<Lifetime, ()>> {
        let value = data.get_value(LIFETIME_FIELD)?;
        let field = |name: &str| value.get(name).and_then(Value::as_i64);
        Some(match (field("created"), field("until")) {
            (Some(created), Some(until)) => Ok(Lifetime { created, until }),
            _ => Err(()),
        })
    }

    /// Stores this lifetime in `data` under [`LIFETIME_FIELD`].
    pub fn put_into(&self, data: &mut SessionData) {
        let mut map = Map::new();
        map.insert("created".into(), Value::from(self.created));
        map.insert("until".into(), Value::from(self.until));
        data.as_map_mut()
            .insert(LIFETIME_FIELD.to_owned(), Value::Object(map));
    }

    /// `true` when the session has ended at `now` (epoch ms).
    pub fn is_over_at(&self, now: i64) -> bool {
        self.until <= now
    }
}

/// `true` when `data` has an absolute lifetime that has ended at `now` (epoch ms), or a
/// malformed one. Stores call it on every record they read and treat such a record as expired.
pub fn lifetime_over(data: &SessionData, now: i64) -> bool {
    match Lifetime::from_data(data) {
        None => false,
        Some(Ok(lifetime)) => lifetime.is_over_at(now),
        Some(Err(())) => true,
    }
}

/// The expiry (epoch ms) of a record holding `data` written now with `max_age`: now + `max_age`,
/// but never later than the data's absolute lifetime allows. A session whose lifetime has
/// already ended gets an expiry 1 ms from now (no backend takes a TTL of zero), and no read
/// returns it.
///
/// # Errors
/// As [`max_age_ms`].
pub fn write_expiry(data: &SessionData, max_age: Duration) -> Result<i64> {
    let now = now_ms();
    let idle = now.saturating_add(max_age_ms(max_age)?);
    Ok(match Lifetime::from_data(data) {
        None => idle,
        Some(Ok(lifetime)) => idle.min(lifetime.until).max(now.saturating_add(1)),
        Some(Err(())) => now.saturating_add(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_round_trips_and_ends_at_until() {
        let lifetime = Lifetime::starting(1_000, Duration::seconds(10)).unwrap();
        assert_eq!(lifetime.until, 11_000);
        let mut data = SessionData::new();
        lifetime.put_into(&mut data);
        assert_eq!(Lifetime::from_data(&data), Some(Ok(lifetime)));
        assert!(!lifetime_over(&data, 10_999));
        assert!(lifetime_over(&data, 11_000));
        assert!(!lifetime_over(&SessionData::new(), i64::MAX));
    }

    #[test]
    fn a_malformed_lifetime_counts_as_over() {
        for bad in [
            serde_json::json!("soon"),
            serde_json::json!({"created": 1}),
            serde_json::json!({"created": 1, "until": "later"}),
            serde_json::json!({"created": 1, "until": 1.5e300}),
        ] {
            let mut data = SessionData::new();
            data.insert(LIFETIME_FIELD, bad).unwrap();
            assert!(lifetime_over(&data, 0));
            let expiry = write_expiry(&data, Duration::days(1)).unwrap();
            assert!(expiry <= now_ms() + 1);
        }
    }

    #[test]
    fn writes_never_outlive_the_lifetime() {
        let now = now_ms();
        let mut data = SessionData::new();
        assert!(write_expiry(&data, Duration::hours(1)).unwrap() >= now + 3_600_000);
        Lifetime {
            created: now,
            until: now + 60_000,
        }
        .put_into(&mut data);
        let capped = write_expiry(&data, Duration::hours(1)).unwrap();
        assert_eq!(capped, now + 60_000);
        assert!(write_expiry(&data, Duration::seconds(5)).unwrap() < now + 60_000);
        Lifetime {
            created: now - 10,
            until: now - 5,
        }
        .put_into(&mut data);
        let ended = write_expiry(&data, Duration::hours(1)).unwrap();
        assert!(ended > now_ms() - 1_000 && ended <= now_ms() + 1);
        assert!(write_expiry(&data, Duration::ZERO).is_err());
    }
}
