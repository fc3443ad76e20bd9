//! A one-value channel: a shard answers a read or acknowledges a write through it,
//! and the caller awaits it on any thread or executor. Dropping the sender without
//! sending ends the wait with [`Canceled`] (a shard that stopped). Model-checked
//! with loom (`loom-tests/`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::sync::{lock, Arc, Mutex};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

pub struct OneSender<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

pub struct OneReceiver<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// The sender went away without sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canceled;

pub fn oneshot<T>() -> (OneSender<T>, OneReceiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        sender_gone: false,
        receiver_gone: false,
    }));
    (OneSender { slot: slot.clone() }, OneReceiver { slot })
}

impl<T> OneSender<T> {
    /// Sends the value; gives it back if nobody waits any more.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut s = lock(&self.slot);
        if s.receiver_gone {
            return Err(value);
        }
        s.value = Some(value);
        let wake = s.waker.take();
        drop(s);
        if let Some(w) = wake {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Drop for OneSender<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.slot);
        s.sender_gone = true;
        let wake = s.waker.take();
        drop(s);
        if let Some(w) = wake {
            w.wake();
        }
    }
}

impl<T> Drop for OneReceiver<T> {
    fn drop(&mut self) {
        let value = {
            let mut s = lock(&self.slot);
            s.receiver_gone = true;
            s.value.take()
        };
        drop(value);
    }
}

impl<T> Future for OneReceiver<T> {
    type Output = Result<T, Canceled>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.slot);
        if let Some(v) = s.value.take() {
            return Poll::Ready(Ok(v));
        }
        if s.sender_gone {
            return Poll::Ready(Err(Canceled));
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
