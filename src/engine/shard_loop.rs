//! The loop of one shard executor, with group commit.
//!
//! Jobs run as they arrive (up to `GROUP_JOBS_MAX` at a time); writes queue their
//! log records and their acknowledgements. A group is acknowledged when its log
//! write (and, under `-fsync always`, its fdatasync) completed, never before. Two
//! ways to write the log ([`LogWriter`]):
//! - buffered (the default): after each group of jobs, one `write` and one
//!   `fdatasync` through the shard's std file, on the executor's thread;
//! - direct (`-log-direct`): every queued record goes out in one write on the
//!   shard's DMA log as a task on the same executor while the loop keeps running
//!   jobs, whose writes form the next group. Why buffered is the default:
//!   `docs/decisions.md`.
//!
//! Snapshots (requested, or due by policy) start when the pipeline is idle: no
//! write in flight, nothing queued; while one waits, no new job is taken.
//!
//! When a log write or sync fails, the writes of that group are answered "outcome
//! unknown" (they are applied in memory, and may or may not be on disk), and the
//! shard refuses every further write until the log works again: a failed write is
//! retried every [`RETRY_INTERVAL`]; a failed fsync is not (see `LogFailure`).
//! Reads go on throughout.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use glommio::{Latency, Shares, TaskQueueHandle};
use kektordb_io::dma_log::DmaLog;

use super::commit;
use super::queue::Receiver;
use super::state::{Ack, Job, ShardState};
use crate::limits::{GROUP_JOBS_MAX, LOG_RETRY_INTERVAL as RETRY_INTERVAL};

/// What a DMA log write reports: the log, the bytes, and whether it synced (or at
/// which stage it failed).
type FlushOutcome = (DmaLog, Vec<u8>, Result<bool, Failed>);
type FlushTask = Pin<Box<glommio::Task<FlushOutcome>>>;

/// A failed log write or sync, with the error text.
struct Failed {
    sync: bool,
    error: std::io::Error,
}

struct Flush {
    task: FlushTask,
    acks: Vec<Ack>,
}

enum Event {
    Job(Option<Job>),
    Flushed(Box<FlushOutcome>),
    Retry,
    Nothing,
}

/// The log as this loop writes it.
enum LogWriter {
    /// Through the durable shard's std file (`DurableShard::commit`).
    Buffered,
    Direct {
        /// None while a write is in flight (the task owns it).
        log: Option<Box<DmaLog>>,
        inflight: Option<Flush>,
        /// DMA bytes written but not fdatasynced (fsync everysec / no).
        unsynced: bool,
        queue: TaskQueueHandle,
    },
}

async fn open_dma(shard: usize, st: &ShardState) -> Option<DmaLog> {
    let path = st.files.as_ref()?.log_path();
    match DmaLog::open(&path).await {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!(
                "kektordb: shard {shard}: {} cannot be opened for direct I/O ({e}); writing it through the page cache",
                path.display()
            );
            None
        }
    }
}

async fn write(log: &mut DmaLog, bytes: &[u8], sync: bool) -> Result<bool, Failed> {
    log.append(bytes)
        .await
        .map_err(|error| Failed { sync: false, error })?;
    if sync {
        log.sync()
            .await
            .map_err(|error| Failed { sync: true, error })?;
    }
    Ok(sync)
}

struct Pipeline {
    shard: usize,
    st: ShardState,
    writer: LogWriter,
    /// Acks of jobs run since the last commit started.
    waiting: Vec<Ack>,
}

impl Pipeline {
    fn failed(&self) -> bool {
        self.st.durable.log_failure().is_some()
    }

    fn inflight(&self) -> bool {
        matches!(
            self.writer,
            LogWriter::Direct {
                inflight: Some(_),
                ..
            }
        )
    }

    fn idle(&self) -> bool {
        !self.inflight()
            && self.waiting.is_empty()
            && (!self.st.durable.has_pending() || self.failed())
    }

    fn run_jobs(&mut self, first: Job, rx: &Receiver<Job>) {
        // With a write in flight, yield to its completion as soon as it is due.
        let inflight = self.inflight();
        let stop = || inflight && glommio::executor().need_preempt();
        commit::run_group(
            &mut self.st,
            first,
            rx,
            GROUP_JOBS_MAX,
            &mut self.waiting,
            stop,
        );
    }

    fn answer(acks: Vec<Ack>, outcome: &Result<(), String>) {
        commit::answer(acks, outcome);
    }

