//! Which shard owns an id: a stable 64-bit hash of the id modulo the shard count.
//!
//! Two hashes exist, and a data directory records which one wrote it (MANIFEST):
//! - [`RouteHash::Fnv1a`], used by data directories written before manifest v2.
//!   FNV-1a's low bit is the parity of the count of odd bytes, so modulo 2 (and
//!   any even count) structured ids skew: `a0`, `a2`, `a44`, ... all land on one
//!   shard. Kept only so old directories keep their routing.
//! - [`RouteHash::Fnv1aMix`] (the default): FNV-1a followed by the murmur3 64-bit
//!   finalizer, which mixes every input bit into every output bit, so any modulus
//!   sees well-spread values.
//!
//! Both are stable across processes, platforms and versions.

/// The hash a data directory routes ids with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteHash {
    Fnv1a,
    Fnv1aMix,
}

impl RouteHash {
    /// The name written into MANIFEST.
    pub fn name(self) -> &'static str {
        match self {
            RouteHash::Fnv1a => "fnv1a",
            RouteHash::Fnv1aMix => "fnv1a-fmix64",
        }
    }

    pub fn from_name(name: &str) -> Option<RouteHash> {
        match name {
            "fnv1a" => Some(RouteHash::Fnv1a),
            "fnv1a-fmix64" => Some(RouteHash::Fnv1aMix),
            _ => None,
        }
    }

    pub fn hash(self, key: &str) -> u64 {
        let h = fnv1a(key.as_bytes());
        match self {
            RouteHash::Fnv1a => h,
            RouteHash::Fnv1aMix => fmix64(h),
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// murmur3's 64-bit finalizer (avalanche: each input bit flips each output bit
/// with probability about 1/2).
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// Routes keys over a fixed number of shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partitioner {
    shards: usize,
    hash: RouteHash,
}

impl Partitioner {
    pub fn new(shards: usize, hash: RouteHash) -> Partitioner {
        assert!(shards >= 1, "at least one shard");
        Partitioner { shards, hash }
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    pub fn hash(&self) -> RouteHash {
        self.hash
    }

    /// The shard that owns `key`.
    pub fn shard_of(&self, key: &str) -> usize {
        (self.hash.hash(key) % self.shards as u64) as usize
    }

    /// Splits `items` by the shard that owns each one's key (one list per shard, in
    /// shard order; items keep their relative order).
    pub fn group<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> &str,
    ) -> Vec<Vec<T>> {
        let mut parts: Vec<Vec<T>> = (0..self.shards).map(|_| Vec::new()).collect();
        for it in items {
            let s = self.shard_of(key(&it));
            parts[s].push(it);
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    //! Stability of both hashes (values pinned: routing must never change) and the
    //! balance of structured ids under the mixed hash.
    use super::*;

    #[test]
    fn hashes_are_pinned() {
        assert_eq!(RouteHash::Fnv1a.hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(RouteHash::Fnv1a.hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(RouteHash::Fnv1aMix.hash("a"), fmix64(0xaf63_dc4c_8601_ec8c));
        for h in [RouteHash::Fnv1a, RouteHash::Fnv1aMix] {
            assert_eq!(RouteHash::from_name(h.name()), Some(h));
        }
    }

    /// Ids that differ only in even digits (`a0`, `a2`, ..., `a88888`): FNV-1a puts
    /// all of them on one of two shards; the mixed hash stays within 10% of an
    /// even split for 2..=16 shards, for them and for plain sequential ids.
    #[test]
    fn structured_ids_balance() {
        let even: Vec<String> = (0..5usize.pow(7))
            .map(|mut n| {
                let mut digits = Vec::new();
                loop {
                    digits.push(b'0' + 2 * (n % 5) as u8);
                    n /= 5;
                    if n == 0 {
                        break;
                    }
                }
                digits.reverse();
                format!("a{}", String::from_utf8(digits).unwrap())
            })
            .collect();
        let sequential: Vec<String> = (0..100_000).map(|i| format!("doc-{i}")).collect();
        let legacy = Partitioner::new(2, RouteHash::Fnv1a);
        let first = legacy.shard_of(&even[0]);
        assert!(
            even.iter().all(|id| legacy.shard_of(id) == first),
            "the old skew"
        );
        for shards in 2..=16 {
            let p = Partitioner::new(shards, RouteHash::Fnv1aMix);
            for set in [&even, &sequential] {
                let mut counts = vec![0usize; shards];
                for id in set {
                    counts[p.shard_of(id)] += 1;
                }
                let mean = set.len() as f64 / shards as f64;
                for c in &counts {
                    assert!(
                        (*c as f64 - mean).abs() <= 0.1 * mean,
                        "{shards} shards, {} ids: {counts:?}",
                        set.len()
                    );
                }
            }
        }
    }

    #[test]
    fn group_keeps_order_per_shard() {
        let p = Partitioner::new(3, RouteHash::Fnv1aMix);
        let items: Vec<String> = (0..100).map(|i| format!("id{i}")).collect();
        let parts = p.group(items.clone(), |s| s.as_str());
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 100);
        for (s, part) in parts.iter().enumerate() {
            assert!(part.iter().all(|id| p.shard_of(id) == s));
            let pos: Vec<usize> = part
                .iter()
                .map(|id| items.iter().position(|x| x == id).unwrap())
                .collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
