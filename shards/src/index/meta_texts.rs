//! Every node's metadata as compact JSON text, in one byte arena: per node the
//! offset of its text (or none), each text prefixed by its length as a LEB128
//! varint. About 9 bytes per node plus the text, against 48 for one small field in
//! an `Option<Box<str>>` (a 16-byte slot and a 32-byte allocator chunk): with ids
//! in their own arena ([`super::ids`]), most of what an int8 index holds besides its
//! codes and graph. A replaced or cleared text stays in the arena as garbage until
//! garbage outweighs the live text, then the arena is rewritten in node order
//! (amortized O(1) per change).

/// Offset of a node without metadata.
const NONE: u64 = u64::MAX;
/// Garbage below this is never worth a rewrite.
const COMPACT_MIN_GARBAGE: usize = 1 << 20;

#[derive(Clone, Debug, Default)]
pub struct MetaTexts {
    bytes: Vec<u8>,
    /// `starts[node]`: where `node`'s length prefix starts in `bytes`, or [`NONE`].
    starts: Vec<u64>,
    /// Bytes of `bytes` no node points to.
    garbage: usize,
}

fn put_len(bytes: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
}

/// (text length, bytes of its prefix) at `at`.
fn get_len(bytes: &[u8], at: usize) -> (usize, usize) {
    let (mut len, mut shift, mut i) = (0usize, 0, at);
    loop {
        let b = bytes[i];
        len |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (len, i - at);
        }
        shift += 7;
    }
}

impl MetaTexts {
    pub fn new() -> MetaTexts {
        MetaTexts::default()
    }

    /// Nodes (with or without metadata).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Adds the next node, with `text` or none.
    pub fn push(&mut self, text: Option<&str>) {
        let start = match text {
            Some(t) => self.append(t),
            None => NONE,
        };
        self.starts.push(start);
    }

    /// `node`'s text.
    pub fn get(&self, node: u32) -> Option<&str> {
        let start = self.starts[node as usize];
        if start == NONE {
            return None;
        }
        let (len, prefix) = get_len(&self.bytes, start as usize);
        let from = start as usize + prefix;
        // Only whole `&str`s are ever appended, so every span is valid UTF-8.
        Some(std::str::from_utf8(&self.bytes[from..from + len]).expect("texts are pushed as str"))
    }

    /// Gives `node` the text `text` (or none).
    pub fn set(&mut self, node: u32, text: Option<&str>) {
        self.release(node);
        if let Some(t) = text {
            self.starts[node as usize] = self.append(t);
        }
        if self.garbage >= COMPACT_MIN_GARBAGE && self.garbage > self.bytes.len() / 2 {
            *self = self.iter().collect();
        }
    }

    /// Every node's text, in node order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.starts.len() as u32).map(|n| self.get(n))
    }

    /// Returns the arena's spare capacity (after a load).
    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.starts.shrink_to_fit();
    }

    /// Bytes held (arena and offsets), as allocated.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.capacity() + 8 * self.starts.capacity()
    }

    fn append(&mut self, text: &str) -> u64 {
        let start = self.bytes.len() as u64;
        put_len(&mut self.bytes, text.len());
        self.bytes.extend_from_slice(text.as_bytes());
        start
    }

    /// Forgets `node`'s text (its bytes become garbage).
    fn release(&mut self, node: u32) {
        let start = std::mem::replace(&mut self.starts[node as usize], NONE);
        if start != NONE {
            let (len, prefix) = get_len(&self.bytes, start as usize);
            self.garbage += len + prefix;
        }
    }
}

impl<'a> FromIterator<Option<&'a str>> for MetaTexts {
    fn from_iter<I: IntoIterator<Item = Option<&'a str>>>(texts: I) -> MetaTexts {
        let mut m = MetaTexts::new();
        for t in texts {
            m.push(t);
        }
        m.shrink_to_fit();
        m
    }
}

#[cfg(test)]
mod tests {
    use super::{MetaTexts, COMPACT_MIN_GARBAGE};

    #[test]
    fn behaves_like_a_vec_of_optional_strings() {
        let mut texts = MetaTexts::new();
        let mut model: Vec<Option<String>> = Vec::new();
        let mut rng = crate::rng::SplitMix64(5);
        let mut appended = 0;
        for step in 0..20_000u32 {
            // Lengths either side of each prefix size (1, 2 and 3 bytes).
            let len = match rng.next_u64() % 6 {
                0 => 0,
                1 => 127 + (rng.next_u64() % 3) as usize,
                2 => 16_383 + (rng.next_u64() % 3) as usize,
                _ => (rng.next_u64() % 40) as usize,
            };
            let text = (!rng.next_u64().is_multiple_of(4))
                .then(|| "é".repeat(len / 2) + &"x".repeat(len % 2));
            appended += text.as_ref().map_or(0, |t| t.len());
            if step % 3 == 0 || model.is_empty() {
                texts.push(text.as_deref());
                model.push(text);
            } else {
                let node = (rng.next_u64() % model.len() as u64) as u32;
                texts.set(node, text.as_deref());
                model[node as usize] = text;
            }
        }
        assert_eq!(texts.len(), model.len());
        let want: Vec<Option<&str>> = model.iter().map(Option::as_deref).collect();
        assert_eq!(texts.iter().collect::<Vec<_>>(), want);
        // Rewrites kept the garbage bounded: at most the live text or the minimum.
        let live: usize = model.iter().flatten().map(|t| t.len() + 3).sum();
        assert!(
            texts.garbage <= live.max(COMPACT_MIN_GARBAGE),
            "{} bytes of garbage beside {live} live",
            texts.garbage
        );
        assert!(texts.bytes.len() < appended, "the arena was rewritten");
        let copy: MetaTexts = texts.iter().collect();
        assert_eq!(copy.garbage, 0);
        assert_eq!(copy.iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn one_small_text_costs_its_bytes_plus_nine() {
        let texts: MetaTexts = (0..1000).map(|_| Some(r#"{"bucket":42}"#)).collect();
        assert_eq!(texts.memory_bytes(), 1000 * (13 + 1 + 8));
        assert_eq!(texts.get(999), Some(r#"{"bucket":42}"#));
    }
}
