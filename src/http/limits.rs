//! The HTTP front end's configurable limits (flags) and what an unauthenticated
//! client can make the server spend under them (the threat model in
//! `docs/design.md` restates these bounds; the fixed ones are in `crate::limits`):
//! - a connection: one fd and a few KiB (its task and a head buffer that grows with
//!   the bytes received, at most [`crate::limits::HEAD_BYTES_MAX`]); at most
//!   [`HttpLimits::connections_per_executor`] per executor, derived from
//!   `RLIMIT_NOFILE` so `accept` never fails first; at the cap, the connection idle
//!   the longest (between requests or inside a head) is closed for the new one;
//! - time: a head must be complete [`HttpLimits::head_timeout`] after its first
//!   byte, an idle keep-alive connection is closed after
//!   [`HttpLimits::idle_timeout`], a body must arrive at [`crate::limits::BODY_RATE_MIN_BYTES`]
//!   per second on average after [`crate::limits::IO_GRACE`], a response must be read at that rate
//!   too and never stall longer than [`HttpLimits::write_timeout`];
//! - memory for bodies: nothing before the head is checked (route, method, token,
//!   size); then buffers grow only with the bytes received, and the bytes of bodies
//!   in flight on an executor are capped ([`HttpLimits::body_bytes_in_flight_max`]).

use std::time::Duration;

use crate::limits::{FDS_CONNECTIONS_PERCENT, FDS_RESERVED};

/// The configurable limits (flags), with their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    pub body_bytes_max: usize,
    /// Per executor; at least `body_bytes_max`.
    pub body_bytes_in_flight_max: usize,
    pub head_timeout: Duration,
    pub idle_timeout: Duration,
    /// Longest a response write may make no progress.
    pub write_timeout: Duration,
    /// Total connections; None derives them from `RLIMIT_NOFILE`.
    pub connections_max: Option<usize>,
    /// Executors of HTTP's own, which run the accept loops instead of the shard
    /// executors; None: one per CPU the shards leave free (see
    /// [`HttpLimits::own_executors`]).
    pub executors: Option<usize>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            body_bytes_max: 512 << 20,
            body_bytes_in_flight_max: 1 << 30,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            connections_max: None,
            executors: None,
        }
    }
}

impl HttpLimits {
    /// How many executors of its own HTTP starts beside `shards` shard executors
    /// on `cpus` CPUs. 0 puts the accept loops on the shard executors (every core
    /// already has one); otherwise only these executors parse requests, so a shard
    /// executor spends its core on its shard and the HTTP work takes the cores the
    /// shards leave free.
    pub fn own_executors(&self, shards: usize, cpus: usize) -> usize {
        self.executors.unwrap_or(cpus.saturating_sub(shards))
    }

    /// Connections one executor may hold. Raises the soft `RLIMIT_NOFILE` to the
    /// hard limit first (as Go and nginx do), then gives connections
    /// [`FDS_CONNECTIONS_PERCENT`]% of what is left after [`FDS_RESERVED`].
    pub fn connections_per_executor(&self, executors: usize) -> usize {
        let usable = usable_fds();
        let total = match self.connections_max {
            Some(n) => (n as u64).min(usable),
            None => usable * FDS_CONNECTIONS_PERCENT / 100,
        };
        ((total as usize) / executors.max(1)).max(1)
    }

    pub fn body_budget(&self) -> usize {
        self.body_bytes_in_flight_max.max(self.body_bytes_max)
    }
}

/// Descriptors available for connections after raising the soft limit.
fn usable_fds() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(s, _)| s);
    soft.saturating_sub(FDS_RESERVED).max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_executors_take_the_cpus_the_shards_leave_free_unless_told() {
        let auto = HttpLimits::default();
        assert_eq!(auto.own_executors(1, 4), 3);
        assert_eq!(auto.own_executors(4, 4), 0);
        assert_eq!(auto.own_executors(6, 4), 0);
        let told = |n| HttpLimits {
            executors: Some(n),
            ..HttpLimits::default()
        };
        assert_eq!(told(0).own_executors(1, 4), 0);
        assert_eq!(told(2).own_executors(8, 4), 2);
    }
}
