//! The KV partition of one shard: string keys, byte values.

use std::collections::HashMap;

use crate::error::{Result, ShardError};
use crate::limits::{KEY_BYTES_MAX, VALUE_BYTES_MAX};

#[derive(Default)]
pub struct KvStore {
    map: HashMap<String, Vec<u8>>,
    bytes: usize,
}

impl KvStore {
    pub fn new() -> KvStore {
        KvStore::default()
    }

    pub fn check_key(key: &str) -> Result<()> {
        if key.is_empty() {
            return Err(ShardError::invalid("key", "must not be empty"));
        }
        if key.len() > KEY_BYTES_MAX {
            return Err(ShardError::too_large("key bytes", key.len(), KEY_BYTES_MAX));
        }
        Ok(())
    }

    pub fn set(&mut self, key: &str, value: Vec<u8>) -> Result<()> {
        Self::check_key(key)?;
        if value.len() > VALUE_BYTES_MAX {
            return Err(ShardError::too_large(
                "value bytes",
                value.len(),
                VALUE_BYTES_MAX,
            ));
        }
        self.bytes += key.len() + value.len();
        if let Some(old) = self.map.insert(key.to_owned(), value) {
            self.bytes -= key.len() + old.len();
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(old) => {
                self.bytes -= key.len() + old.len();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Bytes of keys and values held (without map overhead).
    pub fn data_bytes(&self) -> usize {
        self.bytes
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    //! KV against a BTreeMap model under random operation sequences (proptest), plus
    //! the limits.
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        Del(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..16, proptest::collection::vec(any::<u8>(), 0..8))
                .prop_map(|(k, v)| Op::Set(k, v)),
            (0u8..16).prop_map(Op::Del),
        ]
    }

    proptest! {
        #[test]
        fn matches_btreemap(ops in proptest::collection::vec(op(), 0..200)) {
            let mut kv = KvStore::new();
            let mut model = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Set(k, v) => {
                        kv.set(&format!("k{k}"), v.clone()).unwrap();
                        model.insert(format!("k{k}"), v);
                    }
                    Op::Del(k) => {
                        prop_assert_eq!(kv.delete(&format!("k{k}")), model.remove(&format!("k{k}")).is_some());
                    }
                }
            }
            prop_assert_eq!(kv.len(), model.len());
            let bytes: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
            prop_assert_eq!(kv.data_bytes(), bytes);
            for k in 0..16u8 {
                let key = format!("k{k}");
                prop_assert_eq!(kv.get(&key), model.get(&key).map(|v| v.as_slice()));
            }
        }
    }

    #[test]
    fn limits() {
        let mut kv = KvStore::new();
        assert!(matches!(
            kv.set("", vec![]),
            Err(ShardError::Invalid { .. })
        ));
        let long = "k".repeat(KEY_BYTES_MAX + 1);
        assert!(matches!(
            kv.set(&long, vec![]),
            Err(ShardError::TooLarge { .. })
        ));
    }
}
