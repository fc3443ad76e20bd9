//! The connections of one executor: how many are open, which of them are idle
//! (waiting between requests, or still inside a request head) and since when. At
//! the cap, the one idle the longest is closed so a new client gets in: a flood of
//! idle or slowloris connections evicts itself instead of locking everyone out,
//! while a connection in the middle of a request is never cut for another.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Instant;

use glommio::task::JoinHandle;

struct Slot {
    /// Since when the connection waits for (the rest of) a request head.
    idle_since: Option<Instant>,
    task: Option<JoinHandle<()>>,
}

pub struct ConnTable {
    max: usize,
    next: Cell<u64>,
    slots: RefCell<HashMap<u64, Slot>>,
    evicted: Cell<u64>,
}

/// What to do with a newly accepted connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Take it (with its id).
    Yes(u64),
    /// At the cap and nothing idle to close: refuse it.
    Full,
}

impl ConnTable {
    pub fn new(max: usize) -> ConnTable {
        ConnTable {
            max: max.max(1),
            next: Cell::new(0),
            slots: RefCell::new(HashMap::new()),
            evicted: Cell::new(0),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn open(&self) -> usize {
        self.slots.borrow().len()
    }

    /// Connections closed to make room since start.
    pub fn evicted(&self) -> u64 {
        self.evicted.get()
    }

    /// Makes room for one more connection (closing the one idle the longest if at
    /// the cap) and registers it as idle.
    pub fn admit(&self) -> Admit {
        let mut slots = self.slots.borrow_mut();
        if slots.len() >= self.max {
            let oldest = slots
                .iter()
                .filter_map(|(id, s)| s.idle_since.map(|t| (t, *id)))
                .min();
            let Some((_, victim)) = oldest else {
                return Admit::Full;
            };
            if let Some(slot) = slots.remove(&victim) {
                if let Some(task) = &slot.task {
                    task.cancel();
                }
            }
            self.evicted.set(self.evicted.get() + 1);
        }
        let id = self.next.get();
        self.next.set(id + 1);
        slots.insert(
            id,
            Slot {
                idle_since: Some(Instant::now()),
                task: None,
            },
        );
        Admit::Yes(id)
    }

    /// Records the task serving connection `id` (so it can be closed).
    pub fn attach(&self, id: u64, task: JoinHandle<()>) {
        if let Some(s) = self.slots.borrow_mut().get_mut(&id) {
            s.task = Some(task);
        }
    }

    /// Marks `id` idle (waiting for a head) or busy (serving a request). Returns
    /// false if the connection was closed meanwhile.
    pub fn set_idle(&self, id: u64, idle: bool) -> bool {
        match self.slots.borrow_mut().get_mut(&id) {
            Some(s) => {
                s.idle_since = match (idle, s.idle_since) {
                    (true, Some(t)) => Some(t),
                    (true, None) => Some(Instant::now()),
                    (false, _) => None,
                };
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: u64) {
        self.slots.borrow_mut().remove(&id);
    }

    /// Closes every idle connection (a clean stop); returns how many.
    pub fn close_idle(&self) -> usize {
        let mut slots = self.slots.borrow_mut();
        let idle: Vec<u64> = slots
            .iter()
            .filter(|(_, s)| s.idle_since.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in &idle {
            if let Some(slot) = slots.remove(id) {
                if let Some(task) = &slot.task {
                    task.cancel();
                }
            }
        }
        idle.len()
    }
}

#[cfg(test)]
mod tests {
    //! Admission at the cap: the oldest idle connection makes room, a busy one never.
    use super::*;

    #[test]
    fn evicts_the_oldest_idle_never_a_busy_one() {
        let t = ConnTable::new(2);
        let Admit::Yes(a) = t.admit() else { panic!() };
        std::thread::sleep(std::time::Duration::from_millis(2));
        let Admit::Yes(b) = t.admit() else { panic!() };
        assert_eq!(t.open(), 2);
        let Admit::Yes(c) = t.admit() else { panic!() };
        assert!(!t.set_idle(a, true), "a, the oldest idle, was evicted");
        assert!(t.set_idle(b, false) && t.set_idle(c, false));
        assert_eq!(t.admit(), Admit::Full, "both busy: no room");
        assert!(t.set_idle(c, true));
        assert!(matches!(t.admit(), Admit::Yes(_)));
        assert!(!t.set_idle(c, false), "c was idle, so it made room");
        assert_eq!(t.evicted(), 2);
        assert_eq!(t.close_idle(), 1);
        assert_eq!(t.open(), 1);
    }
}
