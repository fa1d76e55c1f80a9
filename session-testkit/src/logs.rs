//! What `tracing` logs during one test, for tests of what the code logs.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything logged on this thread while it is alive, as plain text (no colours), at every
/// level. Tasks spawned on a current-thread runtime run on this thread, so their logs are
/// captured too.
#[must_use = "logs are captured only while this is alive"]
pub struct CapturedLogs {
    text: Arc<Mutex<Vec<u8>>>,
    _default: DefaultGuard,
}

impl std::fmt::Debug for CapturedLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CapturedLogs").finish_non_exhaustive()
    }
}

/// Starts capturing this thread's logs; see [`CapturedLogs`].
pub fn capture_logs() -> CapturedLogs {
    capture(FmtSpan::NONE)
}

/// As [`capture_logs`], and every span too: a line when one opens (with all its fields) and
/// one when it closes, so that a test sees everything a span could export.
pub fn capture_logs_and_spans() -> CapturedLogs {
    capture(FmtSpan::NEW | FmtSpan::CLOSE)
}

fn capture(spans: FmtSpan) -> CapturedLogs {
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(Arc::clone(&text));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(spans)
        .with_ansi(false)
        .finish();
    CapturedLogs {
        text,
        _default: tracing::subscriber::set_default(subscriber),
    }
}

impl CapturedLogs {
    /// The lines logged so far.
    pub fn text(&self) -> String {
        let bytes = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut text = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_of_this_thread_are_captured_and_others_are_not() {
        let logs = capture_logs();
        tracing::warn!(answer = 42, "captured here");
        std::thread::spawn(|| tracing::warn!("elsewhere"))
            .join()
            .unwrap();
        let text = logs.text();
        assert!(
            text.contains("WARN") && text.contains("captured here answer=42"),
            "{text}"
        );
        assert!(!text.contains("elsewhere"), "{text}");
    }
}
