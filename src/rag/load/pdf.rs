//! PDF text layer, page by page, through `pdf-extract` (on `lopdf`). Both
//! crates can panic on malformed files, so every call into them runs under
//! `catch_unwind`; a panic becomes a parse error (or a skipped page).

use super::{LoadError, Page};
use pdf_extract::{Document, PlainTextOutput};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn parse_error(reason: impl Into<String>) -> LoadError {
    LoadError::Parse {
        kind: "pdf",
        reason: reason.into(),
    }
}

fn panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    format!("parser panicked: {msg}")
}

/// Text of each page that has any, numbered from 1 as in the document.
/// A page whose extraction fails is skipped; if every page with content
/// fails, the first failure is returned.
pub fn load(bytes: &[u8]) -> Result<Vec<Page>, LoadError> {
    let doc = match catch_unwind(|| Document::load_mem(bytes)) {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => return Err(parse_error(e.to_string())),
        Err(p) => return Err(parse_error(panic_reason(p.as_ref()))),
    };
    let mut doc = doc;
    if doc.is_encrypted() {
        // Many PDFs are "encrypted" with an empty user password.
        match catch_unwind(AssertUnwindSafe(|| doc.decrypt(""))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(parse_error(format!("encrypted: {e}"))),
            Err(p) => return Err(parse_error(panic_reason(p.as_ref()))),
        }
    }
    let numbers: Vec<u32> = match catch_unwind(AssertUnwindSafe(|| doc.get_pages())) {
        Ok(pages) => pages.into_keys().collect(),
        Err(p) => return Err(parse_error(panic_reason(p.as_ref()))),
    };
    if numbers.is_empty() {
        return Err(parse_error("no pages"));
    }
    let mut pages = Vec::new();
    let mut first_error = None;
    for number in numbers {
        let doc = &doc;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut text = String::new();
            let mut output = PlainTextOutput::new(&mut text);
            pdf_extract::output_doc_page(doc, &mut output, number).map(|()| text)
        }));
        match result {
            Ok(Ok(text)) => {
                let text = text.trim();
                if !text.is_empty() {
                    pages.push(Page {
                        number: Some(number),
                        text: text.to_string(),
                    });
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert_with(|| format!("page {number}: {e}"));
            }
            Err(p) => {
                first_error
                    .get_or_insert_with(|| format!("page {number}: {}", panic_reason(p.as_ref())));
            }
        }
    }
    match (pages.is_empty(), first_error) {
        (true, Some(reason)) => Err(parse_error(reason)),
        _ => Ok(pages),
    }
}
