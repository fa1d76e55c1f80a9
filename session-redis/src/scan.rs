//! `SCAN` over every primary, for [`SessionStore::scan`](session_core::SessionStore::scan).
//!
//! Never `KEYS`: it walks the whole keyspace in one blocking command. `SCAN … COUNT n` does a
//! bounded amount of work per call, and its cursor is the server's, so the store keeps nothing
//! between pages. A cluster spreads keys over its primaries, so a scan visits them one after
//! another, in the order of the slots they serve; the cursor says which primary and where on it.

use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, Value};
use session_core::{Error, Result, ScanCursor, ScanPage, SessionKey};

use crate::RedisStore;
use crate::connection::Link;
use crate::error::{BACKEND, timed};

impl RedisStore {
    pub(crate) async fn scan_page(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        let position = Position::parse(cursor)?;
        let cmd = self.scan_cmd(position.cursor, page_size);
        let found = match self.conn.link() {
            Link::Cluster(cluster) => {
                let mut conn = cluster.current();
                let starts = timed(self.timeout, async {
                    let slots = conn
                        .route_command(
                            redis::cmd("CLUSTER").arg("SLOTS").clone(),
                            RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
                        )
                        .await?;
                    Ok(primary_slots(slots))
                })
                .await;
                let starts = self.conn.finish(starts)?;
                let Some(&slot) = starts.get(position.node) else {
                    return Ok(ScanPage::new(Vec::new(), None));
                };
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::new(slot, SlotAddr::Master),
                ));
                let answer = timed(self.timeout, async {
                    let value = conn.route_command(cmd, route).await?;
                    Ok(redis::from_redis_value::<(u64, Vec<String>)>(value)?)
                })
                .await;
                let (next, keys) = self.conn.finish(answer)?;
                let next = match (next, position.node + 1 < starts.len()) {
                    (0, false) => None,
                    (0, true) => Some(Position {
                        node: position.node + 1,
                        cursor: 0,
                    }),
                    (cursor, _) => Some(Position {
                        node: position.node,
                        cursor,
                    }),
                };
                (next, keys)
            }
            // A single node, or the primary Sentinel names: one keyspace.
            Link::Single(_) | Link::Sentinel(_) => {
                let (next, keys): (u64, Vec<String>) = self.conn.query(&cmd, self.timeout).await?;
                let next = (next != 0).then_some(Position {
                    node: 0,
                    cursor: next,
                });
                (next, keys)
            }
        };
        let (next, keys) = found;
        let keys = keys
            .iter()
            .filter_map(|key| key.strip_prefix(self.prefix()))
            .filter_map(|key| SessionKey::parse(key).ok())
            .collect();
        Ok(ScanPage::new(keys, next.map(|p| p.cursor())))
    }

    /// `SCAN cursor MATCH prefix* COUNT n TYPE string`: `TYPE` leaves out the owner indexes
    /// (sorted sets under the same prefix); keys that are not session keys are dropped after.
    fn scan_cmd(&self, cursor: u64, page_size: u32) -> Cmd {
        let mut pattern = String::with_capacity(self.prefix().len() * 2 + 1);
        for c in self.prefix().chars() {
            // A prefix is literal: escape the glob characters SCAN's MATCH knows.
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(page_size.max(1))
            .arg("TYPE")
            .arg("string");
        cmd
    }
}

/// Where a scan is: the index of the primary (in slot order) and `SCAN`'s cursor on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    node: usize,
    cursor: u64,
}

impl Position {
    fn parse(cursor: &ScanCursor) -> Result<Position> {
        if cursor.is_start() {
            return Ok(Position { node: 0, cursor: 0 });
        }
        let bad = || Error::config(BACKEND, "not a Redis scan cursor");
        let (node, at) = cursor.position().split_once(':').ok_or_else(bad)?;
        Ok(Position {
            node: node.parse().map_err(|_| bad())?,
            cursor: at.parse().map_err(|_| bad())?,
        })
    }

    fn cursor(self) -> ScanCursor {
        ScanCursor::from_position(format!("{}:{}", self.node, self.cursor))
    }
}

/// The first slot of each primary's ranges from `CLUSTER SLOTS`, one slot per primary, sorted:
/// a route to that slot's primary reaches each primary exactly once.
fn primary_slots(slots: Value) -> Vec<u16> {
    let Value::Array(ranges) = slots else {
        return Vec::new();
    };
    let mut primaries: Vec<(u16, String)> = Vec::new();
    for range in ranges {
        let Value::Array(fields) = range else {
            continue;
        };
        let (Some(Value::Int(start)), Some(Value::Array(primary))) =
            (fields.first(), fields.get(2))
        else {
            continue;
        };
        let node = format!("{:?}", primary.get(2).or(primary.first()));
        let Ok(start) = u16::try_from(*start) else {
            continue;
        };
        match primaries.iter_mut().find(|(_, n)| *n == node) {
            Some(known) => known.0 = known.0.min(start),
            None => primaries.push((start, node)),
        }
    }
    let mut starts: Vec<u16> = primaries.into_iter().map(|(start, _)| start).collect();
    starts.sort_unstable();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_garbage_is_refused() {
        let p = Position {
            node: 2,
            cursor: 917,
        };
        assert_eq!(Position::parse(&p.cursor()).unwrap(), p);
        assert!(Position::parse(&ScanCursor::from_position("x")).is_err());
        assert_eq!(
            Position::parse(&ScanCursor::start()).unwrap(),
            Position { node: 0, cursor: 0 }
        );
    }

    #[test]
    fn one_slot_per_primary_in_slot_order() {
        let node = |id: &str| {
            Value::Array(vec![
                Value::BulkString(b"h".to_vec()),
                Value::Int(1),
                Value::BulkString(id.as_bytes().to_vec()),
            ])
        };
        let range =
            |start, end, id| Value::Array(vec![Value::Int(start), Value::Int(end), node(id)]);
        let slots = Value::Array(vec![
            range(10923, 16383, "c"),
            range(0, 5460, "a"),
            range(5461, 10922, "b"),
            range(16000, 16001, "a"),
        ]);
        assert_eq!(primary_slots(slots), vec![0, 5461, 10923]);
    }
}
