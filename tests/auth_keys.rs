//! API keys with roles over HTTP, with real processes: what admin, write and read
//! keys (all indexes or some) can and cannot do; a revoked key stays revoked after
//! a restart; a token signed by another server, a tampered one and garbage are 401;
//! the JWKS is public and the signing key is not readable through the KV routes.

mod support;

use serde_json::{json, Value};
use support::{command, Server};

const ROOT: &str = "root-secret";

fn call(s: &Server, method: &str, path: &str, body: &str, token: &str) -> (u16, Value) {
    let (st, text) = s.call(method, path, Some(body), Some(token));
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn key(s: &Server, role: &str, extra: Value) -> (String, String) {
    let mut body = json!({"role": role, "description": format!("{role} key")});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (st, v) = call(s, "POST", "/auth/keys", &body.to_string(), ROOT);
    assert_eq!(st, 201, "{v}");
    (
        v["token"].as_str().unwrap().to_owned(),
        v["id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn roles_namespaces_and_revocation() {
    let dir = std::env::temp_dir().join(format!("kektor-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_str().unwrap().to_owned();
    let start = || Server::spawn(command(&["-aof-path", &data, "-auth-token", ROOT]));
    let s = start();
    for name in ["a", "b"] {
        let (st, v) = call(
            &s,
            "POST",
            "/vector/actions/create",
            &json!({"index_name": name, "metric": "euclidean"}).to_string(),
            ROOT,
        );
        assert_eq!(st, 200, "{v}");
    }
    let add = |idx: &str, id: &str| {
        json!({"index_name": idx, "id": id, "vector": [1.0, 2.0]}).to_string()
    };
    let search =
        |idx: &str| json!({"index_name": idx, "k": 1, "query_vector": [1.0, 2.0]}).to_string();
    let (admin, _) = key(&s, "admin", json!({}));
    let (write_a, _) = key(&s, "write", json!({"namespaces": ["a"]}));
    // The Python client's singular spelling.
    let (read_b, read_b_id) = key(&s, "read", json!({"namespace": "b"}));
    let (read_all, _) = key(&s, "read", json!({}));

    // Admin: everything, including /system and /auth.
    assert_eq!(
        call(&s, "POST", "/vector/actions/add", &add("a", "x"), &admin).0,
        200
    );
    assert_eq!(call(&s, "POST", "/system/save", "", &admin).0, 200);
    assert_eq!(call(&s, "GET", "/auth/keys", "", &admin).0, 200);
    // Write on a: writes and reads a, nothing of b, no admin routes.
    assert_eq!(
        call(&s, "POST", "/vector/actions/add", &add("a", "y"), &write_a).0,
        200
    );
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("a"), &write_a).0,
        200
    );
    assert_eq!(call(&s, "GET", "/vector/indexes/a", "", &write_a).0, 200);
    let (st, v) = call(&s, "POST", "/vector/actions/add", &add("b", "y"), &write_a);
    assert_eq!(st, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("'b'"), "{v}");
    assert_eq!(call(&s, "GET", "/vector/indexes/b", "", &write_a).0, 403);
    assert_eq!(call(&s, "GET", "/vector/indexes", "", &write_a).0, 403);
    assert_eq!(call(&s, "POST", "/system/save", "", &write_a).0, 403);
    assert_eq!(
        call(&s, "POST", "/auth/keys", r#"{"role":"admin"}"#, &write_a).0,
        403
    );
    // Read on b: reads b only, never writes.
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("b"), &read_b).0,
        200
    );
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("a"), &read_b).0,
        403
    );
    assert_eq!(
        call(&s, "POST", "/vector/actions/add", &add("b", "z"), &read_b).0,
        403
    );
    // Read on all: every read, no write, no KV write, no reserved key.
    assert_eq!(call(&s, "GET", "/vector/indexes", "", &read_all).0, 200);
    assert_eq!(call(&s, "GET", "/kv/anything", "", &read_all).0, 404);
    assert_eq!(call(&s, "PUT", "/kv/x", "1", &read_all).0, 403);
    assert_eq!(
        call(
            &s,
            "POST",
            "/graph/actions/link",
            r#"{"source_id":"a","target_id":"b","relation_type":"r"}"#,
            &read_all
        )
        .0,
        403
    );
    assert_eq!(
        call(&s, "GET", "/kv/_sys_auth::signing_key", "", &admin).0,
        403
    );
    // Bad tokens: 401 JSON.
    for bad in [
        "nope",
        "a.b.c",
        &format!("{}x", &read_all[..read_all.len() - 1]),
    ] {
        let (st, v) = call(&s, "GET", "/vector/indexes", "", bad);
        assert_eq!(st, 401, "{bad}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    // JWKS is public; bad requests to /auth/keys are 400.
    let (st, text) = s.call("GET", "/.well-known/jwks.json", None, None);
    assert_eq!(st, 200);
    let jwks: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert_eq!(
        call(&s, "POST", "/auth/keys", r#"{"role":"owner"}"#, ROOT).0,
        400
    );
    assert_eq!(
        call(
            &s,
            "POST",
            "/auth/keys",
            r#"{"role":"read","bogus":1}"#,
            ROOT
        )
        .0,
        400
    );
    assert_eq!(call(&s, "DELETE", "/auth/keys/unknown", "", ROOT).0, 404);
    // Revoke: refused at once, and after a restart.
    let (st, v) = call(&s, "DELETE", &format!("/auth/keys/{read_b_id}"), "", ROOT);
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("b"), &read_b).0,
        401
    );
    let (_, list) = call(&s, "GET", "/auth/keys", "", ROOT);
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed
        .iter()
        .any(|k| k["id"] == read_b_id.as_str() && k["revoked"] == true));
    assert!(
        !list.to_string().contains(&read_b),
        "tokens are never listed"
    );
    drop(s);
    let s = start();
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("b"), &read_b).0,
        401
    );
    assert_eq!(
        call(&s, "POST", "/vector/actions/search", &search("a"), &write_a).0,
        200
    );
    drop(s);
    // Another server (another signing key) does not accept these tokens.
    let other = Server::start(&["-auth-token", ROOT]);
    assert_eq!(call(&other, "GET", "/vector/indexes", "", &read_all).0, 401);
    drop(other);
    std::fs::remove_dir_all(&dir).unwrap();
}
