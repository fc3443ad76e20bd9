//! Bytes-level mechanics of kektordb: file formats read and written without any
//! knowledge of indexes or shards. Today: the standard ANN benchmark formats
//! (`.fvecs`, `.ivecs`), the AOF record framing (`record`), the snapshot container
//! (`snapfile`, read through `mapped`), rows kept in the page cache (`row_file`), the storage the log is written to
//! (`storage`: files, memory, and a fault-injecting storage for tests), atomic file
//! replacement (`atomic`) and, with the `dma` feature, the server's direct-I/O log on
//! glommio (`dma_log`).

pub mod ann_files;
pub mod atomic;
#[cfg(feature = "dma")]
pub mod dma_log;
pub mod mapped;
pub mod record;
pub mod row_file;
pub mod snapfile;
pub mod storage;

pub use ann_files::{read_fvecs, read_ivecs, write_fvecs, write_ivecs, AnnFileError, Rows};
