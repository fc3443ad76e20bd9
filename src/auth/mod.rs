//! Who may do what: the root token and API keys (ES256 JWTs with a role and
//! namespaces). Shared by every front end; each maps [`AuthError`] to its codes
//! and asks its own policy table what a request needs.

pub mod error;
pub mod jwt;
pub mod keys;

pub use error::AuthError;
pub use keys::{is_reserved_key, CreateKey, KeyPolicy, Keys, Principal, Role};
