//! The loop of one shard executor, with pipelined group commit.
//!
//! Jobs run as they arrive (up to `GROUP_JOBS_MAX` at a time); writes queue their
//! log records and their acknowledgements. When no log write is in flight, every
//! queued record goes out in one write (and one fdatasync under `-fsync always`) on
//! the shard's DMA log, as a task on the same executor; the loop keeps running jobs
//! meanwhile (searches are not held up by the fsync), and their writes form the next
//! group. A group is acknowledged when its write (and sync) completed, never before.
//!
//! Snapshots (requested, or due by policy) start when the pipeline is idle: no
//! write in flight, nothing queued; while one waits, no new job is taken.
//!
//! That pipelined mode is opt-in (`-log-direct`). By default the loop commits
//! through the shard's std file after each group of jobs: one `write` and one
//! `fdatasync` on the executor's thread, during which the shard answers nothing.
//! Measured on this machine (`benches/mixed.sh`, `docs/decisions.md`): the direct
//! mode gives searches ~1.3x more throughput under a write load, but a single
//! writer gets ~6x fewer acknowledged writes per second (two io_uring round trips
//! through the kernel's worker threads per commit, against one `fdatasync`), so the
//! default is the buffered mode.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use glommio::{Latency, Shares};
use kektordb_io::dma_log::DmaLog;
use kektordb_shards::durable::FsyncPolicy;

use super::executors::{Ack, Job, ShardState, GROUP_JOBS_MAX};

/// A log write in flight: returns the log, the bytes and whether it synced.
type FlushTask = Pin<Box<glommio::Task<(DmaLog, Vec<u8>, std::io::Result<bool>)>>>;

struct Flush {
    task: FlushTask,
    acks: Vec<Ack>,
}

enum Event {
    Job(Option<Job>),
    Flushed(Box<(DmaLog, Vec<u8>, std::io::Result<bool>)>),
    Nothing,
}

async fn open_dma(i: usize, st: &ShardState) -> Option<DmaLog> {
    let path = st.files.as_ref()?.log_path();
    match DmaLog::open(&path).await {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!(
                "kektordb: shard {i}: {} cannot be opened for direct I/O ({e}); writing it through the page cache",
                path.display()
            );
            None
        }
    }
}

async fn write(log: &mut DmaLog, bytes: &[u8], sync: bool) -> std::io::Result<bool> {
    log.append(bytes).await?;
    if sync {
        log.sync().await?;
    }
    Ok(sync)
}

