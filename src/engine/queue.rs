//! A shard's mailbox: a bounded multi-producer, single-consumer queue whose
//! receiver awaits on the shard's executor and whose senders send from any thread
//! (try at once, or await room). A mutex-protected deque with wakers: a sender that
//! queues an item wakes the receiver; a receiver that takes one wakes the senders
//! waiting for room. When every sender is gone the receiver sees the end once the
//! queue is empty; when the receiver is gone senders get their item back.
//! Model-checked with loom (`loom-tests/`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::sync::{lock, Arc, Mutex};

struct State<T> {
    items: VecDeque<T>,
    cap: usize,
    /// The receiver, while it waits for an item.
    receiver: Option<Waker>,
    /// Senders waiting for room (all are woken when an item is taken).
    waiting: Vec<Waker>,
    senders: usize,
    /// The receiver is gone.
    closed: bool,
}

type Shared<T> = Arc<Mutex<State<T>>>;

pub struct Sender<T> {
    shared: Shared<T>,
}

pub struct Receiver<T> {
    shared: Shared<T>,
}

/// Why an item could not be queued; the item comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    Full(T),
    Closed(T),
}

/// A queue of at most `cap` items (at least 1).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        cap: cap.max(1),
        receiver: None,
        waiting: Vec::new(),
        senders: 1,
        closed: false,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item` now, or gives it back.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut s = lock(&self.shared);
        if s.closed {
            return Err(TrySendError::Closed(item));
        }
        if s.items.len() >= s.cap {
            return Err(TrySendError::Full(item));
        }
        s.items.push_back(item);
        let wake = s.receiver.take();
        drop(s);
        if let Some(w) = wake {
            w.wake();
        }
        Ok(())
    }

    /// Queues `item`, waiting for room; gives it back if the receiver is gone.
    pub fn send(&self, item: T) -> Send<'_, T> {
        Send {
            sender: self,
            item: Some(item),
        }
    }
}

/// A handle that can make a [`Sender`] while other senders exist, without keeping
/// the queue open itself (a timer that wakes the shard must not keep it running).
pub struct WeakSender<T> {
    shared: Shared<T>,
}

impl<T> Sender<T> {
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A sender, unless every sender is gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut s = lock(&self.shared);
        if s.senders == 0 {
            return None;
        }
        s.senders += 1;
        Some(Sender {
            shared: self.shared.clone(),
        })
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.shared).senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.senders -= 1;
        let wake = if s.senders == 0 {
            s.receiver.take()
        } else {
            None
        };
        drop(s);
        if let Some(w) = wake {
            w.wake();
        }
    }
}

/// [`Sender::send`]'s future.
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    item: Option<T>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let item = self.item.take().expect("polled after completion");
        let mut s = lock(&self.sender.shared);
        if s.closed {
            return Poll::Ready(Err(item));
        }
        if s.items.len() < s.cap {
            s.items.push_back(item);
            let wake = s.receiver.take();
            drop(s);
            if let Some(w) = wake {
                w.wake();
            }
            return Poll::Ready(Ok(()));
        }
        s.waiting.push(cx.waker().clone());
        drop(s);
        self.item = Some(item);
        Poll::Pending
    }
}

impl<T> Receiver<T> {
    fn take(s: &mut State<T>) -> (Option<T>, Vec<Waker>) {
        let item = s.items.pop_front();
        let wake = if item.is_some() {
            std::mem::take(&mut s.waiting)
        } else {
            Vec::new()
        };
        (item, wake)
    }

    /// The next item if one is queued.
    pub fn try_recv(&self) -> Option<T> {
        let (item, wake) = Self::take(&mut lock(&self.shared));
        wake.into_iter().for_each(Waker::wake);
        item
    }

    /// The next item; None once every sender is gone and the queue is empty.
    pub fn recv(&self) -> Recv<'_, T> {
        Recv { receiver: self }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.closed = true;
        let items = std::mem::take(&mut s.items);
        let wake = std::mem::take(&mut s.waiting);
        drop(s);
        // Queued items (and the answers they carry) are dropped outside the lock.
        drop(items);
        wake.into_iter().for_each(Waker::wake);
    }
}

/// [`Receiver::recv`]'s future.
pub struct Recv<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = lock(&self.receiver.shared);
        let (item, wake) = Receiver::take(&mut s);
        if item.is_none() {
            if s.senders == 0 {
                return Poll::Ready(None);
            }
            s.receiver = Some(cx.waker().clone());
        }
        drop(s);
        wake.into_iter().for_each(Waker::wake);
        match item {
            Some(i) => Poll::Ready(Some(i)),
            None => Poll::Pending,
        }
    }
}
