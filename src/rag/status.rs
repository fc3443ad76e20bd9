//! What a pipeline reports (`GET /system/vectorizers`): real counts of the last
//! and of all runs, failures with their reasons, progress of a running scan.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::limits::RAG_FAILURES_KEPT;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub name: String,
    pub index: String,
    pub source_path: String,
    pub embedder: String,
    pub schedule_secs: u64,
    pub watching: bool,
    /// A scan is running now.
    pub is_running: bool,
    /// A trigger or a change arrived during the scan: another follows it.
    pub queued: bool,
    pub runs: u64,
    /// RFC 3339, absent before the first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_ms: Option<u64>,
    /// Why the last scan could not run (a missing folder, an embedder down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub current_state: String,
    /// Files the last scan found.
    pub files_seen: usize,
    /// Files stored with their chunks now.
    pub files_indexed: usize,
    /// Of the last scan: ingested (new or changed), unchanged, removed.
    pub files_ingested: usize,
    pub files_unchanged: usize,
    pub files_removed: usize,
    pub files_failed: usize,
    /// Failed files with why (at most a bound, newest kept).
    pub failures: BTreeMap<String, String>,
    pub chunks: usize,
    pub progress: Progress,
    /// Since start: chunks embedded and the time spent embedding them.
    pub chunks_embedded_total: u64,
    pub embed_ms_total: u64,
}

impl Status {
    pub fn fail(&mut self, rel: &str, reason: String) {
        if self.failures.len() >= RAG_FAILURES_KEPT && !self.failures.contains_key(rel) {
            if let Some(k) = self.failures.keys().next().cloned() {
                self.failures.remove(&k);
            }
        }
        self.failures.insert(rel.to_owned(), reason);
        self.files_failed = self.failures.len();
    }
}

/// Unix nanoseconds as RFC 3339 UTC (`2026-12-03T10:00:00Z`).
pub fn rfc3339(unix_ns: i64) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(1_796_294_096 * 1_000_000_000),
            "2026-12-03T10:34:56Z"
        );
    }

    #[test]
    fn failures_are_bounded() {
        let mut s = Status::default();
        for i in 0..RAG_FAILURES_KEPT + 10 {
            s.fail(&format!("f{i:05}"), "bad".into());
        }
        assert_eq!(s.failures.len(), RAG_FAILURES_KEPT);
    }
}
