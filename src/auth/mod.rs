//! Who may do what: the root token and API keys (ES256 JWTs with a role and
//! namespaces). Shared by every front end; each maps [`AuthError`] to its codes
//! and asks its own policy table what a request needs.

pub mod error;
pub mod jwt;
pub mod keys;

pub use error::AuthError;
/// Constant-time comparison of a presented secret with the expected one (over
/// the expected length, so timing tells nothing of where they differ).
pub fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = presented.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        diff |= usize::from(presented.get(i).copied().unwrap_or(0) ^ e);
    }
    diff == 0
}

pub use keys::{is_reserved_key, CreateKey, KeyPolicy, Keys, Principal, Role};
