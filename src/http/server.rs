//! The HTTP front end on the shard executors themselves: every executor binds the
//! same address (SO_REUSEPORT, the kernel spreads connections), runs its own accept
//! loop and connections as local tasks, and sends only shard work through the
//! engine. No extra thread hop between the parser and the shards (see
//! docs/decisions.md).
//!
//! A request is checked on its head alone (route, method, token, size) before its
//! body is read; every read and write has a deadline; the connections and the body
//! bytes of an executor are capped (`limits.rs` has the bounds and why).

use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

use super::conn::{Admit, ConnTable};
use super::errors::ApiError;
use super::executors;
use super::limits::HttpLimits;
use super::metrics::Metrics;
use super::request::{read_body, read_head, write_all, BodyBudget, Head};
use super::response::Response;
use super::routes::{self, Route};
use super::state::State;
use crate::auth::Principal;
use crate::engine::Engine;
use crate::limits::{
    DRAIN_TIMEOUT, HEAD_READ_BYTES, IDLE_BUFFER_BYTES_MAX, LINGER, LINGER_BYTES_MAX,
};

/// What one executor keeps for its connections.
struct Local {
    executor: usize,
    table: ConnTable,
    budget: BodyBudget,
    draining: std::cell::Cell<bool>,
}

/// The running HTTP server: where it listens, and how to stop it.
pub struct HttpServer {
    addr: std::net::SocketAddr,
    /// Dropped to stop the accept loops.
    stop: Vec<flume::Sender<()>>,
    /// Each executor reports here once its connections are drained.
    drained: Vec<flume::Receiver<()>>,
    /// HTTP's own executors, if any (they end once drained).
    handles: Vec<glommio::ExecutorJoinHandle<()>>,
    /// What `/readyz` answers.
    ready: Arc<std::sync::atomic::AtomicBool>,
}