    /// A DMA write finished.
    fn on_flushed(&mut self, done: FlushOutcome) {
        let (log, bytes, result) = done;
        let LogWriter::Direct {
            log: slot,
            inflight,
            unsynced,
            ..
        } = &mut self.writer
        else {
            unreachable!("flushes exist only in direct mode")
        };
        let flush = inflight.take().expect("a flush was in flight");
        *slot = Some(Box::new(log));
        let outcome = match result {
            Ok(synced) => {
                self.st.durable.note_appended(bytes.len() as u64);
                *unsynced = !synced && (*unsynced || !bytes.is_empty());
                self.st.durable.clear_failure();
                Ok(())
            }
            Err(Failed { sync, error }) => {
                let reason = format!(
                    "log {} failed: {error}",
                    if sync { "sync" } else { "write" }
                );
                eprintln!("kektordb: shard {}: {reason}", self.shard);
                self.st.durable.return_pending(bytes);
                self.st.durable.mark_failed(reason.clone(), !sync);
                // Jobs that ran while this write was in flight applied writes that
                // are queued behind it: their outcome is unknown too.
                Self::answer(std::mem::take(&mut self.waiting), &Err(reason.clone()));
                Err(reason)
            }
        };
        Self::answer(flush.acks, &outcome);
    }

    /// Starts or performs the commit of what the jobs queued. While the log is
    /// failed, new acks are answered at once (their writes were refused before
    /// applying, so nothing of theirs is pending) and nothing is written, except a
    /// retry when `retry` is set.
    fn commit(&mut self, retry: bool) {
        let was_failed = self.failed();
        let sync_due = std::mem::take(&mut self.st.sync_due);
        match &mut self.writer {
            LogWriter::Buffered => {
                if sync_due && !was_failed {
                    if let Err(e) = self.st.durable.sync_if_unsynced() {
                        eprintln!("kektordb: shard {}: log sync failed: {e}", self.shard);
                    }
                }
                let acks = std::mem::take(&mut self.waiting);
                if let Some(Err(e)) = commit::commit_buffered(&mut self.st.durable, acks, retry) {
                    eprintln!("kektordb: shard {}: {e}", self.shard);
                }
            }
            LogWriter::Direct { .. } if was_failed => {
                Self::answer(std::mem::take(&mut self.waiting), &Ok(()));
                let retryable = self.st.durable.log_failure().is_some_and(|f| f.retryable);
                if retry && retryable {
                    self.start_flush(false);
                }
            }
            LogWriter::Direct { .. } => self.start_flush(sync_due),
        }
        if was_failed && !self.failed() {
            eprintln!(
                "kektordb: shard {}: the log can be written again; writes are accepted",
                self.shard
            );
        }
    }

    /// Direct mode: starts the DMA write of everything queued, unless one is in
    /// flight; with nothing to write, answers the waiting acks at once.
    fn start_flush(&mut self, sync_due: bool) {
        match &mut self.writer {
            LogWriter::Buffered => {}
            LogWriter::Direct {
                log,
                inflight,
                unsynced,
                queue,
            } => {
                if inflight.is_some() {
                    return;
                }
                let Some(dma) = log.take() else { return };
                let mut dma = *dma;
                let want_sync = self.st.durable.fsync_policy().sync_due(sync_due);
                let bytes = self.st.durable.take_pending();
                if bytes.is_empty() && !(want_sync && *unsynced) {
                    *log = Some(Box::new(dma));
                    Self::answer(std::mem::take(&mut self.waiting), &Ok(()));
                    return;
                }
                let acks = std::mem::take(&mut self.waiting);
                let flush = async move {
                    let r = write(&mut dma, &bytes, want_sync).await;
                    (dma, bytes, r)
                };
                let task =
                    glommio::spawn_local_into(flush, *queue).expect("the log task queue exists");
                *inflight = Some(Flush {
                    task: Box::pin(task),
                    acks,
                });
            }
        }
    }

    /// Starts a requested or due snapshot when the pipeline is idle.
    async fn maybe_snapshot(&mut self, stopping: bool) {
        if !self.idle() {
            return;
        }
        if let Some(f) = self.st.durable.log_failure() {
            let e = format!("cannot snapshot: {}", f.reason);
            for w in std::mem::take(&mut self.st.snapshot_waiters) {
                let _ = w.send(Err(e.clone()));
            }
            return;
        }
        let due =
            !stopping && !self.st.snapshot_busy() && self.st.durable.snapshot_due(&self.st.policy);
        if self.st.snapshot_waiters.is_empty() && !due {
            return;
        }
        if let LogWriter::Direct {
            log: Some(log),
            unsynced,
            ..
        } = &mut self.writer
        {
            if *unsynced {
                match log.sync().await {
                    Ok(()) => *unsynced = false,
                    Err(e) => eprintln!("kektordb: shard {}: log sync failed: {e}", self.shard),
                }
            }
        }
        let started = self.st.snapshot();
        if started.is_ok() {
            if let LogWriter::Direct { log, .. } = &mut self.writer {
                if let Some(old) = log.take() {
                    let _ = old.close().await;
                }
                // The fresh log, or the buffered path if it cannot be opened.
                match open_dma(self.shard, &self.st).await {
                    Some(fresh) => *log = Some(Box::new(fresh)),
                    None => self.writer = LogWriter::Buffered,
                }
            }
        }
        let waiters = std::mem::take(&mut self.st.snapshot_waiters);
        match started {
            Ok(Some(done)) => {
                glommio::spawn_local(async move {
                    let r = done
                        .recv_async()
                        .await
                        .unwrap_or_else(|_| Err("snapshot thread died".into()));
                    for w in waiters {
                        let _ = w.send(r.clone());
                    }
                })
                .detach();
            }
            Ok(None) => waiters.into_iter().for_each(|w| {
                let _ = w.send(Ok(0));
            }),
            Err(e) => {
                eprintln!("kektordb: shard {}: snapshot failed: {e}", self.shard);
                for w in waiters {
                    let _ = w.send(Err(e.clone()));
                }
            }
        }
    }

