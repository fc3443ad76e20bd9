//! The RAG pipeline ("vectorizers"): folders watched and reconciled with an index.
//! `config` reads vectorizers.yaml; `source` lists a folder's files; `load` turns
//! a file into text (per page for PDF); `chunk` cuts text into chunks; `ingest`
//! stores one file's chunks (and removes a deleted file's); `state` is the durable
//! record of what each file became; `pipeline` is one vectorizer's worker;
//! `service` holds them by name; `retrieve` answers `/rag/retrieve`; `status` is
//! what `/system/vectorizers` shows. Workers run on their own threads and await
//! the engine through the edge; nothing here runs on a shard executor except
//! `retrieve`, which only awaits the engine.

pub mod chunk;
pub mod config;
pub mod entities;
pub mod error;
pub mod ingest;
pub mod load;
pub mod nodes;
pub mod pipeline;
pub mod retrieve;
pub mod service;
pub mod source;
pub mod state;
pub mod status;

pub use config::Vectorizer;
pub use error::RagError;
pub use pipeline::Triggered;
pub use retrieve::{RetrieveAnswer, RetrieveRequest};
pub use service::Rag;
pub use status::Status;
