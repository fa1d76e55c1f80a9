//! [`ExpiryResolution`]: how far behind a rolling read may leave a stored expiry before it
//! rewrites it. The guarantee is on the type.

use std::time::Duration as StdDuration;

/// The longest slack [`ExpiryResolution::Auto`] allows: 60 seconds.
pub const AUTO_RESOLUTION_CAP: StdDuration = StdDuration::from_secs(60);

/// How far behind a rolling read may leave a session's stored expiry before it rewrites it.
///
/// A rolling read moves a session's expiry to `now + max_age`. On a database that costs a
/// committed write (a WAL or redo-log flush) on every request, although the expiry moved by a
/// few seconds out of a day. With a resolution `r`, a store whose stored expiry is still at
/// least `now + max_age - r` returns the session without writing; once it lags further, the
/// read moves it to `now + max_age` as before. The guarantee:
///
/// - a session is never returned once its stored expiry has passed: the liveness check is the
///   same in every mode;
/// - after a rolling read at `now`, the stored expiry is at least `now + max_age - r` (never
///   later than `now + max_age`): an active user's session ends at most `r` earlier than
///   with [`ExpiryResolution::Exact`];
/// - writes (`set`, `write_if`) and touches always store the exact expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryResolution {
    /// A hundredth of the session's max-age, at most [`AUTO_RESOLUTION_CAP`] (60 s): a day-long
    /// session rewrites its expiry at most once a minute, a ten-minute one every 6 s. The
    /// default: an active user loses at most 1 % of the max-age, and a database store commits
    /// on a rolling read about once per resolution instead of on every request.
    #[default]
    Auto,
    /// Every rolling read rewrites the expiry (one committed write per rolling request).
    Exact,
    /// A fixed slack; [`Duration::ZERO`](StdDuration::ZERO) is [`Exact`](Self::Exact).
    Fixed(StdDuration),
}

impl ExpiryResolution {
    /// The slack in milliseconds for a session of `max_age_ms`: 0 means every rolling read
    /// rewrites the expiry.
    pub fn slack_ms(self, max_age_ms: i64) -> i64 {
        let cap = || i64::try_from(AUTO_RESOLUTION_CAP.as_millis()).unwrap_or(i64::MAX);
        match self {
            ExpiryResolution::Auto => (max_age_ms / 100).clamp(0, cap()),
            ExpiryResolution::Exact => 0,
            ExpiryResolution::Fixed(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Whether a rolling read at `now` of a live session whose stored expiry is `stored_ms`
    /// must rewrite it: always with a slack of 0; otherwise when the stored expiry is more than
    /// the slack before `now + max_age`, or after it (a longer max-age written earlier, or a
    /// corrupted far-future expiry: a rolling read sets the expiry to `now + max_age`, never
    /// leaves it later).
    pub fn must_move(self, stored_ms: i64, now_ms: i64, max_age_ms: i64) -> bool {
        let slack = self.slack_ms(max_age_ms);
        let target = now_ms.saturating_add(max_age_ms);
        slack == 0 || stored_ms < target.saturating_sub(slack) || stored_ms > target
    }
}

impl ExpiryResolution {
    /// What a rolling read that first read the live row `found` (`(row, stored expiry)`, or
    /// `None` when no live row exists) does next: `Some(None)` answers "no session",
    /// `Some(Some(row))` answers with the row as read (its expiry is recent enough), and `None`
    /// means the expiry must move: take the exact path, which re-checks liveness itself.
    pub fn settle<T>(
        self,
        found: Option<(T, i64)>,
        now_ms: i64,
        max_age_ms: i64,
    ) -> Option<Option<T>> {
        match found {
            None => Some(None),
            Some((_, stored)) if self.must_move(stored, now_ms, max_age_ms) => None,
            Some((row, _)) => Some(Some(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn auto_is_a_hundredth_of_the_max_age_capped_at_a_minute() {
        assert_eq!(ExpiryResolution::Auto.slack_ms(DAY), 60_000);
        assert_eq!(ExpiryResolution::Auto.slack_ms(600_000), 6_000);
        assert_eq!(ExpiryResolution::Auto.slack_ms(50), 0);
        assert_eq!(ExpiryResolution::default(), ExpiryResolution::Auto);
    }

    #[test]
    fn exact_and_zero_always_move() {
        for r in [
            ExpiryResolution::Exact,
            ExpiryResolution::Fixed(StdDuration::ZERO),
        ] {
            assert!(r.must_move(2 * DAY, 0, DAY), "{r:?}");
            assert!(r.must_move(DAY, 0, DAY), "{r:?}");
        }
    }

    #[test]
    fn a_fresh_expiry_stays_and_a_lagging_one_moves() {
        let r = ExpiryResolution::Fixed(StdDuration::from_secs(10));
        let now = 1_000_000;
        assert!(!r.must_move(now + DAY, now, DAY));
        assert!(!r.must_move(now + DAY - 10_000, now, DAY));
        assert!(r.must_move(now + DAY - 10_001, now, DAY));
        assert!(!ExpiryResolution::Auto.must_move(now + DAY - 59_999, now, DAY));
        assert!(ExpiryResolution::Auto.must_move(now + DAY - 60_001, now, DAY));
        // Later than now + max-age: moved back, as the exact mode would.
        assert!(r.must_move(now + DAY + 1, now, DAY));
        assert!(r.must_move(253_402_300_799_000, now, DAY));
        assert_eq!(r.settle::<u8>(None, now, DAY), Some(None));
        assert_eq!(r.settle(Some((7, now + DAY)), now, DAY), Some(Some(7)));
        assert_eq!(r.settle(Some((7, now + DAY - 10_001)), now, DAY), None);
    }
}
