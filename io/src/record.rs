//! AOF record framing. One record on disk:
//!
//! ```text
//! offset  size  field
//! 0       1     magic 0xA7
//! 1       4     payload length n, u32 little-endian (<= RECORD_BYTES_MAX)
//! 5       4     CRC-32 (IEEE, crc32fast) of the payload, u32 little-endian
//! 9       n     payload (its first byte is the payload format version)
//! ```
//!
//! Decoding a log tells a torn tail (the last record is cut short or its checksum is
//! wrong, and nothing valid follows: a write interrupted by a crash, safe to
//! truncate) from corruption in the middle (a bad record followed by a valid one:
//! never dropped silently).

use thiserror::Error;

pub const MAGIC: u8 = 0xA7;
pub const HEADER_BYTES: usize = 9;
/// Largest payload of one record.
pub const RECORD_BYTES_MAX: usize = 1 << 30;

/// Appends one framed record holding `payload` to `out`.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        payload.len() <= RECORD_BYTES_MAX,
        "record payload over the limit"
    );
    out.push(MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("bad magic byte {found:#04x}")]
    BadMagic { found: u8 },
    #[error("record length {len} exceeds the limit")]
    TooLong { len: usize },
    #[error("record cut short")]
    Truncated,
    #[error("checksum mismatch")]
    Checksum,
}

/// Decodes the record at the start of `bytes`: (payload, bytes consumed).
pub fn decode_one(bytes: &[u8]) -> Result<(&[u8], usize), RecordError> {
    if bytes.len() < HEADER_BYTES {
        return Err(match bytes.first() {
            Some(&m) if m != MAGIC => RecordError::BadMagic { found: m },
            _ => RecordError::Truncated,
        });
    }
    if bytes[0] != MAGIC {
        return Err(RecordError::BadMagic { found: bytes[0] });
    }
    let len = u32::from_le_bytes(bytes[1..5].try_into().expect("4 bytes")) as usize;
    if len > RECORD_BYTES_MAX {
        return Err(RecordError::TooLong { len });
    }
    let crc = u32::from_le_bytes(bytes[5..9].try_into().expect("4 bytes"));
    let end = HEADER_BYTES + len;
    let payload = bytes.get(HEADER_BYTES..end).ok_or(RecordError::Truncated)?;
    if crc32fast::hash(payload) != crc {
        return Err(RecordError::Checksum);
    }
    Ok((payload, end))
}

/// How a log ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to a valid record.
    Clean,
    /// Bytes from `offset` on are an interrupted write: truncate there.
    Torn { offset: u64 },
    /// The record at `offset` is bad but valid records follow it.
    Corrupt { offset: u64, error: RecordError },
}

/// A decoded log: the payloads of the valid records before the first bad one.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub records: Vec<&'a [u8]>,
    /// Bytes covered by `records`.
    pub valid_len: u64,
    pub tail: Tail,
    /// For `Corrupt`: where the next valid record starts.
    pub resume_at: Option<u64>,
}

pub fn decode_all(bytes: &[u8]) -> Decoded<'_> {
    let mut records = Vec::new();
    let mut off = 0usize;
    while off < bytes.len() {
        match decode_one(&bytes[off..]) {
            Ok((payload, used)) => {
                records.push(payload);
                off += used;
            }
            Err(error) => {
                let next = (off + 1..bytes.len())
                    .find(|&p| bytes[p] == MAGIC && decode_one(&bytes[p..]).is_ok());
                let tail = match next {
                    Some(_) => Tail::Corrupt {
                        offset: off as u64,
                        error,
                    },
                    None => Tail::Torn { offset: off as u64 },
                };
                return Decoded {
                    records,
                    valid_len: off as u64,
                    tail,
                    resume_at: next.map(|p| p as u64),
                };
            }
        }
    }
    Decoded {
        records,
        valid_len: off as u64,
        tail: Tail::Clean,
        resume_at: None,
    }
}

#[cfg(test)]
mod tests {
    //! Round trips, every cut point of a torn tail, and corruption in the middle.
    use super::*;
    use proptest::prelude::*;

    fn log(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(p, &mut out);
        }
        out
    }

    proptest! {
        #[test]
        fn round_trip_and_every_cut(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8)) {
            let bytes = log(&payloads);
            let d = decode_all(&bytes);
            prop_assert_eq!(&d.tail, &Tail::Clean);
            prop_assert_eq!(d.records.iter().map(|r| r.to_vec()).collect::<Vec<_>>(), payloads.clone());
            for cut in 0..bytes.len() {
                let d = decode_all(&bytes[..cut]);
                // A cut never yields a record that was not written, and is torn, not corrupt.
                prop_assert!(d.records.len() <= payloads.len());
                for (a, b) in d.records.iter().zip(&payloads) {
                    prop_assert_eq!(a.to_vec(), b.clone());
                }
                prop_assert!(matches!(d.tail, Tail::Clean | Tail::Torn { .. }), "{:?}", d.tail);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let d = decode_all(&bytes);
            prop_assert!(d.valid_len as usize <= bytes.len());
        }
    }

    #[test]
    fn corruption_in_the_middle_is_reported() {
        let payloads = vec![b"first".to_vec(), b"second".to_vec(), b"third".to_vec()];
        let mut bytes = log(&payloads);
        let second = HEADER_BYTES + 5;
        bytes[second + HEADER_BYTES + 1] ^= 0xFF; // flip a payload byte of "second"
        let d = decode_all(&bytes);
        assert_eq!(d.records, vec![&b"first"[..]]);
        assert_eq!(
            d.tail,
            Tail::Corrupt {
                offset: second as u64,
                error: RecordError::Checksum
            }
        );
        assert_eq!(d.resume_at, Some((second + HEADER_BYTES + 6) as u64));
        // The same damage in the last record is a torn tail.
        let mut bytes = log(&payloads[..2]);
        let n = bytes.len();
        bytes[n - 1] ^= 0xFF;
        assert_eq!(
            decode_all(&bytes).tail,
            Tail::Torn {
                offset: second as u64
            }
        );
    }
}
