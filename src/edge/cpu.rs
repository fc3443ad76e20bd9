//! A bounded pool of plain threads for CPU-heavy jobs (model inference). Jobs wait
//! in a bounded queue (a full queue refuses at once); the caller awaits the result
//! with a timeout (the job itself runs to completion; its result is dropped if
//! nobody waits any more). The threads are not pinned, so they float on the cores
//! the shard executors leave.
//!
//! Beside them, a rayon pool of as many threads ([`CpuPool::wide`]) lets one job
//! split its own work (a single short text embedded alone, whose matrix products
//! would otherwise use one core while the others idle). A job that goes wide blocks
//! its pool thread while the rayon threads work, so no more than `threads` threads
//! compute at once however many jobs go wide.

use std::sync::Arc;
use std::time::Duration;

use super::error::EdgeError;

type CpuJob = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct CpuPool {
    tx: flume::Sender<CpuJob>,
    wide: Arc<rayon::ThreadPool>,
    threads: usize,
}

impl CpuPool {
    pub fn start(threads: usize, queue_max: usize) -> Result<CpuPool, EdgeError> {
        let (tx, rx) = flume::bounded::<CpuJob>(queue_max.max(1));
        let threads = threads.max(1);
        let wide = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("edge-wide-{i}"))
            .build()
            .map_err(|e| EdgeError::Start(e.to_string()))?;
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("edge-cpu-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .map_err(|e| EdgeError::Start(e.to_string()))?;
        }
        Ok(CpuPool {
            tx,
            wide: Arc::new(wide),
            threads,
        })
    }

    /// How many threads the pool computes on.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` (from inside a pool job) with the pool's rayon threads available
    /// to it: rayon calls in `f` (e.g. a matrix product asked for
    /// `Threads(pool.threads())`) split over them. Blocks the calling thread.
    pub fn wide<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.wide.install(f)
    }

    /// Jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    fn submit<T: Send + 'static>(
        &self,
        what: &'static str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<flume::Receiver<T>, EdgeError> {
        let (tx, rx) = flume::bounded(1);
        let boxed: CpuJob = Box::new(move || {
            let _ = tx.send(job());
        });
        self.tx.try_send(boxed).map_err(|e| match e {
            flume::TrySendError::Full(_) => EdgeError::Busy {
                what,
                queued: self.tx.len(),
            },
            flume::TrySendError::Disconnected(_) => EdgeError::Stopped,
        })?;
        Ok(rx)
    }

    fn timed_out(what: &str, timeout: Duration) -> EdgeError {
        EdgeError::Timeout {
            what: what.to_owned(),
            millis: timeout.as_millis() as u64,
        }
    }

    /// Runs `job` on the pool; waits at most `timeout` for its result. Must be
    /// awaited on the edge runtime (its timer is tokio's).
    pub async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        timeout: Duration,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, EdgeError> {
        let rx = self.submit(what, job)?;
        match tokio::time::timeout(timeout, rx.recv_async()).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(EdgeError::Stopped),
            Err(_) => Err(Self::timed_out(what, timeout)),
        }
    }

    /// [`CpuPool::run`] for a plain thread (the MCP server's loop, tests).
    pub fn run_blocking<T: Send + 'static>(
        &self,
        what: &'static str,
        timeout: Duration,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, EdgeError> {
        let rx = self.submit(what, job)?;
        rx.recv_timeout(timeout).map_err(|e| match e {
            flume::RecvTimeoutError::Timeout => Self::timed_out(what, timeout),
            flume::RecvTimeoutError::Disconnected => EdgeError::Stopped,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The queue bound refuses at once; a slow job times out its caller; results
    //! come back.
    use super::*;

    #[test]
    fn bounded_queue_and_timeouts() {
        let pool = CpuPool::start(1, 1).unwrap();
        assert_eq!(
            pool.run_blocking("t", Duration::from_secs(5), || 2 + 2)
                .unwrap(),
            4
        );
        let (hold_tx, hold_rx) = flume::bounded::<()>(0);
        // Occupy the thread, then fill the one queue slot.
        let busy = pool.submit("t", move || hold_rx.recv().ok()).unwrap();
        while pool.queued() > 0 {
            std::thread::yield_now();
        }
        let queued = pool.submit("t", || 1).unwrap();
        assert!(matches!(
            pool.run_blocking("t", Duration::from_secs(1), || 0),
            Err(EdgeError::Busy { .. })
        ));
        hold_tx.send(()).unwrap();
        assert_eq!(busy.recv().unwrap(), Some(()));
        assert_eq!(queued.recv().unwrap(), 1);
        let slow = pool.run_blocking("slow", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_millis(200));
        });
        assert!(matches!(slow, Err(EdgeError::Timeout { .. })));
    }
}
