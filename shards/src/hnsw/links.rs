//! Adjacency lists. Level 0 is one flat `u32` array with a fixed stride per node
//! (`[count, n_1 .. n_m0]`) so a node's list is one cache-friendly slice; upper
//! levels (about 1/m of the nodes) live in a map.

use std::collections::HashMap;

/// Upper-level lists by node: `lists[l - 1]` is level `l`.
pub type UpperLists = HashMap<u32, Vec<Vec<u32>>>;

pub struct Links {
    m: usize,
    m0: usize,
    level0: Vec<u32>,
    levels: Vec<u8>,
    upper: UpperLists,
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
        let len = self.level0.len() + self.m0 + 1;
        crate::huge_pages::resize(&mut self.level0, len, 0);
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

    /// These lists with only the nodes in `kept` (ascending), renumbered to their
    /// position there; `remap[old]` is the new number or `u32::MAX` for a dropped
    /// node, and links to dropped nodes are dropped.
    pub fn compacted(&self, kept: &[u32], remap: &[u32]) -> Links {
        let mut out = Links::new(self.m, self.m0);
        for (new, &old) in kept.iter().enumerate() {
            let level = self.level(old);
            out.push_node(level);
            for l in 0..=level {
                let list: Vec<u32> = self
                    .neighbors(old, l)
                    .iter()
                    .map(|&x| remap[x as usize])
                    .filter(|&x| x != u32::MAX)
                    .collect();
                out.set_neighbors(new as u32, l, &list);
            }
        }
        out
    }

    /// The raw arrays, for a snapshot: (level-0 array, levels, upper lists).
    pub fn raw(&self) -> (&[u32], &[u8], &UpperLists) {
        (&self.level0, &self.levels, &self.upper)
    }

    /// Lists from a snapshot. Checks every count against its cap and every neighbour
    /// against the node count, so a search can never index out of bounds.
    pub fn from_parts(
        m: usize,
        m0: usize,
        level0: Vec<u32>,
        levels: Vec<u8>,
        upper: UpperLists,
    ) -> Result<Links, &'static str> {
        let n = levels.len();
        if level0.len() != n * (m0 + 1) {
            return Err("level-0 array does not match the node count");
        }
        for list in level0.chunks_exact(m0 + 1) {
            let count = list[0] as usize;
            if count > m0 || list[1..=count].iter().any(|x| *x as usize >= n) {
                return Err("level-0 list out of bounds");
            }
        }
        for (node, lists) in &upper {
            if *node as usize >= n || levels[*node as usize] as usize != lists.len() {
                return Err("upper lists do not match the node's level");
            }
            if lists
                .iter()
                .any(|l| l.len() > m || l.iter().any(|x| *x as usize >= n))
            {
                return Err("upper list out of bounds");
            }
        }
        if levels
            .iter()
            .enumerate()
            .any(|(i, l)| *l > 0 && !upper.contains_key(&(i as u32)))
        {
            return Err("a node's upper lists are missing");
        }
        Ok(Links {
            m,
            m0,
            level0,
            levels,
            upper,
        })
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
