//! Visited set for graph searches: one u16 epoch per node, bumped per search, so
//! clearing is O(1) except once every 65,535 searches.

pub struct Visited {
    marks: Vec<u16>,
    epoch: u16,
}

impl Visited {
    pub const fn new() -> Visited {
        Visited {
            marks: Vec::new(),
            epoch: 0,
        }
    }

    /// Starts a new search over `n` nodes.
    pub fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `node`; returns true if it was not yet visited in this search.
    #[inline]
    pub fn insert(&mut self, node: u32) -> bool {
        let slot = &mut self.marks[node as usize];
        if *slot == self.epoch {
            false
        } else {
            *slot = self.epoch;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    //! Epoch wrap-around must not make stale marks look visited.
    use super::*;

    #[test]
    fn wraps_cleanly() {
        let mut v = Visited::new();
        for _ in 0..70_000 {
            v.reset(4);
            assert!(v.insert(2));
            assert!(!v.insert(2));
            assert!(v.insert(3));
        }
    }
}
