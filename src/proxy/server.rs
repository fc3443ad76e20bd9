//! The proxy's listener: hyper's HTTP/1.1 server on the edge runtime (never on a
//! shard executor). Connections beyond [`PROXY_CONNECTIONS_MAX`] wait in the
//! listen backlog; a request head must arrive within [`PROXY_HEAD_TIMEOUT`]. A
//! clean stop closes the listener, lets requests in flight finish (streams
//! included) for up to [`PROXY_DRAIN_TIMEOUT`], then drops what is left.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use super::error::ProxyError;
use super::handler::Handler;
use crate::edge::Edge;
use crate::limits::{PROXY_CONNECTIONS_MAX, PROXY_DRAIN_TIMEOUT, PROXY_HEAD_TIMEOUT};

pub struct Listener {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    open: Arc<AtomicUsize>,
}

/// Binds `addr` and serves `handler` on the edge runtime.
pub fn listen(edge: &Edge, addr: &str, handler: Arc<Handler>) -> Result<Listener, ProxyError> {
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| ProxyError::Start(format!("cannot listen on {addr}: {e}")))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| ProxyError::Start(e.to_string()))?;
    let local = std_listener
        .local_addr()
        .map_err(|e| ProxyError::Start(e.to_string()))?;
    let (stop, stopped) = watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let slots = Arc::new(tokio::sync::Semaphore::new(PROXY_CONNECTIONS_MAX));
    let counter = open.clone();
    let listener = edge
        .block_on(async { tokio::net::TcpListener::from_std(std_listener) })
        .map_err(|e| ProxyError::Start(e.to_string()))?;
    edge.spawn(async move {
        let mut stopped_accept = stopped.clone();
        loop {
            let slot = tokio::select! {
                s = slots.clone().acquire_owned() => match s { Ok(s) => s, Err(_) => return },
                _ = stopped_accept.changed() => return,
            };
            let (stream, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("kektordb: proxy: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped_accept.changed() => return,
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            let mut stopping = stopped.clone();
            let counter = counter.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _slot = slot;
                let svc = service_fn(move |req| handler.clone().handle(req));
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(PROXY_HEAD_TIMEOUT);
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = stopping.changed() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(PROXY_DRAIN_TIMEOUT, conn).await;
                    }
                }
                counter.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Ok(Listener {
        addr: local,
        stop,
        open,
    })
}

impl Listener {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for open connections to finish (bounded).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + PROXY_DRAIN_TIMEOUT + Duration::from_millis(500);
        while self.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
