//! How the router talks to the shard executors: one owned job per shard per
//! request over each shard's bounded mailbox; reads answer on a one-shot channel,
//! writes once the commit covering them is done. Every other engine file reaches the
//! shards only through these helpers.

use std::future::Future;

use kektordb_shards::op::Op;
use kektordb_shards::{Shard, ShardError};

use super::commit::{read_job, write_job, Answer};
use super::error::{EngineError, Result};
use super::queue::TrySendError;
use super::state::{Job, ShardState};
use super::Engine;

/// Receives a write's result once the commit covering it is done.
pub(super) type Acked<R> = Answer<R>;

impl Engine {
    /// Queues `job` on `shard` now if there is room (the future then resolves at
    /// once), else waits for room.
    pub(super) fn send(&self, shard: usize, job: Job) -> impl Future<Output = Result<()>> {
        let sent = self.inner.mailboxes[shard].try_send(job);
        let full = matches!(sent, Err(TrySendError::Full(_)));
        let mailbox = full.then(|| self.inner.mailboxes[shard].clone());
        async move {
            match (sent, mailbox) {
                (Ok(()), _) => Ok(()),
                (Err(TrySendError::Full(job)), Some(mb)) => mb
                    .send(job)
                    .await
                    .map_err(|_| EngineError::ShardDown { shard }),
                _ => Err(EngineError::ShardDown { shard }),
            }
        }
    }

    /// Runs a read on `shard` (sent now); the future waits for its answer.
    pub(super) fn ask<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&Shard) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        let (job, rx) = read_job(move |st: &mut ShardState| f(st.durable.shard()));
        let sent = self.send(shard, job);
        async move {
            sent.await?;
            rx.await.map_err(|_| EngineError::ShardDown { shard })
        }
    }

    pub(super) fn write_job<R: Send + 'static>(
        f: impl FnOnce(&mut ShardState) -> R + Send + 'static,
    ) -> (Job, Acked<R>) {
        write_job(f)
    }

    pub(super) async fn acked<R>(shard: usize, rx: Acked<R>) -> Result<R> {
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(reason)) => Err(EngineError::OutcomeUnknown { shard, reason }),
            Err(_) => Err(EngineError::ShardDown { shard }),
        }
    }

    /// Runs a write on `shard`; the future resolves once the write is durable (as
    /// the fsync policy defines it).
    pub(super) fn write<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&mut ShardState) -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        let (job, rx) = Self::write_job(f);
        let sent = self.send(shard, job);
        async move {
            sent.await?;
            Self::acked(shard, rx).await
        }
    }

    /// Sends `f` to every shard at once, then collects the answers in shard order.
    pub(super) async fn ask_all<R: Send + 'static>(
        &self,
        f: impl Fn(&Shard) -> R + Clone + Send + 'static,
    ) -> Result<Vec<R>> {
        let pending: Vec<_> = (0..self.shards()).map(|s| self.ask(s, f.clone())).collect();
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(p.await?);
        }
        Ok(out)
    }

    /// Enqueues the same write on every shard without waiting (used while the
    /// catalog lock is held, so no request can reach a shard before it does).
    pub(super) fn enqueue_all<R: Send + 'static>(
        &self,
        f: impl Fn(&mut ShardState) -> R + Clone + Send + 'static,
    ) -> Result<Vec<Acked<R>>> {
        let mut rxs = Vec::with_capacity(self.shards());
        for (s, mb) in self.inner.mailboxes.iter().enumerate() {
            let (job, rx) = Self::write_job(f.clone());
            mb.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => EngineError::Busy { shard: s },
                TrySendError::Closed(_) => EngineError::ShardDown { shard: s },
            })?;
            rxs.push(rx);
        }
        Ok(rxs)
    }

    pub(super) async fn collect<R>(rxs: Vec<Acked<R>>) -> Result<Vec<R>> {
        let mut out = Vec::with_capacity(rxs.len());
        for (shard, rx) in rxs.into_iter().enumerate() {
            out.push(Self::acked(shard, rx).await?);
        }
        Ok(out)
    }

    /// [`Engine::write`] of a fallible job, awaited at once and flattened. (Fan-outs
    /// call `write` for every shard first, so the jobs are all sent before any is
    /// awaited, then await the futures.)
    pub(super) async fn write_try<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&mut ShardState) -> std::result::Result<R, ShardError> + Send + 'static,
    ) -> Result<R> {
        Ok(self.write(shard, f).await??)
    }

    /// Runs `f` on `shard`'s executor thread, inside its glommio context (e.g. to
    /// spawn the HTTP accept loop there).
    pub fn on_executor<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Result<R>> {
        self.ask(shard, move |_| f())
    }

    /// Applies ops grouped into one write job per shard, all shards in parallel.
    pub(super) async fn apply_grouped(&self, ops: Vec<(usize, Op)>) -> Result<()> {
        let mut by_shard: Vec<Vec<Op>> = (0..self.shards()).map(|_| Vec::new()).collect();
        for (s, op) in ops {
            by_shard[s].push(op);
        }
        let pending: Vec<_> = by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, ops)| !ops.is_empty())
            .map(|(s, ops)| {
                self.write(s, move |st| -> std::result::Result<(), ShardError> {
                    for op in ops {
                        st.durable.apply(op)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for p in pending {
            p.await??;
        }
        Ok(())
    }
}
