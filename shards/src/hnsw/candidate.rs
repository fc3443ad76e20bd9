//! A (distance, node) pair ordered by distance, then node id (total order on f32).

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub d: f32,
    pub id: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
