//! Any bytes as a log: decoding never panics, the valid prefix re-encodes to the same
//! bytes, and every payload either decodes as an op that re-encodes identically or is
//! rejected.
#![no_main]

use kektordb_io::record;
use kektordb_shards::op::Op;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = record::decode_all(data);
    assert!(d.valid_len as usize <= data.len());
    let mut again = Vec::new();
    for payload in &d.records {
        record::encode(payload, &mut again);
        if let Ok(op) = Op::decode(payload) {
            let mut enc = Vec::new();
            op.encode(&mut enc);
            // JSON fields may re-serialize differently (key order, number format), so
            // compare the decoded ops, not the bytes.
            assert_eq!(Op::decode(&enc).as_ref(), Ok(&op));
        }
    }
    assert_eq!(&again[..], &data[..d.valid_len as usize]);
});
