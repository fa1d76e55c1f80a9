//! The session records Koa and Express stores write, as pure functions: what a store needs to
//! share sessions with a running Node app (issue 16).
//!
//! Two shapes, both a JSON object (key order kept, so a record written here is byte-for-byte the
//! one the Node side writes for the same data):
//!
//! - **koa-session 7** (the record koa-redis stores): the user data, then `"_expire"` (epoch ms)
//!   and `"_maxAge"` (ms). Keys starting with `_` are koa-session's own and are not data: koa
//!   drops them before the app sees the session, and so does [`koa_decode`]. A record whose
//!   `_expire` has passed is dead for koa-session even while the store still holds it.
//! - **express-session 1.19** (connect-redis, connect-mongo, express-mysql-session): a `cookie`
//!   object first (`originalMaxAge`, `expires` as an ISO-8601 string with milliseconds, `httpOnly`,
//!   `path`, and whatever else the Node app configured), then the user data. Express crashes on a
//!   record without `cookie`, so every record written here has one. The `cookie` object is kept in
//!   the [`SessionData`] as the field [`EXPRESS_COOKIE_FIELD`] so that its unknown members survive a
//!   Rust write verbatim; applications should not change it.
//!
//! Expiry: koa-session judges `_expire`; express-session never judges expiry itself, its store
//! does (the Redis TTL, the MySQL `expires` column, the MongoDB `expires` field), so
//! [`express_decode`] does not look at `cookie.expires`.

use serde_json::{Map, Value};

use sha2::{Digest, Sha256};

use crate::{DecodeError, Error, SessionData, Version};

/// koa-session's extra time on the store's TTL: the store keeps a record 10 s longer than the
/// cookie lives.
pub const KOA_STORE_GRACE_MS: i64 = 10_000;

/// The field of an express record holding the cookie object.
pub const EXPRESS_COOKIE_FIELD: &str = "cookie";

/// connect-redis's TTL for a session whose cookie has no expiry (`expires: null`), in seconds.
pub const CONNECT_REDIS_DEFAULT_TTL_SECS: i64 = 86_400;

/// The Node record formats a store can read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFormat {
    /// koa-session 7 (`_expire` / `_maxAge`).
    Koa,
    /// express-session 1.19 (a `cookie` object first).
    Express,
}

/// The [`Version`] of a Node record: Node records carry none, so it is derived from the stored
/// bytes (the first 8 bytes of their SHA-256, never [`Version::LEGACY`]). A conditional write
/// compares the record's current bytes with the ones it read.
pub fn version_of(bytes: &[u8]) -> Version {
    let digest = Sha256::digest(bytes);
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    Version::from_u64(u64::from_be_bytes(first).max(1))
}

/// The error a Node-format store answers for the owner index (`list_owned`, `destroy_owned`):
/// Node records have no owner index.
pub fn no_owner_index(backend: &'static str) -> Error {
    Error::Config {
        backend,
        message: "a Node-format store keeps no owner index (list_owned / destroy_owned)".into(),
        source: None,
    }
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    match serde_json::from_slice::<Value>(bytes).map_err(DecodeError::Json)? {
        Value::Object(map) => Ok(map),
        _ => Err(DecodeError::NotAnObject),
    }
}

/// Reads a koa-session record. `Ok(None)` when koa-session would reject it as expired
/// (`_expire` a number below `now_ms`); otherwise the data without the `_`-prefixed keys.
///
/// # Errors
/// [`DecodeError::Json`] / [`DecodeError::NotAnObject`] for bytes that are not a JSON object
/// (for example a native `ss1:` record).
pub fn koa_decode(bytes: &[u8], now_ms: i64) -> Result<Option<SessionData>, DecodeError> {
    let map = object(bytes)?;
    if let Some(expire) = map.get("_expire").and_then(Value::as_f64)
        && expire < now_ms as f64
    {
        return Ok(None);
    }
    let data: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .collect();
    Ok(Some(SessionData::from(data)))
}

/// Writes a koa-session record: the data (its `_`-prefixed keys dropped, as koa-session drops
/// them) followed by `"_expire": now_ms + max_age_ms` and `"_maxAge": max_age_ms`.
pub fn koa_encode(data: &SessionData, now_ms: i64, max_age_ms: i64) -> String {
    let mut map: Map<String, Value> = data
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map.insert(
        "_expire".into(),
        Value::from(now_ms.saturating_add(max_age_ms)),
    );
    map.insert("_maxAge".into(), Value::from(max_age_ms));
    Value::Object(map).to_string()
}

