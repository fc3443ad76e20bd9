//! API key routes: `POST /auth/keys`, `GET /auth/keys`, `DELETE /auth/keys/{id}`,
//! `GET /.well-known/jwks.json` (decode, call the key service, encode).

use serde_json::json;

use super::body;
use crate::auth::CreateKey;
use crate::http::errors::ApiError;
use crate::http::response::Response;
use crate::http::state::State;

pub async fn create(state: &State, b: &[u8]) -> Result<Response, ApiError> {
    let req: CreateKey = body(b)?;
    let (token, policy) = state.keys.create(&state.engine, req).await?;
    let warning = if state.token.is_none() {
        "the server runs without -auth-token: keys are not checked until a root token is set"
    } else {
        "store this token now: it is not shown again"
    };
    Ok(Response::json(
        201,
        &json!({"token": token, "id": policy.id, "policy": policy, "warning": warning}),
    ))
}

/// Every key issued and not expired, with whether it is revoked (never tokens).
pub fn list(state: &State) -> Response {
    Response::ok(serde_json::to_value(state.keys.list()).unwrap_or_default())
}

pub async fn revoke(state: &State, id: &str) -> Result<Response, ApiError> {
    state.keys.revoke(&state.engine, id).await?;
    Ok(Response::ok(json!({"status": "revoked", "jti": id})))
}

pub fn jwks(state: &State) -> Response {
    Response::ok(state.keys.jwks())
}
