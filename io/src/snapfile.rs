//! The snapshot container: typed, checksummed sections whose payloads start on
//! 64-byte boundaries, so that arrays (vectors, adjacency lists) are read straight
//! out of a memory map as `&[f32]` / `&[u32]` without parsing. What the sections
//! mean is the shard crate's business; this file only frames bytes.
//!
//! Layout (integers little-endian; see `docs/design.md`):
//!
//! ```text
//! header   64 bytes: magic "KEKSNAP\0" | u32 version (1) | u32 flags (0) | 48 zero bytes
//! section  64-byte header: u32 kind | u32 crc32(payload) | u64 payload length | 48 zero bytes
//!          payload, then zero padding to the next multiple of 64
//! ...
//! footer   64 bytes: magic "KEKSEND\0" | u32 section count | u32 crc32(header + every
//!          section header) | u64 file length | 40 zero bytes
//! ```
//!
//! A file is valid only with its footer: the writer renames it into place after it
//! is complete and synced, so a missing or wrong footer means damage, not a crash.

use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"KEKSNAP\0";
pub const FOOTER_MAGIC: &[u8; 8] = b"KEKSEND\0";
pub const VERSION: u32 = 1;
pub const ALIGN: usize = 64;
const HEADER: usize = 64;

#[derive(Debug, Error, PartialEq)]
pub enum SnapFileError {
    #[error("not a snapshot (bad magic)")]
    BadMagic,
    #[error("snapshot format version {0} is newer than this build reads ({VERSION})")]
    Version(u32),
    #[error("snapshot is truncated or its footer is damaged")]
    Footer,
    #[error("snapshot section headers fail their checksum")]
    HeaderChecksum,
    #[error("snapshot section at byte {offset} runs past the end of the file")]
    SectionBounds { offset: u64 },
    #[error("snapshot section at byte {offset} (kind {kind}) fails its checksum")]
    SectionChecksum { offset: u64, kind: u32 },
    #[error("snapshot has {found} sections, its footer says {expected}")]
    SectionCount { found: u32, expected: u32 },
}

/// One section of a read snapshot, borrowing the mapped bytes.
#[derive(Clone, Copy, Debug)]
pub struct Section<'a> {
    pub kind: u32,
    /// Byte offset of the section header in the file (for error messages).
    pub offset: u64,
    /// Starts 64-byte aligned relative to the file start.
    pub payload: &'a [u8],
}

