//! What an index part holds in memory, split into what searches touch and the rest.

use crate::text::Bm25Index;

use super::Index;

impl Index {
    /// Memory held by this part, split into what searches touch and the rest.
    pub fn memory(&self) -> IndexMemory {
        let rows = self.ids.len();
        let (hot, cold) = match &self.store {
            Some(s) => (s.hot_bytes_per_row() * rows, s.cold_bytes_per_row() * rows),
            None => (0, 0),
        };
        let paged = self.store.as_ref().is_some_and(|s| s.cold_rows_paged());
        let (cold, cold_paged) = if paged { (0, cold) } else { (cold, 0) };
        let ids = self.ids.memory_bytes();
        let stored_metadata = self.metadata.memory_bytes();
        IndexMemory {
            vectors_bytes: hot,
            rescore_bytes: cold,
            rescore_paged_bytes: cold_paged,
            graph_bytes: self.hnsw.memory_bytes(),
            ids_bytes: ids,
            metadata_bytes: self.meta_index.memory_bytes() + stored_metadata,
            text_bytes: self.text.as_ref().map_or(0, Bm25Index::memory_bytes),
            rows,
        }
    }
}

impl std::ops::AddAssign for IndexMemory {
    fn add_assign(&mut self, o: IndexMemory) {
        self.vectors_bytes += o.vectors_bytes;
        self.rescore_bytes += o.rescore_bytes;
        self.rescore_paged_bytes += o.rescore_paged_bytes;
        self.graph_bytes += o.graph_bytes;
        self.ids_bytes += o.ids_bytes;
        self.metadata_bytes += o.metadata_bytes;
        self.text_bytes += o.text_bytes;
        self.rows += o.rows;
    }
}

/// Bytes held by one index part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexMemory {
    /// Codes and norms every traversal touches.
    pub vectors_bytes: usize,
    /// int8's full-precision copy, read only to rescore final candidates, when it
    /// is held in memory.
    pub rescore_bytes: usize,
    /// The same copy when it lives in a scratch file read through the page cache
    /// (`crate::rows`): not the process's own memory.
    pub rescore_paged_bytes: usize,
    pub graph_bytes: usize,
    pub ids_bytes: usize,
    pub metadata_bytes: usize,
    pub text_bytes: usize,
    /// Node slots (live, deleted and entities).
    pub rows: usize,
}
