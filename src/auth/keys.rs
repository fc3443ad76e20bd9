//! API keys: ES256 JWTs signed by a P-256 key generated on first start and kept
//! in the KV store (`_sys_auth::signing_key`, logged and snapshotted like any
//! data), with a role (`admin` > `write` > `read`) and the index names they may
//! touch (`namespaces`, `*` = all). Issued keys are listed in
//! `_sys_auth::keys` (so `GET /auth/keys` shows them, unlike upstream), and a
//! revocation is durable before it is acknowledged and survives restarts.

use std::collections::HashSet;
use std::sync::RwLock;

use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

use super::error::AuthError;
use super::jwt::{self, Claims};
use crate::engine::Engine;
use crate::limits::{API_KEYS_MAX, API_KEY_DAYS_DEFAULT, API_KEY_DAYS_MAX};

const SIGNING_KEY: &str = "_sys_auth::signing_key";
const KEYS: &str = "_sys_auth::keys";

/// KV keys that only the root token may read or write.
pub fn is_reserved_key(key: &str) -> bool {
    key.starts_with("_sys_auth::")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "read" => Role::Read,
            "write" => Role::Write,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// The root token (or no auth configured).
    Root,
    Key {
        jti: String,
        role: Role,
        namespaces: Vec<String>,
    },
}

impl Principal {
    pub fn may(&self, need: Role) -> bool {
        match self {
            Principal::Root => true,
            Principal::Key { role, .. } => *role >= need,
        }
    }

    pub fn may_touch(&self, index: &str) -> bool {
        match self {
            Principal::Root => true,
            Principal::Key { namespaces, .. } => namespaces.iter().any(|n| n == "*" || n == index),
        }
    }

    /// Whether the principal may touch every index (routes without an index).
    pub fn all_namespaces(&self) -> bool {
        match self {
            Principal::Root => true,
            Principal::Key { namespaces, .. } => namespaces.iter().any(|n| n == "*"),
        }
    }
}

/// A key as listed (never its token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyPolicy {
    pub id: String,
    pub description: String,
    pub role: Role,
    pub namespaces: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default)]
    pub revoked: bool,
}

/// `POST /auth/keys` (the client's singular `namespace` is accepted too).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[serde(default)]
    pub description: String,
    pub role: String,
    #[serde(default)]
    pub namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

pub struct Keys {
    signing: SigningKey,
    policies: RwLock<Vec<KeyPolicy>>,
    revoked: RwLock<HashSet<String>>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Keys {
    /// Loads the signing key and the key list, creating the key on first start.
    pub async fn open(engine: &Engine) -> Result<Keys, AuthError> {
        let signing = match engine.kv_get(SIGNING_KEY).await? {
            Some(b) => SigningKey::from_slice(&b).map_err(|_| {
                AuthError::BadRequest("the stored signing key is unreadable".into())
            })?,
            None => {
                let k = SigningKey::random(&mut rand_core::OsRng);
                engine.kv_set(SIGNING_KEY, k.to_bytes().to_vec()).await?;
                k
            }
        };
        let policies: Vec<KeyPolicy> = engine
            .kv_get(KEYS)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let revoked = policies
            .iter()
            .filter(|p| p.revoked)
            .map(|p| p.id.clone())
            .collect();
        Ok(Keys {
            signing,
            policies: RwLock::new(policies),
            revoked: RwLock::new(revoked),
        })
    }

    /// Who `token` (not the root token) belongs to.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let c = jwt::verify(self.signing.verifying_key(), token, now_secs())?;
        if self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&c.jti)
        {
            return Err(AuthError::Revoked);
        }
        let role =
            Role::parse(&c.role).ok_or_else(|| AuthError::BadToken("unknown role".into()))?;
        Ok(Principal::Key {
            jti: c.jti,
            role,
            namespaces: c.namespaces,
        })
    }

    pub async fn create(
        &self,
        engine: &Engine,
        req: CreateKey,
    ) -> Result<(String, KeyPolicy), AuthError> {
        let role = Role::parse(&req.role).ok_or_else(|| {
            AuthError::BadRequest(format!(
                "role '{}' is not one of admin, write, read",
                req.role
            ))
        })?;
        let mut namespaces = req.namespaces.unwrap_or_default();
        namespaces.extend(req.namespace.filter(|n| !n.is_empty()));
        if namespaces.is_empty() {
            namespaces.push("*".into());
        }
        if namespaces.len() > 1_000 || namespaces.iter().any(|n| n.is_empty() || n.len() > 256) {
            return Err(AuthError::BadRequest(
                "namespaces: 1 to 1000 names of 1 to 256 bytes".into(),
            ));
        }
        let days = req.expires_in_days.unwrap_or(API_KEY_DAYS_DEFAULT);
        if days == 0 || days > API_KEY_DAYS_MAX {
            return Err(AuthError::BadRequest(format!(
                "expires_in_days must be 1..={API_KEY_DAYS_MAX}"
            )));
        }
        let mut jti = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut jti);
        let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
        let now = now_secs();
        let claims = Claims {
            jti: jti.clone(),
            iat: now,
            nbf: now,
            exp: now + i64::from(days) * 86_400,
            role: req.role.clone(),
            namespaces: namespaces.clone(),
            description: req.description.clone(),
        };
        let policy = KeyPolicy {
            id: jti,
            description: req.description,
            role,
            namespaces,
            created_at: now,
            expires_at: claims.exp,
            revoked: false,
        };
        let mut list = self
            .policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // Expired keys leave the list; more than the bound is refused.
        list.retain(|p| p.expires_at > now);
        if list.len() >= API_KEYS_MAX {
            return Err(AuthError::BadRequest(format!(
                "at most {API_KEYS_MAX} API keys; revoke some"
            )));
        }
        list.push(policy.clone());
        self.store(engine, list).await?;
        Ok((jwt::sign(&self.signing, &claims), policy))
    }

    pub fn list(&self) -> Vec<KeyPolicy> {
        self.policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Revokes a key; durable before it returns.
    pub async fn revoke(&self, engine: &Engine, id: &str) -> Result<(), AuthError> {
        let mut list = self.list();
        let p = list
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| AuthError::NotFound(id.to_owned()))?;
        p.revoked = true;
        self.store(engine, list).await?;
        self.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
        Ok(())
    }

    async fn store(&self, engine: &Engine, list: Vec<KeyPolicy>) -> Result<(), AuthError> {
        engine
            .kv_set(KEYS, serde_json::to_vec(&list).unwrap_or_default())
            .await?;
        *self.policies.write().unwrap_or_else(|p| p.into_inner()) = list;
        Ok(())
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [jwt::jwk(self.signing.verifying_key())]})
    }
}
