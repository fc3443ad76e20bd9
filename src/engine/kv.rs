//! The KV store: each key lives on the shard its hash names.

use kektordb_shards::op::Op;
use kektordb_shards::ShardError;

use super::error::Result;
use super::Engine;

impl Engine {
    pub async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let k = key.to_owned();
        let s = self.shard_of(key);
        self.ask(s, move |shard| shard.kv().get(&k).map(<[u8]>::to_vec))
            .await
    }

    pub async fn kv_set(&self, key: &str, value: Vec<u8>) -> Result<()> {
        kektordb_shards::kv::KvStore::check_key(key)?;
        let k = key.to_owned();
        let s = self.shard_of(key);
        self.write_try(s, move |st| st.durable.apply(Op::KvSet { key: k, value }))
            .await
    }

    /// Removes a key; returns whether it existed.
    pub async fn kv_delete(&self, key: &str) -> Result<bool> {
        let k = key.to_owned();
        let s = self.shard_of(key);
        Ok(self
            .write(s, move |st| -> std::result::Result<bool, ShardError> {
                if st.durable.shard().kv().get(&k).is_none() {
                    return Ok(false);
                }
                st.durable.apply(Op::KvDelete { key: k })?;
                Ok(true)
            })
            .await??)
    }

    /// A value, or `KeyNotFound`.
    pub async fn kv_get_existing(&self, key: &str) -> Result<Vec<u8>> {
        self.kv_get(key).await?.ok_or_else(|| {
            ShardError::KeyNotFound {
                key: key.to_owned(),
            }
            .into()
        })
    }

    /// Removes a key, or `KeyNotFound` if it is not there.
    pub async fn kv_delete_existing(&self, key: &str) -> Result<()> {
        if self.kv_delete(key).await? {
            Ok(())
        } else {
            Err(ShardError::KeyNotFound {
                key: key.to_owned(),
            }
            .into())
        }
    }
}
