//! A part's state as a snapshot sees it: borrowed for encoding ([`IndexView`]),
//! owned after decoding ([`IndexParts`]) and restored into an index.

use roaring::RoaringBitmap;
use serde_json::{Map, Value};

use crate::hnsw::Hnsw;
use crate::limits::NODES_PER_PART_MAX;
use crate::metadata::MetadataIndex;
use crate::text::Bm25Index;
use crate::vectors::VectorStore;

use super::ids::Ids;
use super::meta_texts::MetaTexts;
use super::{is_pinned, text_of, Index};

/// Node flags in a snapshot.
pub(crate) const FLAG_LIVE: u8 = 1;
pub(crate) const FLAG_ENTITY: u8 = 2;

/// A part's state, borrowed for a snapshot.
pub(crate) struct IndexView<'a> {
    pub ids: &'a Ids,
    pub live: &'a RoaringBitmap,
    pub entities: &'a RoaringBitmap,
    pub touched: &'a [i64],
    pub metadata: &'a MetaTexts,
    pub store: Option<&'a VectorStore>,
    pub hnsw: &'a Hnsw,
    pub vacuumed: usize,
}

/// A part's state, read from a snapshot, for [`Index::restore`].
pub(crate) struct IndexParts {
    pub ids: Vec<Box<str>>,
    /// Per node: [`FLAG_LIVE`] | [`FLAG_ENTITY`].
    pub flags: Vec<u8>,
    pub touched: Vec<i64>,
    /// Per node: compact JSON text of an object (checked by `restore`).
    pub metadata: MetaTexts,
    pub store: Option<VectorStore>,
    pub hnsw: Hnsw,
    pub vacuumed: usize,
}

impl Index {
    /// Borrowed state for a snapshot.
    pub(crate) fn view(&self) -> IndexView<'_> {
        IndexView {
            ids: &self.ids,
            live: &self.live,
            entities: &self.entities,
            touched: &self.touched,
            metadata: &self.metadata,
            store: self.store.as_ref(),
            hnsw: &self.hnsw,
            vacuumed: self.vacuumed,
        }
    }

    /// Replaces this (empty) part's contents with a snapshot's, rebuilding what is
    /// derived (id map, bitmaps, metadata and text indexes). Checks that the parts
    /// agree with each other, so a damaged snapshot is an error, not a panic.
    pub(crate) fn restore(&mut self, p: IndexParts) -> std::result::Result<(), &'static str> {
        let n = p.ids.len();
        if p.flags.len() != n || p.touched.len() != n || p.metadata.len() != n {
            return Err("node arrays differ in length");
        }
        if p.hnsw.len() != n || p.store.as_ref().is_some_and(|s| s.len() != n) {
            return Err("graph or vectors do not match the node count");
        }
        if n > NODES_PER_PART_MAX || p.vacuumed > n {
            return Err("node count out of range");
        }
        if let Some(s) = &p.store {
            if s.precision() != self.config.precision || s.metric() != self.config.metric {
                return Err("vectors are not in the index's precision and metric");
            }
        }
        let mut ids = Ids::new();
        let (mut live, mut entities) = (RoaringBitmap::new(), RoaringBitmap::new());
        for (node, (id, f)) in p.ids.iter().zip(&p.flags).enumerate() {
            ids.push(id);
            if f & FLAG_LIVE == 0 {
                continue;
            }
            let node = node as u32;
            live.insert(node);
            if f & FLAG_ENTITY != 0 {
                entities.insert(node);
            }
            if ids.insert(node).is_some() {
                return Err("an id is live twice");
            }
        }
        if p.store.is_none() && entities.len() != live.len() {
            return Err("vectors are missing");
        }
        let mut meta_index = MetadataIndex::new();
        let mut text_index = self.config.text_language.map(Bm25Index::new);
        let mut pinned = RoaringBitmap::new();
        for (node, md) in p.metadata.iter().enumerate() {
            match md {
                Some(text) if live.contains(node as u32) => {
                    let md: Map<String, Value> =
                        serde_json::from_str(text).map_err(|_| "metadata is not a JSON object")?;
                    meta_index.insert(node as u32, &md);
                    if let Some(t) = text_index.as_mut() {
                        t.insert(node as u32, &text_of(&md));
                    }
                    if is_pinned(&md) {
                        pinned.insert(node as u32);
                    }
                }
                Some(_) => return Err("a deleted node has metadata"),
                None => {}
            }
        }
        self.searchable = &live - &entities;
        self.live = live;
        self.entities = entities;
        self.ids = ids;
        self.touched = p.touched;
        self.metadata = p.metadata;
        self.store = p.store;
        self.hnsw = p.hnsw;
        self.vacuumed = p.vacuumed;
        self.meta_index = meta_index;
        self.text = text_index;
        self.pinned = pinned;
        self.vacuum_plan = None;
        self.pending_store = None;
        Ok(())
    }
}