    /// A clean stop: everything acknowledged is synced (also under everysec and
    /// no), the DMA log closed, a snapshot being written finished.
    async fn shutdown(mut self) {
        if let LogWriter::Direct {
            log: Some(log),
            unsynced,
            ..
        } = &mut self.writer
        {
            if *unsynced {
                if let Err(e) = log.sync().await {
                    eprintln!("kektordb: shard {}: final log sync failed: {e}", self.shard);
                }
            }
        }
        if let LogWriter::Direct { log, .. } = &mut self.writer {
            if let Some(log) = log.take() {
                let _ = log.close().await;
            }
        }
        if let Err(e) = self.st.durable.sync_if_unsynced() {
            eprintln!("kektordb: shard {}: final log sync failed: {e}", self.shard);
        }
        if let Some(files) = self.st.files.as_mut() {
            files.wait();
        }
    }
}

pub async fn run(
    shard: usize,
    st: ShardState,
    rx: super::queue::Receiver<Job>,
    stop: Arc<AtomicBool>,
    direct: bool,
) {
    let writer = match direct {
        true => match open_dma(shard, &st).await {
            // Log writes run in a latency-sensitive task queue: their io_uring
            // completions arrive on glommio's latency ring, which makes
            // `need_preempt` true, so the loop yields to them between jobs instead
            // of after the whole queue of jobs.
            Some(log) => LogWriter::Direct {
                log: Some(Box::new(log)),
                inflight: None,
                unsynced: false,
                queue: glommio::executor().create_task_queue(
                    Shares::default(),
                    Latency::Matters(Duration::from_millis(1)),
                    &format!("log-{shard}"),
                ),
            },
            None => LogWriter::Buffered,
        },
        false => LogWriter::Buffered,
    };
    let mut p = Pipeline {
        shard,
        st,
        writer,
        waiting: Vec::new(),
    };
    let mut closed = false;
    // When a failed log write is tried again (kept across iterations, so a steady
    // stream of refused writes cannot postpone it).
    let mut next_retry = std::time::Instant::now();
    loop {
        if p.inflight() {
            glommio::executor().yield_if_needed().await;
        }
        let stopping = closed || stop.load(Ordering::Acquire);
        let hold = stopping || !p.st.snapshot_waiters.is_empty();
        let retry_in = next_retry.saturating_duration_since(std::time::Instant::now());
        let retry_wait = async move {
            glommio::timer::sleep(retry_in).await;
            Event::Retry
        };
        let failed = p.failed();
        let event = match &mut p.writer {
            LogWriter::Direct {
                inflight: Some(f), ..
            } => {
                if hold {
                    Event::Flushed(Box::new(f.task.as_mut().await))
                } else {
                    // The flush first: `or` polls in order, so a finished write is
                    // acknowledged before more jobs run even when jobs keep coming.
                    future::or(
                        async { Event::Flushed(Box::new(f.task.as_mut().await)) },
                        async { Event::Job(rx.recv().await) },
                    )
                    .await
                }
            }
            _ if hold => Event::Nothing,
            _ if failed => future::or(async { Event::Job(rx.recv().await) }, retry_wait).await,
            _ => Event::Job(rx.recv().await),
        };
        match event {
            Event::Job(None) => closed = true,
            Event::Job(Some(job)) => p.run_jobs(job, &rx),
            Event::Flushed(done) => p.on_flushed(*done),
            Event::Retry | Event::Nothing => {}
        }
        let retry = failed && std::time::Instant::now() >= next_retry;
        if retry {
            next_retry = std::time::Instant::now() + RETRY_INTERVAL;
        }
        let was_failed = p.failed();
        p.commit(retry);
        if !was_failed && p.failed() {
            next_retry = std::time::Instant::now() + RETRY_INTERVAL;
        }
        p.maybe_snapshot(stopping).await;
        let idle = p.idle();
        if stopping && idle && p.st.snapshot_waiters.is_empty() {
            break;
        }
        if hold && !idle && !p.inflight() {
            // A failing commit while holding: do not spin.
            glommio::timer::sleep(Duration::from_millis(10)).await;
        }
    }
    p.shutdown().await;
}
