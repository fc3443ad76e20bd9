//! The default driver: connections on one thread (or `--client-threads N`, each
//! with its share), non-blocking, woken by epoll, each sending its next request
//! as soon as its answer is in. A thread per
//! connection costs two context switches per request; on a machine whose cores
//! the server uses too, that is CPU taken from the server (64 threads took 0.19
//! cores at 9k searches/s), so this driver keeps the client's share small and
//! says what it was (`client_cpu_cores`).

use std::borrow::Cow;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

use super::response::{parse_response, request_bytes, Judge};

/// What one request needs: path and body for request number `n` (borrowed when
/// they are prepared ahead, as search bodies are), and the index of the query it
/// asks (for the recall check), if any.
pub type NextRequest<'a> =
    dyn Fn(usize) -> (Cow<'a, str>, Cow<'a, [u8]>, Option<usize>) + Sync + 'a;

struct Slot {
    s: TcpStream,
    out: Vec<u8>,
    sent: usize,
    buf: Vec<u8>,
    started: Instant,
    query: Option<usize>,
    /// Whether epoll also reports this socket writable (output is pending).
    want_out: bool,
}

/// Runs `connections` connections until `stop`; returns latencies, requests done
/// and the recall tally. `issued` numbers the requests across every loop.
pub fn run(
    addr: &str,
    connections: usize,
    method: &str,
    next: &NextRequest<'_>,
    judge: &Judge<'_>,
    stop: &AtomicBool,
    issued: &AtomicUsize,
) -> (Histogram<u64>, usize, usize, usize) {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll");
    let mut slots: Vec<Slot> = (0..connections)
        .map(|_| {
            let s = TcpStream::connect(addr).expect("connect");
            s.set_nodelay(true).ok();
            s.set_nonblocking(true).expect("non-blocking");
            Slot {
                s,
                out: Vec::new(),
                sent: 0,
                buf: Vec::with_capacity(64 * 1024),
                started: Instant::now(),
                query: None,
                want_out: false,
            }
        })
        .collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        epoll
            .add(
                slot.s.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, i as u64),
            )
            .expect("epoll add");
        start(slot, method, next, issued);
        flush(&epoll, slot, i);
    }
    let mut h = Histogram::<u64>::new(3).expect("hist");
    let (mut n, mut hits, mut judged) = (0usize, 0usize, 0usize);
    let mut events = vec![EpollEvent::empty(); connections.max(1)];
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let ready = epoll.wait(&mut events, 100).expect("epoll wait");
        for ev in &events[..ready] {
            let i = ev.data() as usize;
            let slot = &mut slots[i];
            if ev.events().contains(EpollFlags::EPOLLOUT) {
                flush(&epoll, slot, i);
            }
            loop {
                match slot.s.read(&mut chunk) {
                    Ok(0) => panic!("server closed the connection"),
                    Ok(k) => slot.buf.extend_from_slice(&chunk[..k]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
            let Some((status, body, total)) = parse_response(&slot.buf) else {
                continue;
            };
            assert!(total == slot.buf.len(), "a response came without a request");
            h.record(slot.started.elapsed().as_nanos() as u64).ok();
            assert_eq!(
                status,
                200,
                "{}",
                String::from_utf8_lossy(&slot.buf[body.clone()])
            );
            n += 1;
            if let Some(q) = slot.query {
                let (hit, of) = judge(q, &slot.buf[body]);
                hits += hit;
                judged += of;
            }
            slot.buf.clear();
            start(slot, method, next, issued);
            flush(&epoll, slot, i);
        }
    }
    (h, n, hits, judged)
}

/// Puts the next request in `slot`'s output.
fn start(slot: &mut Slot, method: &str, next: &NextRequest<'_>, issued: &AtomicUsize) {
    let (path, body, query) = next(issued.fetch_add(1, Ordering::Relaxed));
    request_bytes(&mut slot.out, method, &path, &body);
    slot.sent = 0;
    slot.query = query;
    slot.started = Instant::now();
}

/// Writes what the socket takes; asks for EPOLLOUT while some is left.
fn flush(epoll: &Epoll, slot: &mut Slot, i: usize) {
    while slot.sent < slot.out.len() {
        match slot.s.write(&slot.out[slot.sent..]) {
            Ok(k) => slot.sent += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    let waiting = slot.sent < slot.out.len();
    if waiting != slot.want_out {
        slot.want_out = waiting;
        let flags = if waiting {
            EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT
        } else {
            EpollFlags::EPOLLIN
        };
        let mut ev = EpollEvent::new(flags, i as u64);
        epoll.modify(slot.s.as_fd(), &mut ev).expect("epoll modify");
    }
}