impl HttpServer {
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `/readyz` answers 200 from now on (call once every front end is up; recovery
    /// is done before the server exists).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops accepting, closes idle connections and waits (at most
    /// [`DRAIN_TIMEOUT`]) for the requests in flight to be answered.
    pub fn shutdown(self) {
        drop(self.stop);
        for d in self.drained {
            let _ = d.recv_timeout(DRAIN_TIMEOUT + Duration::from_secs(1));
        }
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// Starts the accept loops on every executor.
pub fn serve(
    engine: &Engine,
    addr: &str,
    token: Option<String>,
    limits: HttpLimits,
    rag: Option<Arc<crate::rag::Rag>>,
    keys: Arc<crate::auth::Keys>,
    proxy: Option<Arc<crate::proxy::metrics::Metrics>>,
) -> Result<HttpServer, String> {
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    let own = limits.own_executors(engine.shards(), cpus);
    let executors = if own > 0 { own } else { engine.shards() };
    let metrics = Arc::new(Metrics::new(executors));
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let per_executor = limits.connections_per_executor(executors);
    let state = Arc::new(State {
        engine: engine.clone(),
        token,
        limits,
        metrics: metrics.clone(),
        rag,
        keys,
        proxy,
        ready: ready.clone(),
    });
    // Resolved here: glommio's bind panics on an address it cannot resolve.
    let first: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(addr)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot listen on {addr}: no address"))?;
    let mut bound: Option<std::net::SocketAddr> = None;
    let (mut stop, mut drained, mut handles) = (Vec::new(), Vec::new(), Vec::new());
    for executor in 0..executors {
        // The first executor may bind port 0; the others join the port it got.
        let target = bound.unwrap_or(first);
        let (stop_tx, stop_rx) = flume::bounded::<()>(1);
        let (done_tx, done_rx) = flume::bounded::<()>(1);
        let state = state.clone();
        let listen = move || {
            let here = Local {
                executor,
                table: ConnTable::new(per_executor),
                budget: BodyBudget::new(state.limits.body_budget()),
                draining: std::cell::Cell::new(false),
            };
            listen(target, state, here, stop_rx, done_tx)
        };
        let local = if own > 0 {
            let (addr_tx, addr_rx) = flume::bounded(1);
            let handle = executors::start(
                executor,
                engine.placement_beside_shards(executor),
                move || async move {
                    match listen() {
                        Ok((local, accepting)) => {
                            let _ = addr_tx.send(Ok(local));
                            accepting.await;
                        }
                        Err(e) => drop(addr_tx.send(Err(e))),
                    }
                },
            )?;
            handles.push(handle);
            addr_rx
                .recv()
                .map_err(|_| format!("HTTP executor {executor} stopped"))??
        } else {
            futures_lite::future::block_on(engine.on_executor(executor, move || {
                let (local, accepting) = listen()?;
                glommio::spawn_local(accepting).detach();
                Ok::<_, String>(local)
            }))
            .map_err(|e| e.to_string())??
        };
        bound.get_or_insert(local);
        stop.push(stop_tx);
        drained.push(done_rx);
    }
    Ok(HttpServer {
        addr: bound.ok_or_else(|| "no executor".to_owned())?,
        stop,
        drained,
        handles,
        ready,
    })
}

/// Binds `target` on this executor; returns the address bound and the accept loop
/// to run here.
fn listen(
    target: std::net::SocketAddr,
    state: Arc<State>,
    here: Local,
    stop: flume::Receiver<()>,
    drained: flume::Sender<()>,
) -> Result<(std::net::SocketAddr, impl Future<Output = ()>), String> {
    let listener =
        TcpListener::bind(target).map_err(|e| format!("cannot listen on {target}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((
        local,
        accept_loop(listener, state, Rc::new(here), stop, drained),
    ))
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    here: Rc<Local>,
    stop: flume::Receiver<()>,
    drained: flume::Sender<()>,
) {
    let stats = &state.metrics.connections[here.executor];
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            let _ = stop.recv_async().await;
            None
        })
        .await;
        let mut stream = match accepted {
            None => break,
            Some(Ok(s)) => s,
            Some(Err(_)) => {
                // EMFILE and friends: the cap keeps us below the fd limit, but other
                // files count too. Back off instead of spinning.
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let before = here.table.evicted();
        let id = match here.table.admit() {
            Admit::Yes(id) => id,
            Admit::Full => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                let e = ApiError::ConnectionLimit {
                    max: here.table.max(),
                };
                // A fresh socket's send buffer is empty: this write never waits.
                let bytes = e.response().to_bytes(false);
                let _ = future::poll_once(stream.write_all(&bytes)).await;
                continue;
            }
        };
        stats
            .evicted
            .fetch_add(here.table.evicted() - before, Ordering::Relaxed);
        stats
            .open
            .store(here.table.open() as u64, Ordering::Relaxed);
        let (state2, here2) = (state.clone(), here.clone());
        let task = glommio::spawn_local(async move {
            let _guard = Guard {
                here: here2.clone(),
                id,
            };
            connection(stream, &state2, &here2, id).await;
        })
        .detach();
        here.table.attach(id, task);
    }
    drop(listener);
    here.draining.set(true);
    here.table.close_idle();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while here.table.open() > 0 && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    stats
        .open
        .store(here.table.open() as u64, Ordering::Relaxed);
    let _ = drained.send(());
}

/// Removes a connection from the table however its task ends (also when it is
/// cancelled to make room).
struct Guard {
    here: Rc<Local>,
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.here.table.remove(self.id);
    }
}

/// Answers `err` and tells whether the connection can go on (`keep`: the request
/// had no body bytes left to read). `unread`: bytes of the request may still be
/// arriving, so the close lingers.
async fn reject(
    stream: &mut TcpStream,
    state: &State,
    here: &Local,
    err: ApiError,
    keep: bool,
    unread: bool,
) -> bool {
    state
        .metrics
        .record(here.executor, "rejected", err.status(), Duration::ZERO);
    let keep = keep && !here.draining.get();
    let bytes = err.response().to_bytes(keep);
    let ok = write_all(stream, &bytes, state.limits.write_timeout)
        .await
        .is_ok();
    if !keep {
        if unread {
            Box::pin(linger(stream)).await;
        } else {
            let _ = stream.close().await;
        }
    }
    ok && keep
}

/// Closes after an early answer without resetting it: a client still sending its
/// body would get a reset (and lose the answer) if unread bytes were pending at
/// close, so what follows is read and dropped, for at most [`LINGER`] and
/// [`LINGER_BYTES_MAX`], before closing. (The answer says `Connection: close`, so
/// a well-behaved client closes first; the write side is not shut early, which
/// would let a client that reconnects on EOF churn connections as fast as it can.)
async fn linger(stream: &mut TcpStream) {
    use futures_lite::AsyncReadExt;
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    let mut read = 0;
    while read < LINGER_BYTES_MAX {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut scratch).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    let _ = stream.close().await;
}

