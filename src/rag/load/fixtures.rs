//! Builders of minimal but valid PDF and DOCX files, for tests, integration
//! tests and benchmarks that need real documents without shipping any.

use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;

/// A PDF 1.4 file with one page per entry of `pages`, each page's text set
/// in Helvetica (WinAnsiEncoding), one line per `\n`-separated line. `(`,
/// `)` and `\` are escaped; characters WinAnsi lacks become `?`.
pub fn minimal_pdf(pages: &[&str]) -> Vec<u8> {
    let n = pages.len();
    let kids: Vec<String> = (0..n).map(|k| format!("{} 0 R", 4 + 2 * k)).collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    for (k, text) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * k
            )
            .into_bytes(),
        );
        let mut content = b"BT\n/F1 12 Tf\n72 720 Td\n".to_vec();
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                content.extend_from_slice(b"0 -16 Td\n");
            }
            content.push(b'(');
            content.extend_from_slice(&pdf_string(line));
            content.extend_from_slice(b") Tj\n");
        }
        content.extend_from_slice(b"ET\n");
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(&content);
        stream.extend_from_slice(b"endstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        // Each entry is exactly 20 bytes, its end-of-line being " \n".
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The bytes of a PDF literal string (without the parentheses).
fn pdf_string(line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    for c in line.chars() {
        let code: u32 = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u32
            }
            '\t' => 0x20,
            ' '..='~' => c as u32,
            '\u{a0}'..='\u{ff}' => c as u32,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => u32::from(b'?'),
        };
        if code < 0x80 {
            out.push(code as u8);
        } else {
            out.extend_from_slice(format!("\\{code:03o}").as_bytes());
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// A DOCX with one paragraph per entry: an optional paragraph style id
/// (e.g. "Title", "Heading1") and its text; `\t` becomes `<w:tab/>` and
/// `\n` `<w:br/>`.
pub fn minimal_docx(paragraphs: &[(Option<&str>, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (style, text) in paragraphs {
        body.push_str("<w:p>");
        if let Some(style) = style {
            body.push_str(&format!(
                r#"<w:pPr><w:pStyle w:val="{}"/></w:pPr>"#,
                xml_escape(style)
            ));
        }
        body.push_str("<w:r>");
        let mut segment = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if matches!(c, '\t' | '\n' | '\0') {
                if !segment.is_empty() {
                    body.push_str(&format!(
                        r#"<w:t xml:space="preserve">{}</w:t>"#,
                        xml_escape(&segment)
                    ));
                    segment.clear();
                }
                match c {
                    '\t' => body.push_str("<w:tab/>"),
                    '\n' => body.push_str("<w:br/>"),
                    _ => {}
                }
            } else {
                segment.push(c);
            }
        }
        body.push_str("</w:r></w:p>");
    }
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    docx_from_xml(xml.as_bytes())
}

/// A DOCX container whose `word/document.xml` is exactly `document_xml`.
/// Writing to memory cannot fail in practice; if it did, the result is
/// empty (which no loader accepts) rather than a panic.
pub fn docx_from_xml(document_xml: &[u8]) -> Vec<u8> {
    build_docx(document_xml).unwrap_or_default()
}

fn build_docx(document_xml: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("word/document.xml", document_xml),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish()?.into_inner())
}