pub async fn run(
    i: usize,
    mut st: ShardState,
    rx: flume::Receiver<Job>,
    stop: Arc<AtomicBool>,
    direct: bool,
) {
    let mut dma = if direct { open_dma(i, &st).await } else { None };
    let direct = dma.is_some();
    let mut waiting: Vec<Ack> = Vec::new();
    let mut inflight: Option<Flush> = None;
    // DMA bytes written but not fdatasynced (fsync everysec / no).
    let mut unsynced = false;
    let mut closed = false;
    // Log writes run in a latency-sensitive task queue: their io_uring completions
    // arrive on glommio's latency ring, which makes `need_preempt` true, so the loop
    // below yields to them between jobs instead of after the whole queue of jobs.
    let log_queue = direct.then(|| {
        glommio::executor().create_task_queue(
            Shares::default(),
            Latency::Matters(Duration::from_millis(1)),
            &format!("log-{i}"),
        )
    });
    loop {
        if inflight.is_some() {
            glommio::executor().yield_if_needed().await;
        }
        let stopping = closed || stop.load(Ordering::Acquire);
        let hold = stopping || !st.snapshot_waiters.is_empty();
        let event = match (inflight.as_mut(), hold) {
            (Some(f), true) => Event::Flushed(Box::new(f.task.as_mut().await)),
            // The flush first: `or` polls in order, so a finished write is acknowledged
            // before more jobs run even when jobs keep coming.
            (Some(f), false) => {
                future::or(
                    async { Event::Flushed(Box::new(f.task.as_mut().await)) },
                    async { Event::Job(rx.recv_async().await.ok()) },
                )
                .await
            }
            (None, true) => Event::Nothing,
            (None, false) => Event::Job(rx.recv_async().await.ok()),
        };
        match event {
            Event::Job(None) => closed = true,
            Event::Job(Some(job)) => {
                waiting.extend(job(&mut st));
                for _ in 1..GROUP_JOBS_MAX {
                    if inflight.is_some() && glommio::executor().need_preempt() {
                        break;
                    }
                    match rx.try_recv() {
                        Ok(job) => waiting.extend(job(&mut st)),
                        Err(_) => break,
                    }
                }
            }
            Event::Flushed(done) => {
                let (log, bytes, result) = *done;
                let flush = inflight.take().expect("a flush was in flight");
                dma = Some(log);
                let outcome = match result {
                    Ok(synced) => {
                        st.ctx.note_appended(bytes.len() as u64);
                        unsynced = !synced && (unsynced || !bytes.is_empty());
                        Ok(())
                    }
                    Err(e) => {
                        eprintln!("kektordb: shard {i}: log write failed: {e}");
                        st.ctx.return_pending(bytes);
                        Err(e.to_string())
                    }
                };
                for ack in flush.acks {
                    ack(outcome.clone());
                }
            }
            Event::Nothing => {}
        }

        // Start the next log write if none is in flight.
        if inflight.is_none() {
            match dma.take() {
                Some(mut log) => {
                    let want_sync = match st.ctx.fsync_policy() {
                        FsyncPolicy::Always => true,
                        FsyncPolicy::EverySec => st.sync_due,
                        FsyncPolicy::No => false,
                    };
                    let bytes = st.ctx.take_pending();
                    if bytes.is_empty() && !(want_sync && unsynced) {
                        dma = Some(log);
                        st.sync_due = false;
                        for ack in waiting.drain(..) {
                            ack(Ok(()));
                        }
                    } else {
                        st.sync_due = false;
                        let acks = std::mem::take(&mut waiting);
                        let flush = async move {
                            let r = write(&mut log, &bytes, want_sync).await;
                            (log, bytes, r)
                        };
                        let queue = log_queue.expect("direct mode has a log task queue");
                        let task = glommio::spawn_local_into(flush, queue)
                            .expect("the log task queue exists");
                        inflight = Some(Flush {
                            task: Box::pin(task),
                            acks,
                        });
                    }
                }
                None => {
                    if st.sync_due {
                        st.sync_due = false;
                        if let Err(e) = st.ctx.sync_if_unsynced() {
                            eprintln!("kektordb: shard {i}: log sync failed: {e}");
                        }
                    }
                    if !waiting.is_empty() || st.ctx.has_pending() {
                        let outcome = st.ctx.commit().map_err(|e| e.to_string());
                        for ack in waiting.drain(..) {
                            ack(outcome.clone());
                        }
                    }
                }
            }
        }

        // Snapshots, when the pipeline is idle.
        let idle = inflight.is_none() && waiting.is_empty() && !st.ctx.has_pending();
        let due = !stopping && !st.snapshot_busy() && st.ctx.compaction_due(&st.policy);
        if idle && (!st.snapshot_waiters.is_empty() || due) {
            if let (Some(log), true) = (dma.as_ref(), unsynced) {
                match log.sync().await {
                    Ok(()) => unsynced = false,
                    Err(e) => eprintln!("kektordb: shard {i}: log sync failed: {e}"),
                }
            }
            let started = st.snapshot();
            if started.is_ok() && direct {
                if let Some(old) = dma.take() {
                    let _ = old.close().await;
                }
                dma = open_dma(i, &st).await;
            }
            let waiters = std::mem::take(&mut st.snapshot_waiters);
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
                    eprintln!("kektordb: shard {i}: snapshot failed: {e}");
                    for w in waiters {
                        let _ = w.send(Err(e.clone()));
                    }
                }
            }
        } else if hold && inflight.is_none() && !idle {
            // A failing std commit while holding: do not spin.
            glommio::timer::sleep(Duration::from_millis(10)).await;
        }

        if stopping && idle && st.snapshot_waiters.is_empty() {
            break;
        }
    }
    if let Some(log) = dma.take() {
        if unsynced {
            let _ = log.sync().await;
        }
        let _ = log.close().await;
    }
    if let Some(files) = st.files.as_mut() {
        files.wait();
    }
}
