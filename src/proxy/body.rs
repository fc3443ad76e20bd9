//! The bodies the proxy answers with: a whole body (its own replies), a list of
//! frames (a cached stream replayed), or the upstream's body passed on chunk by
//! chunk as it arrives, optionally copied aside for the cache ([`Tee`]) and handed
//! over when it ended cleanly.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::edge::client::RawBody;
use crate::edge::EdgeError;

/// What a finished copy is handed to.
pub type OnDone = Box<dyn FnOnce(Bytes) + Send>;

/// A copy of a body up to `max` bytes, handed to `on_done` at the end of the body
/// (or when it is dropped); a longer body, or one that failed, is not handed over.
pub struct Tee {
    buf: Vec<u8>,
    max: usize,
    over: bool,
    on_done: Option<OnDone>,
}

impl Tee {
    pub fn new(max: usize, on_done: OnDone) -> Tee {
        Tee {
            buf: Vec::new(),
            max,
            over: false,
            on_done: Some(on_done),
        }
    }

    fn take(&mut self, chunk: &[u8]) {
        if self.over {
            return;
        }
        if self.buf.len() + chunk.len() > self.max {
            self.over = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    fn finish(&mut self) {
        if let Some(f) = self.on_done.take() {
            if !self.over {
                f(Bytes::from(std::mem::take(&mut self.buf)));
            }
        }
    }
}

/// A client may hang up as soon as it has the end marker of a stream (the openai
/// SDK stops at `data: [DONE]`), before the upstream's body has ended: what was
/// copied is handed over then too, and `on_done` judges whether it is complete.
impl Drop for Tee {
    fn drop(&mut self) {
        self.finish();
    }
}

pub enum ProxyBody {
    Full(Option<Bytes>),
    Frames(VecDeque<Bytes>),
    Upstream { inner: RawBody, tee: Option<Tee> },
}

impl ProxyBody {
    pub fn full(b: impl Into<Bytes>) -> ProxyBody {
        ProxyBody::Full(Some(b.into()))
    }

    pub fn empty() -> ProxyBody {
        ProxyBody::Full(None)
    }

    pub fn frames(frames: Vec<Bytes>) -> ProxyBody {
        ProxyBody::Frames(frames.into())
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = EdgeError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, EdgeError>>> {
        match &mut *self {
            ProxyBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ProxyBody::Frames(q) => Poll::Ready(q.pop_front().map(|b| Ok(Frame::data(b)))),
            ProxyBody::Upstream { inner, tee } => match Pin::new(&mut *inner).poll_frame(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => {
                    if let Some(t) = tee {
                        t.finish();
                    }
                    Poll::Ready(None)
                }
                Poll::Ready(Some(Err(e))) => {
                    // An aborted stream is never cached.
                    if let Some(t) = tee {
                        t.over = true;
                    }
                    *tee = None;
                    Poll::Ready(Some(Err(e)))
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let (Some(t), Some(data)) = (tee.as_mut(), frame.data_ref()) {
                        t.take(data);
                    }
                    // A body of known length may not be polled past its end.
                    if inner.is_end_stream() {
                        if let Some(t) = tee {
                            t.finish();
                        }
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Full(b) => b.is_none(),
            ProxyBody::Frames(q) => q.is_empty(),
            // The end is seen by polling, so the copy is handed over.
            ProxyBody::Upstream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ProxyBody::Full(None) => SizeHint::with_exact(0),
            ProxyBody::Frames(q) => SizeHint::with_exact(q.iter().map(|b| b.len() as u64).sum()),
            ProxyBody::Upstream { inner, .. } => inner.size_hint(),
        }
    }
}
