//! DOCX text: `word/document.xml` from the zip container, one paragraph per
//! `<w:p>` (its `<w:t>` runs, tabs and breaks), heading styles as markdown
//! `#` prefixes, paragraphs separated by a blank line. The decompressed XML
//! is bounded so a zip bomb costs at most [`MAX_XML_BYTES`] of memory.

use super::LoadError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Largest `word/document.xml` read, decompressed.
pub const MAX_XML_BYTES: u64 = 64 << 20;

fn parse_error(reason: impl Into<String>) -> LoadError {
    LoadError::Parse {
        kind: "docx",
        reason: reason.into(),
    }
}

/// The document's text; empty if it has no text.
pub fn load(bytes: &[u8]) -> Result<String, LoadError> {
    match catch_unwind(AssertUnwindSafe(|| {
        read_document_xml(bytes).and_then(|x| paragraphs(&x))
    })) {
        Ok(result) => result,
        Err(_) => Err(parse_error("parser panicked")),
    }
}

fn read_document_xml(bytes: &[u8]) -> Result<String, LoadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| parse_error(format!("not a zip archive: {e}")))?;
    let file = zip
        .by_name("word/document.xml")
        .map_err(|e| parse_error(format!("no word/document.xml: {e}")))?;
    if file.size() > MAX_XML_BYTES {
        return Err(parse_error("document.xml too large"));
    }
    let mut xml = Vec::new();
    // The declared size may lie: never read past the limit.
    file.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| parse_error(format!("reading document.xml: {e}")))?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(parse_error("document.xml too large"));
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&xml);
    String::from_utf8(xml.to_vec()).map_err(|_| parse_error("document.xml is not UTF-8"))
}

/// Markdown prefix for a paragraph style id or name: "Title" and
/// "Heading1"/"heading 1" give "# ", "Heading2" gives "## ", and so on up to
/// six `#`. Other styles (and localized style ids) give none.
pub fn style_prefix(style: &str) -> &'static str {
    let norm: String = style
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    if norm == "title" {
        return "# ";
    }
    match norm
        .strip_prefix("heading")
        .and_then(|n| n.parse::<u8>().ok())
    {
        Some(1) => "# ",
        Some(2) => "## ",
        Some(3) => "### ",
        Some(4) => "#### ",
        Some(5) => "##### ",
        Some(6..=9) => "###### ",
        _ => "",
    }
}

fn style_of(e: &BytesStart) -> &'static str {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == "val")
        .map_or("", |a| style_prefix(&a.value))
}

/// One paragraph being read: its style prefix and text so far.
#[derive(Default)]
struct Para {
    prefix: &'static str,
    text: String,
}

fn paragraphs(xml: &str) -> Result<String, LoadError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = false;
    let mut done: Vec<String> = Vec::new();
    // Paragraphs nest (text boxes): the innermost one is last.
    let mut open: Vec<Para> = Vec::new();
    let (mut in_t, mut in_ppr) = (false, false);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| parse_error(format!("document.xml: {e}")))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => match e.local_name().as_ref() {
                "p" => open.push(Para::default()),
                "t" => in_t = true,
                "pPr" => in_ppr = true,
                "pStyle" => set_prefix(&mut open, style_of(&e)),
                _ => {}
            },
            Event::Empty(e) => match (e.local_name().as_ref(), open.last_mut()) {
                ("pStyle", _) => set_prefix(&mut open, style_of(&e)),
                ("tab", Some(p)) if !in_ppr => p.text.push('\t'),
                ("br" | "cr", Some(p)) if !in_ppr => p.text.push('\n'),
                ("noBreakHyphen", Some(p)) => p.text.push('-'),
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_t = false,
                "pPr" => in_ppr = false,
                "p" => {
                    if let Some(p) = open.pop() {
                        let body = p.text.trim();
                        if !body.is_empty() {
                            done.push(format!("{}{}", p.prefix, body));
                        }
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_t => {
                if let Some(p) = open.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) if in_t => {
                if let Some(p) = open.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if in_t => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .map(str::to_string),
                };
                if let (Some(s), Some(p)) = (resolved, open.last_mut()) {
                    p.text.push_str(&s);
                }
            }
            _ => {}
        }
    }
    // Unclosed paragraphs at the end of a truncated file still count.
    for p in open {
        let body = p.text.trim();
        if !body.is_empty() {
            done.push(format!("{}{}", p.prefix, body));
        }
    }
    Ok(done.join("\n\n"))
}

fn set_prefix(open: &mut [Para], prefix: &'static str) {
    if let Some(p) = open.last_mut() {
        p.prefix = prefix;
    }
}
