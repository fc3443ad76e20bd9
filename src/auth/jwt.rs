//! ES256 JSON Web Tokens (RFC 7515/7519): `base64url(header).base64url(claims)`
//! signed with ECDSA P-256 / SHA-256 by the `p256` crate (no hand-written
//! crypto here: this file only frames bytes), the signature as the fixed 64-byte
//! `r || s` JWS form.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::error::AuthError;

/// What a key's token says about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub role: String,
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub description: String,
}

const HEADER: &str = r#"{"alg":"ES256","typ":"JWT"}"#;

pub fn sign(key: &SigningKey, claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
    let sig: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

/// Checks the signature and the time window (`now` in unix seconds).
pub fn verify(key: &VerifyingKey, token: &str, now: i64) -> Result<Claims, AuthError> {
    let bad = |why: &str| AuthError::BadToken(why.to_owned());
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a JWT"));
    };
    let header: serde_json::Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("unreadable header"))?;
    if header["alg"] != "ES256" {
        return Err(bad("algorithm is not ES256"));
    }
    let sig = B64
        .decode(s)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| bad("unreadable signature"))?;
    key.verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| bad("bad signature"))?;
    let claims: Claims = B64
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("unreadable claims"))?;
    if now < claims.nbf {
        return Err(bad("not valid yet"));
    }
    if now >= claims.exp {
        return Err(AuthError::Expired);
    }
    Ok(claims)
}

/// The public key as a JWK (`/.well-known/jwks.json`).
pub fn jwk(key: &VerifyingKey) -> serde_json::Value {
    let point = key.to_encoded_point(false);
    serde_json::json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
        "x": B64.encode(point.x().map(|x| x.as_slice()).unwrap_or_default()),
        "y": B64.encode(point.y().map(|y| y.as_slice()).unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            jti: "j1".into(),
            iat: 100,
            nbf: 100,
            exp: 200,
            role: "read".into(),
            namespaces: vec!["*".into()],
            description: String::new(),
        }
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = SigningKey::random(&mut rand_core::OsRng);
        let t = sign(&k, &claims());
        assert_eq!(verify(k.verifying_key(), &t, 150).unwrap(), claims());
        assert!(matches!(
            verify(k.verifying_key(), &t, 200),
            Err(AuthError::Expired)
        ));
        assert!(verify(k.verifying_key(), &t, 99).is_err());
        // Another key, a changed payload, garbage: refused.
        let other = SigningKey::random(&mut rand_core::OsRng);
        assert!(verify(other.verifying_key(), &t, 150).is_err());
        let mut c = claims();
        c.role = "admin".into();
        let forged = sign(&other, &c);
        let parts: Vec<&str> = t.split('.').collect();
        let fparts: Vec<&str> = forged.split('.').collect();
        let mixed = format!("{}.{}.{}", parts[0], fparts[1], parts[2]);
        assert!(verify(k.verifying_key(), &mixed, 150).is_err());
        assert!(verify(k.verifying_key(), "a.b", 150).is_err());
        assert!(verify(k.verifying_key(), "", 150).is_err());
        let jwk = jwk(k.verifying_key());
        assert_eq!(jwk["x"].as_str().unwrap().len(), 43);
    }
}
