//! Adjacency lists. Level 0 is one flat `u32` array with a fixed stride per node
//! (`[count, n_1 .. n_m0]`) so a node's list is one cache-friendly slice; upper
//! levels (about 1/m of the nodes) live in a map.

use std::collections::HashMap;

pub struct Links {
    m: usize,
    m0: usize,
    level0: Vec<u32>,
    levels: Vec<u8>,
    upper: HashMap<u32, Vec<Vec<u32>>>,
}

impl Links {
    pub fn new(m: usize, m0: usize) -> Links {
        Links {
            m,
            m0,
            level0: Vec::new(),
            levels: Vec::new(),
            upper: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Max links on `level`.
    pub fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// Highest level of `node`.
    pub fn level(&self, node: u32) -> usize {
        self.levels[node as usize] as usize
    }

    pub fn push_node(&mut self, level: usize) {
        let node = self.levels.len() as u32;
        assert!(node < 1 << 31, "node ids use bit 31 as a search flag");
        self.levels.push(level as u8);
        self.level0.resize(self.level0.len() + self.m0 + 1, 0);
        if level > 0 {
            self.upper.insert(node, vec![Vec::new(); level]);
        }
    }

    #[inline]
    pub fn neighbors(&self, node: u32, level: usize) -> &[u32] {
        if level == 0 {
            let base = node as usize * (self.m0 + 1);
            let count = self.level0[base] as usize;
            &self.level0[base + 1..base + 1 + count]
        } else {
            match self.upper.get(&node) {
                Some(lists) if level <= lists.len() => &lists[level - 1],
                _ => &[],
            }
        }
    }

    /// Prefetch hint for `node`'s level-0 list.
    #[inline]
    pub fn prefetch(&self, node: u32, level: usize) {
        if level == 0 {
            let base = node as usize * (self.m0 + 1);
            crate::distance::prefetch(&self.level0[base..]);
        }
    }

    pub fn set_neighbors(&mut self, node: u32, level: usize, list: &[u32]) {
        assert!(list.len() <= self.cap(level));
        if level == 0 {
            let base = node as usize * (self.m0 + 1);
            self.level0[base] = list.len() as u32;
            self.level0[base + 1..base + 1 + list.len()].copy_from_slice(list);
        } else {
            let lists = self.upper.get_mut(&node).expect("node has upper levels");
            lists[level - 1].clear();
            lists[level - 1].extend_from_slice(list);
        }
    }

    /// Appends one link if there is room; returns false when the list is full.
    pub fn try_push(&mut self, node: u32, level: usize, to: u32) -> bool {
        if level == 0 {
            let base = node as usize * (self.m0 + 1);
            let count = self.level0[base] as usize;
            if count >= self.m0 {
                return false;
            }
            self.level0[base + 1 + count] = to;
            self.level0[base] += 1;
            true
        } else {
            let cap = self.m;
            let list = &mut self.upper.get_mut(&node).expect("node has upper levels")[level - 1];
            if list.len() >= cap {
                return false;
            }
            list.push(to);
            true
        }
    }

    pub fn memory_bytes(&self) -> usize {
        let upper: usize = self
            .upper
            .values()
            .map(|ls| 48 + ls.iter().map(|l| 24 + 4 * l.capacity()).sum::<usize>())
            .sum();
        4 * self.level0.capacity() + self.levels.capacity() + upper
    }
}
