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

pub use kektordb_shards::clock::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_bounded() {
        let mut s = Status::default();
        for i in 0..RAG_FAILURES_KEPT + 10 {
            s.fail(&format!("f{i:05}"), "bad".into());
        }
        assert_eq!(s.failures.len(), RAG_FAILURES_KEPT);
    }
}
