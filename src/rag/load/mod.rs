//! Document loaders: turn a file's bytes into text pages. Dispatch is by the
//! lowercase extension; text-like files are decoded here (`text`), HTML is
//! stripped to text (`html`), PDF gives its text layer per page (`pdf`), and
//! DOCX its paragraphs (`docx`). Loading is pure: the caller reads the file
//! and enforces size and time limits. `fixtures` builds minimal PDF and DOCX
//! files for tests and benchmarks.

mod docx;
pub mod fixtures;
mod html;
mod pdf;
#[cfg(test)]
mod tests;
mod text;

use std::path::Path;

/// One page of extracted text. Loaders never return a page whose text is empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// 1-based page number for PDF, `None` for every other kind.
    pub number: Option<u32>,
    pub text: String,
}

/// What a file became.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// "text" | "markdown" | "code" | "html" | "pdf" | "docx".
    pub kind: &'static str,
    pub pages: Vec<Page>,
}

/// Why a file gives no text.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum LoadError {
    #[error("file is {size} bytes, over the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    /// e.g. "NUL bytes", "not UTF-8", "unsupported type .png".
    #[error("binary file ({0})")]
    Binary(String),
    #[error("cannot parse {kind}: {reason}")]
    Parse { kind: &'static str, reason: String },
}

/// Plain text; listed for documentation: every unknown extension is text too.
pub const TEXT_EXT: &[&str] = &[
    "txt", "text", "log", "csv", "json", "yaml", "yml", "toml", "rst",
];
const MARKDOWN_EXT: &[&str] = &["md", "markdown", "mdx"];
const CODE_EXT: &[&str] = &[
    "rs", "go", "py", "js", "ts", "tsx", "jsx", "java", "c", "h", "cpp", "hpp", "cs", "rb", "php",
    "sh", "sql", "kt", "swift", "scala", "css",
];
const HTML_EXT: &[&str] = &["html", "htm", "xhtml"];
/// Formats known to be binary (or containers this crate does not read).
const BINARY_EXT: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "psd", "heic", "zip", "gz",
    "tgz", "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "exe", "dll", "so", "dylib",
    "bin", "o", "a", "lib", "class", "wasm", "pyc", "mp3", "mp4", "m4a", "wav", "flac", "ogg",
    "avi", "mov", "mkv", "webm", "woff", "woff2", "ttf", "otf", "eot", "doc", "xls", "xlsx", "ppt",
    "pptx", "odt", "ods", "odp", "epub", "sqlite", "db", "parquet", "npy", "iso", "dmg", "deb",
    "rpm",
];

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The kind a path's extension names: "text", "markdown", "code", "html",
/// "pdf", "docx", or "binary" for formats that are never read. Unknown
/// extensions (and none) are "text": [`load`] sniffs their bytes.
pub fn kind_of(path: &Path) -> &'static str {
    let Some(ext) = extension(path) else {
        return "text";
    };
    let ext = ext.as_str();
    if MARKDOWN_EXT.contains(&ext) {
        "markdown"
    } else if CODE_EXT.contains(&ext) {
        "code"
    } else if HTML_EXT.contains(&ext) {
        "html"
    } else if ext == "pdf" {
        "pdf"
    } else if ext == "docx" {
        "docx"
    } else if BINARY_EXT.contains(&ext) {
        "binary"
    } else {
        // TEXT_EXT and anything unknown.
        "text"
    }
}

/// Extracts the text of `bytes`, read from `path` (only its extension is
/// used). Never panics, whatever the bytes.
pub fn load(path: &Path, bytes: &[u8]) -> Result<Loaded, LoadError> {
    let kind = kind_of(path);
    let pages = match kind {
        "binary" => {
            let ext = extension(path).unwrap_or_default();
            return Err(LoadError::Binary(format!("unsupported type .{ext}")));
        }
        "pdf" => pdf::load(bytes)?,
        "docx" => single(docx::load(bytes)?),
        "html" => single(html::to_text(&text::decode(bytes)?)),
        // text, markdown, code, and unknown extensions: all decoded with the
        // same checks (NUL bytes in the first 8 KiB, valid UTF-8).
        _ => single(text::decode(bytes)?),
    };
    Ok(Loaded { kind, pages })
}

/// One unnumbered page, or none for empty text.
fn single(text: String) -> Vec<Page> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Page { number: None, text }]
    }
}
