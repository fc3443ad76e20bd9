//! Request URL pieces: percent-decoding, path segments, query-string pairs.

use super::errors::ApiError;

/// Decodes `%XX` escapes in a path segment (invalid escapes stay as they are); the
/// result must be UTF-8, so two spellings never name the same key.
pub fn percent_decode(s: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::BadPath {
        segment: s.to_owned(),
    })
}

/// The path's segments, percent-decoded.
pub fn segments(path: &str) -> Result<Vec<String>, ApiError> {
    path.trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect()
}

/// The `key=value` pairs of a query string, percent-decoded (`+` is a space).
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |x: &str| percent_decode(&x.replace('+', " "));
            Ok((dec(k)?, dec(v)?))
        })
        .collect()
}
