//! The item ids of an index part, compact: every node's id in one byte arena (with
//! its end offset), and the map from id to node as a hash table of node numbers
//! whose keys are read back from the arena. About 13 bytes per node plus the id's
//! own bytes, against ~110 for a `Vec<Box<str>>` beside a `HashMap<Box<str>, u32>`
//! (two heap copies of every id and their allocator headers): most of what an int8
//! index holds besides its codes and graph. Hashing is std's `RandomState`
//! (SipHash with a per-process key), since ids come from clients.

use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};

pub struct Ids {
    bytes: Vec<u8>,
    /// `ends[node]`: one past the last byte of `node`'s id in `bytes`.
    ends: Vec<u64>,
    /// Nodes an id currently maps to (at most one per id).
    map: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
}

fn slice<'a>(bytes: &'a [u8], ends: &[u64], node: u32) -> &'a [u8] {
    let n = node as usize;
    let start = if n == 0 { 0 } else { ends[n - 1] as usize };
    &bytes[start..ends[n] as usize]
}

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

impl Ids {
    pub fn new() -> Ids {
        Ids {
            bytes: Vec::new(),
            ends: Vec::new(),
            map: HashTable::new(),
            hasher: Default::default(),
        }
    }

    /// Nodes (every pushed id, mapped or not).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// `node`'s id.
    pub fn id(&self, node: u32) -> &str {
        let b = slice(&self.bytes, &self.ends, node);
        // Only whole `&str`s are ever pushed, so every slice is valid UTF-8.
        std::str::from_utf8(b).expect("ids are pushed as str")
    }

    /// Every node's id, in node order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|n| self.id(n))
    }

    /// Gives the next node the id `id` (not mapped yet: see [`Ids::insert`]).
    pub fn push(&mut self, id: &str) {
        self.bytes.extend_from_slice(id.as_bytes());
        self.ends.push(self.bytes.len() as u64);
    }

    /// The node `id` maps to.
    pub fn get(&self, id: &str) -> Option<u32> {
        let h = self.hasher.hash_one(id.as_bytes());
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.map
            .find(h, |&n| slice(bytes, ends, n) == id.as_bytes())
            .copied()
    }

    /// Maps `node`'s id (pushed) to `node`; returns the node it mapped to before.
    pub fn insert(&mut self, node: u32) -> Option<u32> {
        let Ids {
            bytes,
            ends,
            map,
            hasher,
        } = self;
        let key = slice(bytes, ends, node);
        let h = hasher.hash_one(key);
        let rehash = |&n: &u32| hasher.hash_one(slice(bytes, ends, n));
        match map.entry(h, |&n| slice(bytes, ends, n) == key, rehash) {
            Entry::Occupied(mut o) => Some(std::mem::replace(o.get_mut(), node)),
            Entry::Vacant(v) => {
                v.insert(node);
                None
            }
        }
    }

    /// Unmaps `id`; returns the node it mapped to.
    pub fn remove(&mut self, id: &str) -> Option<u32> {
        let h = self.hasher.hash_one(id.as_bytes());
        let (bytes, ends) = (&self.bytes, &self.ends);
        let found = self
            .map
            .find_entry(h, |&n| slice(bytes, ends, n) == id.as_bytes());
        found.ok().map(|e| e.remove().0)
    }

    /// Bytes held (arena, offsets, table), as allocated.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.capacity() + 8 * self.ends.capacity() + 5 * self.map.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::Ids;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_vec_and_a_hash_map() {
        let mut ids = Ids::new();
        let mut names: Vec<String> = Vec::new();
        let mut map: HashMap<String, u32> = HashMap::new();
        let mut rng = crate::rng::SplitMix64(9);
        for step in 0..5000u32 {
            let name = match rng.next_u64() % 4 {
                0 if !names.is_empty() => {
                    names[(rng.next_u64() % names.len() as u64) as usize].clone()
                }
                1 => String::new(),
                _ => format!("id-{}-é", rng.next_u64() % 3000),
            };
            if step % 5 == 4 {
                assert_eq!(ids.remove(&name), map.remove(&name), "remove {name}");
                continue;
            }
            let node = names.len() as u32;
            ids.push(&name);
            names.push(name.clone());
            assert_eq!(
                ids.insert(node),
                map.insert(name.clone(), node),
                "insert {name}"
            );
        }
        assert_eq!(ids.len(), names.len());
        for (n, name) in names.iter().enumerate() {
            assert_eq!(ids.id(n as u32), name);
            assert_eq!(ids.get(name), map.get(name).copied(), "get {name}");
        }
        assert_eq!(ids.iter().collect::<Vec<_>>(), names);
        assert_eq!(ids.get("never"), None);
        let per_node = ids.memory_bytes() as f64 / ids.len() as f64;
        assert!(per_node < 40.0, "{per_node} bytes per node");
    }
}
