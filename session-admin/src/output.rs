//! Printing results as text or JSON, a line or an element at a time (never a whole listing
//! in memory), and the progress of a purge.

use std::io::{IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// Where a command's results go: stdout, as text or as JSON.
pub(crate) struct Out {
    json: bool,
    /// Elements of the JSON array printed so far (`list`).
    listed: u64,
}

impl Out {
    pub(crate) fn new(json: bool) -> Self {
        Out { json, listed: 0 }
    }

    /// A one-value result: `text` as a line, or `value` as a JSON document.
    pub(crate) fn result(&self, text: &str, value: Value) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// One element of a listing: streamed as an element of a JSON array, or as a line.
    pub(crate) fn item(&mut self, text: &str, value: Value) {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the listing quietly on the next write.
        let _ = if self.json {
            let sep = if self.listed == 0 { "[\n" } else { ",\n" };
            write!(stdout, "{sep}{value}")
        } else {
            writeln!(stdout, "{text}")
        };
        self.listed += 1;
    }

    /// Ends a listing of `count` elements.
    pub(crate) fn end_list(&self, count: u64) {
        if self.json {
            if self.listed == 0 {
                println!("[]");
            } else {
                println!("\n]");
            }
        } else {
            eprintln!("{count} sessions");
        }
    }
}

/// A listing's element for a session of an owner.
pub(crate) fn owned(session: &session_core::OwnedSession) -> (String, Value) {
    let meta: Vec<String> = session
        .meta
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    (
        format!(
            "{}  created_at={} last_seen={} expires_at={} {}",
            session.handle().as_str(),
            session.created_at,
            session.last_seen,
            session.expires_at,
            meta.join(" ")
        ),
        json!({
            "handle": session.handle().as_str(),
            "created_at": session.created_at,
            "last_seen": session.last_seen,
            "expires_at": session.expires_at,
            "meta": session.meta,
        }),
    )
}

/// Progress of a purge: a spinner with the running total on a terminal, a plain line per batch
/// otherwise (logs, CI), both on stderr so that stdout holds only the result.
pub(crate) enum Progress {
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    pub(crate) fn start() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} purged {pos} expired sessions ({per_sec}) {elapsed}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Lines
        }
    }

    pub(crate) fn batch(&self, removed: u64, total: u64) {
        match self {
            Progress::Bar(bar) => bar.set_position(total),
            Progress::Lines => eprintln!("purged {removed} (total {total})"),
        }
    }

    pub(crate) fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