/// The checks a head must pass before its body is read: public route or token,
/// a route and method that exist, a body within the limit.
fn check_head(state: &State, head: &Head) -> Result<(Route, Principal), ApiError> {
    let segs = routes::segments(&head.path)?;
    if segs.len() == 1 && segs[0] == "healthz" && matches!(head.method.as_str(), "GET" | "HEAD") {
        return Ok((Route::Healthz, Principal::Root));
    }
    if segs.len() == 1 && segs[0] == "readyz" && matches!(head.method.as_str(), "GET" | "HEAD") {
        return Ok((Route::Readyz, Principal::Root));
    }
    if segs == [".well-known", "jwks.json"] && head.method == "GET" {
        return Ok((Route::Jwks, Principal::Root));
    }
    if let Some(asset) = routes::public_asset(&head.method, &segs) {
        return Ok((asset, Principal::Root));
    }
    let who = super::auth::principal(state.token.as_deref(), &state.keys, &head.authorization)?;
    let mut route = routes::resolve(&head.method, &head.path, &segs)?;
    route.set_query(&head.query);
    super::policy::allow_head(&who, &route)?;
    if head.content_length > state.limits.body_bytes_max {
        return Err(ApiError::BodyTooLarge {
            got: head.content_length,
            max: state.limits.body_bytes_max,
        });
    }
    Ok((route, who))
}

async fn connection(mut stream: TcpStream, state: &State, here: &Local, id: u64) {
    let _ = stream.set_nodelay(true);
    let limits = &state.limits;
    let mut buf = Vec::new();
    loop {
        if !here.table.set_idle(id, true) {
            return;
        }
        let head = match read_head(
            &mut stream,
            &mut buf,
            limits.idle_timeout,
            limits.head_timeout,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => {
                // An idle keep-alive connection that times out is closed silently.
                if !buf.is_empty() {
                    if let Some(err) = ApiError::from_read(e, limits) {
                        Box::pin(reject(&mut stream, state, here, err, false, true)).await;
                    }
                }
                return;
            }
        };
        here.table.set_idle(id, false);
        let started = Instant::now();
        let buffered = buf.len() >= head.head_len + head.content_length;
        let (route, who) = match check_head(state, &head) {
            Ok(r) => r,
            Err(err) => {
                // The body is skipped when it is already here; otherwise the
                // connection cannot be resynchronized without reading it: close.
                if buffered {
                    buf.drain(..head.head_len + head.content_length);
                }
                if Box::pin(reject(
                    &mut stream,
                    state,
                    here,
                    err,
                    buffered && head.keep_alive,
                    !buffered,
                ))
                .await
                {
                    continue;
                }
                return;
            }
        };
        if head.expect_continue && !buffered {
            let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
            if write_all(&mut stream, cont, limits.write_timeout)
                .await
                .is_err()
            {
                return;
            }
        }
        let is_head = head.method == "HEAD";
        let keep_alive = head.keep_alive;
        let (req, held) = match read_body(&mut stream, &mut buf, head, &here.budget).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(err) = ApiError::from_read(e, limits) {
                    Box::pin(reject(&mut stream, state, here, err, false, true)).await;
                }
                return;
            }
        };
        // Boxed: the handlers' state lives on the heap only while a request runs,
        // so an idle connection stays small.
        let resp: Response = match super::policy::allow_body(&who, &route, &req.body) {
            Ok(()) => Box::pin(super::dispatch::run(state, &route, &req.body))
                .await
                .unwrap_or_else(|e| e.response()),
            Err(e) => e.response(),
        };
        drop(held);
        drop(req);
        state
            .metrics
            .record(here.executor, route.label(), resp.status, started.elapsed());
        let keep = keep_alive && !here.draining.get();
        let head_bytes = resp.head_bytes(keep);
        let sent = match is_head || resp.body.is_empty() {
            true => write_all(&mut stream, &head_bytes, limits.write_timeout).await,
            false if resp.body.len() < 16 * 1024 => {
                let mut all = head_bytes;
                all.extend_from_slice(&resp.body);
                write_all(&mut stream, &all, limits.write_timeout).await
            }
            false => match write_all(&mut stream, &head_bytes, limits.write_timeout).await {
                Ok(()) => write_all(&mut stream, &resp.body, limits.write_timeout).await,
                e => e,
            },
        };
        if sent.is_err() {
            return;
        }
        if !keep {
            let _ = stream.close().await;
            return;
        }
        if buf.capacity() > IDLE_BUFFER_BYTES_MAX {
            buf.shrink_to(buf.len().max(HEAD_READ_BYTES));
        }
    }
}
