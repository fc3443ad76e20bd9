//! Bytes-level mechanics of kektordb: file formats read and written without any
//! knowledge of indexes or shards. Today: the standard ANN benchmark formats
//! (`.fvecs`, `.ivecs`). The AOF record framing and snapshot files join here with the
//! durability work.

pub mod ann_files;

pub use ann_files::{read_fvecs, read_ivecs, write_fvecs, write_ivecs, AnnFileError, Rows};