/// The TTL koa-session asks the store for, in whole seconds as koa-redis sends it to `SETEX`:
/// `ceil((max_age + 10 s) / 1000)`.
pub fn koa_store_ttl_secs(max_age_ms: i64) -> i64 {
    ceil_secs(max_age_ms.saturating_add(KOA_STORE_GRACE_MS))
}

/// Reads an express-session record: every top-level key, `cookie` included.
///
/// # Errors
/// [`DecodeError::Json`] / [`DecodeError::NotAnObject`] for bytes that are not a JSON object;
/// [`DecodeError::Field`] when there is no `cookie` object (express-session itself fails with a
/// 500 on such a record; here it is an unreadable record, that is no session).
pub fn express_decode(bytes: &[u8]) -> Result<SessionData, DecodeError> {
    let map = object(bytes)?;
    express_from_map(map)
}

/// [`express_decode`] for a record that is already a JSON object (connect-mongo's sub-document
/// form).
///
/// # Errors
/// As [`express_decode`].
pub fn express_from_map(map: Map<String, Value>) -> Result<SessionData, DecodeError> {
    if !map.get(EXPRESS_COOKIE_FIELD).is_some_and(Value::is_object) {
        return Err(DecodeError::Field(
            "express session record without a cookie object",
        ));
    }
    Ok(SessionData::from(map))
}

/// An express record ready to store: the JSON object and the cookie's expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressRecord {
    /// The record, `cookie` first.
    pub map: Map<String, Value>,
    /// `cookie.expires` in epoch ms; `None` for a browser-session cookie (`expires: null`).
    pub expires_ms: Option<i64>,
}

impl ExpressRecord {
    /// The record as the JSON text connect-redis and express-mysql-session store.
    pub fn to_json(&self) -> String {
        Value::Object(self.map.clone()).to_string()
    }
}

/// Writes an express-session record as express-session does after `touch()`: the `cookie`
/// object first with `expires` = `now_ms + originalMaxAge`, then the other keys in their order.
/// Data without a `cookie` object (a session created on the Rust side) gets express-session's
/// default one: `{"originalMaxAge": max_age_ms, "expires": …, "httpOnly": true, "path": "/"}`.
/// A cookie whose `originalMaxAge` is `null` keeps `expires: null`.
pub fn express_encode(data: &SessionData, now_ms: i64, max_age_ms: i64) -> ExpressRecord {
    let mut cookie = match data.get_value(EXPRESS_COOKIE_FIELD) {
        Some(Value::Object(cookie)) => cookie.clone(),
        _ => {
            let mut cookie = Map::new();
            cookie.insert("originalMaxAge".into(), Value::from(max_age_ms));
            cookie.insert("expires".into(), Value::Null);
            cookie.insert("httpOnly".into(), Value::Bool(true));
            cookie.insert("path".into(), Value::from("/"));
            cookie
        }
    };
    let expires_ms = match cookie.get("originalMaxAge") {
        Some(Value::Null) => None,
        Some(v) => Some(now_ms.saturating_add(v.as_i64().unwrap_or(max_age_ms))),
        None => Some(now_ms.saturating_add(max_age_ms)),
    };
    let expires = expires_ms.map_or(Value::Null, |ms| Value::from(iso_ms(ms)));
    match cookie.get_mut("expires") {
        Some(slot) => *slot = expires,
        None => {
            cookie.insert("expires".into(), expires);
        }
    }
    let mut map = Map::new();
    map.insert(EXPRESS_COOKIE_FIELD.into(), Value::Object(cookie));
    for (k, v) in data.iter() {
        if k != EXPRESS_COOKIE_FIELD {
            map.insert(k.clone(), v.clone());
        }
    }
    ExpressRecord { map, expires_ms }
}

/// connect-redis's TTL for a record: `ceil((expires − now) / 1000)` seconds, 86 400 without an
/// expiry. A result ≤ 0 means connect-redis deletes the record instead of writing it.
pub fn connect_redis_ttl_secs(expires_ms: Option<i64>, now_ms: i64) -> i64 {
    expires_ms.map_or(CONNECT_REDIS_DEFAULT_TTL_SECS, |e| {
        ceil_secs(e.saturating_sub(now_ms))
    })
}

fn ceil_secs(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// `Date.prototype.toJSON()`: `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn iso_ms(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (min, rem) = (rem / 60_000, rem % 60_000);
    let (s, milli) = (rem / 1000, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// An HTTP date as Node writes cookie expiries (`Date.prototype.toUTCString()`):
/// `Tue, 24 Nov 2026 10:09:12 GMT`, seconds truncated.
pub fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000) / 1000);
    let (y, m, d) = civil_from_days(days);
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
    let (h, min, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{weekday}, {d:02} {month} {y:04} {h:02}:{min:02}:{s:02} GMT")
}

