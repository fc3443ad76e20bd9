//! The HTTP front end on the shard executors themselves: every executor binds the
//! same address (SO_REUSEPORT, the kernel spreads connections), runs its own accept
//! loop and connections as local tasks, and sends only shard work through the
//! engine. No extra thread hop between the parser and the shards (see
//! docs/decisions.md).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::AsyncWriteExt;
use glommio::net::{TcpListener, TcpStream};

use super::errors::ApiError;
use super::metrics::Metrics;
use super::request::{read_request, ReadError};
use super::routes;
use crate::engine::Engine;

/// Open connections per executor; more are closed on accept.
pub const CONNECTIONS_PER_EXECUTOR_MAX: usize = 10_000;
/// A connection idle (or stalled mid-request) this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// What every request handler can reach.
pub struct State {
    pub engine: Engine,
    pub token: Option<String>,
    pub body_bytes_max: usize,
    pub metrics: Arc<Metrics>,
    pub tasks: Arc<super::tasks::Tasks>,
}

/// Starts the accept loops on every executor; returns the bound address.
pub fn serve(
    engine: &Engine,
    addr: &str,
    token: Option<String>,
    body_bytes_max: usize,
) -> Result<std::net::SocketAddr, String> {
    let metrics = Arc::new(Metrics::new(engine.shards()));
    let tasks = Arc::new(super::tasks::Tasks::default());
    let mut bound: Option<std::net::SocketAddr> = None;
    for shard in 0..engine.shards() {
        // The first executor may bind port 0; the others join the port it got.
        let target = bound.map_or_else(|| addr.to_owned(), |a| a.to_string());
        let state = Arc::new(State {
            engine: engine.clone(),
            token: token.clone(),
            body_bytes_max,
            metrics: metrics.clone(),
            tasks: tasks.clone(),
        });
        let result = futures_lite::future::block_on(engine.on_executor(shard, move || {
            let listener = TcpListener::bind(&target)
                .map_err(|e| format!("cannot listen on {target}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            glommio::spawn_local(accept_loop(listener, state, shard)).detach();
            Ok::<_, String>(local)
        }))
        .map_err(|e| e.to_string())??;
        bound.get_or_insert(result);
    }
    super::scheduler::spawn(engine, metrics)?;
    bound.ok_or_else(|| "no executor".to_owned())
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, executor: usize) {
    let open = Rc::new(Cell::new(0usize));
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if open.get() >= CONNECTIONS_PER_EXECUTOR_MAX {
            drop(stream);
            continue;
        }
        open.set(open.get() + 1);
        let (state, open) = (state.clone(), open.clone());
        glommio::spawn_local(async move {
            connection(stream, &state, executor).await;
            open.set(open.get() - 1);
        })
        .detach();
    }
}

async fn connection(mut stream: TcpStream, state: &State, executor: usize) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        let req = match read_request(&mut stream, &mut buf, state.body_bytes_max).await {
            Ok(r) => r,
            Err(ReadError::Closed) | Err(ReadError::Io) => return,
            Err(e) => {
                let err = match e {
                    ReadError::Malformed(m) => {
                        ApiError::BadRequest(format!("malformed HTTP request: {m}"))
                    }
                    ReadError::HeadTooLarge => ApiError::HeadTooLarge,
                    ReadError::BodyTooLarge { got, max } => ApiError::BodyTooLarge { got, max },
                    ReadError::LengthRequired => ApiError::LengthRequired,
                    ReadError::Closed | ReadError::Io => return,
                };
                state
                    .metrics
                    .record(executor, "rejected", err.status(), Duration::ZERO);
                let _ = stream.write_all(&err.response().to_bytes(false)).await;
                let _ = stream.close().await;
                return;
            }
        };
        let started = Instant::now();
        let (route, resp) = routes::handle(state, &req).await;
        state
            .metrics
            .record(executor, route, resp.status, started.elapsed());
        if stream
            .write_all(&resp.to_bytes(req.keep_alive))
            .await
            .is_err()
        {
            return;
        }
        if !req.keep_alive {
            let _ = stream.close().await;
            return;
        }
    }
}