fn pad(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Builds a snapshot in memory. Checksums are computed by [`SnapWriter::finish`], so
/// the owner can do the cheap copying on its own thread and leave the checksums
/// and the disk write to a background thread.
pub struct SnapWriter {
    buf: Vec<u8>,
    /// Offsets of section headers.
    sections: Vec<usize>,
    open: Option<usize>,
}

impl Default for SnapWriter {
    fn default() -> Self {
        SnapWriter::new()
    }
}

impl SnapWriter {
    pub fn new() -> SnapWriter {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.resize(HEADER, 0);
        SnapWriter {
            buf,
            sections: Vec::new(),
            open: None,
        }
    }

    /// Starts a section; payload bytes go through [`SnapWriter::bytes`].
    pub fn begin(&mut self, kind: u32) {
        self.end();
        let at = self.buf.len();
        self.buf.extend_from_slice(&kind.to_le_bytes());
        self.buf.resize(at + ALIGN, 0);
        self.sections.push(at);
        self.open = Some(at);
    }

    /// Appends payload bytes to the open section.
    pub fn bytes(&mut self, b: &[u8]) {
        debug_assert!(self.open.is_some(), "begin a section first");
        self.buf.extend_from_slice(b);
    }

    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// A whole section at once.
    pub fn section(&mut self, kind: u32, payload: &[u8]) {
        self.begin(kind);
        self.bytes(payload);
        self.end();
    }

    fn end(&mut self) {
        if let Some(at) = self.open.take() {
            let len = (self.buf.len() - at - ALIGN) as u64;
            self.buf[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
            self.buf.resize(pad(self.buf.len()), 0);
        }
    }

    /// Bytes so far (a progress figure).
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Fills in the checksums and the footer; returns the file's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.end();
        let mut table = crc32fast::Hasher::new();
        table.update(&self.buf[..HEADER]);
        for &at in &self.sections {
            let len = u64_at(&self.buf, at + 8) as usize;
            let crc = crc32fast::hash(&self.buf[at + ALIGN..at + ALIGN + len]);
            self.buf[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
            table.update(&self.buf[at..at + ALIGN]);
        }
        let at = self.buf.len();
        self.buf.extend_from_slice(FOOTER_MAGIC);
        self.buf
            .extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&table.finalize().to_le_bytes());
        let total = (at + ALIGN) as u64;
        self.buf.extend_from_slice(&total.to_le_bytes());
        self.buf.resize(at + ALIGN, 0);
        self.buf
    }
}

/// Checks a snapshot's framing and every checksum; returns its sections in order.
pub fn read(bytes: &[u8]) -> Result<Vec<Section<'_>>, SnapFileError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(SnapFileError::BadMagic);
    }
    if bytes.len() < 2 * HEADER || !bytes.len().is_multiple_of(ALIGN) {
        return Err(SnapFileError::Footer);
    }
    let version = u32_at(bytes, 8);
    if version != VERSION {
        return Err(SnapFileError::Version(version));
    }
    let foot = bytes.len() - ALIGN;
    if &bytes[foot..foot + 8] != FOOTER_MAGIC || u64_at(bytes, foot + 16) != bytes.len() as u64 {
        return Err(SnapFileError::Footer);
    }
    let expected = u32_at(bytes, foot + 8);
    let mut table = crc32fast::Hasher::new();
    table.update(&bytes[..HEADER]);
    let mut sections = Vec::new();
    let mut at = HEADER;
    while at < foot {
        if at + ALIGN > foot {
            return Err(SnapFileError::SectionBounds { offset: at as u64 });
        }
        let len = u64_at(bytes, at + 8);
        let end = ((at + ALIGN) as u64)
            .checked_add(len)
            .filter(|end| *end <= foot as u64)
            .ok_or(SnapFileError::SectionBounds { offset: at as u64 })?;
        table.update(&bytes[at..at + ALIGN]);
        sections.push(Section {
            kind: u32_at(bytes, at),
            offset: at as u64,
            payload: &bytes[at + ALIGN..end as usize],
        });
        at = pad(end as usize);
    }
    if sections.len() as u64 != expected as u64 {
        return Err(SnapFileError::SectionCount {
            found: sections.len() as u32,
            expected,
        });
    }
    if table.finalize() != u32_at(bytes, foot + 12) {
        return Err(SnapFileError::HeaderChecksum);
    }
    for s in &sections {
        let at = s.offset as usize;
        if crc32fast::hash(s.payload) != u32_at(bytes, at + 4) {
            return Err(SnapFileError::SectionChecksum {
                offset: s.offset,
                kind: s.kind,
            });
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = SnapWriter::new();
        w.section(1, b"hello");
        w.begin(7);
        w.u32(42);
        w.bytes(&[9; 100]);
        w.section(3, b"");
        w.finish()
    }

    #[test]
    fn sections_round_trip_aligned() {
        let b = sample();
        assert_eq!(b.len() % ALIGN, 0);
        let s = read(&b).unwrap();
        assert_eq!(s.iter().map(|s| s.kind).collect::<Vec<_>>(), vec![1, 7, 3]);
        assert_eq!(s[0].payload, b"hello");
        assert_eq!(&s[1].payload[..4], &42u32.to_le_bytes());
        assert_eq!(s[1].payload.len(), 104);
        assert!(s[2].payload.is_empty());
        for sec in &s {
            let start = sec.payload.as_ptr() as usize - b.as_ptr() as usize;
            assert_eq!(start % ALIGN, 0);
        }
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_detected() {
        let b = sample();
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 0x40;
            // Padding bytes are not covered by any checksum; everything else is.
            if let Ok(s) = read(&bad) {
                let same = s.iter().zip(read(&b).unwrap()).all(|(x, y)| {
                    x.kind == y.kind && x.payload == y.payload && x.offset == y.offset
                });
                assert!(same, "flip at {i} changed content undetected");
            }
        }
        for cut in 0..b.len() {
            assert!(read(&b[..cut]).is_err(), "truncation to {cut} accepted");
        }
    }

    #[test]
    fn huge_section_lengths_are_out_of_bounds_not_overflows() {
        let b = sample();
        for byte in 10..16 {
            let mut bad = b.clone();
            bad[64 + byte] = 0xFF;
            assert_eq!(
                read(&bad).unwrap_err(),
                SnapFileError::SectionBounds { offset: 64 }
            );
        }
    }

    #[test]
    fn newer_version_is_refused_by_number() {
        let mut b = sample();
        b[8] = 9;
        assert_eq!(read(&b).unwrap_err(), SnapFileError::Version(9));
    }
}
