//! Group commit, the part every shard runs for every write: jobs run as they
//! arrive and queue their acknowledgements; one commit covers the whole group; only
//! then is every acknowledgement answered, with the commit's outcome. While the log
//! cannot be written, writes are refused before they apply, so their jobs are
//! answered at once and nothing is written except a retry. The shard loop
//! (`shard_loop.rs`) calls these functions; `loom-tests/` runs the same file with
//! real writers, the real mailbox and a real durable shard on a crash-injecting
//! storage, and checks that an acknowledged write is always in the durable image.

use kektordb_io::storage::Storage;
use kektordb_shards::durable::DurableShard;

use super::oneshot::{oneshot, OneReceiver};
use super::queue::Receiver;

/// Sent the outcome of the commit that covers a write.
pub type Ack = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A unit of work on a shard's state `S`: runs on the shard's thread; returns an
/// `Ack` if it wrote.
pub type Job<S> = Box<dyn FnOnce(&mut S) -> Option<Ack> + Send>;
/// Where a write's result arrives once the commit covering it is done (the error is
/// the commit's failure: the write's outcome is unknown).
pub type Answer<R> = OneReceiver<Result<R, String>>;

/// A write: `f` runs on the shard; its result is answered after the commit.
pub fn write_job<S, R: Send + 'static>(
    f: impl FnOnce(&mut S) -> R + Send + 'static,
) -> (Job<S>, Answer<R>) {
    let (tx, rx) = oneshot();
    let job: Job<S> = Box::new(move |state| {
        let r = f(state);
        let ack: Ack = Box::new(move |durable| {
            let _ = tx.send(durable.map(|_| r));
        });
        Some(ack)
    });
    (job, rx)
}

/// A read: `f` runs on the shard and is answered at once.
pub fn read_job<S, R: Send + 'static>(
    f: impl FnOnce(&mut S) -> R + Send + 'static,
) -> (Job<S>, OneReceiver<R>) {
    let (tx, rx) = oneshot();
    let job: Job<S> = Box::new(move |state| {
        let _ = tx.send(f(state));
        None
    });
    (job, rx)
}

/// Runs `first`, then queued jobs until `max` ran or `stop()` asks to yield; their
/// acknowledgements join `acks`.
pub fn run_group<S>(
    state: &mut S,
    first: Job<S>,
    rx: &Receiver<Job<S>>,
    max: usize,
    acks: &mut Vec<Ack>,
    stop: impl Fn() -> bool,
) {
    acks.extend(first(state));
    for _ in 1..max {
        if stop() {
            break;
        }
        match rx.try_recv() {
            Some(job) => acks.extend(job(state)),
            None => break,
        }
    }
}

/// Answers every acknowledgement with `outcome`.
pub fn answer(acks: Vec<Ack>, outcome: &Result<(), String>) {
    for ack in acks {
        ack(outcome.clone());
    }
}

/// What group commit needs of a shard's log.
pub trait GroupLog {
    /// None while the log works; Some(retryable) after a failed write or sync.
    fn failure(&self) -> Option<bool>;
    /// Writes (and syncs, as the policy says) everything queued.
    fn commit(&mut self) -> Result<(), String>;
    fn has_pending(&self) -> bool;
}

impl<S: Storage> GroupLog for DurableShard<S> {
    fn failure(&self) -> Option<bool> {
        self.log_failure().map(|f| f.retryable)
    }
    fn commit(&mut self) -> Result<(), String> {
        DurableShard::commit(self).map_err(|e| e.to_string())
    }
    fn has_pending(&self) -> bool {
        DurableShard::has_pending(self)
    }
}

/// One commit of a group through the shard's own file (buffered mode). While the
/// log is failed the group is answered Ok at once (its writes were refused before
/// applying) and only a `retry` writes. Returns the commit's outcome if it ran.
pub fn commit_buffered<L: GroupLog>(
    log: &mut L,
    acks: Vec<Ack>,
    retry: bool,
) -> Option<Result<(), String>> {
    let acks = match log.failure() {
        Some(retryable) => {
            answer(acks, &Ok(()));
            if !(retry && retryable) {
                return None;
            }
            Vec::new()
        }
        None => acks,
    };
    if acks.is_empty() && !log.has_pending() {
        return None;
    }
    let outcome = log.commit();
    answer(acks, &outcome);
    Some(outcome)
}
