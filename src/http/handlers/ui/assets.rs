//! The dashboard's static files, embedded in the binary at compile time from the
//! repository's `ui/` folder, served with their content types under `/ui/`. They
//! hold no data, so they answer without a token (the page must load to ask for
//! one); the Content-Security-Policy lets the page load and call nothing but this
//! server.

use crate::http::errors::ApiError;
use crate::http::response::Response;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/", $name)),
        }
    };
}

/// Every file of the dashboard (a test checks this list against `ui/`).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("dom.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("indexes.js", "text/javascript; charset=utf-8"),
    asset!("points.js", "text/javascript; charset=utf-8"),
    asset!("inspector.js", "text/javascript; charset=utf-8"),
    asset!("search.js", "text/javascript; charset=utf-8"),
    asset!("graph.js", "text/javascript; charset=utf-8"),
    asset!("explorer.js", "text/javascript; charset=utf-8"),
    asset!("pipelines.js", "text/javascript; charset=utf-8"),
];

/// Files of `ui/` that are not served (documentation).
pub const NOT_SERVED: &[&str] = &["README.md"];

/// The page may load scripts, styles, images and data from this server only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `GET /ui/` (the page) and `GET /ui/<file>`.
pub fn serve(name: &str) -> Result<Response, ApiError> {
    let a = find(name).ok_or_else(|| ApiError::NoRoute {
        method: "GET".into(),
        path: format!("/ui/{name}"),
    })?;
    Ok(Response {
        status: 200,
        content_type: a.content_type,
        body: a.bytes.to_vec(),
        headers: Vec::new(),
    }
    .with_header("Cache-Control", "no-cache")
    .with_header("Content-Security-Policy", CSP)
    .with_header("X-Content-Type-Options", "nosniff")
    .with_header("Referrer-Policy", "no-referrer"))
}

#[cfg(test)]
mod tests {
    //! The embedded list matches the folder; nothing in it points outside.
    use super::*;

    #[test]
    fn every_file_of_ui_is_served_and_nothing_else() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !NOT_SERVED.contains(&n.as_str()))
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    #[test]
    fn no_asset_names_another_host() {
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            for bad in ["http://", "https://", "//cdn", "@import"] {
                let hits: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains(bad) && !l.contains("www.w3.org/2000/svg"))
                    .collect();
                assert!(hits.is_empty(), "{} names {bad}: {hits:?}", a.name);
            }
        }
    }

    #[test]
    fn serving() {
        let r = serve("index.html").unwrap();
        assert_eq!(r.content_type, "text/html; charset=utf-8");
        assert!(r
            .headers
            .iter()
            .any(|(h, _)| *h == "Content-Security-Policy"));
        assert!(serve("nope.js").is_err());
        assert!(serve("../Cargo.toml").is_err());
    }
}
