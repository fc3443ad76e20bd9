//! Any bytes as a shard's log: recovery never panics; it either rebuilds a shard or
//! reports an error with an offset inside the log.
#![no_main]

use kektordb_io::storage::MemStorage;
use kektordb_shards::durable::{DurableShard, FsyncPolicy, RecoverError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let storage = MemStorage { bytes: data.to_vec() };
    match DurableShard::recover(storage, FsyncPolicy::No, true) {
        Ok((_, report)) => assert!(report.truncated_bytes as usize <= data.len()),
        Err(RecoverError::BadOp { offset, .. }) | Err(RecoverError::Apply { offset, .. }) => {
            assert!((offset as usize) < data.len())
        }
        Err(RecoverError::Corrupt { .. }) => unreachable!("skip_corrupt is on"),
        Err(RecoverError::Io(e)) => panic!("memory storage cannot fail: {e}"),
        Err(RecoverError::Snapshot(e)) => panic!("no snapshot was given: {e}"),
    }
});
