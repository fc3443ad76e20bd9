//! The bearer-token check, run on the request head before any body byte is read:
//! the root token, else an API key (a JWT verified against the key service).
//! The scheme is case-insensitive (RFC 7235), separated from the token by one or
//! more spaces; the token is compared in constant time over the expected length.
//! More than one Authorization header is refused as ambiguous.

use super::errors::ApiError;
use super::request::Authorization;
use crate::auth::{Keys, Principal};

use crate::auth::same_secret as token_matches;

/// The token of a `Bearer` credential, if that is what `header` holds.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start_matches(' '))
}

/// Who sends a request: the root token, an API key (verified here, on the head),
/// or, with no root token configured, anyone (as upstream: no auth at all).
pub fn principal(
    token: Option<&str>,
    keys: &Keys,
    auth: &Authorization,
) -> Result<Principal, ApiError> {
    let Some(root) = token else {
        return Ok(Principal::Root);
    };
    match check(Some(root), auth) {
        Ok(()) => Ok(Principal::Root),
        Err(ApiError::Unauthorized) => match auth {
            Authorization::One(h) => match bearer(h).filter(|t| t.contains('.')) {
                Some(t) => Ok(keys.verify(t)?),
                None => Err(ApiError::Unauthorized),
            },
            _ => Err(ApiError::Unauthorized),
        },
        Err(e) => Err(e),
    }
}

/// Whether `auth` carries `token` (always true when no token is configured).
pub fn check(token: Option<&str>, auth: &Authorization) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Ok(());
    };
    let presented = match auth {
        Authorization::Missing => return Err(ApiError::Unauthorized),
        Authorization::Several => return Err(ApiError::AmbiguousAuthorization),
        Authorization::One(h) => bearer(h).unwrap_or(""),
    };
    if token_matches(presented.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    //! Token variants: what passes and what does not.
    use super::*;

    fn one(h: &str) -> Authorization {
        Authorization::One(h.to_owned())
    }

    #[test]
    fn tokens() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secreT", b"secret"));
        assert!(!token_matches(b"secret2", b"secret"));
        assert!(!token_matches(b"", b"secret"));
    }

    #[test]
    fn schemes_and_variants() {
        let t = Some("secret");
        for ok in [
            "Bearer secret",
            "bearer secret",
            "BEARER secret",
            "Bearer  secret",
        ] {
            assert!(check(t, &one(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "Bearer secre",
            "Bearer secret2",
            "Basic secret",
            "secret",
            "Bearer",
            "Bearer\tsecret",
            "",
            "Bearersecret",
        ] {
            assert!(check(t, &one(bad)).is_err(), "{bad:?}");
        }
        assert!(check(t, &Authorization::Missing).is_err());
        assert!(matches!(
            check(t, &Authorization::Several),
            Err(ApiError::AmbiguousAuthorization)
        ));
        assert!(check(None, &Authorization::Missing).is_ok());
    }
}