/// Parses what [`iso_ms`] writes (also without milliseconds); `None` for anything else.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let milli = match &b[19..] {
        b"Z" => 0,
        [b'.', a, b2, c, b'Z'] if [a, b2, c].iter().all(|x| x.is_ascii_digit()) => num(20..23)?,
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(days * 86_400_000 + h * 3_600_000 + min * 60_000 + sec * 1000 + milli)
}

// Howard Hinnant's civil-calendar algorithms (public domain description).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // node-interop.md §9.1: the record koa-session 7 + koa-redis 4 wrote.
    const KOA: &str = r#"{"user":"alice","count":2,"_expire":1795514892482,"_maxAge":86400000}"#;
    // node-interop.md §9.2: the record express-session 1.19 + connect-redis 10 wrote.
    const EXPRESS: &str = r#"{"cookie":{"originalMaxAge":86400000,"expires":"2026-11-24T10:09:14.142Z","httpOnly":true,"path":"/"},"user":"alice","count":2}"#;

    #[test]
    fn a_koa_record_round_trips_byte_for_byte() {
        let now = 1_795_514_892_482 - 86_400_000;
        let data = koa_decode(KOA.as_bytes(), now).unwrap().unwrap();
        assert_eq!(data.get_value("user"), Some(&Value::from("alice")));
        assert!(data.get_value("_expire").is_none());
        assert_eq!(koa_encode(&data, now, 86_400_000), KOA);
        assert_eq!(koa_store_ttl_secs(86_400_000), 86_410);
    }

    #[test]
    fn a_koa_record_past_its_expire_is_dead() {
        assert_eq!(koa_decode(KOA.as_bytes(), 1_795_514_892_483).unwrap(), None);
        assert!(koa_decode(br#"{"_expire":1000}"#, 2000).unwrap().is_none());
        assert!(koa_decode(b"ss1:123.{}", 0).is_err());
        assert!(koa_decode(b"[1]", 0).is_err());
    }

    #[test]
    fn an_express_record_round_trips_byte_for_byte() {
        let data = express_decode(EXPRESS.as_bytes()).unwrap();
        let now = parse_iso_ms("2026-11-24T10:09:14.142Z").unwrap() - 86_400_000;
        let record = express_encode(&data, now, 3_600_000);
        assert_eq!(record.to_json(), EXPRESS);
        assert_eq!(connect_redis_ttl_secs(record.expires_ms, now), 86_400);
        assert_eq!(connect_redis_ttl_secs(None, now), 86_400);
        assert_eq!(connect_redis_ttl_secs(Some(now + 1), now), 1);
        assert_eq!(connect_redis_ttl_secs(Some(now), now), 0);
    }

    #[test]
    fn rust_data_gets_express_sessions_default_cookie_first() {
        let mut data = SessionData::new();
        data.insert("user", "bob").unwrap();
        data.insert("count", 41).unwrap();
        let now = parse_iso_ms("2026-11-23T10:09:14.142Z").unwrap();
        assert_eq!(
            express_encode(&data, now, 86_400_000).to_json(),
            EXPRESS.replace("alice", "bob").replace(":2}", ":41}")
        );
    }

    #[test]
    fn unknown_cookie_members_and_browser_session_cookies_are_kept() {
        let raw = r#"{"cookie":{"originalMaxAge":null,"expires":null,"secure":true,"httpOnly":true,"path":"/","sameSite":"lax"},"z":1,"a":2}"#;
        let data = express_decode(raw.as_bytes()).unwrap();
        let record = express_encode(&data, 5, 10);
        assert_eq!(record.to_json(), raw);
        assert_eq!(record.expires_ms, None);
    }

    #[test]
    fn an_express_record_without_cookie_is_unreadable() {
        assert!(express_decode(br#"{"user":"eve"}"#).is_err());
        assert!(express_decode(b"not json").is_err());
    }

    #[test]
    fn iso_dates_are_javascripts() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_795_514_892_482), "2026-11-24T10:08:12.482Z");
        for ms in [0, 951_782_400_123, 1_795_514_892_482, 4_102_444_799_999] {
            assert_eq!(parse_iso_ms(&iso_ms(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso_ms("2026-11-24T10:08:12Z"),
            Some(1_795_514_892_000)
        );
        assert_eq!(parse_iso_ms("2026-13-24T10:08:12Z"), None);
        assert_eq!(parse_iso_ms("garbage"), None);
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(parse_iso_ms("2026-11-24T10:09:12.752Z").unwrap()),
            "Tue, 24 Nov 2026 10:09:12 GMT"
        );
    }
}
